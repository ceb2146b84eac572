"""The SSSE applet as a terminal meets it: selection, records, access, keys, the PIN."""

from __future__ import annotations

from pathlib import Path

import pytest

from sscard_issuer.apdu import CommandApdu, find_path
from sscard_issuer.card import ssc
from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys import KeyClass
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.runtime import SimulatedCard
from tests.unit.cards import (
    KEY_ID_RKSSSE,
    KEY_ID_UK,
    PIN,
    Terminal,
    applicant,
    card_id,
    card_key,
    new_image,
    reload,
    stored,
)

FREE_RECORDS = {(5, 0x01), (5, 0x03), (5, 0x07)}
ALL_RECORDS = [(f.sfi, r.tag) for f in (ssc.EF05, ssc.EF06) for r in f.records]
PRESENT_RECORDS = [(sfi, tag) for sfi, tag in ALL_RECORDS if tag != 0x4E]  # short sample name


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "card.json"


@pytest.fixture
def terminal(path: Path) -> Terminal:
    new_image(path)
    t = Terminal.open(reload_from(path))
    assert t.select_ssse().sw == 0x9000
    return t


def reload_from(path: Path) -> SimulatedCard:
    return SimulatedCard(CardImage.load(path))


def expected_record(sfi: int, tag: int) -> bytes:
    image = new_image(None)
    value = applicant().records(card_id(image))[sfi][tag]
    return bytes((tag, len(value))) + value


# -- selection ---------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm, byte", [(Algorithm.SM4, 0x03), (Algorithm.DES3, 0x01)])
def test_the_fci_names_the_algorithm_in_tag_86(algorithm: Algorithm, byte: int) -> None:
    t = Terminal.open(SimulatedCard(new_image(None, algorithm=algorithm)))
    response = t.select_ssse()
    assert response.sw == 0x9000
    assert find_path(response.data, 0x6F, 0x84) is not None
    assert find_path(response.data, 0x6F, 0x84).value == ssc.SSSE_AID  # type: ignore[union-attr]
    tag86 = find_path(response.data, 0x6F, 0xA5, 0x9F0C, 0x86)
    assert tag86 is not None and tag86.value == bytes([byte])


def test_a_locked_application_answers_select_with_9303(path: Path) -> None:
    image = new_image(path)
    image.applets["ssse"]["locked"] = True
    t = Terminal.open(SimulatedCard(image))
    assert t.select_ssse().sw == 0x9303
    assert t.read(5, 0x01).sw == 0x6985  # nothing selected


def test_select_ef_by_fid_then_read_record_by_number(terminal: Terminal) -> None:
    assert terminal.send(0x00, 0xA4, 0x02, 0x00, b"\xef\x05").sw == 0x9000
    first = terminal.send(0x00, 0xB2, 0x01, 0x04, le=256)
    assert (first.data, first.sw) == (expected_record(5, 0x01), 0x9000)
    third = terminal.send(0x00, 0xB2, 0x03, 0x04, le=256)
    assert (third.data, third.sw) == (expected_record(5, 0x03), 0x9000)
    assert terminal.send(0x00, 0xB2, 0x02, 0x04, le=256).sw == 0x6982
    assert terminal.send(0x00, 0xB2, len(ssc.EF05.records) + 1, 0x04, le=256).sw == 0x6A83


def test_read_record_by_number_needs_a_current_ef(terminal: Terminal) -> None:
    assert terminal.send(0x00, 0xB2, 0x01, 0x04, le=256).sw == 0x6986


def test_select_of_an_unknown_fid_answers_6a82(terminal: Terminal) -> None:
    assert terminal.send(0x00, 0xA4, 0x02, 0x00, b"\xef\x99").sw == 0x6A82


def test_read_of_a_tag_the_file_does_not_have_answers_6a83(terminal: Terminal) -> None:
    assert terminal.read(5, 0x08).sw == 0x6A83


def test_read_through_an_unknown_sfi_answers_6a82(terminal: Terminal) -> None:
    assert terminal.read(9, 0x01).sw == 0x6A82


