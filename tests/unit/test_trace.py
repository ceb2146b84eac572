"""APDU traces: readable hex and status meanings, and never a PIN, in hex or in BCD."""

from __future__ import annotations

import logging

import pytest

from sscard_issuer.apdu import CommandApdu, ResponseApdu, WrongPinOrCryptogram
from sscard_issuer.card import ssc
from sscard_issuer.card.reader import read_card
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.runtime import Applet, SimulatedCard
from sscard_issuer.transport.inprocess import InProcessTransport
from sscard_issuer.transport.trace import REDACTED, ApduTrace, TraceEntry
from tests.unit.cards import keys, new_image

SECRET = bytes.fromhex("5EC2E75EC2E75EC2E75EC2E7")
VAULT_AID = bytes.fromhex("F000000002")


def forms(pin: str) -> list[str]:
    """Every way a PIN could show up in a trace."""
    bcd = pin + ("F" if len(pin) % 2 else "")
    return [pin, bcd, bcd.lower(), " ".join(bcd[i : i + 2] for i in range(0, len(bcd), 2))]


def assert_absent(pin: str, text: str) -> None:
    for form in forms(pin):
        assert form not in text, form


@pytest.mark.parametrize("pin", ["90817263", "9081726"])
def test_a_pin_verified_during_a_read_never_appears_in_the_trace(pin: str) -> None:
    image = new_image(None, pin=pin)
    lines: list[str] = []
    trace = ApduTrace(sink=lines.append)
    with InProcessTransport(SimulatedCard(image), trace=trace) as transport:
        assert read_card(transport, keys(), pin=pin).genuine
    rendered = trace.render()
    assert_absent(pin, rendered)
    assert_absent(pin, "\n".join(lines))
    verify = next(e.render() for e in trace.entries if e.command.ins == 0x20)
    assert verify.startswith(">> 00200000 Lc=")
    assert REDACTED in verify
    # Everything else stays readable: the SSSE AID and the records are shown in hex.
    assert ssc.SSSE_AID.hex().upper() in rendered
    assert "9000 (success)" in rendered


@pytest.mark.parametrize("pin", ["97531864", "9753186"])
def test_a_wrong_pin_never_appears_in_the_trace(pin: str) -> None:
    trace = ApduTrace()
    with InProcessTransport(SimulatedCard(new_image(None)), trace=trace) as transport, pytest.raises(WrongPinOrCryptogram) as caught:
        read_card(transport, keys(), pin=pin)
    assert_absent(pin, trace.render())
    assert_absent(pin, str(caught.value))
    assert "63C2" in trace.render()


def test_the_pin_never_reaches_a_log(caplog: pytest.LogCaptureFixture) -> None:
    pin = "90817263"
    logger = logging.getLogger("sscard.test.trace")
    with caplog.at_level(logging.DEBUG, logger="sscard.test.trace"):
        trace = ApduTrace.to_logger(logger)
        with InProcessTransport(SimulatedCard(new_image(None, pin=pin)), trace=trace) as transport:
            read_card(transport, keys(), pin=pin)
    assert len(caplog.records) == len(trace.entries) > 10
    assert_absent(pin, caplog.text)


def test_an_entry_shows_header_data_le_and_the_status_meaning() -> None:
    entry = TraceEntry(
        CommandApdu(0x00, 0xB2, 0x01, 0x28, le=256),
        ResponseApdu(bytes.fromhex("0304332E3030"), 0x9000),
        0.0,
    )
    lines = entry.render().splitlines()
    assert lines[0] == ">> 00B20128 Le=256"
    assert lines[1].startswith("<< 0304332E3030 9000 (success)")


def test_an_error_status_is_explained() -> None:
    entry = TraceEntry(CommandApdu(0x00, 0xB2, 0x09, 0x30, le=256), ResponseApdu(b"", 0x6982), 0.0)
    assert "6982 (security status not satisfied)" in entry.render()


def test_a_sensitive_command_has_its_data_and_its_answer_redacted() -> None:
    entry = TraceEntry(
        CommandApdu(0x80, 0xD4, 0x01, 0x00, SECRET, le=256, sensitive=True),
        ResponseApdu(SECRET, 0x9000),
        0.0,
    )
    rendered = entry.render()
    assert SECRET.hex().upper() not in rendered
    assert rendered.count(REDACTED) == 2
    assert f"Lc={len(SECRET)}" in rendered


def test_a_command_without_an_answer_says_so() -> None:
    entry = TraceEntry(CommandApdu(0x00, 0x84, 0x00, 0x00, le=8), None, 0.0)
    assert entry.render() == ">> 00840000 Le=8\n<< (no answer)"


class VaultApplet(Applet):
    """Answers its secret to any command: as a key export or a PIN block would be answered."""

    name = "vault"
    aids = (VAULT_AID,)

    def select(self, name: bytes) -> bytes:
        return b""

    def process(self, command: CommandApdu) -> bytes:
        return SECRET


@pytest.mark.parametrize("le", [None, 4])
def test_the_answer_to_a_sensitive_command_stays_redacted_through_61xx_and_6cxx(
    le: int | None,
) -> None:
    card = SimulatedCard(CardImage(bytes.fromhex("3B00"), {}), [VaultApplet])
    trace = ApduTrace()
    transport = InProcessTransport(card, trace=trace)
    transport.send(CommandApdu(0x00, 0xA4, 0x04, 0x00, VAULT_AID))
    response = transport.send(CommandApdu(0x80, 0xCA, 0x00, 0x00, b"\x01", le=le, sensitive=True))
    assert response.data == SECRET  # the caller gets it...
    assert len(trace.entries) == 3  # select, the command, GET RESPONSE or the corrected command
    assert SECRET.hex().upper() not in trace.render()  # ...the trace does not
