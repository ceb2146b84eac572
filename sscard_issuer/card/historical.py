"""What the 13 historical bytes of a social security card's ATR carry (card.md section 2).

Layout (inferred from public reader code, where only the parts are named): a 2-byte card-vendor
code, the 3-byte issuing area in BCD, and an 8-byte serial. The serial ends the ATR, so it is also
the card factor of key diversification (the last 8 bytes of the ATR).
"""

from __future__ import annotations

from dataclasses import dataclass

from sscard_issuer.card.identifiers import AreaCode
from sscard_issuer.errors import FieldError

HISTORICAL_LENGTH = 13

# Card-vendor codes seen on real cards (card.md): the simulator uses its own, outside this list.
KNOWN_VENDORS = {b"\x86\x60": "Eastcompeace", b"\x86\x65": "Goldpac"}
SIMULATOR_VENDOR = b"\x86\x99"


@dataclass(frozen=True)
class SscHistoricalBytes:
    vendor: bytes
    area_code: AreaCode
    serial: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.vendor, bytes) or len(self.vendor) != 2:
            raise FieldError("vendor", "2 bytes", self.vendor)
        if not isinstance(self.serial, bytes) or len(self.serial) != 8:
            raise FieldError("serial", "8 bytes", self.serial)

    def encode(self) -> bytes:
        return self.vendor + bytes.fromhex(str(self.area_code)) + self.serial

    @classmethod
    def parse(cls, historical: bytes) -> SscHistoricalBytes:
        if len(historical) != HISTORICAL_LENGTH:
            raise FieldError("atr_historical", f"{HISTORICAL_LENGTH} bytes", historical.hex().upper())
        return cls(historical[:2], AreaCode(historical[2:5].hex()), historical[5:])

    @property
    def vendor_name(self) -> str:
        return KNOWN_VENDORS.get(self.vendor, "unknown vendor")
