"""The bank application subset: SELECT and the PAN record (SFI 2, record 1)."""

from __future__ import annotations

import pytest

from applets.bank import luhn_check_digit
from sscard_issuer.apdu import find_path
from sscard_issuer.card import ssc
from sscard_issuer.sim.runtime import SimulatedCard
from tests.unit.cards import Terminal, new_image

PAN = "6217000000000000004"  # 19 digits, Luhn-valid


def bank_terminal(pan: str | None) -> Terminal:
    t = Terminal.open(SimulatedCard(new_image(None, bank_pan=pan)))
    assert t.send(0x00, 0xA4, 0x04, 0x00, ssc.BANK_AID).sw == 0x9000
    return t


def test_luhn_check_digit_of_known_numbers() -> None:
    assert luhn_check_digit("7992739871") == "3"
    assert luhn_check_digit(PAN[:-1]) == PAN[-1]


@pytest.mark.parametrize("pan", [PAN, "4111111111111111"])
def test_the_pan_and_track_2_read_from_sfi_2_record_1(pan: str) -> None:
    t = bank_terminal(pan)
    response = t.send(0x00, 0xB2, 0x01, 0x14, le=256)
    assert response.sw == 0x9000
    tag5a = find_path(response.data, 0x70, 0x5A)
    tag57 = find_path(response.data, 0x70, 0x57)
    assert tag5a is not None and tag57 is not None
    assert tag5a.value.hex().upper().rstrip("F") == pan
    expiry = new_image(None).applets["ssse"]["records"]["5"]["06"][2:6]  # YYMM of the expiry
    assert tag57.value.hex().upper().startswith(pan + "D" + expiry)


def test_a_card_without_a_bank_application_has_no_pan() -> None:
    t = bank_terminal(None)
    assert t.send(0x00, 0xB2, 0x01, 0x14, le=256).sw == 0x6A83


def test_other_records_are_not_found() -> None:
    t = bank_terminal(PAN)
    assert t.send(0x00, 0xB2, 0x02, 0x14, le=256).sw == 0x6A83
    assert t.send(0x00, 0xB2, 0x01, 0x0C, le=256).sw == 0x6A83


@pytest.mark.parametrize("pan", ["6217000000000000001", "621700000000001", "62170000000000000001", "62170000000000x0001"])
def test_a_bad_pan_is_refused_when_the_card_is_made(pan: str) -> None:
    with pytest.raises(ValueError, match="PAN"):
        new_image(None, bank_pan=pan)
