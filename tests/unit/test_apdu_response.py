"""Response APDUs: splitting, status checks, and the typed error each failure becomes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sscard_issuer.apdu import (
    ApduFormatError,
    CardError,
    CardWarning,
    FileNotFound,
    ResponseApdu,
    WrongLe,
    WrongPinOrCryptogram,
)

h = bytes.fromhex


def test_decode_splits_data_and_status() -> None:
    response = ResponseApdu.decode(h("0103332E30309000"))
    assert response.data == h("0103332E3030")
    assert response.sw == 0x9000 and response.sw1 == 0x90 and response.sw2 == 0x00
    assert response.ok
    assert response.encode() == h("0103332E30309000")


def test_status_only() -> None:
    response = ResponseApdu.decode(h("6A82"))
    assert response.data == b"" and response.sw == 0x6A82 and not response.ok
    assert (response.sw1, response.sw2) == (0x6A, 0x82)


@pytest.mark.parametrize("sw", [0x6110, 0x6283, 0x63C2, 0x9303])
def test_only_9000_is_ok(sw: int) -> None:
    assert not ResponseApdu(b"", sw).ok


@pytest.mark.parametrize("raw", [b"", b"\x90"])
def test_decode_needs_two_status_bytes(raw: bytes) -> None:
    with pytest.raises(ApduFormatError, match="at least the 2 status bytes"):
        ResponseApdu.decode(raw)


@pytest.mark.parametrize("raw", [h("0000"), h("6000"), h("1234"), h("A000"), h("FFFF")])
def test_decode_refuses_non_status_words(raw: bytes) -> None:
    with pytest.raises(ApduFormatError, match="not a status word"):
        ResponseApdu.decode(raw)


@pytest.mark.parametrize(
    ("data", "sw"),
    [("", 0x9000), (b"", 0x10000), (b"", -1), (b"", True), (bytes(65537), 0x9000), (b"", "9000")],
)
def test_invalid_construction_refused(data: object, sw: object) -> None:
    with pytest.raises(ApduFormatError):
        ResponseApdu(data, sw)  # type: ignore[arg-type]


def test_bytes_like_data_is_stored_as_bytes() -> None:
    response = ResponseApdu(bytearray(b"\x01"), 0x9000)  # type: ignore[arg-type]
    assert type(response.data) is bytes
    assert response == ResponseApdu(b"\x01", 0x9000)
    assert type(ResponseApdu.decode(bytearray(h("019000"))).data) is bytes  # type: ignore[arg-type]


def test_raise_for_status_returns_self_on_success() -> None:
    response = ResponseApdu(b"\x01", 0x9000)
    assert response.raise_for_status() is response


def test_raise_for_status_raises_the_typed_error() -> None:
    with pytest.raises(FileNotFound) as info:
        ResponseApdu(b"", 0x6A82).raise_for_status()
    assert info.value.sw == 0x6A82
    assert str(info.value) == "6A82: file not found"
    with pytest.raises(WrongPinOrCryptogram) as pin:
        ResponseApdu(b"", 0x63C2).raise_for_status()
    assert pin.value.tries_left == 2


@pytest.mark.parametrize("sw", [0x6281, 0x6283, 0x6200, 0x6310])
def test_warnings_raise(sw: int) -> None:
    with pytest.raises(CardWarning):
        ResponseApdu(b"\x6F\x00", sw).raise_for_status()


def test_unfetched_data_and_wrong_le_raise() -> None:
    with pytest.raises(CardError, match="response bytes still available"):
        ResponseApdu(b"", 0x6110).raise_for_status()
    with pytest.raises(WrongLe):
        ResponseApdu(b"", 0x6C10).raise_for_status()


def test_repr() -> None:
    shown = repr(ResponseApdu(h("0102"), 0x9000))
    assert shown == "ResponseApdu(data=bytes.fromhex('0102'), sw=0x9000)"


@given(st.binary(max_size=300))
def test_any_bytes_decode_and_reencode_or_raise_format_error(raw: bytes) -> None:
    try:
        response = ResponseApdu.decode(raw)
    except ApduFormatError:
        return
    assert response.encode() == raw
