"""Card-side applications run by the simulator's card runtime (sscard_issuer.sim)."""
