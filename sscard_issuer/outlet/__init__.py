"""Instant issuance at the outlet: card printers (Evolis natively, CUPS for faces), the card face,
the issuance job (a persisted state machine), its workers, and the outlet's station of printers.

Heavy parts (Pillow, pycups, the personaliser) are imported by the modules that need them; import
from the submodules: :mod:`.printer` (the interface), :mod:`.evolis_driver`, :mod:`.cups_printer`,
:mod:`.face`, :mod:`.job`, :mod:`.desk`, :mod:`.worker`, :mod:`.station`.
"""
