"""Data preparation: an application checked whole before anything happens, then numbers allocated
for good in one registry transaction."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from typing import Any

import pytest
from sqlalchemy import func, select

from sscard_issuer.card import Applicant, CardIdentificationCode, ssc
from sscard_issuer.card.identifiers import CIC_RID
from sscard_issuer.errors import FieldError, ValidationError
from sscard_issuer.perso import PersoRecord, Profile, check_application, expiry_after, load_profile
from sscard_issuer.perso.prepare import allocate_job
from sscard_issuer.perso.profile import parse_profile
from sscard_issuer.registry import AllocationState, AreaSequence, CardAllocation, JobState, PersoJob, Registry

TODAY = date(2026, 3, 2)
CARD_SERIAL = bytes.fromhex("0011223344556677")
# Luhn-valid PANs (check digits worked out by hand): 16 and 19 digits
PAN_16 = "4111111111111111"
PAN_19 = "6217000000000000004"
APPLICATION: dict[str, str] = {
    "name": "李秀英", "ssn": "450103198506151231", "sex": "1", "ethnicity": "01",
    "birthplace": "450103", "birth_date": "1985-06-15", "area_code": "450100",
}
# a woman born 1990-01-01 in Beijing (sequence 002, check character 3)
OTHER_AREA: dict[str, str] = {
    "name": "王芳", "ssn": "110101199001010023", "sex": "2", "ethnicity": "01",
    "birthplace": "110101", "birth_date": "1990-01-01", "area_code": "110100",
}
JPEG = b"\xff\xd8\xff\xe0" + bytes(200) + b"\xff\xd9"


@pytest.fixture(scope="module")
def sm4() -> Profile:
    return load_profile("ssc3-sm4")


def profile_doc(name: str = "ssc3-sm4") -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        resources.files("sscard_issuer.perso").joinpath(f"profiles/{name}.json").read_text("utf-8"))
    return doc


def no_bank_profile() -> Profile:
    doc = profile_doc()
    doc["name"] = "ssc3-no-bank"
    doc["bank"] = {"enabled": False}
    return parse_profile(doc)


def faults(doc: Any, profile: Profile, **kwargs: Any) -> dict[str, FieldError]:
    with pytest.raises(ValidationError) as exc:
        check_application(doc, profile, today=TODAY, **kwargs)
    fields = [e.field for e in exc.value.errors]
    assert len(fields) == len(set(fields)), f"one error per field: {fields}"
    return {e.field: e for e in exc.value.errors}


# -- the application -------------------------------------------------------------------------------


def test_a_good_application_gets_todays_issue_date_and_ten_years(sm4: Profile) -> None:
    dated = check_application(dict(APPLICATION), sm4, today=TODAY)
    assert dated == {**APPLICATION, "issue_date": "2026-03-02", "expiry_date": "2036-03-02"}
    assert "card_number" not in dated


def test_the_shipped_sample_applicant_less_its_allocated_fields_is_a_good_application(sm4: Profile) -> None:
    sample = json.loads(resources.files("sscard_issuer.data").joinpath("sample_applicant.json").read_text("utf-8"))
    for allocated in ("card_number", "issue_date", "expiry_date"):
        del sample[allocated]
    assert check_application(sample, sm4, today=TODAY)["expiry_date"] == "2036-03-02"


def test_an_application_with_every_field_bad_names_each_field_once(sm4: Profile) -> None:
    doc = {
        "name": "李𠮷",  # U+20BB7: in GB 18030, not in GBK
        "ssn": "450103198506151232",  # check character should be 1
        "sex": "3",
        "ethnicity": "57",
        "birthplace": "990000",  # no province 99
        "birth_date": "1985-02-30",
        "area_code": "45010",
        "nickname": "小李",
        "card_number": "A12345678",
        "bank_pan": "6217000000000000005",  # Luhn check digit should be 4
    }
    found = faults(doc, sm4)
    assert set(found) == {"name", "ssn", "sex", "ethnicity", "birthplace", "birth_date", "area_code",
                          "nickname", "card_number", "bank_pan"}
    assert "gbk" in found["name"].expected
    assert "'1'" in found["ssn"].expected
    assert found["card_number"].expected.startswith("left out")
    assert "bank_pan" in found["nickname"].expected  # the list of known fields is an application's
    assert "card_number" not in found["nickname"].expected


def test_fields_data_preparation_sets_must_be_left_out(sm4: Profile) -> None:
    doc = {**APPLICATION, "card_number": "A12345678", "issue_date": "2026-03-02", "expiry_date": "2036-03-02"}
    found = faults(doc, sm4)
    assert set(found) == {"card_number", "issue_date", "expiry_date"}
    assert all("allocates" in e.expected for e in found.values())


def test_missing_fields_are_named(sm4: Profile) -> None:
    found = faults({"name": "李秀英"}, sm4)
    assert set(found) == {"ssn", "sex", "ethnicity", "birthplace", "birth_date", "area_code"}


@pytest.mark.parametrize("doc", [None, [], "李秀英", 7])
def test_an_application_that_is_not_an_object_is_refused(sm4: Profile, doc: Any) -> None:
    assert set(faults(doc, sm4)) == {"application"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"birth_date": "1985-06-16"}, "birth_date"),  # the ssn says 15 June
        ({"sex": "2"}, "sex"),  # sequence 123 is odd: a man
        ({"ssn": "450103198506151223", "sex": "1"}, "sex"),  # sequence 122: a woman
    ],
)
def test_the_ssn_must_agree_with_birth_date_and_sex_as_the_card_model_says(
    sm4: Profile, changes: dict[str, str], field: str
) -> None:
    doc = {**APPLICATION, **changes}
    found = faults(doc, sm4)
    assert set(found) == {field}
    with pytest.raises(ValidationError) as model:
        Applicant.from_json({**doc, "card_number": "A00000001", "issue_date": "2026-03-02",
                             "expiry_date": "2036-03-02"})
    assert [e.field for e in model.value.errors] == [field]
    assert str(model.value.errors[0]) == str(found[field])


def test_someone_not_yet_born_on_the_issue_day_is_refused(sm4: Profile) -> None:
    with pytest.raises(ValidationError) as exc:
        check_application(OTHER_AREA, sm4, today=date(1989, 12, 31))
    assert [e.field for e in exc.value.errors] == ["birth_date"]


@pytest.mark.parametrize("pan", [PAN_16, PAN_19])
def test_a_good_bank_pan_is_accepted_for_a_profile_with_a_bank_application(sm4: Profile, pan: str) -> None:
    dated = check_application({**APPLICATION, "bank_pan": pan}, sm4, today=TODAY)
    assert "bank_pan" not in dated  # it travels beside the applicant, into the record


@pytest.mark.parametrize(
    "pan",
    [
        "411111111111111",  # 15 digits
        "62170000000000000000",  # 20 digits
        "4111111111111112",  # Luhn check digit wrong
        "4111 1111 1111 1111",
        "４１１１１１１１１１１１１１１１",  # full-width digits
        "",
        4111111111111111,  # a number, not a string
    ],
)
def test_a_bad_bank_pan_is_refused(sm4: Profile, pan: Any) -> None:
    found = faults({**APPLICATION, "bank_pan": pan}, sm4)
    assert set(found) == {"bank_pan"}
    assert "Luhn" in found["bank_pan"].expected


def test_a_bank_pan_without_a_bank_application_is_refused() -> None:
    found = faults({**APPLICATION, "bank_pan": PAN_16}, no_bank_profile())
    assert set(found) == {"bank_pan"}
    assert "no bank application" in found["bank_pan"].expected


def test_a_photo_must_be_a_jpeg_that_fits_what_the_card_can_be_written(sm4: Profile) -> None:
    assert check_application(APPLICATION, sm4, today=TODAY, photo=JPEG)
    largest = b"\xff\xd8" + bytes(ssc.PHOTO_WRITABLE - 4) + b"\xff\xd9"
    assert check_application(APPLICATION, sm4, today=TODAY, photo=largest)
    too_large = b"\xff\xd8" + bytes(ssc.PHOTO_WRITABLE - 3) + b"\xff\xd9"
    assert "at most" in faults(APPLICATION, sm4, photo=too_large)["photo"].expected
    for not_jpeg in (b"\x89PNG\r\n\x1a\n" + bytes(100), b"", b"\xff\xd8" + bytes(100)):
        assert faults(APPLICATION, sm4, photo=not_jpeg)["photo"].expected == "a JPEG file"


def test_a_bad_photo_is_reported_with_the_bad_fields(sm4: Profile) -> None:
    found = faults({**APPLICATION, "sex": "9"}, sm4, photo=b"GIF89a")
    assert set(found) == {"sex", "photo"}


@pytest.mark.parametrize(
    ("issued", "years", "expires"),
    [
        (date(2026, 3, 2), 10, date(2036, 3, 2)),
        (date(2024, 2, 29), 10, date(2034, 2, 28)),
        (date(2024, 2, 29), 4, date(2028, 2, 29)),
        (date(2025, 12, 31), 1, date(2026, 12, 31)),
    ],
)
def test_expiry_is_the_same_day_years_later_and_29_february_becomes_28(
    issued: date, years: int, expires: date
) -> None:
    assert expiry_after(issued, years) == expires


def test_an_application_on_29_february_expires_on_28_february(sm4: Profile) -> None:
    dated = check_application(APPLICATION, sm4, today=date(2028, 2, 29))
    assert (dated["issue_date"], dated["expiry_date"]) == ("2028-02-29", "2038-02-28")


# -- allocation ----------------------------------------------------------------------------------------


def allocate(registry: Registry, profile: Profile, application: dict[str, str] = APPLICATION,
             **kwargs: Any) -> PersoRecord:
    dated = check_application(application, profile, today=TODAY, photo=kwargs.get("photo"))
    with registry.transaction() as session:
        _job, record = allocate_job(session, dated, profile, card_serial=CARD_SERIAL, **kwargs)
    return record


def test_an_areas_serials_run_1_2_3_into_card_numbers_and_identification_codes(
    registry: Registry, sm4: Profile
) -> None:
    records = [allocate(registry, sm4) for _ in range(3)]
    assert [str(r.applicant.card_number) for r in records] == ["A00000001", "A00000002", "A00000003"]
    for serial, record in enumerate(records, start=1):
        raw = record.card_id.raw
        assert raw[:3] == bytes.fromhex("450100")  # the area in BCD
        assert raw[3:8] == CIC_RID == bytes.fromhex("D156000005")
        assert raw[8:] == serial.to_bytes(8, "big")
        assert record.card_id.hex == f"450100D156000005{serial:016X}"
        assert record.applicant.issue_date == TODAY
        assert record.applicant.expiry_date == date(2036, 3, 2)
        assert record.profile == "ssc3-sm4"


def test_each_area_counts_on_its_own(registry: Registry, sm4: Profile) -> None:
    made = [allocate(registry, sm4, application) for application in (APPLICATION, OTHER_AREA, APPLICATION,
                                                                       OTHER_AREA, OTHER_AREA)]
    by_area = [(str(r.applicant.area_code), str(r.applicant.card_number)) for r in made]
    assert by_area == [("450100", "A00000001"), ("110100", "A00000001"), ("450100", "A00000002"),
                       ("110100", "A00000002"), ("110100", "A00000003")]
    assert made[1].card_id.hex == "110100D1560000050000000000000001"
    assert len({r.card_id for r in made}) == 5


def test_the_card_number_takes_the_profiles_prefix(registry: Registry) -> None:
    doc = profile_doc()
    doc["card_number_prefix"] = "G"
    assert str(allocate(registry, parse_profile(doc)).applicant.card_number) == "G00000001"


def test_the_job_holds_the_record_and_the_allocation(registry: Registry, sm4: Profile) -> None:
    record = allocate(registry, sm4, bank_pan=PAN_19, photo=JPEG)
    with registry.transaction() as session:
        job = session.execute(select(PersoJob)).scalar_one()
        assert job.state is JobState.PREPARED
        assert job.card_serial == "0011223344556677"
        assert job.profile == "ssc3-sm4"
        assert PersoRecord.from_json(job.record) == record
        assert record.bank_pan == PAN_19 and record.photo == JPEG
        allocation = job.allocation
        assert allocation.state is AllocationState.ALLOCATED
        assert (allocation.area_code, allocation.serial) == ("450100", 1)
        assert allocation.card_number == str(record.applicant.card_number)
        assert allocation.card_id == record.card_id.hex


def test_a_rolled_back_transaction_allocates_nothing_and_no_committed_number_comes_again(
    registry: Registry, sm4: Profile
) -> None:
    first = allocate(registry, sm4)
    dated = check_application(APPLICATION, sm4, today=TODAY)
    with pytest.raises(RuntimeError), registry.transaction() as session:
        _job, lost = allocate_job(session, dated, sm4, card_serial=CARD_SERIAL)
        assert str(lost.applicant.card_number) == "A00000002"
        raise RuntimeError("power cut before the commit")
    with registry.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CardAllocation)) == 1
        assert session.scalar(select(func.count()).select_from(PersoJob)) == 1
        sequence = session.get(AreaSequence, "450100")
        assert sequence is not None and sequence.next_serial == 2
    after = allocate(registry, sm4)
    assert after.card_id != first.card_id
    assert str(after.applicant.card_number) == "A00000002"  # never handed out: free to use


def test_a_rolled_back_first_allocation_of_an_area_leaves_no_area_behind(registry: Registry, sm4: Profile) -> None:
    dated = check_application(OTHER_AREA, sm4, today=TODAY)
    with pytest.raises(RuntimeError), registry.transaction() as session:
        allocate_job(session, dated, sm4, card_serial=CARD_SERIAL)
        raise RuntimeError("crash")
    with registry.transaction() as session:
        assert session.get(AreaSequence, "110100") is None
    assert str(allocate(registry, sm4, OTHER_AREA).applicant.card_number) == "A00000001"


def test_an_area_whose_eight_digit_numbers_are_used_up_is_refused(registry: Registry, sm4: Profile) -> None:
    with registry.transaction() as session:
        session.add(AreaSequence(area_code="450100", next_serial=10**8 - 1))
    assert str(allocate(registry, sm4).applicant.card_number) == "A99999999"
    with pytest.raises(FieldError) as exc:
        allocate(registry, sm4)
    assert exc.value.field == "area_code"
    with registry.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CardAllocation)) == 1


# -- the record ----------------------------------------------------------------------------------------


def test_a_record_round_trips_through_json_with_photo_and_bank_pan(registry: Registry, sm4: Profile) -> None:
    record = allocate(registry, sm4, bank_pan=PAN_16, photo=JPEG)
    text = record.to_json()
    again = PersoRecord.from_json(text)
    assert again == record
    assert again.photo == JPEG and again.bank_pan == PAN_16
    assert "李秀英" in text  # readable in the journal, not \\u-escaped
    assert again.records(sm4) == record.records(sm4)


def test_a_record_without_photo_or_bank_pan_round_trips_too(registry: Registry, sm4: Profile) -> None:
    record = allocate(registry, sm4)
    again = PersoRecord.from_json(record.to_json())
    assert again == record
    assert again.photo is None and again.bank_pan is None


def test_the_record_gives_the_card_its_records_under_the_profiles_version() -> None:
    doc = {**APPLICATION, "card_number": "A00000001", "issue_date": "2026-03-02", "expiry_date": "2036-03-02"}
    card_id = CardIdentificationCode.parse("450100D1560000050000000000000001")
    record = PersoRecord(Applicant.from_json(doc), card_id, "ssc2-3des")
    records = record.records(load_profile("ssc2-3des"))
    assert records[5][0x03] == b"2.00"
    assert records[5][0x01] == card_id.raw
    assert records[5][0x07] == b"A00000001"
    assert records[6][0x08] == b"450103198506151231"
