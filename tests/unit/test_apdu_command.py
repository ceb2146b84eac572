"""Command APDUs: every ISO case, short and extended, against hand-checked bytes."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sscard_issuer.apdu import (
    ApduFormatError,
    CommandApdu,
    get_challenge,
    get_response,
    read_record,
    select_by_fid,
    select_by_name,
)
from sscard_issuer.errors import SscardError

SSSE_AID = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")
h = bytes.fromhex


# (command, hand-checked encoding, case)
VECTORS = [
    # spec/card.md section 3
    (select_by_name(SSSE_AID), h("00A404000F7378312E73682EC9E7BBE1B1A3D5CF"), 3),
    (read_record(1, 0x04), h("00B2010400"), 2),
    (read_record(0x08, 0x30), h("00B2083000"), 2),  # EF06 record tag 08 through SFI 6
    (read_record(0x03, 0x28, le=4), h("00B2032804"), 2),
    (select_by_fid(h("EF05")), h("00A4020002EF05"), 3),
    (get_challenge(8), h("0084000008"), 2),
    (get_challenge(16), h("0084000010"), 2),
    (get_response(0x1E), h("00C000001E"), 2),
    (get_response(256), h("00C0000000"), 2),
    # short cases
    (CommandApdu(0x00, 0x44, 0x00, 0x00), h("00440000"), 1),
    (CommandApdu(0x80, 0xCA, 0x9F, 0x7F, le=1), h("80CA9F7F01"), 2),
    (CommandApdu(0x00, 0x20, 0x00, 0x00, h("123456")), h("0020000003123456"), 3),
    (CommandApdu(0x00, 0x88, 0x00, 0x00, bytes(range(16)), le=8),
     h("0088000010000102030405060708090A0B0C0D0E0F08"), 4),
    (CommandApdu(0x00, 0xA4, 0x04, 0x00, SSSE_AID, le=256),
     h("00A404000F7378312E73682EC9E7BBE1B1A3D5CF00"), 4),
    (CommandApdu(0x00, 0xD6, 0x00, 0x00, bytes(255)), h("00D60000FF") + bytes(255), 3),
    # extended cases
    (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=1000, extended=True), h("00B0000000" "03E8"), 2),
    (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=65536, extended=True), h("00B00000" "000000"), 2),
    (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=1, extended=True), h("00B00000" "000001"), 2),
    (CommandApdu(0x00, 0xD6, 0x00, 0x00, bytes(300), extended=True),
     h("00D60000" "00012C") + bytes(300), 3),
    (CommandApdu(0x00, 0xDA, 0x01, 0x02, b"\xAA", extended=True), h("00DA0102" "000001AA"), 3),
    (CommandApdu(0x00, 0xA4, 0x04, 0x00, h("3F00"), le=65536, extended=True),
     h("00A40400" "000002" "3F00" "0000"), 4),
    (CommandApdu(0x00, 0x2A, 0x9E, 0x9A, bytes(65535), le=256, extended=True),
     h("002A9E9A" "00FFFF") + bytes(65535) + h("0100"), 4),
]


@pytest.mark.parametrize(("command", "raw", "case"), VECTORS)
def test_encode_matches_hand_checked_bytes(command: CommandApdu, raw: bytes, case: int) -> None:
    assert command.encode() == raw
    assert command.case == case
    assert command.header == raw[:4]


@pytest.mark.parametrize(("command", "raw", "case"), VECTORS)
def test_decode_gives_the_command_back(command: CommandApdu, raw: bytes, case: int) -> None:
    decoded = CommandApdu.decode(raw)
    assert decoded == command
    assert decoded.case == case
    assert decoded.encode() == raw


def test_decode_accepts_bytes_like() -> None:
    raw = h("00B2010400")
    assert CommandApdu.decode(bytearray(raw)) == read_record(1, 4)  # type: ignore[arg-type]
    assert CommandApdu.decode(memoryview(raw)) == read_record(1, 4)  # type: ignore[arg-type]


def test_data_is_stored_as_bytes() -> None:
    command = CommandApdu(0, 0xDC, 1, 0x2C, bytearray(b"\x01\x02"))  # type: ignore[arg-type]
    assert type(command.data) is bytes
    hash(command)  # frozen and hashable


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cla": 256},
        {"cla": -1},
        {"cla": True},
        {"p1": 0x100},
        {"p2": "00"},
        {"ins": 0x60},
        {"ins": 0x6C},
        {"ins": 0x90},
        {"ins": 0x9F},
        {"data": "123456"},
        {"data": [1, 2]},
        {"data": bytes(256)},
        {"data": bytes(65536), "extended": True},
        {"le": 0},
        {"le": 257},
        {"le": -1},
        {"le": 65537, "extended": True},
        {"le": 1.0},
        {"extended": True},  # case 1 has no length to extend
        {"extended": 1, "le": 5},
        {"sensitive": "yes"},
    ],
)
def test_invalid_construction_refused(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {"cla": 0x00, "ins": 0xB0, "p1": 0x00, "p2": 0x00}
    fields.update(kwargs)
    with pytest.raises(ApduFormatError):
        CommandApdu(**fields)  # type: ignore[arg-type]


def test_errors_are_typed_and_name_the_field() -> None:
    with pytest.raises(ApduFormatError, match=r"^le: ") as info:
        CommandApdu(0x00, 0xB0, 0, 0, le=0)
    assert isinstance(info.value, SscardError)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ApduFormatError, match="extended=True"):
        CommandApdu(0x00, 0xD6, 0, 0, bytes(256))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "at least the 4-byte header"),
        (h("00A404"), "at least the 4-byte header"),
        (h("00A404000F7378"), "short Lc 15"),
        (h("00A4040002AABBCCDD"), "short Lc 2"),
        (h("00B000000001"), "3-byte extended length"),
        (h("00D6000000000001"), "extended Lc 0000"),
        (h("00D6000000000301"), "extended Lc 3"),
        (h("00D600000000020102030405"), "extended Lc 2"),
        (h("00600000"), "6X and 9X are reserved"),
        (h("00920000"), "6X and 9X are reserved"),
    ],
)
def test_decode_refuses_malformed(raw: bytes, reason: str) -> None:
    with pytest.raises(ApduFormatError, match=reason):
        CommandApdu.decode(raw)


def test_decode_refuses_text() -> None:
    with pytest.raises(ApduFormatError, match="expected bytes"):
        CommandApdu.decode("00B2010400")  # type: ignore[arg-type]


def test_decode_errors_never_show_the_data() -> None:
    with pytest.raises(ApduFormatError) as info:
        CommandApdu.decode(h("0020000008123456FFFFFFFF"))
    assert "123456" not in str(info.value)


def test_sensitive_data_is_redacted_in_repr() -> None:
    verify = CommandApdu(0x00, 0x20, 0x00, 0x00, h("123456"), sensitive=True)
    shown = repr(verify)
    assert "123456" not in shown.upper()
    assert "data=<3 bytes redacted>" in shown
    assert "123456" not in str(verify)
    assert "123456" not in repr([verify])


def test_repr_shows_plain_data_and_evaluates_back() -> None:
    command = CommandApdu(0x00, 0xA4, 0x04, 0x00, SSSE_AID, le=256)
    assert "7378312E73682EC9E7BBE1B1A3D5CF" in repr(command)
    assert eval(repr(command)) == command
    extended = CommandApdu(0x00, 0xB0, 0, 0, le=70, extended=True)
    assert eval(repr(extended)) == extended


def test_sensitive_does_not_take_part_in_equality() -> None:
    plain = CommandApdu(0x00, 0x20, 0x00, 0x00, h("123456"))
    secret = CommandApdu(0x00, 0x20, 0x00, 0x00, h("123456"), sensitive=True)
    assert plain == secret
    assert hash(plain) == hash(secret)


def test_with_le_copies_and_keeps_sensitive() -> None:
    verify = CommandApdu(0x00, 0x20, 0x00, 0x00, h("123456"), sensitive=True)
    resent = verify.with_le(16)
    assert resent.le == 16 and resent.sensitive and resent.case == 4
    assert verify.le is None  # the original is untouched
    assert resent.with_le(None) == verify
    with pytest.raises(ApduFormatError):
        verify.with_le(300)  # short form cannot carry it
    assert CommandApdu(0, 0xB0, 0, 0, le=1, extended=True).with_le(300).encode() == h(
        "00B00000" "00012C")


def test_pickle_keeps_everything() -> None:
    verify = CommandApdu(0x00, 0x20, 0x00, 0x00, h("123456"), sensitive=True)
    again = pickle.loads(pickle.dumps(verify))
    assert again == verify and again.sensitive


def test_select_next_occurrence_and_le() -> None:
    assert select_by_name(h("D156000005"), first=False).encode() == h("00A4040205D156000005")
    assert select_by_name(SSSE_AID, le=256).case == 4


@pytest.mark.parametrize("aid", [b"", bytes(17), "7378"])
def test_select_by_name_refuses_bad_names(aid: object) -> None:
    with pytest.raises(ApduFormatError, match="aid"):
        select_by_name(aid)  # type: ignore[arg-type]


@pytest.mark.parametrize("fid", [b"", h("EF"), h("3F0000")])
def test_select_by_fid_needs_two_bytes(fid: bytes) -> None:
    with pytest.raises(ApduFormatError, match="fid"):
        select_by_fid(fid)


@pytest.mark.parametrize("length", [0, 257, -8])
def test_get_challenge_refuses_bad_lengths(length: int) -> None:
    with pytest.raises(ApduFormatError, match="length"):
        get_challenge(length)


def test_get_response_cla_can_be_set() -> None:
    assert get_response(8, cla=0x01).encode() == h("01C0000008")


def test_read_record_refuses_out_of_range() -> None:
    with pytest.raises(ApduFormatError):
        read_record(256, 0x04)
    with pytest.raises(ApduFormatError):
        read_record(1, 0x04, le=0)


# Properties ---------------------------------------------------------------------------------

_bytes_ = st.integers(0, 255)
_ins = _bytes_.filter(lambda ins: ins & 0xF0 not in (0x60, 0x90))


@st.composite
def commands(draw: st.DrawFn) -> CommandApdu:
    extended = draw(st.booleans())
    data = draw(st.binary(max_size=600 if extended else 255))
    le = draw(st.none() | st.integers(1, 65536 if extended else 256))
    if extended and not data and le is None:
        le = draw(st.integers(1, 65536))
    return CommandApdu(draw(_bytes_), draw(_ins), draw(_bytes_), draw(_bytes_), data, le,
                       extended, draw(st.booleans()))


@given(commands())
def test_every_command_round_trips(command: CommandApdu) -> None:
    raw = command.encode()
    assert CommandApdu.decode(raw) == command
    assert CommandApdu.decode(raw).encode() == raw


@st.composite
def plausible_raw(draw: st.DrawFn) -> bytes:
    """Header plus length bytes that are often almost right, to reach every branch."""
    header = draw(st.binary(min_size=4, max_size=4))
    lc = draw(st.sampled_from([b"", b"\x00", b"\x05", b"\x00\x00\x03", b"\x00\x01\x00"]))
    return header + lc + draw(st.binary(max_size=300))


@given(st.binary(max_size=400) | plausible_raw())
def test_any_bytes_parse_and_reencode_or_raise_format_error(raw: bytes) -> None:
    try:
        command = CommandApdu.decode(raw)
    except ApduFormatError:
        return
    assert command.encode() == raw
