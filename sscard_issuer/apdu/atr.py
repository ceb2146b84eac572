"""The answer to reset (ISO/IEC 7816-3 section 8): interface bytes, historical bytes, TCK.

Only parsing and building; what the historical bytes mean on a social security card is the card
model's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from sscard_issuer.errors import SscardError


class AtrError(SscardError, ValueError):
    """The bytes are not a well-formed ATR."""


@dataclass(frozen=True)
class Atr:
    raw: bytes
    historical: bytes
    protocols: tuple[int, ...]
    has_tck: bool

    @classmethod
    def parse(cls, raw: bytes) -> Atr:
        if len(raw) < 2:
            raise AtrError(f"an ATR has at least 2 bytes, got {len(raw)}")
        if raw[0] not in (0x3B, 0x3F):
            raise AtrError(f"TS must be 3B or 3F, got {raw[0]:02X}")
        k = raw[1] & 0x0F
        y = raw[1] >> 4
        offset = 2
        protocols: list[int] = []
        while True:
            for bit in (0x1, 0x2, 0x4):  # TAi, TBi, TCi
                if y & bit:
                    offset += 1
            if not y & 0x8:
                break
            if offset >= len(raw):
                raise AtrError(f"ATR truncated in the interface bytes at offset {offset}")
            td = raw[offset]
            offset += 1
            protocols.append(td & 0x0F)
            y = td >> 4
        if offset > len(raw):
            raise AtrError(f"ATR truncated in the interface bytes at offset {len(raw)}")
        has_tck = any(p != 0 for p in protocols)
        end = offset + k
        expected = end + (1 if has_tck else 0)
        if len(raw) != expected:
            raise AtrError(f"ATR announces {k} historical bytes: expected {expected} bytes, got {len(raw)}")
        if has_tck:
            check = 0
            for b in raw[1:]:
                check ^= b
            if check != 0:
                raise AtrError("ATR check byte TCK is wrong")
        return cls(bytes(raw), bytes(raw[offset:end]), tuple(protocols) or (0,), has_tck)

    @classmethod
    def for_t0(cls, historical: bytes) -> Atr:
        """An ATR for a T=0 card with default parameters (TB1 = TC1 = 0) and these historical bytes."""
        if len(historical) > 15:
            raise AtrError(f"at most 15 historical bytes, got {len(historical)}")
        return cls.parse(bytes([0x3B, 0x60 | len(historical), 0x00, 0x00]) + historical)

    @property
    def card_factor(self) -> bytes:
        """The last 8 bytes of the ATR: the first key diversification factor of the SSC (card.md 4)."""
        return self.raw[-8:]
