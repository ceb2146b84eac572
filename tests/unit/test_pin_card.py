"""The card side of the PIN services (applets/ssse_pin.py), APDU by APDU, on 3DES and SM4 cards."""

from __future__ import annotations

from pathlib import Path

import pytest

from sscard_issuer.apdu import CommandApdu
from sscard_issuer.card import cos
from sscard_issuer.card.model import KEY_PUK, KEY_RPK
from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys import KeyClass
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.make_card import make_blank_card
from sscard_issuer.sim.runtime import SimulatedCard
from tests.unit.cards import KEY_ID_RKSSSE, PIN, Terminal, card_key, new_image, reload

NEW_PIN = "80246"
ALGORITHMS = [Algorithm.SM4, Algorithm.DES3]


@pytest.fixture(params=ALGORITHMS, ids=lambda a: a.value)
def terminal(request: pytest.FixtureRequest, tmp_path: Path) -> Terminal:
    path = tmp_path / "card.json"
    new_image(path, algorithm=request.param)
    t = Terminal.open(SimulatedCard(CardImage.load(path)))
    assert t.select_ssse().sw == 0x9000
    return t


def status(t: Terminal) -> int:
    return t.send(0x00, 0x20, 0x00, 0x00).sw


def encrypted_block(t: Terminal, pin: str, key_class: KeyClass = KeyClass.RPK) -> bytes:
    with card_key(t.image, key_class) as key:
        return key.encrypt_block(cos.encode_pin_block(pin))


def reload_command(t: Terminal, pin: str = NEW_PIN) -> CommandApdu:
    """``84 24 00 01 14``: the PIN block under RPK, MACed in the open session."""
    assert t.sm is not None
    return t.sm.wrap(CommandApdu(0x84, 0x24, 0x00, 0x01, encrypted_block(t, pin), sensitive=True))


def unblock_command(t: Terminal) -> CommandApdu:
    assert t.sm is not None
    return t.sm.wrap(CommandApdu(0x84, 0x24, 0x00, 0x00))


def auth_rpk(t: Terminal) -> None:
    assert t.external_auth(KeyClass.RPK, KEY_RPK.key_id).sw == 0x9000


def auth_puk(t: Terminal) -> None:
    assert t.external_auth(KeyClass.PUK, KEY_PUK.key_id).sw == 0x9000


def lock(t: Terminal) -> None:
    for _ in range(3):
        t.verify_pin("000000")
    assert status(t) == 0x6983


def tries(t: Terminal) -> int:
    return int(t.image.applets["ssse"]["pin"]["tries"])


# -- VERIFY with no data -----------------------------------------------------------------------


def test_an_empty_verify_tells_the_tries_left_without_spending_one(terminal: Terminal) -> None:
    assert [status(terminal) for _ in range(5)] == [0x63C3] * 5
    assert terminal.verify_pin("000000").sw == 0x63C2
    assert [status(terminal) for _ in range(3)] == [0x63C2] * 3
    assert terminal.verify_pin(PIN).sw == 0x9000


def test_an_empty_verify_answers_9000_once_verified_and_6983_once_blocked(terminal: Terminal) -> None:
    assert terminal.verify_pin(PIN).sw == 0x9000
    assert status(terminal) == 0x9000
    terminal.select_ssse()  # a new session forgets the verification
    assert status(terminal) == 0x63C3
    lock(terminal)
    assert status(terminal) == 0x6983


def test_an_empty_verify_with_wrong_p1_p2_is_refused(terminal: Terminal) -> None:
    assert terminal.send(0x00, 0x20, 0x00, 0x01).sw == 0x6A86


# -- RELOAD PIN ---------------------------------------------------------------------------------


def test_reload_sets_the_pin_and_restores_the_counter(terminal: Terminal) -> None:
    assert terminal.verify_pin("000000").sw == 0x63C2
    auth_rpk(terminal)
    assert terminal.transport.send(reload_command(terminal)).sw == 0x9000
    assert status(terminal) == 0x63C3  # restored, and the reload verified nothing
    assert terminal.verify_pin(PIN).sw == 0x63C2
    assert terminal.verify_pin(NEW_PIN).sw == 0x9000
    again = Terminal.open(reload(terminal.image))  # it is in the image, not just in memory
    again.select_ssse()
    assert again.verify_pin(NEW_PIN).sw == 0x9000


