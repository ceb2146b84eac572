"""Codecs of the card's data elements: round trips, padding, and every way to be refused."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sscard_issuer.card.codecs import (
    NAME_EXTENSION_LENGTH,
    NAME_LENGTH,
    Alphanumeric,
    AsciiFixed,
    BcdDate,
    BcdDigits,
    Binary,
    Codec,
    DecodeError,
    GbkText,
    Mapped,
    Numeric,
    decode_name,
    encode_name,
)
from sscard_issuer.card.identifiers import CardNumber
from sscard_issuer.errors import FieldError, SscardError

ROUND_TRIPS: list[tuple[Codec[Any], object, str]] = [
    (Numeric(3), "123", "123FFF"),
    (Numeric(3), "123456", "123456"),
    (Numeric(2), "1", "1FFF"),
    (Numeric(2), "", "FFFF"),
    (Alphanumeric(4), "AB", "41420000"),
    (Alphanumeric(4), "AB c", "41422063"),
    (Alphanumeric(1), "1", "31"),
    (AsciiFixed(4), "3.00", "332E3030"),
    (BcdDate(), date(2024, 2, 29), "20240229"),
    (BcdDate(), date(1880, 1, 1), "18800101"),
    (BcdDigits(6), "440524", "440524"),
    (BcdDigits(2), "07", "07"),
    (BcdDigits(5), "12345", "12345F"),
    (Binary(3), b"\x00\xff\x10", "00FF10"),
    (GbkText(6), "张三", "D5C5C8FD0000"),
    (GbkText(4), "李A", "C0EE4100"),
    (GbkText(4, encoding="gb18030"), "𠮷", "9534B235"),
]


@pytest.mark.parametrize(("codec", "value", "hexed"), ROUND_TRIPS)
def test_round_trip(codec: Codec[Any], value: object, hexed: str) -> None:
    raw = bytes.fromhex(hexed)
    assert codec.encode(value) == raw
    assert len(raw) == codec.length
    assert codec.decode(raw) == value


BAD_VALUES: list[tuple[Codec[Any], object]] = [
    (Numeric(2), "12345"),  # too long
    (Numeric(2), "12a"),  # not a digit
    (Numeric(2), "１２"),  # full-width digits are not ASCII digits
    (Numeric(2), 12),  # not a string
    (Alphanumeric(2), "ABC"),
    (Alphanumeric(2), "é"),
    (Alphanumeric(2), "A\x00"),
    (AsciiFixed(4), "3.0"),
    (AsciiFixed(4), "3.000"),
    (AsciiFixed(2), "社"),
    (BcdDate(), "2024-01-01"),
    (BcdDate(), datetime(2024, 1, 1, 12, 0)),
    (BcdDigits(6), "12345"),
    (BcdDigits(6), "1234567"),
    (BcdDigits(2), "1a"),
    (Binary(2), b"\x00"),
    (Binary(2), "ab"),
    (GbkText(4), "张三李"),  # 6 bytes: refused, never cut
    (GbkText(5), "张三李"),  # cutting at 5 would split a character
    (GbkText(4), "a\x00"),
    (GbkText(4), 3),
]


@pytest.mark.parametrize(("codec", "value"), BAD_VALUES)
def test_encode_refuses(codec: Codec[Any], value: object) -> None:
    with pytest.raises(FieldError) as caught:
        codec.encode(value)
    assert isinstance(caught.value, SscardError)


BAD_BYTES: list[tuple[Codec[Any], str]] = [
    (Numeric(2), "1F2F"),  # F inside the digits
    (Numeric(2), "1A"),  # wrong length
    (Numeric(2), "1AFF"),  # not a digit
    (Alphanumeric(4), "41004200"),  # 00 inside the text
    (Alphanumeric(2), "4180"),
    (AsciiFixed(2), "3100"),
    (BcdDate(), "20230230"),  # not a calendar date
    (BcdDate(), "2023AB01"),
    (BcdDate(), "00000000"),
    (BcdDate(), "202301"),
    (BcdDigits(2), "1F"),
    (BcdDigits(5), "123456"),  # odd count must end in F
    (Binary(2), "00"),
    (GbkText(4), "FF000000"),  # not GBK
    (GbkText(4), "41004100"),
]


@pytest.mark.parametrize(("codec", "hexed"), BAD_BYTES)
def test_decode_refuses(codec: Codec[Any], hexed: str) -> None:
    with pytest.raises(DecodeError):
        codec.decode(bytes.fromhex(hexed))


def test_decode_refuses_non_bytes() -> None:
    with pytest.raises(DecodeError):
        Numeric(2).decode("1234")  # type: ignore[arg-type]


def test_decode_error_is_value_error_and_ours() -> None:
    assert issubclass(DecodeError, SscardError) and issubclass(DecodeError, ValueError)


@pytest.mark.parametrize("length", [0, -1, True, 1.5])
def test_codec_length_must_be_positive_int(length: Any) -> None:
    with pytest.raises(ValueError):
        Numeric(length)


def test_unknown_encoding_fails_when_built() -> None:
    with pytest.raises(LookupError):
        GbkText(4, encoding="no-such-codec")


def test_gbk_refuses_character_outside_gbk_by_name() -> None:
    with pytest.raises(FieldError) as caught:
        GbkText(30).encode("张𠮷")
    assert "U+20BB7" in str(caught.value) and "𠮷" in str(caught.value)


def test_mapped_turns_refused_domain_value_into_decode_error() -> None:
    codec = Mapped(inner=AsciiFixed(9), load=CardNumber, dump=str, value_type=CardNumber)
    assert codec.length == 9
    assert codec.decode(b"A12345678") == CardNumber("A12345678")
    with pytest.raises(DecodeError):
        codec.decode(b"123ABCDEF")
    with pytest.raises(FieldError):
        codec.encode("A12345678")  # type: ignore[arg-type]


# -- names: record 09 (30 bytes) and, only when needed, 4E (20 bytes) -------------------------

HAN = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"  # 2 bytes each in GBK


def test_name_short_fits_09_alone() -> None:
    b09, b4e = encode_name("张三")
    assert b09 == "张三".encode("gbk").ljust(30, b"\x00") and b4e is None
    assert decode_name(b09) == "张三"


def test_name_of_exactly_30_bytes_needs_no_extension() -> None:
    name = HAN[:15]
    b09, b4e = encode_name(name)
    assert b09 == name.encode("gbk") and b4e is None
    assert decode_name(b09, None) == name


def test_name_of_31_bytes_splits_into_4e_at_a_character_boundary() -> None:
    name = "A" + HAN[:15]  # 31 bytes: 'A' + 14 characters fit 29 bytes, one goes to 4E
    b09, b4e = encode_name(name)
    assert b4e is not None and len(b09) == NAME_LENGTH and len(b4e) == NAME_EXTENSION_LENGTH
    assert b09 == ("A" + HAN[:14]).encode("gbk") + b"\x00"
    assert b4e == HAN[14].encode("gbk").ljust(20, b"\x00")
    assert decode_name(b09, b4e) == name
    assert GbkText(30).decode(b09) == "A" + HAN[:14]  # each half decodes on its own


@pytest.mark.parametrize("prefix", ["", "A", "AB", "ABC"])
def test_split_is_never_inside_a_two_byte_character(prefix: str) -> None:
    name = prefix + HAN[:20]
    b09, b4e = encode_name(name)
    assert b4e is not None
    b09.rstrip(b"\x00").decode("gbk")
    b4e.rstrip(b"\x00").decode("gbk")
    assert decode_name(b09, b4e) == name


def test_name_of_50_bytes_accepted_51_refused() -> None:
    fifty = HAN[:25]
    assert decode_name(*encode_name(fifty)) == fifty
    with pytest.raises(FieldError) as caught:
        encode_name(fifty + "A")
    assert caught.value.field == "name"


def test_name_whose_boundary_leaves_21_bytes_for_4e_is_refused() -> None:
    # 'A' + 24 characters + 'B' is 50 bytes, but 09 can hold only 29 of them without a cut.
    with pytest.raises(FieldError) as caught:
        encode_name("A" + HAN[:24] + "B")
    assert caught.value.field == "name"


def test_name_outside_gbk_refused_with_the_character_named() -> None:
    with pytest.raises(FieldError) as caught:
        encode_name("张𠮷")
    assert caught.value.field == "name"
    assert "U+20BB7" in str(caught.value)


def test_name_outside_gbk_accepted_in_gb18030() -> None:
    b09, b4e = encode_name("张𠮷", encoding="gb18030")
    assert b4e is None
    assert decode_name(b09, encoding="gb18030") == "张𠮷"


@pytest.mark.parametrize("name", ["", None, "a\x00b"])
def test_empty_or_odd_name_refused(name: Any) -> None:
    with pytest.raises(FieldError):
        encode_name(name)


def test_decode_name_refuses_bad_records() -> None:
    with pytest.raises(DecodeError):
        decode_name(bytes(30))  # empty
    with pytest.raises(DecodeError):
        decode_name(bytes(29))
    with pytest.raises(DecodeError):
        decode_name(b"A".ljust(30, b"\x00"), bytes(19))
    with pytest.raises(DecodeError):
        decode_name(b"\xff".ljust(30, b"\x00"))


def test_decode_name_joins_a_split_made_inside_a_character() -> None:
    # Another issuer may have cut inside a character; joining bytes first still reads it.
    data = ("A" + HAN[:15]).encode("gbk")
    assert decode_name(data[:30], data[30:].ljust(20, b"\x00")) == "A" + HAN[:15]


NAME_CHARS = st.sampled_from(HAN + "ABCxyz·")


@given(st.text(NAME_CHARS, min_size=1, max_size=25))
def test_name_round_trip_property(name: str) -> None:
    try:
        b09, b4e = encode_name(name)
    except FieldError:
        assert len(name.encode("gbk")) > 29  # refused only when it cannot fit
        return
    assert len(b09) == 30 and (b4e is None or len(b4e) == 20)
    assert (b4e is None) == (len(name.encode("gbk")) <= 30)
    assert decode_name(b09, b4e) == name
    GbkText(30).decode(b09)
