"""HTTP interfaces: the national platform's e-card service (and, later, the outlet console)."""
