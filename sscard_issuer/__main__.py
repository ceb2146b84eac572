"""``python -m sscard_issuer`` is the ``sscard`` command."""

from sscard_issuer.cli import main

main()
