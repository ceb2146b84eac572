"""BER-TLV and simple-TLV: known structures, edge forms, truncation, exact round trips."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sscard_issuer.apdu import (
    Tlv,
    TlvError,
    decode_ber,
    decode_one,
    decode_simple,
    decode_simple_record,
    encode_ber,
    encode_simple,
    find,
    find_path,
)
from sscard_issuer.errors import SscardError

h = bytes.fromhex
SSSE_AID = h("7378312E73682EC9E7BBE1B1A3D5CF")
# 6F 1C = 84 0F <15-byte AID> (17 bytes) + A5 09 <88 01 1E, 9F0C 03 <86 01 03>> (11 bytes)
FCI = h("6F1C" "840F7378312E73682EC9E7BBE1B1A3D5CF" "A509" "88011E" "9F0C03" "860103")


# Known structures ---------------------------------------------------------------------------

def test_ssse_fci() -> None:
    (fci,) = decode_ber(FCI)
    assert fci.tag == 0x6F and fci.constructed and len(fci.value) == 0x1C
    aid, proprietary = fci.children
    assert aid == Tlv(0x84, SSSE_AID) and not aid.constructed
    assert [c.tag for c in proprietary.children] == [0x88, 0x9F0C]
    assert find_path(FCI, 0x6F, 0x84) == Tlv(0x84, SSSE_AID)
    assert find_path(FCI, 0x6F, 0xA5, 0x88) == Tlv(0x88, h("1E"))
    # 9F0C is primitive by its tag, but carries TLV (card.md): the path says so
    assert find_path(FCI, 0x6F, 0xA5, 0x9F0C, 0x86) == Tlv(0x86, h("03"))
    assert find_path([fci], 0x6F, 0xA5, 0x9F0C, 0x86) == Tlv(0x86, h("03"))
    assert find_path(FCI, 0x6F, 0xA5, 0x87) is None
    assert find_path(FCI, 0x6E) is None
    assert encode_ber([fci]) == FCI


def test_fci_built_from_parts() -> None:
    built = Tlv.build(0x6F, [
        Tlv(0x84, SSSE_AID),
        Tlv.build(0xA5, [Tlv(0x88, h("1E")), Tlv(0x9F0C, Tlv(0x86, h("03")).encode())]),
    ])
    assert built.encode() == FCI


def test_find_is_one_level_and_first_match() -> None:
    items = decode_ber(h("5A01115A0122"))
    assert find(items, 0x5A) == Tlv(0x5A, h("11"))
    assert find(decode_ber(FCI), 0x84) is None


@pytest.mark.parametrize(
    ("raw", "tag", "constructed"),
    [
        (h("5F200141"), 0x5F20, False),  # cardholder name, 2-byte tag
        (h("9F0C0100"), 0x9F0C, False),
        (h("9F020100"), 0x9F02, False),  # EMV: second byte below 1F
        (h("BF0C03500141"), 0xBF0C, True),  # FCI issuer discretionary data
        (h("BF3E00"), 0xBF3E, True),
        (h("DF810101AA"), 0xDF8101, False),  # 3-byte tag
        (h("BF810103800100"), 0xBF8101, True),
        (h("7F4900"), 0x7F49, True),
        (h("0101FF"), 0x01, False),
    ],
)
def test_multi_byte_tags(raw: bytes, tag: int, constructed: bool) -> None:
    (item,) = decode_ber(raw)
    assert item.tag == tag and item.constructed is constructed
    assert item.encode() == raw
    assert item.tag_bytes == raw[:len(item.tag_bytes)]


@pytest.mark.parametrize(
    ("length", "prefix"),
    [(0, "00"), (127, "7F"), (128, "8180"), (200, "81C8"), (255, "81FF"), (256, "820100"),
     (300, "82012C"), (65535, "82FFFF"), (65536, "83010000"), (70000, "83011170")],
)
def test_lengths(length: int, prefix: str) -> None:
    item = Tlv(0x04, bytes(length))
    raw = item.encode()
    assert raw == h("04" + prefix) + bytes(length)
    assert decode_ber(raw) == [item]
    assert decode_ber(raw)[0].length_octets is None  # minimal form


@pytest.mark.parametrize(
    ("raw", "octets"),
    [(h("04810501020304 05"), 2), (h("0482000501020304 05"), 3), (h("04830000 0501020304 05"), 4),
     (h("0484000000 0501020304 05"), 5), (h("0482 0080") + bytes(128), 3)],
)
def test_non_minimal_lengths_are_accepted_and_preserved(raw: bytes, octets: int) -> None:
    (item,) = decode_ber(raw)
    assert item.length_octets == octets
    assert item.encode() == raw
    assert item == Tlv(0x04, item.value)  # same object, different spelling
    assert f"length_octets={octets}" in repr(item)
    assert pickle.loads(pickle.dumps(item)).encode() == raw


def test_nested_non_minimal_length_survives_in_the_parent() -> None:
    raw = h("7007" "5A8104" "11223344")
    (item,) = decode_ber(raw)
    assert item.children[0].length_octets == 2
    assert Tlv.build(0x70, item.children).encode() == raw


def test_length_octets_checked_and_normalised() -> None:
    assert Tlv(0x04, b"\x01", length_octets=1).length_octets is None
    assert Tlv(0x04, b"\x01", length_octets=3).encode() == h("0482000101")
    for bad in (0, 6, True, "2"):
        with pytest.raises(TlvError):
            Tlv(0x04, b"", length_octets=bad)  # type: ignore[arg-type]
    with pytest.raises(TlvError, match="length_octets"):
        Tlv(0x04, bytes(200), length_octets=1)
    with pytest.raises(TlvError, match="length_octets"):
        Tlv(0x04, bytes(300), length_octets=2)


def test_padding_between_objects_is_skipped() -> None:
    raw = h("0000" "5A0112" "FFFF" "5F200141" "00")
    items = decode_ber(raw)
    assert items == [Tlv(0x5A, h("12")), Tlv(0x5F20, h("41"))]
    assert encode_ber(items) == h("5A01125F200141")  # top-level padding is not re-emitted
    assert decode_ber(h("00FF00")) == []
    assert decode_ber(b"") == []


def test_padding_inside_a_constructed_value_is_kept() -> None:
    raw = h("7006" "005A0112FF00")
    (item,) = decode_ber(raw)
    assert item.children == (Tlv(0x5A, h("12")),)
    assert item.encode() == raw


def test_children_of_a_primitive_refused() -> None:
    with pytest.raises(TlvError, match="primitive"):
        Tlv(0x5A, h("5A0112")).children
    with pytest.raises(TlvError, match="primitive"):
        Tlv.build(0x5A, [Tlv(0x01, b"")])


def test_malformed_inner_structure_is_reported_when_read() -> None:
    (item,) = decode_ber(h("70025A05"))  # the outer object is fine
    with pytest.raises(TlvError) as info:
        item.children
    assert info.value.offset == 2  # relative to the value: 5A 05, value expected at 2
    with pytest.raises(TlvError):
        find_path(h("70025A05"), 0x70, 0x5A)


def test_find_path_into_a_primitive_that_is_not_tlv() -> None:
    with pytest.raises(TlvError):
        find_path(h("9F0C0186"), 0x9F0C, 0x86)
    with pytest.raises(TlvError, match="at least one tag"):
        find_path(FCI)


@pytest.mark.parametrize(
    "tag", [0, -1, 0xFF, 0x9F, 0x1F, 0x0102, 0x9F80, 0x9F8001, 0x9F8181, 0xDF818101,
            0xFF01, True, "5A"],
)
def test_invalid_tags_refused(tag: object) -> None:
    with pytest.raises(TlvError, match="tag"):
        Tlv(tag, b"")  # type: ignore[arg-type]


def test_value_must_be_bytes() -> None:
    with pytest.raises(TlvError, match="value"):
        Tlv(0x5A, "12")  # type: ignore[arg-type]
    assert type(Tlv(0x5A, bytearray(b"\x12")).value) is bytes  # type: ignore[arg-type]
    with pytest.raises(TlvError):
        encode_ber([b"\x5A\x01\x12"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("raw", "offset", "reason"),
    [
        (h("80"), 1, "expected a length"),  # 80 is a valid tag; the length is missing
        (h("9F"), 1, "another tag byte"),
        (h("9F81"), 2, "another tag byte"),
        (h("9F818101"), 0, "longer than 3 bytes"),
        (h("9F8001"), 1, "pads the tag number"),
        (h("5A"), 1, "expected a length"),
        (h("5A80"), 1, "indefinite"),
        (h("5A85"), 1, "at most 4"),
        (h("5A8201"), 2, "expected 2 length bytes"),
        (h("5A050102"), 2, "expected 5 value bytes"),
        (h("5A0112" "5F2002"), 6, "expected 2 value bytes"),
    ],
)
def test_malformed_input_names_the_offset(raw: bytes, offset: int, reason: str) -> None:
    with pytest.raises(TlvError, match=reason) as info:
        decode_ber(raw)
    assert info.value.offset == offset
    assert str(info.value).startswith(f"offset {offset}: ")
    assert isinstance(info.value, SscardError) and isinstance(info.value, ValueError)


LONG = Tlv(0xBF0C, Tlv(0x5F20, bytes(300)).encode()).encode()


@pytest.mark.parametrize("raw", [FCI, LONG, h("DF810101AA"), h("04830000 05 0102030405")])
def test_every_truncation_raises_with_a_sensible_offset(raw: bytes) -> None:
    for cut in range(1, len(raw)):
        with pytest.raises(TlvError) as info:
            decode_ber(raw[:cut])
        assert info.value.offset is not None
        assert 0 < info.value.offset <= cut
    assert encode_ber(decode_ber(raw)) == raw


def test_decode_one_walks_the_same_objects_as_decode_ber() -> None:
    raw = FCI + LONG + h("5A0112") + h("0481050102030405")
    items, offset = [], 0
    while offset < len(raw):
        item, offset = decode_one(raw, offset)
        items.append(item)
    assert offset == len(raw)
    assert items == decode_ber(raw)
    assert decode_one(raw, len(FCI)) == (decode_ber(LONG)[0], len(FCI) + len(LONG))


def test_decode_one_does_not_skip_padding() -> None:
    with pytest.raises(TlvError, match="padding") as info:
        decode_one(h("005A0112"))
    assert info.value.offset == 0
    with pytest.raises(TlvError, match="offset"):
        decode_one(h("5A0112"), 4)
    with pytest.raises(TlvError, match="input ends"):
        decode_one(h("5A0112"), 3)


def test_error_pickles() -> None:
    error = TlvError("expected a length, input ends", 7)
    again = pickle.loads(pickle.dumps(error))
    assert (again.offset, str(again)) == (7, str(error))


# Simple-TLV ---------------------------------------------------------------------------------

def test_simple_record_from_ef05() -> None:
    assert decode_simple_record(h("0304332E3030")) == (0x03, b"3.00")
    assert encode_simple(0x03, b"3.00") == h("0304332E3030")


def test_simple_record_with_padding_after_the_value() -> None:
    name = "张三".encode("gbk").ljust(30, b"\x00")
    record = encode_simple(0x09, name) + h("0000FFFF")
    assert decode_simple_record(record) == (0x09, name)


def test_simple_record_refusals() -> None:
    with pytest.raises(TlvError, match="empty") as info:
        decode_simple_record(b"")
    with pytest.raises(TlvError, match="never written"):
        decode_simple_record(h("FFFFFFFF"))
    with pytest.raises(TlvError, match="only 00/FF padding") as info:
        decode_simple_record(h("0304332E3030" "00" "07"))
    assert info.value.offset == 7
    with pytest.raises(TlvError, match="value bytes") as info:
        decode_simple_record(h("0305332E3030"))
    assert info.value.offset == 2


def test_simple_three_byte_length() -> None:
    value = bytes(range(256)) * 2
    raw = encode_simple(0x4E, value)
    assert raw[:4] == h("4EFF0200")
    assert decode_simple(raw) == [(0x4E, value)]
    assert encode_simple(0x01, bytes(254))[:2] == h("01FE")
    assert encode_simple(0x01, bytes(255))[:4] == h("01FF00FF")
    # the long form for a short value is accepted; it re-encodes in the short form
    assert decode_simple(h("01FF000141")) == [(0x01, b"A")]


def test_simple_sequence() -> None:
    raw = h("0304332E3030" "0A0131" "0B0101")
    assert decode_simple(raw) == [(0x03, b"3.00"), (0x0A, b"1"), (0x0B, h("01"))]
    assert b"".join(encode_simple(t, v) for t, v in decode_simple(raw)) == raw


@pytest.mark.parametrize(
    ("raw", "offset"),
    [(h("01"), 1), (h("01FF"), 2), (h("01FF01"), 2), (h("0104332E"), 2), (h("00"), 0),
     (h("FF0100"), 0), (h("0100" "FF"), 2)],
)
def test_simple_truncation_and_bad_tags(raw: bytes, offset: int) -> None:
    with pytest.raises(TlvError) as info:
        decode_simple(raw)
    assert info.value.offset == offset


@pytest.mark.parametrize(("tag", "value"), [(0x00, b""), (0xFF, b""), (256, b""),
                                            (True, b""), (1, "A"), (1, bytes(65536))])
def test_encode_simple_refusals(tag: object, value: object) -> None:
    with pytest.raises(TlvError):
        encode_simple(tag, value)  # type: ignore[arg-type]


# Properties ---------------------------------------------------------------------------------

@st.composite
def tags(draw: st.DrawFn, constructed: bool) -> int:
    cls = draw(st.integers(0, 3)) << 6 | (0x20 if constructed else 0)
    size = draw(st.integers(1, 3))
    if size == 1:
        return cls | draw(st.integers(1 if cls == 0 else 0, 30))
    first = cls | 0x1F
    if first == 0xFF:  # padding, not a tag: use the context class instead
        first = 0xBF
    if size == 2:
        return first << 8 | draw(st.integers(0, 0x7F))
    return first << 16 | draw(st.integers(0x81, 0xFF)) << 8 | draw(st.integers(0, 0x7F))


@st.composite
def spelled(draw: st.DrawFn, tag: int, value: bytes) -> Tlv:
    minimal = Tlv(tag, value).encode()
    octets = len(minimal) - len(Tlv(tag, value).tag_bytes) - len(value)
    return Tlv(tag, value, draw(st.integers(octets, 5)) if draw(st.booleans()) else None)


primitives = st.builds(lambda t, v: (t, v), tags(False), st.binary(max_size=300)).flatmap(
    lambda tv: spelled(*tv))


def _constructed(children: st.SearchStrategy[list[Tlv]]) -> st.SearchStrategy[Tlv]:
    return st.tuples(tags(True), children).flatmap(lambda tc: spelled(tc[0], encode_ber(tc[1])))


trees = st.recursive(primitives, lambda kids: _constructed(st.lists(kids, max_size=4)),
                     max_leaves=12)


def _walk(item: Tlv) -> None:
    if item.constructed:
        kids = item.children
        assert encode_ber(kids) == item.value
        for kid in kids:
            _walk(kid)


@given(st.lists(trees, max_size=4))
def test_random_trees_round_trip_exactly(items: list[Tlv]) -> None:
    raw = encode_ber(items)
    decoded = decode_ber(raw)
    assert decoded == items
    assert [d.length_octets for d in decoded] == [i.length_octets for i in items]
    assert encode_ber(decoded) == raw
    for item in decoded:
        _walk(item)


def _walk_or_tlv_error(item: Tlv) -> None:
    if not item.constructed:
        return
    try:
        kids = item.children
    except TlvError:
        return
    for kid in kids:
        _walk_or_tlv_error(kid)


@given(st.binary(max_size=200) | st.lists(trees, max_size=3).map(encode_ber).flatmap(
    lambda raw: st.integers(0, len(raw)).map(lambda cut: raw[:cut])))
def test_any_bytes_decode_or_raise_tlv_error(raw: bytes) -> None:
    try:
        items = decode_ber(raw)
    except TlvError as error:
        assert error.offset is not None and 0 <= error.offset <= len(raw)
        return
    # exact: the bytes of the objects, read one by one, are what encoding gives back
    spans, offset = [], 0
    while offset < len(raw):
        if raw[offset] in (0x00, 0xFF):
            offset += 1
            continue
        _, end = decode_one(raw, offset)
        spans.append(raw[offset:end])
        offset = end
    assert encode_ber(items) == b"".join(spans)
    assert decode_ber(encode_ber(items)) == items
    for item in items:
        _walk_or_tlv_error(item)


@given(st.binary(max_size=100))
def test_any_bytes_simple_decode_or_raise_tlv_error(raw: bytes) -> None:
    for decoder in (decode_simple, decode_simple_record):
        try:
            decoder(raw)
        except TlvError as error:
            assert error.offset is not None and 0 <= error.offset <= len(raw)
