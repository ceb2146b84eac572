"""Codecs for the card's data elements: one value type <-> exactly ``length`` bytes.

The records of EF05/EF06 (card.md section 2) are fixed-length items in a handful of encodings:
cn (BCD digits padded with ``F`` nibbles), an (ASCII padded with ``00``), exact-length ASCII, BCD
dates and GBK text. Each encoding is one small codec object, so the card description in
:mod:`sscard_issuer.card.ssc` can say "this record is ``Numeric(10)``" as data, and the reader, the
personaliser and the simulator all encode the same bytes.

Encoding refuses bad values with :class:`FieldError` (the caller's fault); decoding refuses bad
bytes with :class:`DecodeError` (the card's fault). Nothing is truncated, substituted or guessed.

GBK or GB 18030: a card stores names in GBK, but GBK cannot encode every character of the identity
register (for example U+20BB7 '𠮷', an extension-B ideograph); GB 18030 can. Which one a region's
cards accept is not public, so the encoding is a parameter (default ``"gbk"``), and a character the
chosen encoding cannot hold is refused by name rather than replaced by ``?``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sscard_issuer.errors import FieldError, SscardError

__all__ = [
    "NAME_EXTENSION_LENGTH",
    "NAME_LENGTH",
    "Alphanumeric",
    "AsciiFixed",
    "BcdDate",
    "BcdDigits",
    "Binary",
    "Codec",
    "DecodeError",
    "GbkText",
    "Mapped",
    "Numeric",
    "decode_name",
    "encode_name",
]

T = TypeVar("T")
A = TypeVar("A")

_DIGITS = re.compile(r"[0-9]*")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")

#: Bytes of the name record (tag 09) and of its continuation (tag 4E), card.md section 2.
NAME_LENGTH = 30
NAME_EXTENSION_LENGTH = 20


class DecodeError(SscardError, ValueError):
    """Bytes read from a card (or a card image) are not a valid encoding of the item."""


class Codec(ABC, Generic[T]):
    """Turns a value of type ``T`` into exactly :attr:`length` bytes and back."""

    length: int

    @abstractmethod
    def encode(self, value: T) -> bytes:
        """Exactly ``length`` bytes, or :class:`FieldError` saying what was expected."""

    @abstractmethod
    def decode(self, raw: bytes) -> T:
        """Return the value held in ``raw``, or raise :class:`DecodeError`."""

    def _check_raw(self, raw: bytes) -> bytes:
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise DecodeError(f"expected bytes, got {type(raw).__name__}")
        raw = bytes(raw)
        if len(raw) != self.length:
            raise DecodeError(f"expected {self.length} bytes, got {len(raw)}")
        return raw


def _check_length(length: int) -> None:
    # bool is an int; a codec of length True would be a bug in the description.
    if not isinstance(length, int) or isinstance(length, bool) or length < 1:
        raise ValueError(f"codec length must be a positive int, got {length!r}")


def _require_str(value: object, expected: str) -> str:
    if not isinstance(value, str):
        raise FieldError("value", expected, value)
    return value


@dataclass(frozen=True)
class Numeric(Codec[str]):
    """cn: decimal digits left-aligned in BCD, right-padded with ``F`` nibbles.

    An all-``F`` item decodes to ``""`` (an item present but empty), so blank cards read back.
    """

    length: int

    def __post_init__(self) -> None:
        _check_length(self.length)

    def encode(self, value: str) -> bytes:
        expected = f"at most {2 * self.length} decimal digits"
        text = _require_str(value, expected)
        if not (_DIGITS.fullmatch(text) and text.isascii()) or len(text) > 2 * self.length:
            raise FieldError("value", expected, value)
        return bytes.fromhex(text.ljust(2 * self.length, "F"))

    def decode(self, raw: bytes) -> str:
        nibbles = self._check_raw(raw).hex().upper()
        digits = nibbles.rstrip("F")
        if not _DIGITS.fullmatch(digits):
            raise DecodeError(f"cn item {nibbles} is not digits padded with F")
        return digits


@dataclass(frozen=True)
class Alphanumeric(Codec[str]):
    """an: printable ASCII left-aligned, right-padded with ``00``."""

    length: int

    def __post_init__(self) -> None:
        _check_length(self.length)

    def encode(self, value: str) -> bytes:
        expected = f"at most {self.length} printable ASCII characters"
        text = _require_str(value, expected)
        if not _PRINTABLE_ASCII.fullmatch(text) or len(text) > self.length:
            raise FieldError("value", expected, value)
        return text.encode("ascii").ljust(self.length, b"\x00")

    def decode(self, raw: bytes) -> str:
        raw = self._check_raw(raw)
        body = raw.rstrip(b"\x00")
        if not _PRINTABLE_ASCII.fullmatch(body.decode("latin-1")):
            raise DecodeError(f"an item {raw.hex().upper()} is not printable ASCII padded with 00")
        return body.decode("ascii")


@dataclass(frozen=True)
class AsciiFixed(Codec[str]):
    """Printable ASCII of exactly ``length`` characters (the version ``3.00``, an 18-char SSN)."""

    length: int

    def __post_init__(self) -> None:
        _check_length(self.length)

    def encode(self, value: str) -> bytes:
        expected = f"exactly {self.length} printable ASCII characters"
        text = _require_str(value, expected)
        if not _PRINTABLE_ASCII.fullmatch(text) or len(text) != self.length:
            raise FieldError("value", expected, value)
        return text.encode("ascii")

    def decode(self, raw: bytes) -> str:
        raw = self._check_raw(raw)
        text = raw.decode("latin-1")
        if not _PRINTABLE_ASCII.fullmatch(text):
            raise DecodeError(f"item {raw.hex().upper()} is not printable ASCII")
        return text


@dataclass(frozen=True)
class BcdDigits(Codec[str]):
    """Exactly ``n_digits`` decimal digits in BCD; an odd count ends with one ``F`` nibble.

    Used for the birthplace (6 digits, 3 bytes) and the ethnic group (2 digits, 1 byte).
    """

    n_digits: int
    length: int = field(init=False)

    def __post_init__(self) -> None:
        _check_length(self.n_digits)
        object.__setattr__(self, "length", (self.n_digits + 1) // 2)

    def encode(self, value: str) -> bytes:
        expected = f"exactly {self.n_digits} decimal digits"
        text = _require_str(value, expected)
        if not (_DIGITS.fullmatch(text) and text.isascii()) or len(text) != self.n_digits:
            raise FieldError("value", expected, value)
        return bytes.fromhex(text.ljust(2 * self.length, "F"))

    def decode(self, raw: bytes) -> str:
        nibbles = self._check_raw(raw).hex().upper()
        digits, padding = nibbles[: self.n_digits], nibbles[self.n_digits :]
        if not _DIGITS.fullmatch(digits) or padding not in ("", "F"):
            raise DecodeError(f"BCD item {nibbles} is not {self.n_digits} digits")
        return digits


@dataclass(frozen=True)
class BcdDate(Codec[date]):
    """A calendar date as 4 bytes of BCD ``YYYYMMDD`` (issue, expiry and birth dates)."""

    length: int = field(default=4, init=False)

    def encode(self, value: date) -> bytes:
        if not isinstance(value, date) or isinstance(value, datetime):  # days only, no time
            raise FieldError("value", "a date", value)
        return bytes.fromhex(f"{value.year:04d}{value.month:02d}{value.day:02d}")

    def decode(self, raw: bytes) -> date:
        nibbles = self._check_raw(raw).hex()
        if not _DIGITS.fullmatch(nibbles):
            raise DecodeError(f"date {nibbles.upper()} is not BCD YYYYMMDD")
        try:
            return date(int(nibbles[:4]), int(nibbles[4:6]), int(nibbles[6:]))
        except ValueError:
            raise DecodeError(f"date {nibbles} is not a calendar date") from None


@dataclass(frozen=True)
class Binary(Codec[bytes]):
    """Opaque bytes of exactly ``length`` (card identification code, initialising organisation)."""

    length: int

    def __post_init__(self) -> None:
        _check_length(self.length)

    def encode(self, value: bytes) -> bytes:
        if not isinstance(value, (bytes, bytearray)) or len(value) != self.length:
            raise FieldError("value", f"exactly {self.length} bytes", value)
        return bytes(value)

    def decode(self, raw: bytes) -> bytes:
        return self._check_raw(raw)


def _encode_text(text: str, encoding: str, item: str) -> list[bytes]:
    """Encode ``text`` one character at a time, refusing by name what the encoding cannot hold."""
    parts = []
    for char in text:
        if char == "\x00":
            raise FieldError(item, "text without NUL characters (00 is the padding)", text)
        try:
            parts.append(char.encode(encoding))
        except UnicodeEncodeError:
            raise FieldError(
                item, f"characters that {encoding} can encode", f"{char} (U+{ord(char):04X})"
            ) from None
    return parts


@dataclass(frozen=True)
class GbkText(Codec[str]):
    """Text in GBK (or another encoding), left-aligned, right-padded with ``00``.

    Too long is refused, never cut: cutting could split a two-byte character.
    """

    length: int
    encoding: str = "gbk"

    def __post_init__(self) -> None:
        _check_length(self.length)
        "".encode(self.encoding)  # an unknown encoding fails here, when the description is built

    def encode(self, value: str) -> bytes:
        text = _require_str(value, f"text of at most {self.length} {self.encoding} bytes")
        data = b"".join(_encode_text(text, self.encoding, "value"))
        if len(data) > self.length:
            raise FieldError("value", f"at most {self.length} {self.encoding} bytes", value)
        return data.ljust(self.length, b"\x00")

    def decode(self, raw: bytes) -> str:
        return _decode_text(self._check_raw(raw).rstrip(b"\x00"), self.encoding)


def _decode_text(data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise DecodeError(f"{data.hex().upper()} is not valid {encoding}") from None
    if "\x00" in text:
        raise DecodeError(f"{data.hex().upper()} has 00 inside the text")
    return text


def encode_name(name: str, *, encoding: str = "gbk") -> tuple[bytes, bytes | None]:
    """Split a name into the 30-byte record 09 and, only when needed, the 20-byte record 4E.

    Record 09 takes as many whole characters as fit; the rest goes to 4E. The split is always at
    a character boundary, so each record also decodes on its own (a reader that knows only 09
    shows a shortened name, not mojibake). Refused with ``FieldError("name", ...)``: an empty
    name, a character the encoding cannot hold, or more than 30 + 20 bytes.
    """
    if not isinstance(name, str) or not name:
        raise FieldError("name", "a non-empty name", name)
    parts = _encode_text(name, encoding, "name")
    total = sum(len(p) for p in parts)
    if total > NAME_LENGTH + NAME_EXTENSION_LENGTH:
        raise FieldError(
            "name", f"at most {NAME_LENGTH + NAME_EXTENSION_LENGTH} {encoding} bytes", name
        )
    head = b""
    index = 0
    while index < len(parts) and len(head) + len(parts[index]) <= NAME_LENGTH:
        head += parts[index]
        index += 1
    tail = b"".join(parts[index:])
    if len(tail) > NAME_EXTENSION_LENGTH:  # only when a boundary falls badly near byte 30
        expected = f"a name that splits at a character boundary into {NAME_LENGTH}+"
        raise FieldError("name", f"{expected}{NAME_EXTENSION_LENGTH} {encoding} bytes", name)
    b09 = head.ljust(NAME_LENGTH, b"\x00")
    return b09, (tail.ljust(NAME_EXTENSION_LENGTH, b"\x00") if tail else None)


def decode_name(b09: bytes, b4e: bytes | None = None, *, encoding: str = "gbk") -> str:
    """Join records 09 and 4E back into the name.

    The bytes are joined before decoding, so a card that split inside a character (written by
    some other issuer) still reads correctly. An empty name is a :class:`DecodeError`.
    """
    if not isinstance(b09, (bytes, bytearray)) or len(b09) != NAME_LENGTH:
        raise DecodeError(f"name record 09 must be {NAME_LENGTH} bytes")
    data = bytes(b09).rstrip(b"\x00")
    if b4e is not None:
        if not isinstance(b4e, (bytes, bytearray)) or len(b4e) != NAME_EXTENSION_LENGTH:
            raise DecodeError(f"name record 4E must be {NAME_EXTENSION_LENGTH} bytes")
        data += bytes(b4e).rstrip(b"\x00")
    if not data:
        raise DecodeError("name is empty")
    return _decode_text(data, encoding)


B = TypeVar("B")


@dataclass(frozen=True)
class Mapped(Codec[B], Generic[A, B]):
    """A codec whose value is a domain type built from an inner codec's value.

    ``Mapped(AsciiFixed(18), SocialSecurityNumber, str, SocialSecurityNumber)`` reads an SSN
    record straight into the validated type; a value the type refuses becomes a
    :class:`DecodeError` when read from a card.
    """

    inner: Codec[A]
    load: Callable[[A], B]
    dump: Callable[[B], A]
    value_type: type[Any]
    length: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "length", self.inner.length)

    def encode(self, value: B) -> bytes:
        if not isinstance(value, self.value_type):
            raise FieldError("value", f"a {self.value_type.__name__}", value)
        return self.inner.encode(self.dump(value))

    def decode(self, raw: bytes) -> B:
        plain = self.inner.decode(raw)
        try:
            return self.load(plain)
        except ValueError as error:  # FieldError included: the type refused what the card holds
            raise DecodeError(f"{self.value_type.__name__}: {error}") from None
