"""Identifiers: GB 11643 vectors (spec/vectors.md), card identification code, card number."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from sscard_issuer.card.identifiers import (
    AreaCode,
    CardIdentificationCode,
    CardNumber,
    Sex,
    SocialSecurityNumber,
)
from sscard_issuer.errors import FieldError

VALID_SSNS = ["11010519491231002X", "440524188001010014"]


@pytest.mark.parametrize("value", VALID_SSNS)
def test_published_ssn_vectors_are_valid(value: str) -> None:
    ssn = SocialSecurityNumber(value)
    assert str(ssn) == value
    assert SocialSecurityNumber.check_character(value[:17]) == value[17]


@pytest.mark.parametrize("value", VALID_SSNS)
def test_every_single_digit_change_is_invalid(value: str) -> None:
    alphabet = "0123456789X"
    for position in range(18):
        for char in alphabet if position == 17 else alphabet[:10]:
            if char == value[position]:
                continue
            changed = value[:position] + char + value[position + 1 :]
            with pytest.raises(FieldError) as caught:
                SocialSecurityNumber(changed)
            assert caught.value.field == "ssn", changed


def test_ssn_error_says_expected_and_got_check_character() -> None:
    with pytest.raises(FieldError) as caught:
        SocialSecurityNumber("110105194912310021")
    assert caught.value.field == "ssn"
    assert "'X'" in caught.value.expected and caught.value.got == "1"


def test_ssn_lower_case_x_normalised() -> None:
    assert str(SocialSecurityNumber("11010519491231002x")) == "11010519491231002X"
    assert SocialSecurityNumber.parse(" 11010519491231002x ") == SocialSecurityNumber(
        "11010519491231002X"
    )


def test_ssn_properties() -> None:
    a = SocialSecurityNumber("11010519491231002X")
    assert a.area_code == AreaCode("110105")
    assert a.birth_date == date(1949, 12, 31)
    assert a.sex is Sex.FEMALE  # sequence 002, even
    b = SocialSecurityNumber("440524188001010014")
    assert b.birth_date == date(1880, 1, 1) and b.sex is Sex.MALE  # sequence 001, odd


def _with_check(first17: str) -> str:
    return first17 + SocialSecurityNumber.check_character(first17)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "11010519491231002",
        "11010519491231002X0",
        "1101051949123100XX",
        "１１０１０５１９４９１２３１００２Ｘ",
        _with_check("11010519490231002"),  # 31 February... 1949-02-31
        _with_check("00010519491231002"),  # no area starts with 00
        _with_check("10010519491231002"),
        12345,
        None,
    ],
)
def test_ssn_refused(value: Any) -> None:
    with pytest.raises(FieldError) as caught:
        SocialSecurityNumber(value)
    assert caught.value.field == "ssn"


@pytest.mark.parametrize("value", ["1234567890123456", "1101051949123100a", 17])
def test_check_character_needs_17_digits(value: Any) -> None:
    with pytest.raises(FieldError):
        SocialSecurityNumber.check_character(value)


@pytest.mark.parametrize("code", ["110000", "150100", "650100", "710000", "810000", "820000"])
def test_area_code_valid(code: str) -> None:
    assert str(AreaCode(code)) == code and AreaCode(code).province == code[:2]


@pytest.mark.parametrize("code", ["", "11000", "1100000", "11000a", "100000", "160000",
                                  "240000", "380000", "470000", "550000", "660000", "720000",
                                  "830000", "910000", 110000])
def test_area_code_refused(code: Any) -> None:
    with pytest.raises(FieldError) as caught:
        AreaCode(code)
    assert caught.value.field == "area_code"


CIC_HEX = "330100D1560000050123456789ABCDEF"


def test_card_identification_code_structure() -> None:
    cic = CardIdentificationCode(bytes.fromhex(CIC_HEX))
    assert cic.hex == CIC_HEX and str(cic) == CIC_HEX
    assert cic.area_code == AreaCode("330100")
    assert cic.card_specific == bytes.fromhex("0123456789ABCDEF")
    assert bytes(cic) == bytes.fromhex(CIC_HEX)
    assert CardIdentificationCode.parse(CIC_HEX.lower()) == cic
    assert CardIdentificationCode.build(AreaCode("330100"), cic.card_specific) == cic


@pytest.mark.parametrize(
    "raw",
    [
        "330100D15600000501234567",  # too short
        CIC_HEX + "00",  # too long
        "3A0100D1560000050123456789ABCDEF",  # area not BCD
        "990100D1560000050123456789ABCDEF",  # no province 99
        "330100D1560000060123456789ABCDEF",  # not D156000005
    ],
)
def test_card_identification_code_refused(raw: str) -> None:
    with pytest.raises(FieldError) as caught:
        CardIdentificationCode(bytes.fromhex(raw))
    assert caught.value.field == "card_id"


@pytest.mark.parametrize("text", ["G30100D1560000050123456789ABCDEF", CIC_HEX[:-1], 5])
def test_card_identification_code_parse_refused(text: Any) -> None:
    with pytest.raises(FieldError):
        CardIdentificationCode.parse(text)


def test_card_identification_code_build_refused() -> None:
    with pytest.raises(FieldError):
        CardIdentificationCode.build(AreaCode("330100"), bytes(7))
    with pytest.raises(FieldError):
        CardIdentificationCode.build("330100", bytes(8))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["A12345678", "AB1234567", "123456789"])
def test_card_number_formats(value: str) -> None:
    assert str(CardNumber(value)) == value


def test_card_number_letters_upper_cased() -> None:
    assert str(CardNumber.parse(" ab1234567 ")) == "AB1234567"


@pytest.mark.parametrize(
    "value",
    ["", "A1234567", "A123456789", "ABC123456", "1A2345678", "A1234567B", "12345678A",
     "Ａ12345678", "A1234567\u0663", None, 123456789],
)
def test_card_number_refused(value: Any) -> None:
    with pytest.raises(FieldError) as caught:
        CardNumber(value)
    assert caught.value.field == "card_number"


def test_sex_values() -> None:
    assert Sex("1") is Sex.MALE and Sex("2") is Sex.FEMALE


def test_identifiers_are_frozen() -> None:
    ssn = SocialSecurityNumber("440524188001010014")
    with pytest.raises(AttributeError):
        ssn.value = "11010519491231002X"  # type: ignore[misc]
