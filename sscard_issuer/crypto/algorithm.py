"""The block cipher algorithms a card or a key store speaks, as an enum rather than strings."""

from __future__ import annotations

import enum

from sscard_issuer.crypto.errors import UnsupportedAlgorithm

# FCI tag 86 of the social security application: the card's symmetric algorithm.
_CARD_IDS: dict[int, str] = {0x01: "DES3", 0x03: "SM4"}
_UNSUPPORTED_CARD_IDS: dict[int, str] = {0x02: "SSF33"}


class Algorithm(enum.Enum):
    """A symmetric block cipher; the value is the stable short name used in key labels and files."""

    DES3 = "3DES"
    SM4 = "SM4"
    AES = "AES"

    @property
    def block_size(self) -> int:
        """Block length in bytes: 8 for 3DES, 16 for SM4 and AES."""
        return 8 if self is Algorithm.DES3 else 16

    @classmethod
    def from_card_id(cls, byte: int) -> Algorithm:
        """Map the algorithm byte a card reports (FCI tag 86) to an :class:`Algorithm`.

        SSF33 (0x02) is a real value on older cards, but its cipher is not public, so it is refused
        by name rather than treated as an unknown byte.
        """
        if not isinstance(byte, int) or not 0 <= byte <= 0xFF:
            raise UnsupportedAlgorithm(f"card algorithm id must be one byte, got {byte!r}")
        if byte in _CARD_IDS:
            return cls[_CARD_IDS[byte]]
        if byte in _UNSUPPORTED_CARD_IDS:
            raise UnsupportedAlgorithm(
                f"card algorithm 0x{byte:02X} ({_UNSUPPORTED_CARD_IDS[byte]}) is not supported"
            )
        raise UnsupportedAlgorithm(
            f"card algorithm byte 0x{byte:02X} is unknown (expected 0x01 3DES or 0x03 SM4)"
        )