def test_a_short_le_on_a_record_is_answered_with_the_right_length(terminal: Terminal) -> None:
    raw = terminal.card.transmit(bytes.fromhex("00B2012805"))
    assert raw == b"\x6c\x12"  # tag, length, 16 bytes
    response = terminal.send(0x00, 0xB2, 0x01, 0x28, le=5)  # the transport follows 6Cxx
    assert response.data == expected_record(5, 0x01)


# -- access conditions -------------------------------------------------------------------------


@pytest.mark.parametrize("sfi, tag", ALL_RECORDS)
def test_before_external_authentication_only_01_03_07_of_ef05_read(
    terminal: Terminal, sfi: int, tag: int
) -> None:
    response = terminal.read(sfi, tag)
    if (sfi, tag) in FREE_RECORDS:
        assert (response.data, response.sw) == (expected_record(sfi, tag), 0x9000)
    else:
        assert (response.data, response.sw) == (b"", 0x6982)


def test_after_rksse_authentication_every_record_reads_as_personalised(terminal: Terminal) -> None:
    terminal.auth_read()
    for sfi, tag in PRESENT_RECORDS:
        response = terminal.read(sfi, tag)
        assert (response.data, response.sw) == (expected_record(sfi, tag), 0x9000), (sfi, tag)
    assert terminal.read(6, 0x4E).sw == 0x6A83  # not written on a card with a short name


def test_authentication_with_another_key_does_not_release_the_records(terminal: Terminal) -> None:
    terminal.auth_update()
    assert terminal.read(6, 0x09).sw == 0x6982


def test_authentication_is_forgotten_at_reset(terminal: Terminal) -> None:
    terminal.auth_read()
    assert terminal.read(6, 0x09).sw == 0x9000
    terminal.card.reset()
    terminal.select_ssse()
    assert terminal.read(6, 0x09).sw == 0x6982


def test_authentication_is_forgotten_when_the_application_is_selected_again(
    terminal: Terminal,
) -> None:
    terminal.auth_read()
    terminal.select_ssse()
    assert terminal.read(6, 0x09).sw == 0x6982


def test_an_update_without_key_04_answers_6982(terminal: Terminal) -> None:
    assert terminal.update(6, 0x0A, b"2").sw == 0x6982
    terminal.auth_read()
    assert terminal.update(6, 0x0A, b"2").sw == 0x6982
    assert stored(reload(terminal.image).image, 6, 0x0A) == b"1"


def test_an_update_after_key_04_is_read_back_and_persists(terminal: Terminal) -> None:
    terminal.auth_update()
    assert terminal.update(6, 0x0A, b"2").sw == 0x9000
    terminal.auth_read()
    assert terminal.read(6, 0x0A).data == b"\x0a\x01" + b"2"
    assert stored(reload(terminal.image).image, 6, 0x0A) == b"2"


@pytest.mark.parametrize("body", [b"\x0a\x01", b"\x0a\x0212", b"\x0b\x01" + b"2", b"\x0a\x02" + b"2"])
def test_an_update_whose_record_does_not_fit_answers_6700(terminal: Terminal, body: bytes) -> None:
    terminal.auth_update()
    assert terminal.send(0x00, 0xDC, 0x0A, 0x30, body).sw == 0x6700
    assert stored(reload(terminal.image).image, 6, 0x0A) == b"1"


@pytest.mark.parametrize("algorithm", [Algorithm.SM4, Algorithm.DES3])
def test_an_update_with_a_correct_mac_is_written(path: Path, algorithm: Algorithm) -> None:
    new_image(path, algorithm=algorithm)
    t = Terminal.open(reload_from(path))
    t.select_ssse()
    t.auth_update()
    response = t.transport.send(t.mac_update_command(6, 0x0A, b"2"))
    assert response.sw == 0x9000
    assert stored(reload(t.image).image, 6, 0x0A) == b"2"


