"""BER-TLV (ISO/IEC 7816-4 and X.690, as EMV and GlobalPlatform cards use it) and simple-TLV.

Round trips are exact: for every input the decoder accepts, encoding what it returned gives the
same bytes back. Two things in real card data make that need care:

- non-minimal lengths (``81 05`` where ``05`` would do; EMV/GP cards send them): accepted, and
  remembered in ``Tlv.length_octets`` so that encoding writes the same form again. The field
  does not take part in equality: ``81 05`` and ``05`` carry the same object.
- padding ``00``/``FF`` between objects (ISO 7816-4 5.2.2, EMV Book 3 annex B): skipped by
  ``decode_ber``, so it is not re-emitted between top-level objects. Padding inside a
  constructed object is kept, because a value is stored verbatim and ``children`` parses it
  on demand. The round-trip guarantee therefore reads: equal bytes for input with no padding
  between top-level objects, and equal objects always.

Tags are ints whose big-endian bytes are the tag field (``0x9F0C``, ``0xBF3E``, ``0x5F20``);
1 to 3 bytes as ISO 7816-4 allows. Second bytes below ``1F`` are accepted (EMV uses them,
``9F02``); ``80`` as second byte (a padded tag number) and first bytes ``00``/``FF`` (padding)
are refused. Lengths use at most 4 subsequent bytes (``84 xx xx xx xx``); the indefinite form
``80`` is refused, ISO 7816 has none.

``TlvError.offset`` counts from the start of the bytes given to the decoder (for ``children``,
from the start of the parent's value).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import SscardError

_PADDING = (0x00, 0xFF)
_MAX_TAG_BYTES = 3
_MAX_LENGTH_BYTES = 4


class TlvError(SscardError, ValueError):
    """TLV bytes or values that do not form valid TLV; ``offset`` is where (None: not decoding)."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        self.reason = message
        super().__init__(message if offset is None else f"offset {offset}: {message}")

    def __reduce__(self) -> tuple[type[TlvError], tuple[str, int | None]]:
        return (type(self), (self.reason, self.offset))


def _as_bytes(name: str, value: object) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TlvError(f"{name}: expected bytes, got {type(value).__name__}")


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    """The tag starting at ``pos`` and the offset after it."""
    if pos >= len(data):
        raise TlvError("expected a tag, input ends", pos)
    first = data[pos]
    if first in _PADDING:
        raise TlvError(f"expected a tag, found padding byte {first:02X}", pos)
    end = pos + 1
    if first & 0x1F == 0x1F:  # tag number continues in further bytes
        while True:
            if end >= len(data):
                raise TlvError("expected another tag byte, input ends", end)
            byte = data[end]
            if end == pos + 1 and byte == 0x80:
                raise TlvError("tag byte 80 after the first byte pads the tag number", end)
            end += 1
            if not byte & 0x80:
                break
            if end - pos >= _MAX_TAG_BYTES:
                raise TlvError(f"tag longer than {_MAX_TAG_BYTES} bytes", pos)
    return int.from_bytes(data[pos:end], "big"), end


def _read_length(data: bytes, pos: int) -> tuple[int, int, int]:
    """The length at ``pos``, the offset after it and how many octets it took."""
    if pos >= len(data):
        raise TlvError("expected a length, input ends", pos)
    first = data[pos]
    if first < 0x80:
        return first, pos + 1, 1
    count = first & 0x7F
    if count == 0:
        raise TlvError("indefinite length 80 is not allowed in ISO 7816 BER-TLV", pos)
    if count > _MAX_LENGTH_BYTES:
        raise TlvError(
            f"length byte {first:02X} announces {count} length bytes, at most "
            f"{_MAX_LENGTH_BYTES} are allowed", pos)
    if pos + 1 + count > len(data):
        raise TlvError(
            f"expected {count} length bytes after {first:02X}, "
            f"{len(data) - pos - 1} remain", pos + 1)
    return int.from_bytes(data[pos + 1:pos + 1 + count], "big"), pos + 1 + count, 1 + count


