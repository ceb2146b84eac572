"""The card runtime: SELECT by name, T=0 answers (61xx, 6Cxx, GET RESPONSE), atomic commits."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sscard_issuer.apdu import CommandApdu
from sscard_issuer.card import ssc
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.runtime import (
    Applet,
    PlannedPowerCut,
    PowerCut,
    SimulatedCard,
    fail,
)
from sscard_issuer.transport.inprocess import InProcessTransport
from tests.unit.cards import Terminal, new_image, stored

ECHO_AID = bytes.fromhex("F000000001")
ATR = bytes.fromhex("3B00")


def pattern(n: int) -> bytes:
    return bytes(i % 251 for i in range(n))


class EchoApplet(Applet):
    """A test applet: ``CA`` answers P1P2 bytes, ``DA`` stores its data, ``CB`` gives it back."""

    name = "echo"
    aids = (ECHO_AID,)

    def select(self, name: bytes) -> bytes:
        return b""

    def process(self, command: CommandApdu) -> bytes:
        if command.ins == 0xCA:
            return pattern((command.p1 << 8) | command.p2)
        if command.ins == 0xDA:
            self.state["value"] = command.data.hex()
            self.changed()
            return b""
        if command.ins == 0xCB:
            return bytes.fromhex(self.state.get("value", ""))
        fail(0x6D00)


def echo_card(path: Path | None = None, value: bytes = b"old") -> SimulatedCard:
    image = CardImage(ATR, {"echo": {"value": value.hex()}}, path)
    if path is not None:
        image.save()
    card = SimulatedCard(image, [EchoApplet])
    card.power_on()
    assert card.transmit(b"\x00\xa4\x04\x00" + bytes([len(ECHO_AID)]) + ECHO_AID) == b"\x90\x00"
    return card


def get(n: int, le: int | None = None) -> bytes:
    return CommandApdu(0x00, 0xCA, n >> 8, n & 0xFF, le=le).encode()


def split(answer: bytes) -> tuple[bytes, int]:
    return answer[:-2], int.from_bytes(answer[-2:], "big")


# -- selection ---------------------------------------------------------------------------------


def test_select_of_an_unknown_aid_answers_6a82_and_leaves_nothing_selected() -> None:
    card = echo_card()
    assert split(card.transmit(get(4, le=4))) == (pattern(4), 0x9000)
    assert card.transmit(bytes.fromhex("00A4040005A000000099")) == b"\x6a\x82"
    assert card.transmit(get(4, le=4)) == b"\x69\x85"


def test_a_command_before_any_select_answers_6985() -> None:
    card = SimulatedCard(CardImage(ATR, {}), [EchoApplet])
    assert card.transmit(get(4, le=4)) == b"\x69\x85"


def test_the_real_applets_are_found_by_their_aids() -> None:
    card = SimulatedCard(new_image(None))
    for aid in (ssc.SSSE_AID, ssc.PKI_AID, ssc.BANK_AID):
        answer = card.transmit(CommandApdu(0x00, 0xA4, 0x04, 0x00, aid).encode())
        assert answer[-2] == 0x61, aid.hex()


def test_a_malformed_command_answers_6700() -> None:
    card = echo_card()
    assert card.transmit(b"\x00\xca\x00") == b"\x67\x00"
    assert card.transmit(bytes.fromhex("00DA000005AABB")) == b"\x67\x00"


# -- T=0 answers -------------------------------------------------------------------------------


def test_data_without_le_is_announced_by_61xx_and_fetched_by_get_response() -> None:
    card = echo_card()
    assert card.transmit(get(30)) == b"\x61\x1e"
    assert split(card.transmit(bytes.fromhex("00C000001E"))) == (pattern(30), 0x9000)


def test_get_response_with_a_short_le_leaves_the_rest_pending() -> None:
    card = echo_card()
    assert card.transmit(get(30)) == b"\x61\x1e"
    assert split(card.transmit(bytes.fromhex("00C000000A"))) == (pattern(30)[:10], 0x6114)
    assert split(card.transmit(bytes.fromhex("00C0000014"))) == (pattern(30)[10:], 0x9000)


def test_an_answer_longer_than_256_bytes_is_chained_with_61xx_never_overstating() -> None:
    card = echo_card()
    got = b""
    answer = card.transmit(get(600))
    rounds = 0
    while answer[-2] == 0x61:
        announced = answer[-1] or 256
        remaining = 600 - len(got)
        assert announced == min(remaining, 256)  # 61xx says what is left, 00 = 256 or more
        data, sw = split(card.transmit(bytes([0x00, 0xC0, 0x00, 0x00, answer[-1]])))
        assert len(data) == announced
        got += data
        answer = data + sw.to_bytes(2, "big")
        rounds += 1
    assert answer[-2:] == b"\x90\x00"
    assert got == pattern(600)
    assert rounds == 3


def test_an_le_of_256_on_a_longer_answer_gives_256_bytes_and_61xx_for_the_rest() -> None:
    card = echo_card()
    data, sw = split(card.transmit(get(300, le=256)))
    assert (data, sw) == (pattern(300)[:256], 0x612C)
    assert split(card.transmit(bytes.fromhex("00C000002C"))) == (pattern(300)[256:], 0x9000)


def test_a_wrong_le_is_answered_6cxx_and_the_right_le_gets_the_data() -> None:
    card = echo_card()
    assert card.transmit(get(20, le=5)) == b"\x6c\x14"
    assert split(card.transmit(get(20, le=20))) == (pattern(20), 0x9000)


def test_a_larger_le_than_the_data_gets_the_data() -> None:
    card = echo_card()
    assert split(card.transmit(get(20, le=256))) == (pattern(20), 0x9000)


def test_get_response_without_pending_data_answers_6985() -> None:
    card = echo_card()
    assert card.transmit(bytes.fromhex("00C0000010")) == b"\x69\x85"


def test_get_response_after_another_command_answers_6985() -> None:
    card = echo_card()
    assert card.transmit(get(30)) == b"\x61\x1e"
    assert split(card.transmit(get(4, le=4))) == (pattern(4), 0x9000)
    assert card.transmit(bytes.fromhex("00C000001E")) == b"\x69\x85"


def test_get_response_twice_answers_6985_the_second_time() -> None:
    card = echo_card()
    card.transmit(get(30))
    assert split(card.transmit(bytes.fromhex("00C000001E")))[1] == 0x9000
    assert card.transmit(bytes.fromhex("00C000001E")) == b"\x69\x85"


@pytest.mark.parametrize("n", [1, 255, 256, 257, 300, 512, 513, 1000, 4096])
@pytest.mark.parametrize("le", [None, 5, 256])
def test_a_transport_gets_every_byte_whatever_the_length(n: int, le: int | None) -> None:
    transport = InProcessTransport(echo_card())
    response = transport.send(CommandApdu(0x00, 0xCA, n >> 8, n & 0xFF, le=le))
    assert (response.data, response.sw) == (pattern(n), 0x9000)


def test_a_reset_forgets_pending_data() -> None:
    card = echo_card()
    card.transmit(get(30))
    card.reset()
    assert card.transmit(bytes.fromhex("00C000001E")) == b"\x69\x85"


# -- atomic commits and power cuts -------------------------------------------------------------

PUT_NEW = CommandApdu(0x00, 0xDA, 0x00, 0x00, b"new").encode()
READ_VALUE = CommandApdu(0x00, 0xCB, 0x00, 0x00, le=256).encode()


def disk_value(path: Path) -> bytes:
    return bytes.fromhex(CardImage.load(path).applets["echo"]["value"])


def test_an_update_is_on_disk_when_its_answer_comes_back(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    card = echo_card(path)
    assert card.transmit(PUT_NEW) == b"\x90\x00"
    assert disk_value(path) == b"new"


@pytest.mark.parametrize("after_commit, survives", [(False, b"old"), (True, b"new")])
def test_a_power_cut_during_an_update(tmp_path: Path, after_commit: bool, survives: bytes) -> None:
    path = tmp_path / "card.json"
    card = echo_card(path)
    card.planned_cut = PlannedPowerCut(at_apdu=card.apdu_count + 1, after_commit=after_commit)
    with pytest.raises(PowerCut):
        card.transmit(PUT_NEW)
    assert not card.powered
    assert disk_value(path) == survives
    # The card in memory agrees with its EEPROM after power comes back...
    card.power_on()
    card.transmit(b"\x00\xa4\x04\x00" + bytes([len(ECHO_AID)]) + ECHO_AID)
    assert split(card.transmit(READ_VALUE)) == (survives, 0x9000)
    # ...and so does a card built from the file.
    fresh = SimulatedCard(CardImage.load(path), [EchoApplet])
    fresh.transmit(b"\x00\xa4\x04\x00" + bytes([len(ECHO_AID)]) + ECHO_AID)
    assert split(fresh.transmit(READ_VALUE)) == (survives, 0x9000)


def test_a_power_cut_is_counted_from_power_on(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    card = echo_card(path)
    for _ in range(5):
        card.transmit(get(4, le=4))
    card.power_off()
    card.planned_cut = PlannedPowerCut(at_apdu=2)
    card.power_on()
    card.transmit(b"\x00\xa4\x04\x00" + bytes([len(ECHO_AID)]) + ECHO_AID)  # APDU 1
    with pytest.raises(PowerCut):
        card.transmit(PUT_NEW)  # APDU 2
    assert disk_value(path) == b"old"


def test_a_failing_image_write_is_a_memory_error_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "card.json"
    card = echo_card(path)

    def full_disk(*_: Any) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", full_disk)
        assert card.transmit(PUT_NEW) == b"\x65\x81"
    assert disk_value(path) == b"old"
    card.transmit(b"\x00\xa4\x04\x00" + bytes([len(ECHO_AID)]) + ECHO_AID)
    assert split(card.transmit(READ_VALUE)) == (b"old", 0x9000)
    # The next, unrelated update must not carry the failed one with it.
    assert card.transmit(get(4, le=4))[-2:] == b"\x90\x00"
    assert disk_value(path) == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.json"]


def ssse_update_session(terminal: Terminal) -> None:
    terminal.select_ssse()
    terminal.auth_update()
    assert terminal.update(6, 0x0A, b"2").sw == 0x9000


@pytest.mark.parametrize("after_commit", [False, True])
def test_a_cut_at_any_apdu_of_a_card_update_leaves_a_card_image_old_or_new(
    tmp_path: Path, after_commit: bool
) -> None:
    path = tmp_path / "card.json"
    new_image(path)
    probe = Terminal.open(SimulatedCard(CardImage.load(path)))
    ssse_update_session(probe)
    total = probe.transport.apdu_count  # the update is the last APDU
    for at in range(1, total + 1):
        new_image(path)
        terminal = Terminal.open(SimulatedCard(CardImage.load(path)))
        terminal.card.planned_cut = PlannedPowerCut(at, after_commit=after_commit)
        with pytest.raises(PowerCut):
            ssse_update_session(terminal)
        image = CardImage.load(path)  # always decodes
        updated = at == total and after_commit
        assert stored(image, 6, 0x0A) == (b"2" if updated else b"1"), at
        assert sorted(p.name for p in tmp_path.iterdir()) == ["card.json"]