@pytest.mark.parametrize("flip", [0, 3])
def test_an_update_with_a_wrong_mac_answers_6988_and_changes_nothing(
    terminal: Terminal, flip: int
) -> None:
    terminal.auth_update()
    good = terminal.mac_update_command(6, 0x0A, b"2")
    data = bytearray(good.data)
    data[-4 + flip] ^= 0x01
    assert terminal.transport.send(CommandApdu(0x04, 0xDC, 0x0A, 0x30, bytes(data))).sw == 0x6988
    assert stored(reload(terminal.image).image, 6, 0x0A) == b"1"
    terminal.auth_read()
    assert terminal.read(6, 0x0A).data == b"\x0a\x01" + b"1"


def test_a_mac_over_another_record_value_is_refused(terminal: Terminal) -> None:
    terminal.auth_update()
    good = terminal.mac_update_command(6, 0x0A, b"2")
    forged = good.data[:2] + b"1" + good.data[3:]
    assert terminal.transport.send(CommandApdu(0x04, 0xDC, 0x0A, 0x30, forged)).sw == 0x6988


def test_a_mac_update_replayed_is_refused(terminal: Terminal) -> None:
    terminal.auth_update()
    command = terminal.mac_update_command(6, 0x0A, b"2")
    assert terminal.transport.send(command).sw == 0x9000
    assert terminal.update(6, 0x0A, b"1").sw == 0x9000
    assert terminal.transport.send(command).sw == 0x6988  # the session's ICV has moved on
    terminal.challenge()
    assert terminal.transport.send(command).sw == 0x6982  # a wrong MAC closed the session
    assert stored(reload(terminal.image).image, 6, 0x0A) == b"1"


def test_a_mac_update_without_key_04_is_refused_even_with_a_good_mac(terminal: Terminal) -> None:
    command = terminal.mac_update_command(6, 0x0A, b"2")
    assert terminal.transport.send(command).sw == 0x6982


# -- external authentication -------------------------------------------------------------------


def test_an_external_authenticate_cryptogram_replayed_is_refused(terminal: Terminal) -> None:
    challenge = terminal.challenge()
    command = CommandApdu(
        0x00, 0x82, 0x00, KEY_ID_RKSSSE,
        terminal.cryptogram(KeyClass.RKSSSE, challenge) + bytes(8),
    )
    assert terminal.transport.send(command).sw == 0x9000
    assert terminal.transport.send(command).sw == 0x6984  # the challenge was used up
    terminal.select_ssse()  # forget the authentication
    terminal.challenge()
    assert terminal.transport.send(command).sw & 0xFFF0 == 0x63C0  # a new challenge, old answer
    assert terminal.read(6, 0x09).sw == 0x6982


def test_a_failed_external_authenticate_uses_up_the_challenge(terminal: Terminal) -> None:
    challenge = terminal.challenge()
    wrong = CommandApdu(0x00, 0x82, 0x00, KEY_ID_RKSSSE, bytes(16))
    assert terminal.transport.send(wrong).sw == 0x63CE
    right = terminal.cryptogram(KeyClass.RKSSSE, challenge) + bytes(8)
    assert terminal.send(0x00, 0x82, 0x00, KEY_ID_RKSSSE, right).sw == 0x6984
    assert terminal.read(6, 0x09).sw == 0x6982


def test_external_authenticate_without_a_challenge_is_refused(terminal: Terminal) -> None:
    assert terminal.send(0x00, 0x82, 0x00, KEY_ID_RKSSSE, bytes(16)).sw == 0x6984


@pytest.mark.parametrize("length", [4, 16])
def test_a_challenge_of_another_length_never_breaks_the_card(terminal: Terminal, length: int) -> None:
    challenge = terminal.challenge(length)
    assert len(challenge) == length
    answer = terminal.send(0x00, 0x82, 0x00, KEY_ID_RKSSSE, bytes(16))
    assert answer.sw != 0x9000


def test_the_challenge_is_fresh_each_time(terminal: Terminal) -> None:
    assert terminal.challenge() != terminal.challenge()


def test_external_authenticate_with_an_unknown_key_answers_6a88(terminal: Terminal) -> None:
    terminal.challenge()
    assert terminal.send(0x00, 0x82, 0x00, 0x33, bytes(16)).sw == 0x6A88


