"""The vpcd wire protocol, sans I/O: frames out, events in, whatever the chunking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sscard_issuer.sim.vpcd_protocol import (
    MAX_FRAME,
    ApduEvent,
    Control,
    ControlEvent,
    VpcdDecoder,
    VpcdProtocolError,
    frame,
)

SELECT = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")
# What vpcd sends when pcscd powers a card on and reads it: power on, ATR request, an APDU, reset,
# a case 1 APDU (4 bytes), power off.
STREAM: list[ControlEvent | ApduEvent] = [
    ControlEvent(Control.POWER_ON),
    ControlEvent(Control.ATR),
    ApduEvent(SELECT),
    ControlEvent(Control.RESET),
    ApduEvent(bytes.fromhex("00C00000")),
    ControlEvent(Control.POWER_OFF),
]


def encode(event: ControlEvent | ApduEvent) -> bytes:
    if isinstance(event, ControlEvent):
        return frame(bytes([event.control]))
    return frame(event.apdu)


WIRE = b"".join(encode(e) for e in STREAM)


def test_frame_is_big_endian_length_then_payload() -> None:
    assert frame(b"\x04") == b"\x00\x01\x04"
    assert frame(SELECT) == bytes([0x00, len(SELECT)]) + SELECT
    assert frame(bytes(300))[:2] == b"\x01\x2c"


def test_frame_refuses_a_payload_longer_than_the_length_field() -> None:
    assert len(frame(bytes(MAX_FRAME))) == MAX_FRAME + 2
    with pytest.raises(VpcdProtocolError):
        frame(bytes(MAX_FRAME + 1))


def test_a_whole_stream_fed_at_once_gives_every_event_in_order() -> None:
    decoder = VpcdDecoder()
    assert decoder.feed(WIRE) == STREAM
    assert decoder.pending == 0


def test_a_stream_fed_one_byte_at_a_time_gives_the_same_events() -> None:
    decoder = VpcdDecoder()
    events = []
    for i in range(len(WIRE)):
        events += decoder.feed(WIRE[i : i + 1])
    assert events == STREAM
    assert decoder.pending == 0


def test_an_event_comes_out_only_when_its_last_byte_arrives() -> None:
    decoder = VpcdDecoder()
    wire = frame(SELECT)
    assert decoder.feed(wire[:1]) == []
    assert decoder.feed(wire[1:-1]) == []
    assert decoder.pending == len(wire) - 1
    assert decoder.feed(wire[-1:]) == [ApduEvent(SELECT)]


@given(st.lists(st.integers(min_value=1, max_value=len(WIRE)), max_size=20))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    decoder = VpcdDecoder()
    events = []
    start = 0
    for end in [*sorted(set(cuts)), len(WIRE)]:
        events += decoder.feed(WIRE[start:end])
        start = end
    assert events == STREAM


@pytest.mark.parametrize("control", list(Control))
def test_a_one_byte_frame_is_a_control(control: Control) -> None:
    assert VpcdDecoder().feed(frame(bytes([control]))) == [ControlEvent(control)]


@pytest.mark.parametrize("payload", [b"\x00\xa4", bytes.fromhex("00B2012800"), bytes(0x300)])
def test_two_bytes_or_more_is_an_apdu_even_when_it_starts_like_a_control(payload: bytes) -> None:
    assert VpcdDecoder().feed(frame(payload)) == [ApduEvent(payload)]


@pytest.mark.parametrize("byte", [0x03, 0x05, 0x80, 0xFF])
def test_an_unknown_control_byte_is_a_protocol_error_that_names_it(byte: int) -> None:
    with pytest.raises(VpcdProtocolError, match=f"{byte:02X}"):
        VpcdDecoder().feed(frame(bytes([byte])))


def test_an_empty_frame_is_a_protocol_error() -> None:
    with pytest.raises(VpcdProtocolError):
        VpcdDecoder().feed(b"\x00\x00")


@given(st.binary(max_size=64))
def test_any_input_decodes_or_raises_the_typed_error(data: bytes) -> None:
    decoder = VpcdDecoder()
    try:
        events = decoder.feed(data)
    except VpcdProtocolError:
        return
    for event in events:
        assert isinstance(event, (ControlEvent, ApduEvent))
