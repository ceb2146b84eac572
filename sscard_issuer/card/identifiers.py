"""Identifiers of the card and its holder, as value types that cannot exist invalid.

Each type checks itself when built and prints its canonical form with ``str()``; the card
description maps record bytes straight onto these types, so a badly personalised card fails when
read, with the field named, instead of somewhere later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum

from sscard_issuer.errors import FieldError

__all__ = [
    "CIC_RID",
    "AreaCode",
    "CardIdentificationCode",
    "CardNumber",
    "Sex",
    "SocialSecurityNumber",
]

# GB/T 2260 province-level prefixes, kept simple on purpose (brief: no full division table).
_PROVINCES = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55),
     *range(61, 66), 71, 81, 82]
)

# GB 11643 / ISO 7064 MOD 11-2 weights over the first 17 characters, and the check alphabet.
# A social security number is the holder's 18-character identity number: a citizen's (GB/T 2260
# area first), a Hong Kong, Macao or Taiwan resident's residence permit (810000, 820000, 830000),
# or a foreigner's 2023 permanent residence ID (9, then a province) - the same GB 11643 check.
_SSN_PREFIXES = _PROVINCES | {83} | set(range(90, 100))
_SSN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_SSN_CHECK = "10X98765432"

#: Bytes 4-8 of every card identification code (the registered application provider, card.md §2).
CIC_RID = bytes.fromhex("D156000005")

_CARD_NUMBER = re.compile(r"[A-Z][0-9]{8}|[A-Z]{2}[0-9]{7}|[0-9]{9}")


def _is_digits(text: str, count: int) -> bool:
    return len(text) == count and text.isascii() and text.isdigit()


class Sex(Enum):
    """GB/T 2261.1 sex code, as stored (ASCII) in EF06 record 0A."""

    MALE = "1"
    FEMALE = "2"


@dataclass(frozen=True)
class AreaCode:
    """A six-digit administrative division code (GB/T 2260) with a known province prefix."""

    code: str

    def __post_init__(self) -> None:
        code = self.code
        if not isinstance(code, str) or not _is_digits(code, 6):
            raise FieldError("area_code", "six digits (GB/T 2260)", code)
        if int(code[:2]) not in _PROVINCES:
            raise FieldError("area_code", "a GB/T 2260 province prefix (11-82)", code)

    @classmethod
    def parse(cls, text: str) -> AreaCode:
        return cls(text.strip() if isinstance(text, str) else text)

    @property
    def province(self) -> str:
        return self.code[:2]

    def __str__(self) -> str:
        return self.code


@dataclass(frozen=True)
class SocialSecurityNumber:
    """The 18-character citizen identity number used as social security number (GB 11643).

    A lower-case check character ``x`` is normalised to ``X``; the area prefix, the birth date and
    the MOD 11-2 check character are all verified when built.
    """

    value: str

    def __post_init__(self) -> None:
        value = self.value
        if not isinstance(value, str) or len(value) != 18:
            raise FieldError("ssn", "18 characters (GB 11643)", value)
        value = value[:17] + value[17].upper()
        object.__setattr__(self, "value", value)
        if not _is_digits(value[:17], 17) or value[17] not in "0123456789X":
            raise FieldError("ssn", "17 digits and a check character 0-9 or X", value)
        if int(value[:2]) not in _SSN_PREFIXES:
            raise FieldError("ssn", "a GB/T 2260 area code, 83 (Taiwan residence permit) or 9 "
                             "(foreigner's permanent residence ID) in the first digits", value[:6])
        try:
            date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
        except ValueError:
            raise FieldError("ssn", "a calendar date in digits 7-14", value[6:14]) from None
        expected = self.check_character(value[:17])
        if value[17] != expected:
            raise FieldError("ssn", f"check character {expected!r}", value[17])

    @classmethod
    def check_character(cls, first17: str) -> str:
        """The GB 11643 check character for the first 17 digits."""
        if not isinstance(first17, str) or not _is_digits(first17, 17):
            raise FieldError("ssn", "17 digits", first17)
        total = sum(int(d) * w for d, w in zip(first17, _SSN_WEIGHTS, strict=True))
        return _SSN_CHECK[total % 11]

    @classmethod
    def parse(cls, text: str) -> SocialSecurityNumber:
        return cls(text.strip() if isinstance(text, str) else text)

    @property
    def area_code(self) -> AreaCode | None:
        """The GB/T 2260 area of a citizen's number; None for a Taiwan residence permit (83) or a
        foreigner's permanent residence ID (9x) number, which name no mainland area."""
        return AreaCode(self.value[:6]) if int(self.value[:2]) in _PROVINCES else None

    @property
    def birth_date(self) -> date:
        v = self.value
        return date(int(v[6:10]), int(v[10:12]), int(v[12:14]))

    @property
    def sex(self) -> Sex:
        """Odd sequence numbers are men, even ones women (digit 17)."""
        return Sex.MALE if int(self.value[16]) % 2 else Sex.FEMALE

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class CardIdentificationCode:
    """卡识别码, EF05 record 01: the card's 16-byte serial.

    Bytes 1-3 the issuing area code in BCD, bytes 4-8 ``D156000005``, bytes 9-16 card-specific
    (opaque: real cards carry e.g. ``99110145FFFFFFFF`` as well as random-looking values).
    """

    raw: bytes

    def __post_init__(self) -> None:
        raw = self.raw
        if not isinstance(raw, (bytes, bytearray)) or len(raw) != 16:
            raise FieldError("card_id", "16 bytes", raw)
        object.__setattr__(self, "raw", bytes(raw))
        area = raw[:3].hex()
        if not area.isdigit():
            raise FieldError("card_id", "an area code in BCD in bytes 1-3", area.upper())
        try:
            AreaCode(area)
        except FieldError as error:
            raise FieldError("card_id", f"bytes 1-3: {error.expected}", area) from None
        if raw[3:8] != CIC_RID:
            raise FieldError("card_id", "D156000005 in bytes 4-8", raw[3:8].hex().upper())

    @classmethod
    def parse(cls, text: str) -> CardIdentificationCode:
        """From 32 hexadecimal digits (either case), the form printed in logs and interfaces."""
        if not isinstance(text, str) or len(text.strip()) != 32:
            raise FieldError("card_id", "32 hexadecimal digits", text)
        try:
            return cls(bytes.fromhex(text.strip()))
        except ValueError as error:
            if isinstance(error, FieldError):
                raise
            raise FieldError("card_id", "32 hexadecimal digits", text) from None

    @classmethod
    def build(cls, area_code: AreaCode, card_specific: bytes) -> CardIdentificationCode:
        if not isinstance(area_code, AreaCode):
            raise FieldError("area_code", "an AreaCode", area_code)
        if not isinstance(card_specific, (bytes, bytearray)) or len(card_specific) != 8:
            raise FieldError("card_specific", "8 bytes", card_specific)
        return cls(bytes.fromhex(area_code.code) + CIC_RID + bytes(card_specific))

    @property
    def hex(self) -> str:
        return self.raw.hex().upper()

    @property
    def area_code(self) -> AreaCode:
        return AreaCode(self.raw[:3].hex())

    @property
    def card_specific(self) -> bytes:
        return self.raw[8:]

    def __bytes__(self) -> bytes:
        return self.raw

    def __str__(self) -> str:
        return self.hex


@dataclass(frozen=True)
class CardNumber:
    """卡号, EF05 record 07: nine characters, one letter + 8 digits, two letters + 7, or 9 digits.

    Letters are normalised to upper case (regional formats print them so).
    """

    value: str

    def __post_init__(self) -> None:
        value = self.value
        if isinstance(value, str) and value.isascii():
            value = value.upper()
            object.__setattr__(self, "value", value)
        if not isinstance(value, str) or not _CARD_NUMBER.fullmatch(value):
            raise FieldError(
                "card_number", "9 characters: A+8 digits, AB+7 digits or 9 digits", value
            )

    @classmethod
    def parse(cls, text: str) -> CardNumber:
        return cls(text.strip() if isinstance(text, str) else text)

    def __str__(self) -> str:
        return self.value