def test_external_authenticate_tries_count_down_then_block(terminal: Terminal) -> None:
    words = []
    for _ in range(15):
        words.append(terminal.external_auth(KeyClass.RKSSSE, KEY_ID_RKSSSE, bytes(8)).sw)
    assert words == [0x63C0 | n for n in range(14, -1, -1)]
    # Blocked: even the right cryptogram is refused now, and after a power cycle.
    assert terminal.external_auth(KeyClass.RKSSSE, KEY_ID_RKSSSE).sw == 0x6983
    again = Terminal.open(reload(terminal.image))
    again.select_ssse()
    assert again.external_auth(KeyClass.RKSSSE, KEY_ID_RKSSSE).sw == 0x6983
    assert again.read(6, 0x09).sw == 0x6982
    assert again.external_auth(KeyClass.UK, KEY_ID_UK).sw == 0x9000  # other keys unaffected


def test_a_right_cryptogram_resets_the_external_authenticate_counter(terminal: Terminal) -> None:
    assert terminal.external_auth(KeyClass.RKSSSE, KEY_ID_RKSSSE, bytes(8)).sw == 0x63CE
    assert terminal.external_auth(KeyClass.RKSSSE, KEY_ID_RKSSSE, bytes(8)).sw == 0x63CD
    terminal.auth_read()
    assert terminal.external_auth(KeyClass.RKSSSE, KEY_ID_RKSSSE, bytes(8)).sw == 0x63CE


def test_the_external_authenticate_counter_persists_across_power_cycles(terminal: Terminal) -> None:
    assert terminal.external_auth(KeyClass.RKSSSE, KEY_ID_RKSSSE, bytes(8)).sw == 0x63CE
    again = Terminal.open(reload(terminal.image))
    again.select_ssse()
    assert again.external_auth(KeyClass.RKSSSE, KEY_ID_RKSSSE, bytes(8)).sw == 0x63CD


# -- internal authentication -------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", [Algorithm.SM4, Algorithm.DES3])
def test_internal_authenticate_answers_what_the_terminal_computes(
    algorithm: Algorithm,
) -> None:
    t = Terminal.open(SimulatedCard(new_image(None, algorithm=algorithm)))
    t.select_ssse()
    factor, challenge = bytes.fromhex("1122334455667788"), bytes.fromhex("0102030405060708")
    response = t.send(0x00, 0x88, 0x00, 0x00, factor + challenge, le=8)
    with card_key(t.image, KeyClass.IRK) as irk:
        assert (response.data, response.sw) == (irk.internal_auth_response(factor, challenge), 0x9000)


def test_a_counterfeit_card_answers_internal_authenticate_differently() -> None:
    t = Terminal.open(SimulatedCard(new_image(None, counterfeit=True)))
    t.select_ssse()
    factor, challenge = bytes(8), bytes(8)
    response = t.send(0x00, 0x88, 0x00, 0x00, factor + challenge, le=8)
    with card_key(t.image, KeyClass.IRK) as irk:
        assert response.sw == 0x9000
        assert response.data != irk.internal_auth_response(factor, challenge)


def test_internal_authenticate_with_the_wrong_length_answers_6700(terminal: Terminal) -> None:
    assert terminal.send(0x00, 0x88, 0x00, 0x00, bytes(8), le=8).sw == 0x6700


# -- the PIN -----------------------------------------------------------------------------------


def test_the_right_pin_verifies(terminal: Terminal) -> None:
    assert terminal.verify_pin(PIN).sw == 0x9000


def test_wrong_pins_count_down_then_lock(terminal: Terminal) -> None:
    words = [terminal.verify_pin("000000").sw for _ in range(3)]
    assert words == [0x63C2, 0x63C1, 0x63C0]
    assert terminal.verify_pin(PIN).sw == 0x6983
    assert terminal.verify_pin("000000").sw == 0x6983


def test_the_right_pin_resets_the_counter(terminal: Terminal) -> None:
    assert terminal.verify_pin("000000").sw == 0x63C2
    assert terminal.verify_pin("111111").sw == 0x63C1
    assert terminal.verify_pin(PIN).sw == 0x9000
    assert terminal.verify_pin("000000").sw == 0x63C2


