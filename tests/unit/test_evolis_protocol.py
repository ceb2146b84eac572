"""The Evolis command language, sans I/O: encoding, reply framing and parsing, status mapping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sscard_issuer.outlet.evolis import (
    BACK,
    FRONT,
    SETTINGS,
    START_SEQUENCE,
    BadParameters,
    Command,
    Panel,
    PrinterReportedError,
    ProtocolError,
    Reading,
    Reply,
    UnknownCommand,
    conditions_in_error,
    download,
    front_print_job,
    status_from_readings,
)
from sscard_issuer.outlet.evolis_framing import CommandDecoder, FrameError, ReplyDecoder
from sscard_issuer.outlet.printer import CardPosition, Condition, PrinterError

# -- encoding ---------------------------------------------------------------------------------------


def test_command_framing_is_esc_name_params_cr() -> None:
    assert Command("Sis").encode() == b"\x1bSis\r"
    assert Command.parse("Rrt;count").encode() == b"\x1bRrt;count\r"
    assert [c.encode() for c in SETTINGS] == [
        b"\x1bPem;2\r", b"\x1bPr;ymcko\r", b"\x1bPmi;F\r", b"\x1bPneab;E\r", b"\x1bPcrm;D\r",
    ]


def test_every_status_read_encodes_as_written_in_the_guide() -> None:
    assert {r.command.encode() for r in Reading} == {
        b"\x1bRlr;p\r", b"\x1bRse;f\r", b"\x1bRse;o\r", b"\x1bRlr;h\r", b"\x1bRrt;count\r",
        b"\x1bRfv\r", b"\x1bRsn\r", b"\x1bRtp\r",
    }


def test_panel_download_carries_binary_data_after_the_parameters() -> None:
    data = bytes(range(256)) * (Panel.BLACK.data_length // 256) + b"\r" * (Panel.BLACK.data_length % 256)
    command = download(Panel.BLACK, data)
    assert command.encode() == b"\x1bDb;k;2;" + data + b"\r"
    assert command.text == f"Db;k;2;<{len(data)} bytes>"
    assert Panel.YELLOW.data_length == 648 * 1016
    assert Panel.OVERLAY.data_length == 81 * 1016


def test_print_job_order() -> None:
    panels = {p: bytes(p.data_length) for p in Panel}
    job = front_print_job(panels)
    assert job[:2] == (START_SEQUENCE, FRONT)
    assert [c.params[:2] for c in job[2:7]] == [("y", "32"), ("m", "32"), ("c", "32"), ("k", "2"), ("o", "2")]
    assert job[-1] == BACK
    with pytest.raises(ProtocolError, match="missing o"):
        front_print_job({p: d for p, d in panels.items() if p is not Panel.OVERLAY})


@pytest.mark.parametrize(
    ("name", "params", "data"),
    [("", (), None), ("S is", (), None), ("Rlr", ("a;b",), None), ("Rlr", ("\r",), None), ("Sis", (), b"x")],
)
def test_malformed_commands_cannot_be_built(name: str, params: tuple[str, ...], data: bytes | None) -> None:
    with pytest.raises(ProtocolError):
        Command(name, params, data)
    assert issubclass(ProtocolError, PrinterError)


def test_wrong_panel_size_is_refused_before_sending() -> None:
    with pytest.raises(ProtocolError, match="expected 82296 bytes"):
        download(Panel.OVERLAY, b"\0" * 10)


# -- replies ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [(b"OK\r", "OK"), (b"OK\x00", "OK"), (b"OK\r\n", "OK"), (b"5,00 Volts\x00", "5,00 Volts"), (b"OK", "OK")],
)
def test_reply_terminators_are_stripped(raw: bytes, text: str) -> None:
    assert Reply.parse(raw).text == text


@pytest.mark.parametrize(("text", "volts"), [("5,00 Volts", 5.0), ("0,00 Volts", 0.0), ("4.95 V", 4.95), ("3 Volts", 3.0)])
def test_voltages_read_with_a_decimal_comma(text: str, volts: float) -> None:
    assert Reply(text).volts() == pytest.approx(volts)


def test_values_that_are_not_what_was_asked_are_protocol_errors() -> None:
    with pytest.raises(ProtocolError):
        Reply("OK").volts()
    with pytest.raises(ProtocolError):
        Reply("12a").count()
    assert Reply("187").count() == 187


def test_refusals_become_typed_errors() -> None:
    cmd = Command("Sis")
    assert Reply("OK").checked(cmd).ok
    with pytest.raises(UnknownCommand) as unknown:
        Reply("ERROR CDE").checked(Command("Pneab", ("E",)))
    assert unknown.value.command.text == "Pneab;E"
    with pytest.raises(BadParameters):
        Reply("ERROR PARAMETERS").checked(cmd)
    with pytest.raises(PrinterReportedError) as refused:
        Reply("ERR FEEDER EMPTY").checked(cmd)
    assert refused.value.conditions == {Condition.FEEDER_EMPTY}
    assert "Sis" in str(refused.value) and "ERR FEEDER EMPTY" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "conditions"),
    [
        ("ERR FEEDER EMPTY", {Condition.FEEDER_EMPTY}),
        ("ERR COVER OPEN", {Condition.COVER_OPEN}),
        ("ERR RIB DETECTION", {Condition.RIBBON_ENDED}),
        ("ERR RIBBON ENDED", {Condition.RIBBON_ENDED}),
        ("ERR CARD JAM", {Condition.JAMMED}),
        ("ERR MECHANICAL", {Condition.JAMMED}),
        ("ERR REJECT BOX FULL", {Condition.REJECT_BOX_FULL}),
        ("ERROR CDE", set()),
        ("ERROR PARAMETERS", set()),
        ("OK", set()),
    ],
)
def test_error_words_name_conditions(text: str, conditions: set[Condition]) -> None:
    assert conditions_in_error(text) == conditions


# -- framing ----------------------------------------------------------------------------------------

WIRE = b"OK\r5,00 Volts\r\nSMART CARD\x00ERR RIB DETECTION\r\x00"
REPLIES = ["OK", "5,00 Volts", "SMART CARD", "ERR RIB DETECTION"]


def test_reply_decoder_whole_and_byte_by_byte() -> None:
    assert [r.text for r in ReplyDecoder().feed(WIRE)] == REPLIES
    decoder = ReplyDecoder()
    got = [r.text for i in range(len(WIRE)) for r in decoder.feed(WIRE[i : i + 1])]
    assert got == REPLIES
    assert decoder.pending == 0


def test_bare_reply_is_flushed_after_quiet() -> None:
    decoder = ReplyDecoder()
    assert decoder.feed(b"CAR") == []
    assert decoder.feed(b"D") == []
    assert decoder.pending == 4
    flushed = decoder.flush()
    assert flushed is not None and flushed.text == "CARD"
    assert decoder.flush() is None


def test_reply_without_end_is_refused() -> None:
    with pytest.raises(ProtocolError):
        ReplyDecoder().feed(b"A" * 5000)


def test_command_decoder_reads_panels_by_length() -> None:
    panel = (b"\x1b\r;" * Panel.BLACK.data_length)[: Panel.BLACK.data_length]  # every awkward byte
    commands = [Command("Ss"), download(Panel.BLACK, panel), Command.parse("Rlr;p")]
    wire = b"".join(c.encode() for c in commands)
    assert CommandDecoder().feed(wire) == commands
    decoder = CommandDecoder()
    got: list[Command | FrameError] = []
    for i in range(0, len(wire), 7):
        got += decoder.feed(wire[i : i + 7])
    assert got == commands


def test_command_decoder_reports_garbage_and_resynchronises() -> None:
    events = CommandDecoder().feed(b"junk\x1bRlr;p\r\x1bDb;z;9;xx\r\x1b\xff\xfe\r\x1bSis\r")
    assert isinstance(events[0], FrameError)
    assert Command.parse("Rlr;p") in events
    assert events[-1] == Command("Sis")
    assert sum(isinstance(e, FrameError) for e in events) == 4  # junk, Db;z, its data, the bad name


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_report(data: bytes) -> None:
    for event in CommandDecoder().feed(data):
        assert isinstance(event, Command | FrameError)
    for reply in ReplyDecoder().feed(data):
        assert isinstance(reply.text, str)


# -- status mapping ---------------------------------------------------------------------------------

HEALTHY = {
    Reading.POSITION: "OK",
    Reading.FEEDER: "5,00 Volts",
    Reading.COVER: "5,00 Volts",
    Reading.REJECT_BOX: "OK",
    Reading.RIBBON: "187",
    Reading.FIRMWARE: "1.2.3",
    Reading.SERIAL: "E12345",
    Reading.MODEL: "Primacy",
}


def status_with(**changes: str) -> tuple[frozenset[Condition], CardPosition, int | None]:
    texts = dict(HEALTHY)
    texts.update({Reading[name.upper()]: text for name, text in changes.items()})
    status = status_from_readings({r: Reply(t) for r, t in texts.items()})
    return status.conditions, status.card, status.ribbon_left


def test_healthy_printer_is_ready() -> None:
    status = status_from_readings({r: Reply(t) for r, t in HEALTHY.items()})
    assert status.ready and status.conditions == frozenset()
    assert (status.model, status.serial, status.firmware, status.ribbon_left) == ("Primacy", "E12345", "1.2.3", 187)
    assert "Rse;f=5,00 Volts" in status.details


@pytest.mark.parametrize(
    ("changes", "condition"),
    [
        ({"feeder": "0,00 Volts"}, Condition.FEEDER_EMPTY),
        ({"cover": "0,00 Volts"}, Condition.COVER_OPEN),
        ({"reject_box": "FULL"}, Condition.REJECT_BOX_FULL),
        ({"ribbon": "ERR RIB DETECTION"}, Condition.RIBBON_ENDED),
        ({"ribbon": "0"}, Condition.RIBBON_ENDED),
        ({"ribbon": "20"}, Condition.RIBBON_LOW),
        ({"position": "ERR CARD JAM"}, Condition.JAMMED),
    ],
)
def test_each_condition_is_read(changes: dict[str, str], condition: Condition) -> None:
    conditions, _, _ = status_with(**changes)
    assert conditions == {condition}


def test_ribbon_low_does_not_block() -> None:
    status = status_from_readings({r: Reply(t) for r, t in {**HEALTHY, Reading.RIBBON: "5"}.items()})
    assert status.conditions == {Condition.RIBBON_LOW} and status.ready


@pytest.mark.parametrize(
    ("text", "position"),
    [("OK", CardPosition.NONE), ("CARD", CardPosition.PRINT), ("SMART CARD", CardPosition.CONTACT),
     ("CONTACTLESS CARD", CardPosition.CONTACTLESS)],
)
def test_card_position(text: str, position: CardPosition) -> None:
    assert status_with(position=text)[1] is position


def test_reads_older_firmware_does_not_know_tell_nothing() -> None:
    conditions, _, ribbon = status_with(reject_box="ERROR CDE", ribbon="ERROR CDE")
    assert conditions == frozenset() and ribbon is None


def test_unknown_replies_are_protocol_errors() -> None:
    with pytest.raises(ProtocolError):
        status_with(position="MAYBE")
    with pytest.raises(ProtocolError):
        status_with(feeder="lots")
    with pytest.raises(ProtocolError):
        status_with(reject_box="HALF")