def _tag_bytes(tag: int) -> bytes:
    if isinstance(tag, bool) or not isinstance(tag, int) or tag <= 0:
        raise TlvError(f"tag: expected a positive int, got {tag!r}")
    raw = tag.to_bytes((tag.bit_length() + 7) // 8, "big")
    try:
        _, end = _read_tag(raw, 0)
    except TlvError as exc:
        raise TlvError(f"tag {tag:X}: {exc.reason}") from None
    if end != len(raw):
        raise TlvError(f"tag {tag:X}: the tag field ends after {end} of its {len(raw)} bytes")
    return raw


def _minimal_length_octets(length: int) -> int:
    if length < 0x80:
        return 1
    count = (length.bit_length() + 7) // 8
    if count > _MAX_LENGTH_BYTES:
        raise TlvError(f"value of {length} bytes is too long for a 4-byte length field")
    return 1 + count


def _encode_length(length: int, octets: int) -> bytes:
    if octets == 1:
        return bytes((length,))
    return bytes((0x80 | (octets - 1),)) + length.to_bytes(octets - 1, "big")


@dataclass(frozen=True, repr=False)
class Tlv:
    """One BER-TLV data object: ``tag`` and its ``value`` bytes.

    ``length_octets`` is how many octets the length field took when decoded (None: the minimal
    form); it only exists so that non-minimal input re-encodes identically, and is ignored by
    ``==``. A constructed object's value is kept as bytes and parsed by ``children``, so a
    malformed inner structure is reported when it is read, not hidden or rewritten.
    """

    tag: int
    value: bytes = b""
    length_octets: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _tag_bytes(self.tag)
        if type(self.value) is not bytes:
            object.__setattr__(self, "value", _as_bytes("value", self.value))
        minimal = _minimal_length_octets(len(self.value))
        octets = self.length_octets
        if octets is None:
            return
        if isinstance(octets, bool) or not isinstance(octets, int) \
                or not minimal <= octets <= 1 + _MAX_LENGTH_BYTES:
            raise TlvError(
                f"length_octets: expected None or {minimal}..{1 + _MAX_LENGTH_BYTES} for a "
                f"value of {len(self.value)} bytes, got {octets!r}")
        if octets == minimal:
            object.__setattr__(self, "length_octets", None)

    @property
    def tag_bytes(self) -> bytes:
        return _tag_bytes(self.tag)

    @property
    def constructed(self) -> bool:
        """Bit 6 of the first tag byte: the value is itself a sequence of TLV objects."""
        return bool(self.tag_bytes[0] & 0x20)

    @property
    def children(self) -> tuple[Tlv, ...]:
        """The objects inside a constructed value (padding between them skipped)."""
        if not self.constructed:
            raise TlvError(f"tag {self.tag:X} is primitive: its value is not a TLV sequence")
        return tuple(decode_ber(self.value))

    @classmethod
    def build(cls, tag: int, children: Iterable[Tlv]) -> Tlv:
        """A constructed object holding ``children``, encoded in order."""
        if not _tag_bytes(tag)[0] & 0x20:
            raise TlvError(f"tag {tag:X} is primitive: it cannot hold children")
        return cls(tag, encode_ber(children))

    def encode(self) -> bytes:
        octets = self.length_octets or _minimal_length_octets(len(self.value))
        return self.tag_bytes + _encode_length(len(self.value), octets) + self.value

    def __repr__(self) -> str:
        extra = "" if self.length_octets is None else f", length_octets={self.length_octets}"
        return f"Tlv(tag=0x{self.tag:X}, value=bytes.fromhex('{self.value.hex().upper()}'){extra})"


def _decode_at(data: bytes, offset: int) -> tuple[Tlv, int]:
    tag, pos = _read_tag(data, offset)
    length, pos, octets = _read_length(data, pos)
    if pos + length > len(data):
        raise TlvError(
            f"expected {length} value bytes for tag {tag:X}, {len(data) - pos} remain", pos)
    return Tlv(tag, data[pos:pos + length], octets), pos + length


def decode_one(data: bytes, offset: int = 0) -> tuple[Tlv, int]:
    """The object starting exactly at ``offset`` (no padding skipped) and the offset after it."""
    data = _as_bytes("data", data)
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= len(data):
        raise TlvError(f"offset: expected an int 0..{len(data)}, got {offset!r}")
    return _decode_at(data, offset)


def decode_ber(data: bytes) -> list[Tlv]:
    """Every top-level object in ``data``, in order; ``00``/``FF`` padding between them skipped."""
    data = _as_bytes("data", data)
    items: list[Tlv] = []
    pos = 0
    while pos < len(data):
        if data[pos] in _PADDING:
            pos += 1
            continue
        item, pos = _decode_at(data, pos)
        items.append(item)
    return items


def encode_ber(items: Iterable[Tlv]) -> bytes:
    out = bytearray()
    for item in items:
        if not isinstance(item, Tlv):
            raise TlvError(f"items: expected Tlv objects, got {type(item).__name__}")
        out += item.encode()
    return bytes(out)


def find(items: Iterable[Tlv], tag: int) -> Tlv | None:
    """The first object with ``tag`` among ``items`` (one level, not nested)."""
    for item in items:
        if item.tag == tag:
            return item
    return None


def find_path(data_or_items: bytes | Iterable[Tlv], *tags: int) -> Tlv | None:
    """Follow ``tags`` down nested objects, e.g. ``find_path(fci, 0x6F, 0xA5, 0x9F0C, 0x86)``.

    Returns None if some tag on the path is absent. A path that continues below a primitive
    object parses its value as TLV: proprietary templates such as ``9F0C`` in the SSSE FCI carry
    TLV under a primitive tag, and the path is the caller's statement of that structure. Values
    on the path that do not parse raise ``TlvError``: malformed is not the same as absent.
    """
    if not tags:
        raise TlvError("find_path: expected at least one tag")
    if isinstance(data_or_items, (bytes, bytearray, memoryview)):
        items: list[Tlv] = decode_ber(bytes(data_or_items))
    else:
        items = list(data_or_items)
    found: Tlv | None = None
    for depth, tag in enumerate(tags):
        if depth:
            assert found is not None
            items = decode_ber(found.value)
        found = find(items, tag)
        if found is None:
            return None
    return found


# Simple-TLV (ISO 7816-4 5.2.1): the records of EF05 and EF06. One tag byte 01..FE; one length
# byte 00..FE, or FF followed by two length bytes. The three-byte length form is accepted for any
# length on decode, but ``encode_simple`` writes the shortest form, so such a record re-encodes
# shorter (the value is the same).


def _read_simple(data: bytes, pos: int) -> tuple[int, bytes, int]:
    tag = data[pos]
    if tag in _PADDING:
        raise TlvError(f"expected a simple-TLV tag 01..FE, found {tag:02X}", pos)
    if pos + 1 >= len(data):
        raise TlvError("expected a length byte, input ends", pos + 1)
    length, start = data[pos + 1], pos + 2
    if length == 0xFF:
        if pos + 4 > len(data):
            raise TlvError(
                f"expected 2 length bytes after FF, {len(data) - pos - 2} remain", pos + 2)
        length, start = int.from_bytes(data[pos + 2:pos + 4], "big"), pos + 4
    if start + length > len(data):
        raise TlvError(
            f"expected {length} value bytes for tag {tag:02X}, {len(data) - start} remain",
            start)
    return tag, data[start:start + length], start + length


def decode_simple(data: bytes) -> list[tuple[int, bytes]]:
    """Every simple-TLV record in ``data`` as ``(tag, value)``; no padding allowed between."""
    data = _as_bytes("data", data)
    records: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        tag, value, pos = _read_simple(data, pos)
        records.append((tag, value))
    return records


def decode_simple_record(data: bytes) -> tuple[int, bytes]:
    """Exactly one simple-TLV record, as READ RECORD returns it.

    Fixed-size records are padded after the value, so trailing ``00``/``FF`` bytes are allowed;
    any other trailing byte is an error. A record holding only padding was never written.
    """
    data = _as_bytes("data", data)
    if not data:
        raise TlvError("expected a simple-TLV record, input is empty", 0)
    if all(byte in _PADDING for byte in data):
        raise TlvError("record holds only 00/FF padding: it was never written", 0)
    tag, value, pos = _read_simple(data, 0)
    for index in range(pos, len(data)):
        if data[index] not in _PADDING:
            raise TlvError(
                f"expected only 00/FF padding after the record, found {data[index]:02X}", index)
    return tag, value


def encode_simple(tag: int, value: bytes) -> bytes:
    """One simple-TLV record; lengths from 255 up use the ``FF hi lo`` form."""
    if isinstance(tag, bool) or not isinstance(tag, int) or not 0x01 <= tag <= 0xFE:
        raise TlvError(f"tag: expected an int 01..FE, got {tag!r}")
    value = _as_bytes("value", value)
    if len(value) > 0xFFFF:
        raise TlvError(f"value: expected at most 65535 bytes, got {len(value)}")
    if len(value) < 0xFF:
        return bytes((tag, len(value))) + value
    return bytes((tag, 0xFF)) + len(value).to_bytes(2, "big") + value
