"""What a channel is: the protocol (SCP02, SCP03), its ``i`` parameter, and the security level.

``i`` (GP Card Specification 2.2 annex E.1.1 for SCP02, Amendment D 5.1 for SCP03) names the
options a card implements. Only the variants below are implemented, and anything else is refused
when a channel is built, not half-way through a session:

- SCP02: 3 static keys, explicit initiation, C-MAC on the modified APDU, ICV encryption (bits
  01, 04, 10: ``i = 15``); optional R-MAC support (20) and pseudo-random card challenge (40).
  So ``15``, ``35``, ``55``, ``75``; the host computes the same bytes for all four.
- SCP03: optional pseudo-random card challenge (10), R-MAC support (20), R-ENC support (40,
  only with R-MAC): ``00``, ``10``, ``20``, ``30``, ``60``, ``70``. 16-byte challenges (bit 01)
  are not implemented.
"""

from __future__ import annotations

import enum

from sscard_issuer.channel.errors import ChannelUsageError

SHORT_DATA_MAX = 255
MAC_LENGTH = 8

SCP02_I_VALUES = (0x15, 0x35, 0x55, 0x75)
SCP03_I_VALUES = (0x00, 0x10, 0x20, 0x30, 0x60, 0x70)

I_SCP02_RMAC = 0x20
I_SCP03_PSEUDO_RANDOM = 0x10
I_SCP03_RMAC = 0x20
I_SCP03_RENC = 0x40


class Scp(enum.IntEnum):
    """The secure channel protocol; the value is the byte the card reports in its key information."""

    SCP02 = 0x02
    SCP03 = 0x03

    @classmethod
    def parse(cls, text: str) -> Scp:
        """``02``/``2``/``SCP02`` and ``03``/``3``/``SCP03``."""
        cleaned = text.strip().upper().removeprefix("SCP")
        if cleaned in ("2", "02"):
            return cls.SCP02
        if cleaned in ("3", "03"):
            return cls.SCP03
        raise ChannelUsageError(f"scp: expected 02 or 03, got {text!r}")


class SecurityLevel(enum.IntEnum):
    """The P1 of EXTERNAL AUTHENTICATE: which protections every later command and response get."""

    CMAC = 0x01
    CMAC_CDEC = 0x03
    CMAC_RMAC = 0x11
    CMAC_CDEC_RMAC = 0x13
    CMAC_CDEC_RMAC_RENC = 0x33

    @property
    def c_dec(self) -> bool:
        return bool(self.value & 0x02)

    @property
    def r_mac(self) -> bool:
        return bool(self.value & 0x10)

    @property
    def r_enc(self) -> bool:
        return bool(self.value & 0x20)

    @classmethod
    def parse(cls, text: str) -> SecurityLevel:
        """The level as GlobalPlatform writes it, in hex: ``1``/``01``, ``3``, ``11``, ``13``, ``33``."""
        try:
            return cls(int(text.strip().lower().removeprefix("0x"), 16))
        except ValueError:
            raise ChannelUsageError(f"level: expected 01, 03, 11, 13 or 33, got {text!r}") from None


def check_i(scp: Scp, i: int) -> int:
    """Refuse an ``i`` this implementation does not speak; return it."""
    allowed = SCP02_I_VALUES if scp is Scp.SCP02 else SCP03_I_VALUES
    if isinstance(i, bool) or not isinstance(i, int) or i not in allowed:
        shown = ", ".join(f"{v:02X}" for v in allowed)
        raise ChannelUsageError(f"i: {scp.name} here supports {shown}, got {i!r}")
    return i


def check_level(scp: Scp, level: SecurityLevel) -> SecurityLevel:
    if not isinstance(level, SecurityLevel):
        raise ChannelUsageError(f"level: expected a SecurityLevel, got {level!r}")
    if level.r_enc and scp is not Scp.SCP03:
        raise ChannelUsageError("level 33: R-ENCRYPTION exists in SCP03 only")
    return level


def pseudo_random_challenge(scp: Scp, i: int) -> bool:
    """Whether a card with this ``i`` derives its challenge from its sequence counter (SCP03 bit 10)."""
    return scp is Scp.SCP03 and bool(i & I_SCP03_PSEUDO_RANDOM)


def level_offered(scp: Scp, i: int, level: SecurityLevel) -> bool:
    """Whether a card with this ``i`` offers ``level`` (R-MAC and R-ENC need their ``i`` bits)."""
    if level.r_enc and not (scp is Scp.SCP03 and i & I_SCP03_RENC):
        return False
    if level.r_mac:
        return bool(i & (I_SCP02_RMAC if scp is Scp.SCP02 else I_SCP03_RMAC))
    return True


def cipher_block_size(scp: Scp) -> int:
    """8 for SCP02 (3DES), 16 for SCP03 (AES)."""
    return 8 if scp is Scp.SCP02 else 16


def max_command_data(scp: Scp, level: SecurityLevel) -> int:
    """The most plaintext data one short command can carry at this level.

    C-MAC takes 8 bytes; C-DECRYPTION always pads (ISO 9797-1 method 2) to whole cipher blocks.
    Both SCP02 and SCP03 come out at 247 (MAC only) and 239 (MAC and encryption).
    """
    room = SHORT_DATA_MAX - MAC_LENGTH
    if not level.c_dec:
        return room
    block = cipher_block_size(scp)
    return (room // block) * block - 1
