"""Applications through the registry's service, on SQLite and PostgreSQL: who may apply, with what,
where, and what is recorded. The rules are the service page's (seed/) and card.md sections 5-7."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from sqlalchemy import select

from sscard_issuer.applications import DocumentType, IdentityDocument, PhotoProblemCode, PhotoRejected
from sscard_issuer.applications.document_numbers import DocumentError
from sscard_issuer.applications.requests import Agent, ApplicationKind, Delivery, DeliveryMethod
from sscard_issuer.errors import FieldError, ValidationError
from sscard_issuer.lifecycle.access import Forbidden
from sscard_issuer.lifecycle.actions import LossKind
from sscard_issuer.lifecycle.errors import NotEligible
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry import Application, AuditEntry, Card, CardEventRow, Registry
from tests.unit.offices import PHOTO, Staff, applicant, enrolled, hire, individual, open_office, ssn
from tests.unit.test_photo import portrait


@pytest.fixture
def office(registry: Registry) -> Office:
    return open_office(registry)


@pytest.fixture
def staff(office: Office) -> Staff:
    return hire(office)


def refusal(office: Office, staff: Staff, request: object, code: str) -> NotEligible:
    with pytest.raises(NotEligible) as caught:
        office.apply(staff.operator, request)  # type: ignore[arg-type]
    assert caught.value.code == code
    assert caught.value.message("zh") and caught.value.message("en")
    return caught.value


# -- what a filed application records ---------------------------------------------------------------


def test_an_individual_application_creates_the_card_at_applied_with_its_event_and_audit(office: Office,
                                                                                      staff: Staff) -> None:
    who = enrolled(office, staff.operator, applicant())
    filed = office.apply(staff.operator, individual(who, instant=True))
    status = office.status(staff.operator, filed.card_ref)
    assert status.state.value == "applied"
    assert status.holder_name == "李秀英" and status.social_security_number == who.document.number
    assert status.allowed == ("produce", "cancel")
    with office.registry.transaction() as session:
        application = session.get(Application, filed.application_id)
        assert application is not None
        assert (application.kind, application.outlet_code, application.instant) == ("individual", "NN01", True)
        assert application.photo == PHOTO and application.photo_sha256 == hashlib.sha256(PHOTO).hexdigest()
        assert (application.delivery, application.collection_outlet_code) == ("collect", "NN01")
        events = session.execute(select(CardEventRow.kind).where(CardEventRow.card_ref == filed.card_ref)).scalars()
        assert list(events) == ["CardApplied"]
        entry = session.execute(select(AuditEntry).where(AuditEntry.subject == f"card:{filed.card_ref}")).scalar_one()
        assert (entry.actor, entry.action, entry.outlet_code) == ("wang.li", "card.submit", "NN01")
        assert PHOTO.hex()[:64] not in entry.detail  # the digest is logged, never the photo


def test_the_same_document_in_lower_case_or_full_width_finds_the_enrolled_person(office: Office, staff: Staff) -> None:
    who = enrolled(office, staff.operator, applicant(serial=124))  # check character may be X: normalised
    typed = IdentityDocument(DocumentType.RESIDENT_ID_CARD,
                             who.document.number.lower().translate(str.maketrans("0123456789", "０１２３４５６７８９")))
    filed = office.apply(staff.operator, individual(type(who)(**{**who.__dict__, "document": typed})))
    assert office.status(staff.operator, filed.card_ref).social_security_number == who.document.number


# -- eligibility ---------------------------------------------------------------------------------------


def test_someone_not_enrolled_in_social_insurance_cannot_apply(office: Office, staff: Staff) -> None:
    error = refusal(office, staff, individual(applicant()), "not_insured")
    assert "参加社会保险" in error.message("zh") or "参保" in error.message("zh")


def test_a_pending_application_blocks_another(office: Office, staff: Staff) -> None:
    who = enrolled(office, staff.operator, applicant())
    filed = office.apply(staff.operator, individual(who))
    refusal(office, staff, individual(who), "pending_application")
    office.produce(staff.operator, filed.card_ref)
    refusal(office, staff, individual(who), "pending_application")


@pytest.mark.parametrize("steps", [("collect",), ("collect", "activate"), ("collect", "activate", "loss")])
def test_a_usable_card_blocks_a_new_application(office: Office, staff: Staff, steps: tuple[str, ...]) -> None:
    who = enrolled(office, staff.operator, applicant())
    ref = office.apply(staff.operator, individual(who)).card_ref
    office.produce(staff.operator, ref)
    for step in steps:
        if step == "loss":
            office.report_loss(staff.operator, ref, LossKind.TEMPORARY)
        else:
            getattr(office, step)(staff.operator, ref)
    error = refusal(office, staff, individual(who), "has_usable_card")
    assert "挂失" in error.message("zh")


def test_a_formally_lost_card_is_replaced_not_applied_for_again(office: Office, staff: Staff) -> None:
    who = enrolled(office, staff.operator, applicant())
    ref = office.apply(staff.operator, individual(who)).card_ref
    office.produce(staff.operator, ref)
    office.collect(staff.operator, ref)
    office.report_loss(staff.operator, ref, LossKind.FORMAL)
    refusal(office, staff, individual(who), "replace_instead")
    new = office.replace(staff.operator, ref, photo=PHOTO)
    assert office.status(staff.operator, new.card_ref).replaces == ref


def test_after_a_cancelled_card_a_new_application_is_accepted(office: Office, staff: Staff) -> None:
    who = enrolled(office, staff.operator, applicant())
    first = office.apply(staff.operator, individual(who)).card_ref
    office.cancel(staff.operator, first)  # withdrawn before production
    second = office.apply(staff.operator, individual(who)).card_ref
    assert second != first and office.status(staff.operator, second).state.value == "applied"


def test_details_that_differ_from_the_insurance_record_are_refused(office: Office, staff: Staff) -> None:
    who = enrolled(office, staff.operator, applicant())
    impostor = type(who)(**{**who.__dict__, "name": "李秀"})
    refusal(office, staff, individual(impostor), "details_differ")


def test_a_foreigner_with_a_passport_applies_without_a_social_security_number(office: Office, staff: Staff) -> None:
    document = IdentityDocument(DocumentType.FOREIGN_PASSPORT, "C01X00T47", "DEU")
    who = enrolled(office, staff.operator, type(applicant())(name="Anna Schmidt", sex="2", birth_date=date(1990, 1, 2),
                                                             document=document))
    filed = office.apply(staff.operator, individual(who))
    status = office.status(staff.operator, filed.card_ref)
    assert (status.holder_name, status.social_security_number) == ("Anna Schmidt", None)


# -- documents and photos by age ------------------------------------------------------------------------


def test_a_child_under_16_may_use_the_household_register_and_under_7_needs_no_photo(office: Office,
                                                                                  staff: Staff) -> None:
    child = enrolled(office, staff.operator, applicant(birth=date(2021, 5, 1), name="李小宝",
                                                       doc_type=DocumentType.HOUSEHOLD_REGISTER))
    filed = office.apply(staff.operator, individual(child, photo=None))
    with office.registry.transaction() as session:
        application = session.get(Application, filed.application_id)
        assert application is not None and application.photo is None and application.photo_sha256 is None


def test_the_household_register_is_refused_from_16(office: Office, staff: Staff) -> None:
    teen = enrolled(office, staff.operator, applicant(birth=date(2009, 1, 1), doc_type=DocumentType.HOUSEHOLD_REGISTER))
    with pytest.raises(ValidationError) as caught:
        office.apply(staff.operator, individual(teen))
    assert [e.field for e in caught.value.errors] == ["document_type"]
    assert "居民身份证" in caught.value.errors[0].message("zh")  # type: ignore[attr-defined]


def test_from_7_a_photo_is_required_and_checked_on_the_image(office: Office, staff: Staff) -> None:
    pupil = enrolled(office, staff.operator, applicant(birth=date(2018, 1, 1)))
    with pytest.raises(PhotoRejected) as missing:
        office.apply(staff.operator, individual(pupil, photo=None))
    assert missing.value.codes == (PhotoProblemCode.MISSING,)
    with pytest.raises(PhotoRejected) as grey:
        office.apply(staff.operator, individual(pupil, photo=portrait((170, 180, 190))))
    assert PhotoProblemCode.BACKGROUND_NOT_WHITE in grey.value.codes
    assert any("白色" in m for m in grey.value.messages("zh"))


def test_every_bad_field_is_reported_at_once(office: Office, staff: Staff) -> None:
    who = applicant()
    bad = type(who)(name="", sex="3", birth_date=date(1985, 6, 16), document=who.document, phone="12345")
    with pytest.raises(ValidationError) as caught:
        office.apply(staff.operator, individual(bad, delivery=Delivery(method=DeliveryMethod.EMS)))
    fields = {e.field for e in caught.value.errors}
    assert {"name", "sex", "birth_date", "phone", "recipient_name", "recipient_phone", "address",
            "postcode"} <= fields


# -- proxy and student applications ---------------------------------------------------------------------


def agent(**fields: object) -> Agent:
    values: dict[str, object] = {"name": "张伟", "document": IdentityDocument(DocumentType.RESIDENT_ID_CARD,
                                                                            ssn(date(1960, 2, 3), 211)),
                                 "commitment_signed": True, "commitment_reference": "CMT-2026-0001"}
    values.update(fields)
    return Agent(**values)  # type: ignore[arg-type]


def test_a_proxy_application_records_the_agent_and_the_commitment(office: Office, staff: Staff) -> None:
    who = enrolled(office, staff.operator, applicant())
    filed = office.apply(staff.operator, individual(who, kind=ApplicationKind.PROXY, agent=agent()))
    with office.registry.transaction() as session:
        application = session.get(Application, filed.application_id)
        assert application is not None
        assert (application.kind, application.agent_name, application.agent_document_type,
                application.agent_document_number, application.commitment_reference) == (
            "proxy", "张伟", "resident_id_card", ssn(date(1960, 2, 3), 211), "CMT-2026-0001")


@pytest.mark.parametrize(("fields", "field"), [
    ({"commitment_signed": False}, "commitment_signed"),
    ({"commitment_reference": " "}, "commitment_reference"),
    ({"name": "1"}, "agent_name"),
])  # fmt: skip
def test_a_proxy_application_needs_a_signed_commitment_and_the_agents_own_document(
        office: Office, staff: Staff, fields: dict[str, object], field: str) -> None:
    who = enrolled(office, staff.operator, applicant())
    with pytest.raises(ValidationError) as caught:
        office.apply(staff.operator, individual(who, kind=ApplicationKind.PROXY, agent=agent(**fields)))
    assert [e.field for e in caught.value.errors] == [field]


def test_the_agent_cannot_show_the_applicants_own_document_and_an_agent_means_a_proxy(office: Office,
                                                                                   staff: Staff) -> None:
    who = enrolled(office, staff.operator, applicant())
    with pytest.raises(ValidationError) as same:
        office.apply(staff.operator, individual(who, kind=ApplicationKind.PROXY, agent=agent(document=who.document)))
    assert [e.field for e in same.value.errors] == ["agent_document"]
    with pytest.raises(ValidationError) as missing:
        office.apply(staff.operator, individual(who, kind=ApplicationKind.PROXY))
    assert [e.field for e in missing.value.errors] == ["agent"]
    with pytest.raises(ValidationError) as stray:
        office.apply(staff.operator, individual(who, agent=agent()))
    assert [e.field for e in stray.value.errors] == ["agent"]


def test_a_student_application_records_the_school(office: Office, staff: Staff) -> None:
    pupil = enrolled(office, staff.operator, applicant(birth=date(2012, 9, 1), name="李明"))
    with pytest.raises(ValidationError) as caught:
        office.apply(staff.operator, individual(pupil, kind=ApplicationKind.STUDENT))
    assert {e.field for e in caught.value.errors} == {"school_name", "student_number"}
    filed = office.apply(staff.operator, individual(pupil, kind=ApplicationKind.STUDENT, school_name="南宁市第三中学",
                                                    student_number="G450103201209010011"))
    with office.registry.transaction() as session:
        application = session.get(Application, filed.application_id)
        assert application is not None
        assert (application.kind, application.school_name) == ("student", "南宁市第三中学")


# -- delivery ----------------------------------------------------------------------------------------------


EMS = Delivery(method=DeliveryMethod.EMS, recipient_name="李秀英", recipient_phone="13800771234",
               address="广西南宁市青秀区民族大道45号", postcode="530022")


def test_a_mailed_card_records_the_address_and_then_its_ems_number(office: Office, staff: Staff) -> None:
    who = enrolled(office, staff.operator, applicant())
    filed = office.apply(staff.operator, individual(who, delivery=EMS))
    with pytest.raises(DocumentError) as bad:
        office.record_shipment(staff.operator, filed.application_id, "EA123456784CN")  # wrong check digit
    assert bad.value.field == "tracking_number"
    office.record_shipment(staff.operator, filed.application_id, "ea123456785cn")
    status = office.status(staff.operator, filed.card_ref)
    assert (status.delivery, status.tracking_number) == ("ems", "EA123456785CN")
    with office.registry.transaction() as session:
        application = session.get(Application, filed.application_id)
        assert application is not None
        assert (application.recipient_name, application.postal_address, application.postcode,
                application.collection_outlet_code) == ("李秀英", "广西南宁市青秀区民族大道45号", "530022", None)


def test_a_collected_card_takes_no_tracking_number_and_an_instant_card_is_not_mailed(office: Office,
                                                                                   staff: Staff) -> None:
    who = enrolled(office, staff.operator, applicant())
    with pytest.raises(ValidationError) as instant_mail:
        office.apply(staff.operator, individual(who, delivery=EMS, instant=True))
    assert [e.field for e in instant_mail.value.errors] == ["instant"]
    filed = office.apply(staff.operator, individual(who, delivery=Delivery(outlet_code="NN03")))
    with pytest.raises(FieldError):
        office.record_shipment(staff.operator, filed.application_id, "EA123456785CN")
    with office.registry.transaction() as session:
        application = session.get(Application, filed.application_id)
        assert application is not None and application.collection_outlet_code == "NN03"


def test_collection_at_an_unknown_outlet_is_refused(office: Office, staff: Staff) -> None:
    who = enrolled(office, staff.operator, applicant())
    with pytest.raises(FieldError) as caught:
        office.apply(staff.operator, individual(who, delivery=Delivery(outlet_code="NN99")))
    assert caught.value.field == "outlet"
    with office.registry.transaction() as session:
        assert session.execute(select(Card)).first() is None  # nothing half-filed


# -- where and by whom ---------------------------------------------------------------------------------------


def test_instant_issuance_only_where_the_outlet_offers_it(office: Office, staff: Staff) -> None:
    who = enrolled(office, staff.elsewhere, applicant())
    with pytest.raises(NotEligible) as caught:
        office.apply(staff.elsewhere, individual(who, instant=True))
    assert caught.value.code == "no_instant_issuance" and "即时制卡" in caught.value.message("zh")
    office.apply(staff.elsewhere, individual(who))  # the same application without instant issuance


def test_an_operator_files_only_at_their_own_outlet_and_an_auditor_not_at_all(office: Office, staff: Staff) -> None:
    who = enrolled(office, staff.operator, applicant())
    with pytest.raises(Forbidden) as other_outlet:
        office.apply(staff.operator, individual(who), outlet_code="NN02")
    assert "NN01" in other_outlet.value.message("zh")
    with pytest.raises(Forbidden):
        office.apply(staff.auditor, individual(who), outlet_code="NN01")
    with pytest.raises(Forbidden):
        office.apply(staff.admin, individual(who), outlet_code="NN01")
    with office.registry.transaction() as session:
        assert session.execute(select(Application)).first() is None


def test_what_the_registry_cannot_hold_is_refused_as_a_field_not_a_database_error(office: Office,
                                                                                   staff: Staff) -> None:
    pupil = enrolled(office, staff.operator, applicant(birth=date(2012, 9, 1), name="李明"))
    with pytest.raises(ValidationError) as caught:
        office.apply(staff.operator, individual(pupil, kind=ApplicationKind.STUDENT, school_name="学" * 129,
                                                student_number="G" * 33))
    assert {e.field for e in caught.value.errors} == {"school_name", "student_number"}
    who = enrolled(office, staff.operator, applicant())
    with pytest.raises(ValidationError) as long_ref:
        office.apply(staff.operator, individual(who, kind=ApplicationKind.PROXY,
                                                agent=agent(commitment_reference="R" * 129)))
    assert [e.field for e in long_ref.value.errors] == ["commitment_reference"]
