"""Applicants (the make-card JSON) and the basic data a terminal reads back."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sscard_issuer.card import ssc
from sscard_issuer.card.applicant import Applicant
from sscard_issuer.card.basic import BasicData
from sscard_issuer.card.codecs import DecodeError
from sscard_issuer.card.identifiers import (
    AreaCode,
    CardIdentificationCode,
    CardNumber,
    Sex,
    SocialSecurityNumber,
)
from sscard_issuer.errors import FieldError, ValidationError

GOOD: dict[str, str] = {
    "name": "张三",
    "ssn": "11010519491231002X",
    "sex": "2",
    "ethnicity": "01",
    "birthplace": "110105",
    "birth_date": "1949-12-31",
    "area_code": "110100",
    "card_number": "A12345678",
    "issue_date": "2024-03-15",
    "expiry_date": "2034-03-15",
}
CIC = CardIdentificationCode.build(AreaCode("110100"), bytes.fromhex("0123456789ABCDEF"))


def _fields(error: ValidationError) -> list[str]:
    return [e.field for e in error.errors]


def test_good_applicant() -> None:
    a = Applicant.from_json(GOOD)
    assert a.ssn == SocialSecurityNumber("11010519491231002X") and a.sex is Sex.FEMALE
    assert a.birth_date == date(1949, 12, 31) and a.card_number == CardNumber("A12345678")
    assert a.to_json() == GOOD
    assert Applicant.from_json(a.to_json()) == a


def test_records_are_the_bytes_of_card_md() -> None:
    records = Applicant.from_json(GOOD).records(CIC)
    assert set(records) == {5, 6}
    assert list(records[5]) == [1, 2, 3, 4, 5, 6, 7]
    assert list(records[6]) == [0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D]  # no 4E for a short name
    assert records[5][0x01] == bytes.fromhex("110100D1560000050123456789ABCDEF")
    assert records[5][0x03] == b"3.00"
    assert records[5][0x05] == bytes.fromhex("20240315")
    assert records[5][0x07] == b"A12345678"
    assert records[6][0x08] == b"11010519491231002X"
    assert records[6][0x09] == bytes.fromhex("D5C5C8FD") + bytes(26)
    assert records[6][0x0A] == b"2" and records[6][0x0B] == b"\x01"
    assert records[6][0x0C] == bytes.fromhex("110105")
    assert records[6][0x0D] == bytes.fromhex("19491231")
    for sfi, by_tag in records.items():
        ef = ssc.SSSE.record_file(sfi)
        for tag, raw in by_tag.items():
            assert len(raw) == ef.record(tag).length


def test_long_name_gets_record_4e() -> None:
    name = "阿卜杜热合曼·买买提艾力·阿卜杜拉·吐尔逊"
    records = Applicant.from_json({**GOOD, "name": name}).records(CIC)
    assert 0x4E in records[6]
    assert BasicData.from_records(records[5] | records[6]).name == name


def test_records_refuse_a_card_id_of_another_area() -> None:
    other = CardIdentificationCode.build(AreaCode("440300"), bytes(8))
    with pytest.raises(FieldError) as caught:
        Applicant.from_json(GOOD).records(other)
    assert caught.value.field == "card_id"


def test_records_take_category_init_org_and_version() -> None:
    records = Applicant.from_json(GOOD).records(
        CIC, version="3.10", category="3", init_org=bytes(range(12))
    )
    assert records[5][0x02] == b"3" and records[5][0x04] == bytes(range(12))
    assert records[5][0x03] == b"3.10"
    with pytest.raises(FieldError) as caught:
        Applicant.from_json(GOOD).records(CIC, init_org=bytes(11))
    assert caught.value.field == "init_org"


BAD_FIELDS = [
    ("name", ""),
    ("name", " 张三"),
    ("name", "张\n三"),
    ("name", "张𠮷"),  # outside GBK
    ("name", "张" * 26),  # 52 bytes
    ("ssn", "11010519491231002Y"),
    ("ssn", "110105194912310021"),  # wrong check character
    ("ssn", "1101051949123100"),
    ("sex", "M"),
    ("sex", "0"),
    ("ethnicity", "57"),
    ("ethnicity", "1"),
    ("ethnicity", "00"),
    ("birthplace", "11010"),
    ("birthplace", "990105"),
    ("birth_date", "1949/12/31"),
    ("birth_date", "1949-02-30"),
    ("birth_date", "1950-01-01"),  # not the ssn's birth date
    ("area_code", "11010a"),
    ("area_code", "000000"),
    ("card_number", "A1234567"),
    ("card_number", "ABC123456"),
    ("issue_date", "2024-13-01"),
    ("expiry_date", "2024-03-15"),  # not after the issue date
    ("expiry_date", "2020-01-01"),
    ("expiry_date", "20340315"),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
def test_one_bad_field_is_named(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Applicant.from_json({**GOOD, field: value})
    assert _fields(caught.value) == [field]


def test_sex_must_agree_with_the_ssn() -> None:
    with pytest.raises(ValidationError) as caught:
        Applicant.from_json({**GOOD, "sex": "1"})
    assert _fields(caught.value) == ["sex"]


def test_birth_after_issue_refused() -> None:
    first17 = "11010520250101002"
    ssn = first17 + SocialSecurityNumber.check_character(first17)
    with pytest.raises(ValidationError) as caught:
        Applicant.from_json({**GOOD, "ssn": ssn, "birth_date": "2025-01-01"})
    assert _fields(caught.value) == ["birth_date"]


@pytest.mark.parametrize("field", list(GOOD))
def test_missing_field_is_named(field: str) -> None:
    data = {k: v for k, v in GOOD.items() if k != field}
    with pytest.raises(ValidationError) as caught:
        Applicant.from_json(data)
    assert _fields(caught.value) == [field]


@pytest.mark.parametrize("field", list(GOOD))
@pytest.mark.parametrize("value", [None, 1, ["x"], {"a": 1}])
def test_non_string_value_is_named(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        Applicant.from_json({**GOOD, field: value})
    assert _fields(caught.value) == [field]


def test_unknown_key_is_named() -> None:
    with pytest.raises(ValidationError) as caught:
        Applicant.from_json({**GOOD, "nickname": "三儿"})
    assert _fields(caught.value) == ["nickname"]


def test_not_an_object() -> None:
    with pytest.raises(ValidationError):
        Applicant.from_json(["not", "an", "object"])  # type: ignore[arg-type]


def test_all_errors_are_reported_at_once() -> None:
    data = {**GOOD, "ssn": "11010519491231002Y", "sex": "3", "birthplace": "99",
            "card_number": "?", "expiry_date": "2000-01-01", "extra": "1"}
    del data["name"]
    with pytest.raises(ValidationError) as caught:
        Applicant.from_json(data)
    assert set(_fields(caught.value)) == {
        "extra", "name", "ssn", "sex", "birthplace", "card_number", "expiry_date"
    }


def test_direct_construction_is_validated_too() -> None:
    good = Applicant.from_json(GOOD)
    with pytest.raises(ValidationError) as caught:
        dataclasses.replace(good, ethnicity="99", birth_date=datetime(1949, 12, 31))
    assert set(_fields(caught.value)) == {"ethnicity", "birth_date"}


def test_gb18030_region_accepts_a_name_outside_gbk() -> None:
    a = Applicant.from_json({**GOOD, "name": "张𠮷"}, encoding="gb18030")
    records = a.records(CIC, encoding="gb18030")
    assert BasicData.from_records(records[5] | records[6], encoding="gb18030").name == "张𠮷"
    with pytest.raises(FieldError):
        a.records(CIC)  # GBK cards cannot hold it


# -- BasicData ---------------------------------------------------------------------------------

def test_basic_data_from_records() -> None:
    a = Applicant.from_json(GOOD)
    records = a.records(CIC)
    data = BasicData.from_records(records[5] | records[6])
    assert data == a.basic_data(CIC)
    assert data.area_code == CIC.area_code and data.version == "3.00"


@pytest.mark.parametrize(
    ("tag", "raw"),
    [
        (0x01, bytes(16)),  # area 000000
        (0x05, bytes.fromhex("20241301")),
        (0x06, bytes.fromhex("20200101")),  # expiry before issue: inconsistent card
        (0x07, b"A1234567?"),
        (0x08, b"11010519491231002Y"),
        (0x09, bytes(30)),
        (0x0A, b"3"),
        (0x03, b"3.0\x00"),
    ],
)
def test_basic_data_refuses_bad_records(tag: int, raw: bytes) -> None:
    records = Applicant.from_json(GOOD).records(CIC)
    merged = records[5] | records[6]
    merged[tag] = raw
    with pytest.raises(DecodeError):
        BasicData.from_records(merged)


@pytest.mark.parametrize("tag", [0x01, 0x03, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0D])
def test_basic_data_refuses_missing_records(tag: int) -> None:
    records = Applicant.from_json(GOOD).records(CIC)
    merged = records[5] | records[6]
    del merged[tag]
    with pytest.raises(DecodeError):
        BasicData.from_records(merged)


def test_basic_data_refuses_area_other_than_the_card_ids() -> None:
    data = Applicant.from_json(GOOD).basic_data(CIC)
    with pytest.raises(ValidationError) as caught:
        dataclasses.replace(data, area_code=AreaCode("440300"))
    assert _fields(caught.value) == ["area_code"]


# -- property: any valid applicant survives JSON and the card's records ------------------------

AREAS = ["110101", "310115", "440305", "540102", "650102", "710000", "820000"]
HAN = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹·"


@st.composite
def applicants(draw: st.DrawFn) -> tuple[Applicant, CardIdentificationCode]:
    area = draw(st.sampled_from(AREAS))
    birth = draw(st.dates(date(1900, 1, 1), date(2020, 12, 31)))
    sequence = draw(st.integers(0, 999))
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    ssn = first17 + SocialSecurityNumber.check_character(first17)
    issue = draw(st.dates(birth, date(2030, 12, 31)))
    expiry = issue + timedelta(days=draw(st.integers(1, 3653 * 2)))
    name = draw(st.text(st.sampled_from(HAN + "ABC"), min_size=1, max_size=24).filter(
        lambda n: n == n.strip() and len(n.encode("gbk")) <= 49))
    letters = draw(st.integers(0, 2))
    card_number = draw(st.from_regex(f"[A-Z]{{{letters}}}[0-9]{{{9 - letters}}}", fullmatch=True))
    data = {
        "name": name, "ssn": ssn, "sex": "1" if sequence % 2 else "2",
        "ethnicity": draw(st.sampled_from(["01", "02", "56", "97", "98"])),
        "birthplace": draw(st.sampled_from(AREAS)), "birth_date": birth.isoformat(),
        "area_code": area, "card_number": card_number, "issue_date": issue.isoformat(),
        "expiry_date": expiry.isoformat(),
    }
    cic = CardIdentificationCode.build(AreaCode(area), draw(st.binary(min_size=8, max_size=8)))
    return Applicant.from_json(data), cic


@given(applicants())
def test_applicant_round_trips_through_json_and_records(drawn: tuple[Applicant, Any]) -> None:
    applicant, cic = drawn
    assert Applicant.from_json(applicant.to_json()) == applicant
    records = applicant.records(cic)
    read_back = BasicData.from_records(records[5] | records[6])
    assert read_back == applicant.basic_data(cic)
    assert read_back.to_records() == {t: v for r in records.values() for t, v in r.items()
                                      if t in read_back.to_records()}
    assert ssc.Records.ETHNICITY.decode(records[6][0x0B]) == applicant.ethnicity
    assert ssc.Records.BIRTHPLACE.decode(records[6][0x0C]) == applicant.birthplace