def test_the_pin_counter_persists_across_power_cycles(terminal: Terminal) -> None:
    assert terminal.verify_pin("000000").sw == 0x63C2
    assert terminal.verify_pin("000000").sw == 0x63C1
    second = Terminal.open(reload(terminal.image))
    second.select_ssse()
    assert second.verify_pin("000000").sw == 0x63C0
    third = Terminal.open(reload(terminal.image))
    third.select_ssse()
    assert third.verify_pin(PIN).sw == 0x6983


def test_the_pin_is_not_stored_in_clear(path: Path) -> None:
    new_image(path, pin="90817263")
    text = path.read_text(encoding="utf-8")
    assert "90817263" not in text.upper()


@pytest.mark.parametrize("data", [bytes.fromhex("12AB56"), bytes.fromhex("1F3456")])
def test_a_pin_that_is_not_bcd_answers_6a80_and_costs_no_try(terminal: Terminal, data: bytes) -> None:
    assert terminal.send(0x00, 0x20, 0x00, 0x00, data).sw == 0x6A80
    assert terminal.verify_pin("000000").sw == 0x63C2


@pytest.mark.parametrize("pin", ["123", "12345678901234567"])
def test_a_pin_of_the_wrong_length_costs_no_try(terminal: Terminal, pin: str) -> None:
    assert terminal.verify_pin(pin).sw == 0x6700
    assert terminal.verify_pin("000000").sw == 0x63C2


def test_change_pin_then_the_old_pin_fails_and_the_new_one_verifies(terminal: Terminal) -> None:
    assert terminal.change_pin(PIN, "8642").sw == 0x9000
    assert terminal.verify_pin(PIN).sw == 0x63C2
    assert terminal.verify_pin("8642").sw == 0x9000
    again = Terminal.open(reload(terminal.image))
    again.select_ssse()
    assert again.verify_pin("8642").sw == 0x9000
    assert again.verify_pin(PIN).sw == 0x63C2


@pytest.mark.parametrize("old, new", [("123456", "97531"), ("12345", "2468")])
def test_change_pin_handles_odd_length_pins(path: Path, old: str, new: str) -> None:
    new_image(path, pin=old)
    t = Terminal.open(reload_from(path))
    t.select_ssse()
    assert t.change_pin(old, new).sw == 0x9000
    assert t.verify_pin(new).sw == 0x9000
    assert t.verify_pin(old).sw == 0x63C2


def test_change_pin_with_a_wrong_old_pin_counts_a_try_and_keeps_the_pin(terminal: Terminal) -> None:
    assert terminal.change_pin("000000", "8642").sw == 0x63C2
    assert terminal.verify_pin("8642").sw == 0x63C1
    assert terminal.verify_pin(PIN).sw == 0x9000


def test_change_pin_on_a_locked_pin_is_refused(terminal: Terminal) -> None:
    for _ in range(3):
        terminal.verify_pin("000000")
    assert terminal.change_pin(PIN, "8642").sw == 0x6983
    assert terminal.verify_pin("8642").sw == 0x6983


@pytest.mark.parametrize(
    "data", [bytes.fromhex("123456"), bytes.fromhex("123456FF"), bytes.fromhex("123456FF12")]
)
def test_change_pin_with_a_malformed_new_pin_is_refused_without_a_try(
    terminal: Terminal, data: bytes
) -> None:
    assert terminal.send(0x80, 0x5E, 0x01, 0x00, data).sw == 0x6A80
    assert terminal.verify_pin(PIN).sw == 0x9000
    assert terminal.verify_pin("000000").sw == 0x63C2


def test_an_unknown_instruction_answers_6d00_and_an_unknown_class_6e00(terminal: Terminal) -> None:
    assert terminal.send(0x00, 0xE2, 0x00, 0x00).sw == 0x6D00
    assert terminal.send(0x10, 0xB2, 0x01, 0x28, le=256).sw == 0x6E00