def test_reload_works_on_a_blocked_pin(terminal: Terminal) -> None:
    lock(terminal)
    auth_rpk(terminal)
    assert terminal.transport.send(reload_command(terminal)).sw == 0x9000
    assert terminal.verify_pin(NEW_PIN).sw == 0x9000


@pytest.mark.parametrize("pin", ["1234", "1234567890123456"])
def test_reload_takes_4_to_16_digits(terminal: Terminal, pin: str) -> None:
    auth_rpk(terminal)
    assert terminal.transport.send(reload_command(terminal, pin)).sw == 0x9000
    assert terminal.verify_pin(pin).sw == 0x9000


def test_reload_without_an_rpk_session_is_refused(terminal: Terminal) -> None:
    # No authentication at all: a MAC under RPK from a fresh challenge is well formed, not entitled.
    terminal.sm = terminal.session(KeyClass.RPK, terminal.challenge())
    assert terminal.transport.send(reload_command(terminal)).sw == 0x6982
    # A session under another key does not entitle either, whichever key MACs the command.
    assert terminal.external_auth(KeyClass.RKSSSE, KEY_ID_RKSSSE).sw == 0x9000
    assert terminal.transport.send(reload_command(terminal)).sw == 0x6982
    assert terminal.verify_pin(PIN).sw == 0x9000


def test_reload_with_no_challenge_never_opens_a_session(terminal: Terminal) -> None:
    with card_key(terminal.image, KeyClass.RPK) as rpk:
        cryptogram = rpk.cryptogram(bytes(8))
    assert terminal.send(0x00, 0x82, 0x00, KEY_RPK.key_id, cryptogram + bytes(8)).sw == 0x6984
    terminal.sm = terminal.session(KeyClass.RPK, bytes(8))
    assert terminal.transport.send(reload_command(terminal)).sw == 0x6982
    assert terminal.verify_pin(PIN).sw == 0x9000


def test_reload_with_a_wrong_mac_changes_nothing_and_closes_the_session(terminal: Terminal) -> None:
    auth_rpk(terminal)
    good = reload_command(terminal)
    bad = CommandApdu(0x84, 0x24, 0x00, 0x01, good.data[:-1] + bytes([good.data[-1] ^ 1]))
    assert terminal.transport.send(bad).sw == 0x6988
    assert terminal.transport.send(good).sw == 0x6982  # the session is gone
    assert terminal.verify_pin(PIN).sw == 0x9000
    assert terminal.verify_pin(NEW_PIN).sw == 0x63C2


def test_a_reload_cannot_be_replayed(terminal: Terminal) -> None:
    auth_rpk(terminal)
    command = reload_command(terminal)
    assert terminal.transport.send(command).sw == 0x9000
    assert terminal.transport.send(command).sw == 0x6988  # the ICV moved on: the challenge is spent
    auth_rpk(terminal)  # nor in a later session
    assert terminal.transport.send(command).sw == 0x6988


def test_a_reload_macd_from_a_fresh_challenge_instead_of_the_session_is_refused(terminal: Terminal) -> None:
    auth_rpk(terminal)
    terminal.sm = terminal.session(KeyClass.RPK, terminal.challenge())
    assert terminal.transport.send(reload_command(terminal)).sw == 0x6988
    assert terminal.verify_pin(PIN).sw == 0x9000


def test_a_pin_block_encrypted_under_another_key_is_refused(terminal: Terminal) -> None:
    auth_rpk(terminal)
    assert terminal.sm is not None
    block = encrypted_block(terminal, NEW_PIN, KeyClass.PUK)
    command = terminal.sm.wrap(CommandApdu(0x84, 0x24, 0x00, 0x01, block))
    assert terminal.transport.send(command).sw == 0x6A80
    assert terminal.verify_pin(PIN).sw == 0x9000


