"""Identity documents: every accepted type's real format, refusals that say why, cross-field rules."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from sscard_issuer.applications import (
    DocumentError,
    DocumentType,
    IdentityDocument,
    age_on,
    applicable,
    check_applicable,
    social_security_number_for,
)
from sscard_issuer.card.identifiers import SocialSecurityNumber
from sscard_issuer.errors import FieldError

T = DocumentType


def gb(first17: str) -> str:
    """A number completed with its GB 11643 check character."""
    return first17 + SocialSecurityNumber.check_character(first17)


def bad_check(number: str) -> str:
    """The same number with a wrong check character."""
    return number[:17] + ("0" if number[17] != "0" else "1")


CITIZEN = gb("45010319850615123")  # Nanning, 1985-06-15
CHILD = gb("45010320100515124")  # Nanning, 2010-05-15
HK_PERMIT = gb("81000019900101001")
MACAO_PERMIT = gb("82000019900101002")
TAIWAN_PERMIT = gb("83000019900101003")
PR_2023 = gb("94484019851020123")  # 9, Guangdong 44, USA 840, 1985-10-20
CITIZEN_TYPES = [T.RESIDENT_ID_CARD, T.TEMPORARY_ID_CARD, T.HOUSEHOLD_REGISTER]


def refusal(doc_type: DocumentType, number: str, country: str | None = None,
            birth: date | None = None) -> DocumentError:
    with pytest.raises(DocumentError) as caught:
        IdentityDocument(doc_type, number, country, birth)
    error = caught.value
    assert isinstance(error, FieldError)
    assert error.expected and error.expected_zh
    return error


# -- the types -------------------------------------------------------------------------------------


def test_codes_are_stable_and_names_bilingual() -> None:
    assert {t.value for t in T} == {
        "resident_id_card", "temporary_id_card", "household_register", "hk_macao_travel_permit",
        "taiwan_travel_permit", "hmt_residence_permit", "foreign_passport", "foreign_permanent_residence_id",
    }
    assert T.RESIDENT_ID_CARD.name_zh == "居民身份证"
    assert T.TEMPORARY_ID_CARD.name_zh == "临时居民身份证"
    assert T.HOUSEHOLD_REGISTER.name_zh == "户口簿"
    assert T.HK_MACAO_TRAVEL_PERMIT.name_zh == "港澳居民来往内地通行证"
    assert T.TAIWAN_TRAVEL_PERMIT.name_zh == "台湾居民来往大陆通行证"
    assert T.HMT_RESIDENCE_PERMIT.name_zh == "港澳台居民居住证"
    assert T.FOREIGN_PASSPORT.name_zh == "外国护照"
    assert T.FOREIGN_PERMANENT_RESIDENCE_ID.name_zh == "外国人永久居留身份证"
    assert all(t.name_en for t in T)
    assert [t for t in T if t.foreign] == [T.FOREIGN_PASSPORT, T.FOREIGN_PERMANENT_RESIDENCE_ID]


def test_type_from_code() -> None:
    assert T.from_code("household_register") is T.HOUSEHOLD_REGISTER
    with pytest.raises(DocumentError) as caught:
        T.from_code("driving_licence")
    assert caught.value.field == "document_type"


def test_the_type_must_be_a_document_type() -> None:
    error = refusal("resident_id_card", CITIZEN)  # type: ignore[arg-type]
    assert error.field == "document_type"


def test_a_document_is_frozen() -> None:
    document = IdentityDocument(T.RESIDENT_ID_CARD, CITIZEN)
    with pytest.raises(dataclasses.FrozenInstanceError):
        document.number = CHILD  # type: ignore[misc]


# -- citizen numbers: resident ID, temporary ID, household register --------------------------------


@pytest.mark.parametrize("doc_type", CITIZEN_TYPES)
def test_citizen_numbers_are_accepted(doc_type: DocumentType) -> None:
    document = IdentityDocument(doc_type, CITIZEN)
    assert document.number == CITIZEN
    assert document.country == "CHN"
    assert document.birth_date == date(1985, 6, 15)


@pytest.mark.parametrize("doc_type", CITIZEN_TYPES)
def test_citizen_numbers_are_normalised(doc_type: DocumentType) -> None:
    assert IdentityDocument(doc_type, "11010519850615105x").number == "11010519850615105X"
    full_width = CITIZEN.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    assert IdentityDocument(doc_type, f"  {full_width} ").number == CITIZEN
    assert IdentityDocument(doc_type, CITIZEN, country="chn").country == "CHN"


@pytest.mark.parametrize("doc_type", CITIZEN_TYPES)
@pytest.mark.parametrize(("number", "got"), [
    (CITIZEN[:17], CITIZEN[:17]),  # too short
    (CITIZEN + "1", CITIZEN + "1"),  # too long
    ("45010319850615A23X", "45010319850615A23X"),  # a letter where digits belong
    ("4501031985061512X3", "4501031985061512X3"),  # X not last
    ("450103 98506151235", "450103 98506151235"),  # inner space
    (bad_check(CITIZEN), bad_check(CITIZEN)[17]),  # only the check character is shown
    (gb("45010319850230123"), "19850230"),  # no 30 February
    (gb("00010319850615123"), "00"),  # no such province
    (gb("91000019850615123"), "910000"),  # a foreigner's number
])
def test_bad_citizen_numbers_are_refused(doc_type: DocumentType, number: str, got: str) -> None:
    error = refusal(doc_type, number)
    assert error.field == "document_number"
    assert error.got == got
    assert doc_type.name_en in error.expected
    assert doc_type.name_zh in error.expected_zh


def test_a_residence_permit_number_given_as_a_resident_id_says_so() -> None:
    error = refusal(T.RESIDENT_ID_CARD, HK_PERMIT)
    assert error.got == "810000"
    assert "residence permit" in error.expected
    assert "港澳台居民居住证" in error.message("zh")


def test_a_number_that_is_not_text_is_refused() -> None:
    error = refusal(T.RESIDENT_ID_CARD, 450103198506151235)  # type: ignore[arg-type]
    assert error.field == "document_number"


def test_a_chinese_document_carries_no_foreign_country() -> None:
    error = refusal(T.RESIDENT_ID_CARD, CITIZEN, country="USA")
    assert (error.field, error.got) == ("country", "USA")


# -- the mainland travel permit for Hong Kong and Macao residents (回乡证) ----------------------------


@pytest.mark.parametrize(("number", "stored"), [
    ("H12345678", "H12345678"),
    ("M87654321", "M87654321"),
    ("H1234567801", "H1234567801"),  # 1999 card: lifetime number + renewal count
    ("h12345678", "H12345678"),
    ("Ｈ１２３４５６７８", "H12345678"),
])
def test_hk_macao_travel_permits_are_accepted(number: str, stored: str) -> None:
    document = IdentityDocument(T.HK_MACAO_TRAVEL_PERMIT, number)
    assert (document.number, document.country, document.birth_date) == (stored, "CHN", None)


@pytest.mark.parametrize(("number", "got"), [
    ("A12345678", "A"),
    ("12345678", "1"),
    ("H1234567", "H1234567"),
    ("H123456789", "H123456789"),
    ("H123456789012", "H123456789012"),
    ("H1234567A", "H1234567A"),
    ("H1234 5678", "H1234 5678"),
])
def test_bad_hk_macao_travel_permits_are_refused(number: str, got: str) -> None:
    error = refusal(T.HK_MACAO_TRAVEL_PERMIT, number)
    assert (error.field, error.got) == ("document_number", got)


# -- the mainland travel permit for Taiwan residents (台胞证) -----------------------------------------


@pytest.mark.parametrize(("number", "stored"), [
    ("12345678", "12345678"),
    ("1234567801", "1234567801"),
    ("1234567801(B)", "1234567801(B)"),
    ("1234567801(3)", "1234567801(3)"),
    ("1234567801b", "1234567801(B)"),
    ("1234567801（b）", "1234567801(B)"),  # full-width brackets from a Chinese input method
])
def test_taiwan_travel_permits_are_accepted(number: str, stored: str) -> None:
    assert IdentityDocument(T.TAIWAN_TRAVEL_PERMIT, number).number == stored


@pytest.mark.parametrize("number", [
    "1234567", "123456789", "12345678901", "A2345678", "1234567801()", "1234567801(BB)", "12345678(B)",
])
def test_bad_taiwan_travel_permits_are_refused(number: str) -> None:
    error = refusal(T.TAIWAN_TRAVEL_PERMIT, number)
    assert error.field == "document_number"
    assert "8 digits" in error.expected


# -- the residence permit for Hong Kong, Macao and Taiwan residents --------------------------------


@pytest.mark.parametrize("number", [HK_PERMIT, MACAO_PERMIT, TAIWAN_PERMIT])
def test_hmt_residence_permits_are_accepted(number: str) -> None:
    document = IdentityDocument(T.HMT_RESIDENCE_PERMIT, number, holder_birth_date=date(1990, 1, 1))
    assert document.birth_date == date(1990, 1, 1)
    assert document.country == "CHN"


@pytest.mark.parametrize(("number", "got"), [
    (CITIZEN, "450103"),
    (gb("81000119900101001"), "810001"),
    (gb("84000019900101001"), "840000"),
    (bad_check(HK_PERMIT), bad_check(HK_PERMIT)[17]),
    (gb("81000019901301001"), "19901301"),
    (HK_PERMIT[:16], HK_PERMIT[:16]),
])
def test_bad_hmt_residence_permits_are_refused(number: str, got: str) -> None:
    error = refusal(T.HMT_RESIDENCE_PERMIT, number)
    assert (error.field, error.got) == ("document_number", got)


# -- the foreign permanent residence ID card -------------------------------------------------------


def test_the_2023_permanent_residence_number() -> None:
    document = IdentityDocument(T.FOREIGN_PERMANENT_RESIDENCE_ID, PR_2023, holder_birth_date=date(1985, 10, 20))
    assert (document.country, document.birth_date) == ("USA", date(1985, 10, 20))
    kazakh = IdentityDocument(T.FOREIGN_PERMANENT_RESIDENCE_ID, "911398199012310021", country="kaz")
    assert kazakh.country == "KAZ"


@pytest.mark.parametrize(("number", "country"), [("KAZ110090123105", "KAZ"), ("usa440085102012", "USA")])
def test_the_15_character_permanent_residence_number(number: str, country: str) -> None:
    document = IdentityDocument(T.FOREIGN_PERMANENT_RESIDENCE_ID, number)
    assert (document.number, document.country, document.birth_date) == (number.upper(), country, None)


@pytest.mark.parametrize(("number", "got"), [
    (gb("81139819901231002"), "811398"),  # 18 characters must start with 9
    (gb("90039819901231002"), "00"),  # no such province
    (gb("91199919901231002"), "999"),  # no such nationality
    (gb("91139819900231002"), "19900231"),
    (bad_check("911398199012310021"), "0"),
    ("KAA110090123105", "KAA"),
    ("KAZ990090123105", "99"),
    ("KAZ110090023105", "900231"),
    ("KAZ11009012310", "KAZ11009012310"),
    ("KA1110090123105", "KA1110090123105"),
    ("KAZ11009012310A", "KAZ11009012310A"),
])
def test_bad_permanent_residence_numbers_are_refused(number: str, got: str) -> None:
    error = refusal(T.FOREIGN_PERMANENT_RESIDENCE_ID, number)
    assert (error.field, error.got) == ("document_number", got)


def test_the_country_given_must_match_the_permanent_residence_number() -> None:
    error = refusal(T.FOREIGN_PERMANENT_RESIDENCE_ID, PR_2023, country="GBR")
    assert (error.field, error.got) == ("country", "GBR")
    assert "USA" in error.expected


# -- the foreign passport --------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "country", "stored"), [
    ("C01X00T47", "DEU", "DEU"), ("x1234", "usa", "USA"), ("A" * 20, "GBR", "GBR"),
    ("123456789", "JPN", "JPN"), ("ab1234567", "ＦＲＡ", "FRA"),
])
def test_foreign_passports_are_accepted(number: str, country: str, stored: str) -> None:
    document = IdentityDocument(T.FOREIGN_PASSPORT, number, country, holder_birth_date=date(1990, 1, 1))
    assert (document.number, document.country, document.birth_date) == (number.upper(), stored, None)


@pytest.mark.parametrize("number", ["1234", "A" * 21, "E1234-567", "E 1234567", "护照12345"])
def test_bad_passport_numbers_are_refused(number: str) -> None:
    error = refusal(T.FOREIGN_PASSPORT, number, "DEU")
    assert (error.field, error.got) == ("document_number", number)
    assert "5 to 20" in error.expected


@pytest.mark.parametrize(("country", "got"), [
    (None, None), ("", None), ("D", "D"), ("DE", "DE"), ("XXX", "XXX"), ("GER", "GER"),
    ("CHN", "CHN"), ("HKG", "HKG"), ("MAC", "MAC"), ("TWN", "TWN"),
])
def test_a_passport_needs_a_foreign_iso_issuing_country(country: str | None, got: str | None) -> None:
    error = refusal(T.FOREIGN_PASSPORT, "E12345678", country)
    assert (error.field, error.got) == ("country", got)


# -- rules across fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(("doc_type", "number"), [
    (T.RESIDENT_ID_CARD, CITIZEN), (T.HOUSEHOLD_REGISTER, CITIZEN), (T.HMT_RESIDENCE_PERMIT, MACAO_PERMIT),
    (T.FOREIGN_PERMANENT_RESIDENCE_ID, PR_2023), (T.FOREIGN_PERMANENT_RESIDENCE_ID, "KAZ110090123105"),
])
def test_a_birth_date_that_disagrees_with_the_number_is_refused(doc_type: DocumentType, number: str) -> None:
    error = refusal(doc_type, number, birth=date(1991, 2, 3))
    assert error.field == "document_number"
    assert error.got in (number[6:14], number[7:13])  # only the date digits are shown
    assert "出生日期" in error.expected_zh


def test_the_15_character_number_compares_two_digit_years() -> None:
    assert IdentityDocument(T.FOREIGN_PERMANENT_RESIDENCE_ID, "KAZ110090123105", holder_birth_date=date(1990, 12, 31))
    refusal(T.FOREIGN_PERMANENT_RESIDENCE_ID, "KAZ110090123105", birth=date(1990, 12, 30))


def test_the_holder_birth_date_must_be_a_date() -> None:
    error = refusal(T.RESIDENT_ID_CARD, CITIZEN, birth="1985-06-15")  # type: ignore[arg-type]
    assert error.field == "birth_date"


def test_permits_and_passports_carry_no_birth_date_to_compare() -> None:
    assert IdentityDocument(T.HK_MACAO_TRAVEL_PERMIT, "H12345678", holder_birth_date=date(2001, 1, 1))
    assert IdentityDocument(T.TAIWAN_TRAVEL_PERMIT, "12345678", holder_birth_date=date(2001, 1, 1))


@pytest.mark.parametrize(("on", "age", "register_ok"), [
    (date(2026, 5, 14), 15, True),  # the day before the 16th birthday
    (date(2026, 5, 15), 16, False),  # the birthday itself
    (date(2010, 5, 15), 0, True),
])
def test_the_household_register_is_for_children_under_16(on: date, age: int, register_ok: bool) -> None:
    birth = date(2010, 5, 15)
    assert age_on(birth, on) == age
    assert applicable(T.HOUSEHOLD_REGISTER, birth, on) is register_ok
    for other in T:
        if other is not T.HOUSEHOLD_REGISTER:
            assert applicable(other, birth, on)
    if register_ok:
        check_applicable(T.HOUSEHOLD_REGISTER, birth, on)
    else:
        with pytest.raises(DocumentError) as caught:
            check_applicable(T.HOUSEHOLD_REGISTER, birth, on)
        assert caught.value.field == "document_type"
        assert "16周岁" in caught.value.expected_zh


def test_a_leap_day_birthday_counts_from_1_march_in_common_years() -> None:
    birth = date(2008, 2, 29)
    assert age_on(birth, date(2023, 2, 28)) == 14
    assert age_on(birth, date(2023, 3, 1)) == 15
    assert applicable(T.HOUSEHOLD_REGISTER, birth, date(2024, 2, 28))
    assert not applicable(T.HOUSEHOLD_REGISTER, birth, date(2024, 2, 29))


def test_a_birth_date_after_the_application_date_is_refused() -> None:
    with pytest.raises(DocumentError) as caught:
        applicable(T.RESIDENT_ID_CARD, date(2030, 1, 1), date(2026, 1, 1))
    assert caught.value.field == "birth_date"


# -- the social security number --------------------------------------------------------------------


@pytest.mark.parametrize(("doc_type", "number"), [
    (T.RESIDENT_ID_CARD, CITIZEN), (T.TEMPORARY_ID_CARD, CITIZEN), (T.HOUSEHOLD_REGISTER, CHILD),
    (T.HMT_RESIDENCE_PERMIT, HK_PERMIT), (T.HMT_RESIDENCE_PERMIT, MACAO_PERMIT),
])
def test_the_social_security_number_is_the_documents_number(doc_type: DocumentType, number: str) -> None:
    ssn = social_security_number_for(IdentityDocument(doc_type, number))
    assert ssn == SocialSecurityNumber(number)


@pytest.mark.parametrize(("doc_type", "number", "country"), [
    (T.HK_MACAO_TRAVEL_PERMIT, "H12345678", None), (T.TAIWAN_TRAVEL_PERMIT, "12345678", None),
    (T.FOREIGN_PASSPORT, "E12345678", "DEU"), (T.FOREIGN_PERMANENT_RESIDENCE_ID, "KAZ110090123105", None),
])
def test_documents_without_an_18_character_number_yield_none(doc_type: DocumentType, number: str,
                                                              country: str | None) -> None:
    assert social_security_number_for(IdentityDocument(doc_type, number, country)) is None


@pytest.mark.parametrize(("doc_type", "number"), [
    (T.HMT_RESIDENCE_PERMIT, TAIWAN_PERMIT), (T.FOREIGN_PERMANENT_RESIDENCE_ID, PR_2023),
])
def test_taiwan_and_2023_foreign_numbers_become_social_security_numbers(doc_type: DocumentType,
                                                                         number: str) -> None:
    ssn = social_security_number_for(IdentityDocument(doc_type, number))
    assert ssn is not None
    assert str(ssn) == number
