"""Card-side applications run by the simulator's card runtime (:mod:`sscard_issuer.sim.runtime`).

They are written only against that runtime (select, process an APDU, persistent state with
atomic updates) and the card description; a real card's applets would be written against
its OS in the same shape.
"""

from applets.bank import BankApplet
from applets.gp import GpApplet
from applets.pki import PkiApplet
from applets.ssse import SsseApplet

ALL = (SsseApplet, PkiApplet, BankApplet, GpApplet)

__all__ = ["ALL", "BankApplet", "GpApplet", "PkiApplet", "SsseApplet"]