@pytest.mark.parametrize("clear", [
    bytes([3]) + bytes.fromhex("123F") + b"\xff" * 13,  # 3 digits
    bytes([17]) + b"\x11" * 9 + b"\xff" * 6,  # 17 digits
    bytes([6]) + bytes.fromhex("12345A") + b"\xff" * 12,  # not BCD
    bytes([6]) + bytes.fromhex("123456") + b"\x00" * 12,  # not F-filled
])
def test_a_malformed_pin_block_is_refused(terminal: Terminal, clear: bytes) -> None:
    auth_rpk(terminal)
    assert terminal.sm is not None
    with card_key(terminal.image, KeyClass.RPK) as rpk:
        block = rpk.encrypt_block(clear)
    assert terminal.transport.send(terminal.sm.wrap(CommandApdu(0x84, 0x24, 0x00, 0x01, block))).sw == 0x6A80
    assert terminal.verify_pin(PIN).sw == 0x9000


def test_reload_checks_length_and_parameters(terminal: Terminal) -> None:
    auth_rpk(terminal)
    assert terminal.sm is not None
    short = terminal.sm.wrap(CommandApdu(0x84, 0x24, 0x00, 0x01, bytes(8)))
    assert terminal.transport.send(short).sw == 0x6700
    assert terminal.send(0x84, 0x24, 0x01, 0x01, bytes(20)).sw == 0x6A86
    assert terminal.send(0x84, 0x24, 0x00, 0x02, bytes(20)).sw == 0x6A86


def test_the_trace_of_a_reload_redacts_the_pin_block(terminal: Terminal) -> None:
    auth_rpk(terminal)
    command = reload_command(terminal)
    terminal.transport.send(command)
    text = terminal.trace.render()
    assert "84240001 Lc=20 <redacted>" in text
    assert command.data.hex().upper() not in text


# -- UNBLOCK ------------------------------------------------------------------------------------


def test_unblock_restores_the_counter_and_keeps_the_pin(terminal: Terminal) -> None:
    lock(terminal)
    auth_puk(terminal)
    assert terminal.transport.send(unblock_command(terminal)).sw == 0x9000
    assert status(terminal) == 0x63C3 and tries(terminal) == 3
    assert terminal.verify_pin(PIN).sw == 0x9000


def test_unblock_needs_a_puk_session_and_a_good_mac(terminal: Terminal) -> None:
    lock(terminal)
    terminal.sm = terminal.session(KeyClass.PUK, terminal.challenge())
    assert terminal.transport.send(unblock_command(terminal)).sw == 0x6982  # no authentication
    auth_rpk(terminal)
    terminal.sm = terminal.session(KeyClass.PUK, bytes(8))
    assert terminal.transport.send(unblock_command(terminal)).sw == 0x6982  # RPK's session is not PUK's
    auth_puk(terminal)
    good = unblock_command(terminal)
    assert terminal.transport.send(CommandApdu(0x84, 0x24, 0x00, 0x00, bytes(4))).sw == 0x6988
    assert terminal.transport.send(good).sw == 0x6982  # a bad MAC closed the session
    assert status(terminal) == 0x6983


def test_an_unblock_cannot_be_replayed(terminal: Terminal) -> None:
    lock(terminal)
    auth_puk(terminal)
    command = unblock_command(terminal)
    assert terminal.transport.send(command).sw == 0x9000
    lock(terminal)
    assert terminal.transport.send(command).sw == 0x6988
    assert status(terminal) == 0x6983


def test_unblock_refuses_data(terminal: Terminal) -> None:
    auth_puk(terminal)
    assert terminal.sm is not None
    assert terminal.transport.send(terminal.sm.wrap(CommandApdu(0x84, 0x24, 0x00, 0x00, b"\x01"))).sw == 0x6700


# -- a blank card --------------------------------------------------------------------------------


def test_a_blank_card_refuses_pin_commands_with_6985() -> None:
    t = Terminal.open(SimulatedCard(make_blank_card(algorithm=Algorithm.SM4)))
    assert t.select_ssse().sw == 0x9000
    assert status(t) == 0x6985
    assert t.verify_pin(PIN).sw == 0x6985
    assert t.change_pin(PIN, NEW_PIN).sw == 0x6985
