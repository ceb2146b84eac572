"""The family service (亲情服务) on SQLite and PostgreSQL: a holder adds relatives within the limits
(a setting), with the relative's consent, revokes them, and presents their e-cards as codes that
relying parties verify; refusals are typed; two adds racing for the last slot cannot both win."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from sscard_issuer.api.platform import Platform, PlatformSettings
from sscard_issuer.api.platform_app import Client, Clients, create_app
from sscard_issuer.credential import family
from sscard_issuer.credential.family import FamilyError, FamilyLimitReached, FamilyLimits, Relation
from sscard_issuer.credential.signers import Es256Signer
from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle.actions import LossKind
from sscard_issuer.registry import AuditEntry, Card, FamilyLink, Registry
from tests.unit.offices import PHOTO, Staff, applicant, enrolled, hire, individual, race

ISSUER_KEY, HOSPITAL_KEY = "k-issuer-0123456789", "k-hospital-0123456789"
AS_ISSUER = {"Authorization": f"Bearer {ISSUER_KEY}"}
AS_HOSPITAL = {"Authorization": f"Bearer {HOSPITAL_KEY}"}
HOSPITAL = "450100-H0001"
CONSENT = {"consent_method": "face_check_app", "consent_reference": "FC-20260302-000123"}
RACERS = 4


@dataclass
class Member:
    """A person with a collected card and so an active e-card."""

    person_id: int
    card_ref: str
    ecard_id: str
    ssn: str
    name: str


def member(platform: Platform, staff: Staff, serial: int, name: str = "张伟") -> Member:
    office, operator = platform.office, staff.operator
    who = enrolled(office, operator, applicant(serial, name=name))
    ref = office.apply(operator, individual(who)).card_ref
    office.produce(operator, ref)
    office.record_personalisation(operator, ref, card_number=f"A{serial:08d}",
                                  card_id=f"450100D156000005{serial:016X}", issued_on=date(2026, 3, 2),
                                  expires_on=date(2036, 3, 2), bank=False)
    office.collect(operator, ref)  # collecting the card makes its e-card
    ecard = platform.ecards.status(operator, ref)
    assert ecard is not None and ecard.active
    return Member(ecard.person_id, ref, ecard.ecard_id, who.document.number, name)


@dataclass
class World:
    platform: Platform
    http: TestClient
    staff: Staff
    holder: Member

    def member(self, serial: int, name: str = "张伟") -> Member:
        return member(self.platform, self.staff, serial, name)

    def add(self, relative: Member, relation: str = "elder", *, holder: Member | None = None,
            **body: Any) -> Any:
        payload = {"relative_ecard_id": relative.ecard_id, "relation": relation, **CONSENT, **body}
        return self.http.post(f"/v1/family/{(holder or self.holder).ecard_id}/relatives", json=payload,
                              headers=AS_ISSUER)

    def code(self, relative_ecard_id: str, business: str = "01", headers: dict[str, str] = AS_ISSUER) -> Any:
        return self.http.post(f"/v1/family/{self.holder.ecard_id}/relatives/{relative_ecard_id}/codes",
                              json={"business_type": business, "audience": HOSPITAL}, headers=headers)

    def listing(self, **params: Any) -> dict[str, Any]:
        response = self.http.get(f"/v1/family/{self.holder.ecard_id}/relatives", params=params, headers=AS_ISSUER)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def world(registry: Registry) -> World:
    platform = Platform(registry, signer=Es256Signer.generate(), settings=PlatformSettings(shards=4, shard_size=1024))
    staff = hire(platform.office)
    clients = Clients.from_keys({ISSUER_KEY: Client("holder-app", frozenset({"issue"})),
                                 HOSPITAL_KEY: Client("hospital", frozenset({"verify"}), HOSPITAL)})
    return World(platform, TestClient(create_app(platform, clients)), staff, member(platform, staff, 100, "李秀英"))


def refused(response: Any, code: str, status: int = 409) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code
    assert body["message"] and body["message_en"] and body["message"] != body["message_en"]


def add_direct(world: World, relative: Member, relation: str, limits: FamilyLimits,
               holder: Member | None = None) -> FamilyLink:
    with world.platform.registry.transaction() as session:
        return family.add_relative(session, holder_person_id=(holder or world.holder).person_id,
                                   relative_person_id=relative.person_id, relation=relation,
                                   consent_method="face_check_hall", consent_reference="HALL-NN01-0001",
                                   at=datetime.now(UTC), limits=limits)


def active_links(world: World) -> int:
    with world.platform.registry.transaction() as session:
        count: int = session.scalar(select(func.count()).select_from(FamilyLink).where(
            FamilyLink.holder_person_id == world.holder.person_id, FamilyLink.active)) or 0
    return count


# -- limits as a setting ------------------------------------------------------------------------------


def test_the_default_limits_are_the_national_faq_and_bad_limits_are_refused() -> None:
    limits = FamilyLimits()
    assert (limits.total, limits.elder, limits.child, limits.spouse, limits.other) == (10, 4, 3, 1, 2)
    assert limits.of(Relation.ELDER) == 4 and FamilyLimits(total=8, elder=None).of(Relation.ELDER) is None
    for bad in ({"total": -1}, {"child": True}, {"spouse": 1.5}, {"consent_max_age_seconds": 0}):
        with pytest.raises(FieldError):
            FamilyLimits(**bad)


# -- adding -------------------------------------------------------------------------------------------


def test_a_holder_adds_relatives_with_consent_and_lists_them(world: World) -> None:
    mother, son, wife = world.member(101, "王芳"), world.member(102, "李明"), world.member(103, "陈静")
    for relative, relation in ((mother, "elder"), (son, "child"), (wife, "spouse")):
        response = world.add(relative, relation)
        assert response.status_code == 201, response.text
        assert response.json()["relative_ecard_id"] == relative.ecard_id
    body = world.listing()
    listed = {r["relative_name"]: r for r in body["relatives"]}
    assert set(listed) == {"王芳", "李明", "陈静"}
    assert (listed["王芳"]["relation"], listed["王芳"]["relation_name"]) == ("elder", "长辈（父母或祖父母）")
    assert listed["李明"]["consent"]["method"] == "face_check_app"
    assert listed["李明"]["consent"]["reference"] == CONSENT["consent_reference"]
    assert all(r["active"] and r["revoked_at"] is None for r in body["relatives"])
    assert body["slots"]["total"] == {"used": 3, "limit": 10} and body["slots"]["spouse"] == {"used": 1, "limit": 1}
    with world.platform.registry.transaction() as session:
        actions = session.execute(select(AuditEntry.action).where(AuditEntry.action.like("family.%"))).scalars().all()
    assert actions == ["family.added"] * 3


def test_the_default_spouse_limit_is_one(world: World) -> None:
    assert world.add(world.member(101), "spouse").status_code == 201
    refused(world.add(world.member(102), "spouse"), "family_limit_spouse")
    assert world.add(world.member(103), "other").status_code == 201  # the other kinds are still open


@pytest.mark.parametrize("relation", list(Relation))
def test_each_relation_limit_is_enforced(world: World, relation: Relation) -> None:
    limits = FamilyLimits(total=5, **{kind.value: (2 if kind is relation else 0) for kind in Relation})
    add_direct(world, world.member(101), relation.value, limits)
    add_direct(world, world.member(102), relation.value, limits)
    with pytest.raises(FamilyLimitReached) as caught:
        add_direct(world, world.member(103), relation.value, limits)
    assert caught.value.code == f"family_limit_{relation.value}" and "2" in caught.value.message_zh
    other = next(kind for kind in Relation if kind is not relation)
    with pytest.raises(FamilyLimitReached) as zero:  # a limit of 0 allows none
        add_direct(world, world.member(104), other.value, limits)
    assert zero.value.code == f"family_limit_{other.value}"
    assert active_links(world) == 2


def test_the_total_limit_is_enforced_across_kinds(world: World) -> None:
    county = FamilyLimits(total=2, elder=None, child=None, spouse=None, other=None)
    add_direct(world, world.member(101), "elder", county)
    add_direct(world, world.member(102), "child", county)
    with pytest.raises(FamilyLimitReached) as caught:
        add_direct(world, world.member(103), "other", county)
    assert caught.value.code == "family_limit_total"
    assert active_links(world) == 2


def test_refusals_without_consent_for_oneself_and_for_duplicates(world: World) -> None:
    mother = world.member(101, "王芳")
    refused(world.add(mother, consent_method=None), "family_no_consent")
    refused(world.add(mother, consent_reference="  "), "family_no_consent")
    stale = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    refused(world.add(mother, consented_at=stale), "family_consent_stale")
    refused(world.add(world.holder), "family_self")
    assert world.add(mother, consent_method="by_phone_call").status_code == 422
    assert world.add(mother, "cousin").status_code == 422
    assert world.add(mother).status_code == 201
    refused(world.add(mother, "other"), "family_duplicate")
    assert active_links(world) == 1
    unknown = world.http.post(f"/v1/family/{world.holder.ecard_id}/relatives", headers=AS_ISSUER,
                              json={"relative_ecard_id": "no-such-ecard", "relation": "elder", **CONSENT})
    assert unknown.status_code == 404


def test_a_relative_without_an_active_e_card_cannot_be_added(world: World) -> None:
    office, operator = world.platform.office, world.staff.operator
    who = enrolled(office, operator, applicant(105, name="赵强"))
    pending = office.apply(operator, individual(who)).card_ref  # applied, never collected: no e-card
    with world.platform.registry.transaction() as session:
        never = session.execute(select(Card.person_id).where(Card.card_ref == pending)).scalar_one()
    father = world.member(106, "李强")
    office.cancel(operator, father.card_ref)  # the card cancelled: its e-card revoked for good
    refused(world.add(father), "family_relative_no_ecard")
    for person_id in (never, father.person_id):
        with pytest.raises(family.NotEligible) as caught, world.platform.registry.transaction() as session:
            family.add_relative(session, holder_person_id=world.holder.person_id, relative_person_id=person_id,
                                relation="elder", consent_method="face_check_app", consent_reference="FC-1",
                                at=datetime.now(UTC), limits=FamilyLimits())
        assert caught.value.code == "family_relative_no_ecard"
    assert active_links(world) == 0


def test_a_holder_whose_e_card_is_revoked_cannot_add(world: World) -> None:
    mother = world.member(101)
    world.platform.office.cancel(world.staff.operator, world.holder.card_ref)
    refused(world.add(mother), "family_holder_no_ecard")


# -- presenting and revoking -----------------------------------------------------------------------------


def test_a_code_for_a_relative_verifies_with_the_relatives_data(world: World) -> None:
    mother = world.member(101, "王芳")
    refused(world.code(mother.ecard_id), "family_not_linked")  # not added yet
    assert world.add(mother).status_code == 201
    made = world.code(mother.ecard_id)
    assert made.status_code == 201, made.text
    checked = world.http.post("/v1/verify", json={"token": made.json()["code"]}, headers=AS_HOSPITAL).json()
    assert checked["valid"] is True and checked["reason"] == "valid"
    assert (checked["claims"]["name"], checked["claims"]["ssn"]) == ("王芳", mother.ssn)
    assert checked["claims"]["ssn"] != world.holder.ssn


def test_revoking_stops_codes_is_idempotent_and_the_relative_can_be_added_again(world: World) -> None:
    mother = world.member(101, "王芳")
    first = world.add(mother).json()
    assert world.code(mother.ecard_id).status_code == 201
    revoked = world.http.delete(f"/v1/family/links/{first['link_id']}", params={"by": "relative"}, headers=AS_ISSUER)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert revoked.json()["revoked_by"] == "relative"
    again = world.http.delete(f"/v1/family/links/{first['link_id']}", params={"by": "staff"}, headers=AS_ISSUER)
    assert again.json() == revoked.json()  # unchanged: revoked once, by the relative
    refused(world.code(mother.ecard_id), "family_not_linked")
    assert world.listing()["relatives"] == []
    second = world.add(mother)
    assert second.status_code == 201 and second.json()["link_id"] != first["link_id"]
    assert world.code(mother.ecard_id).status_code == 201
    assert [r["active"] for r in world.listing(include_revoked=True)["relatives"]] == [False, True]
    assert world.http.delete("/v1/family/links/999999", headers=AS_ISSUER).status_code == 404
    assert world.http.delete(f"/v1/family/links/{second.json()['link_id']}", params={"by": "thief"},
                             headers=AS_ISSUER).status_code == 422


def test_a_suspended_relative_gets_no_code_and_a_replaced_card_keeps_the_link(world: World) -> None:
    office, operator = world.platform.office, world.staff.operator
    mother = world.member(101, "王芳")
    assert world.add(mother).status_code == 201
    office.report_loss(operator, mother.card_ref, LossKind.TEMPORARY)
    refused(world.code(mother.ecard_id), "ecard_not_usable")
    office.report_loss(operator, mother.card_ref, LossKind.FORMAL)
    refused(world.code(mother.ecard_id), "family_not_linked")  # revoked for good
    new_ref = office.replace(operator, mother.card_ref, photo=PHOTO).card_ref
    office.produce(operator, new_ref)
    office.record_personalisation(operator, new_ref, card_number="A00000999", card_id="450100D1560000050000000000000999",
                                  issued_on=date(2026, 4, 1), expires_on=date(2036, 4, 1), bank=False)
    office.collect(operator, new_ref)
    new_ecard = world.listing()["relatives"][0]["relative_ecard_id"]
    assert new_ecard not in (None, mother.ecard_id)
    assert world.code(new_ecard).status_code == 201


def test_callers_without_the_issue_right_are_refused(world: World) -> None:
    mother = world.member(101)
    link = world.add(mother).json()["link_id"]
    base = f"/v1/family/{world.holder.ecard_id}/relatives"
    for headers, status in ((AS_HOSPITAL, 403), ({}, 401)):
        assert world.http.post(base, json={"relative_ecard_id": mother.ecard_id, "relation": "elder", **CONSENT},
                               headers=headers).status_code == status
        assert world.http.get(base, headers=headers).status_code == status
        assert world.http.delete(f"/v1/family/links/{link}", headers=headers).status_code == status
        denied = world.code(mother.ecard_id, headers=headers)
        assert denied.status_code == status and "code" not in denied.text
    assert world.listing()["relatives"][0]["active"] is True  # nothing was revoked
    paths = set(world.http.get("/openapi.json").json()["paths"])
    assert {"/v1/family/{holder_ecard_id}/relatives", "/v1/family/links/{link_id}",
            "/v1/family/{holder_ecard_id}/relatives/{relative_ecard_id}/codes"} <= paths


def test_may_present_needs_an_active_link_and_an_active_e_card(world: World) -> None:
    mother, stranger = world.member(101), world.member(102)
    assert world.add(mother).status_code == 201
    with world.platform.registry.transaction() as session:
        assert family.may_present(session, world.holder.person_id, mother.ecard_id)
        assert not family.may_present(session, world.holder.person_id, stranger.ecard_id)
        assert not family.may_present(session, world.holder.person_id, world.holder.ecard_id)
        assert not family.may_present(session, mother.person_id, world.holder.ecard_id)  # links are one way
        assert not family.may_present(session, world.holder.person_id, "no-such-ecard")


# -- the database's own guards -----------------------------------------------------------------------


def test_the_database_refuses_a_second_active_link_and_a_link_to_oneself(world: World) -> None:
    mother = world.member(101)
    now = datetime.now(UTC)

    def row(relative: int) -> FamilyLink:
        return FamilyLink(holder_person_id=world.holder.person_id, relative_person_id=relative, relation="elder",
                          consent_method="face_check_app", consent_reference="FC-1", consented_at=now,
                          created_at=now, active=True)

    with world.platform.registry.transaction() as session:
        session.add(row(mother.person_id))
    for bad in (mother.person_id, world.holder.person_id):
        with pytest.raises(IntegrityError), world.platform.registry.transaction() as session:
            session.add(row(bad))
    assert active_links(world) == 1


# -- races -----------------------------------------------------------------------------------------------


def test_adds_racing_for_the_last_slot_make_exactly_one(world: World) -> None:
    limits = FamilyLimits(total=2, elder=None, child=None, spouse=None, other=None)
    add_direct(world, world.member(101), "elder", limits)
    racers = [world.member(110 + n) for n in range(RACERS)]
    outcomes = race([lambda r=r: add_direct(world, r, "other", limits) for r in racers])  # type: ignore[misc]
    made = [o for o in outcomes if isinstance(o, FamilyLink)]
    lost = [o for o in outcomes if isinstance(o, FamilyError)]
    assert len(made) == 1 and len(lost) == RACERS - 1, outcomes
    assert {error.code for error in lost} == {"family_limit_total"}
    assert active_links(world) == 2


def test_adds_of_one_relative_at_once_make_one_link(world: World) -> None:
    mother = world.member(101)
    outcomes = race([lambda: add_direct(world, mother, "elder", FamilyLimits())] * RACERS)
    assert sum(isinstance(o, FamilyLink) for o in outcomes) == 1, outcomes
    assert {o.code for o in outcomes if isinstance(o, FamilyError)} == {"family_duplicate"}
    assert active_links(world) == 1


def test_a_cancelled_card_ends_every_link_its_holder_is_in(world: World) -> None:
    parent, child, other = world.member(201, "李建国"), world.member(202, "李小明"), world.member(203, "王芳")
    assert world.add(parent, "elder").status_code == 201
    assert world.add(child, "child").status_code == 201
    assert world.add(world.holder, "child", holder=parent).status_code == 201  # the parent holds the holder's
    assert world.add(other, "other", holder=child).status_code == 201  # a link the holder is not in
    world.platform.office.cancel(world.staff.operator, parent.card_ref)
    with world.platform.registry.transaction() as session:
        links = {(link.holder_person_id, link.relative_person_id): link for link in session.scalars(select(FamilyLink))}
        revoked = [e for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "family.revoked"))]
    gone = {(world.holder.person_id, parent.person_id), (parent.person_id, world.holder.person_id)}
    assert {pair for pair, link in links.items() if not link.active} == gone
    assert all(links[pair].revoked_by == "staff" for pair in gone)
    assert links[(child.person_id, other.person_id)].active and links[(world.holder.person_id, child.person_id)].active
    assert len(revoked) == 2 and all(f"card {parent.card_ref} cancelled" in e.detail for e in revoked)
    assert [r["relative_ecard_id"] for r in world.listing()["relatives"]] == [child.ecard_id]
    assert world.platform.office.verify_audit(world.staff.auditor).intact
