"""The classes of per-card keys of the social security application (card.md section 4).

Key ids on the card (0x0A for RKSSSE, 0x04 for UK, 0x06 for RPK...) belong to the card model;
here a key class only names which master a card key is derived from.
"""

import enum

from sscard_issuer.crypto import Algorithm


class KeyClass(enum.Enum):
    """A card key class; the value is the stable short name used in key files and token labels."""

    IRK = "IRK"  # internal authentication (the card proves itself)
    RKSSSE = "RKSSSE"  # read authentication (external authentication before reading)
    UK = "UK"  # update key for EF05/EF06
    STK_DF01 = "STK-DF01"  # update keys of each DF: MACs of UPDATE and of APPLICATION BLOCK
    STK_DF02 = "STK-DF02"
    STK_DF03 = "STK-DF03"
    STK_DF04 = "STK-DF04"
    PUK = "PUK"  # PIN unblock
    RPK = "RPK"  # PIN reload
    TK = "TK"  # transport key of a blank card: authenticates the personaliser, wraps loaded keys
    KMC = "KMC"  # GlobalPlatform issuer master key: the card's ISD keys are diversified from it

    @property
    def algorithms(self) -> tuple[Algorithm, ...]:
        """The algorithms a master of this class exists for: SSC keys 3DES and SM4, GP keys 3DES
        (SCP02) and AES (SCP03)."""
        if self is KeyClass.KMC:
            return (Algorithm.DES3, Algorithm.AES)
        return (Algorithm.DES3, Algorithm.SM4)


# The keys a personalised social security application holds (TK is retired by personalisation,
# KMC belongs to the card manager).
SSSE_CARD_KEYS = tuple(k for k in KeyClass if k not in (KeyClass.TK, KeyClass.KMC))
