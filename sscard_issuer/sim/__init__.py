"""The card simulator: a card runtime hosting the applets of ``applets/``, card images kept
atomically on disk, and the link that puts a simulated card into a vpcd reader behind pcscd.

``sscard_issuer.sim.make_card`` (building personalised images) is not re-exported here: it uses
the applets, which are written against this package's runtime.
"""

from sscard_issuer.sim.image import CardImage, ImageError
from sscard_issuer.sim.runtime import Applet, PlannedPowerCut, PowerCut, SimulatedCard, fail
from sscard_issuer.sim.vpcd import DEBIAN_VPCD_READERS, Faults, VpcdLink

__all__ = [
    "DEBIAN_VPCD_READERS",
    "Applet",
    "CardImage",
    "Faults",
    "ImageError",
    "PlannedPowerCut",
    "PowerCut",
    "SimulatedCard",
    "VpcdLink",
    "fail",
]
