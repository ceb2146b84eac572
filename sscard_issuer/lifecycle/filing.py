"""Filing an application in the registry: the person, the eligibility rules, the new card record.

Eligibility (the service page, 申领条件: "参加社会保险且未提交制卡申请的人员"):

- the applicant is enrolled in social insurance (a person the registry knows, ``insured_since`` set);
- they have no pending application (their card is not still applied for, in production or
  awaiting collection);
- they hold no usable card: a collected, activated or temporarily lost card is used, reported lost
  or replaced instead, and a formally lost card is replaced (补换), not applied for anew.

The checks run under the person's row lock (PostgreSQL ``FOR UPDATE``; SQLite's single writer),
and the partial unique index "one live card per person" refuses a second card whatever happens.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard_issuer.applications.documents import IdentityDocument
from sscard_issuer.applications.requests import ApplicationKind, CheckedRequest, DeliveryMethod
from sscard_issuer.lifecycle.access import Actor
from sscard_issuer.lifecycle.errors import NotEligible
from sscard_issuer.lifecycle.ledger import TransitionHook, log_events
from sscard_issuer.lifecycle.machine import submit
from sscard_issuer.lifecycle.states import CardState
from sscard_issuer.registry.holders import Application, Card, IdentityDocumentRow, Person
from sscard_issuer.registry.office import Outlet

PENDING_STATES = frozenset({CardState.APPLIED, CardState.IN_PRODUCTION, CardState.AWAITING_COLLECTION})
USABLE_STATES = frozenset({CardState.COLLECTED, CardState.ACTIVATED, CardState.TEMPORARILY_LOST})


@dataclass(frozen=True)
class Filed:
    """What the clerk tells the applicant: the application number and the card's reference."""

    application_id: int
    card_ref: str
    person_id: int


def new_card_ref() -> str:
    return str(uuid.uuid4())


def find_document(session: Session, document: IdentityDocument) -> IdentityDocumentRow | None:
    return session.execute(select(IdentityDocumentRow).where(
        IdentityDocumentRow.type == document.type.value, IdentityDocumentRow.number == document.number,
        IdentityDocumentRow.country == document.country)).scalar_one_or_none()


def document_row(session: Session, person: Person, document: IdentityDocument) -> IdentityDocumentRow:
    """The person's row for ``document``, added if new; a document of someone else is refused."""
    row = find_document(session, document)
    if row is None:
        row = IdentityDocumentRow(person_id=person.id, type=document.type.value, number=document.number,
                                  country=document.country or "CHN")
        session.add(row)
        session.flush()
    elif row.person_id != person.id:
        raise NotEligible("document_of_another_person",
                          f"the {document.type.name_en} {document.number} is registered to another person",
                          f"{document.type.name_zh} {document.number} 已登记在他人名下，请核对证件")
    return row


def lock_person(session: Session, document: IdentityDocument) -> Person:
    """The enrolled person holding ``document``, row-locked for the rest of the transaction."""
    doc = find_document(session, document)
    if doc is None:
        raise NotEligible("not_insured",
                          "the applicant is not enrolled in social insurance here (no record for the document)",
                          "未查询到该证件的参保信息：申领社保卡须先参加社会保险")
    person = session.execute(select(Person).where(Person.id == doc.person_id).with_for_update()
                             .execution_options(populate_existing=True)).scalar_one()
    # bump the version: two filings for one person conflict even where row locks are not taken
    session.execute(update(Person).where(Person.id == person.id).values(version=Person.version + 1))
    return person


def check_eligible(session: Session, person: Person, *, replacing: Card | None = None) -> None:
    if person.insured_since is None:
        raise NotEligible("not_insured", "the applicant is not enrolled in social insurance",
                          "申请人未参加社会保险，不能申领社保卡")
    cards = session.execute(select(Card).where(Card.person_id == person.id, Card.live)).scalars().all()
    for card in cards:
        if replacing is not None and card.id == replacing.id:
            continue
        state = CardState(card.state)
        if state in PENDING_STATES:
            raise NotEligible("pending_application",
                              f"the applicant already has an application in progress (card {card.card_ref}, {state.value})",
                              f"申请人已有在办的制卡申请（{state.display('zh')}），不能重复申领")
        if state in USABLE_STATES:
            raise NotEligible("has_usable_card",
                              f"the applicant already holds a usable card ({state.value}): report it lost or replace it",
                              f"申请人已持有可用的社保卡（{state.display('zh')}），如遗失请挂失或办理补换")
        raise NotEligible("replace_instead",
                          "the applicant's card is formally lost: apply for a replacement (补换), not a new card",
                          "申请人的社保卡已正式挂失，请办理补换卡，不能重新申领")


def check_person_matches(person: Person, checked: CheckedRequest) -> None:
    applicant = checked.request.applicant
    if person.name != applicant.name or person.birth_date != applicant.birth_date or person.sex != applicant.sex:
        raise NotEligible("details_differ",
                          "the name, sex or date of birth differs from the insurance record for this document",
                          "姓名、性别或出生日期与参保登记信息不一致，请核对证件")


def insert_application(session: Session, checked: CheckedRequest, person: Person, *, outlet: Outlet,
                       actor: Actor, at: datetime, kind: ApplicationKind | None = None,
                       batch: tuple[int, int] | None = None, replaces: str | None = None,
                       card_ref: str | None = None, hooks: tuple[TransitionHook, ...] = ()) -> Filed:
    """Add the application and its card at ``applied``, with the event and audit entry."""
    request = checked.request
    kind = kind or request.kind
    applicant_doc = document_row(session, person, request.applicant.document)
    agent = request.agent
    delivery = request.delivery
    photo = checked.photo.data if checked.photo else None
    application = Application(
        kind=kind.value, person_id=person.id, document_id=applicant_doc.id, outlet_code=outlet.code,
        operator_id=actor.operator_id, instant=request.instant, photo=photo,
        photo_sha256=hashlib.sha256(photo).hexdigest() if photo else None,
        agent_name=agent.name if agent else None,
        agent_document_type=agent.document.type.value if agent else None,
        agent_document_number=agent.document.number if agent else None,
        agent_document_country=agent.document.country if agent else None,
        commitment_reference=agent.commitment_reference.strip() if agent else None,
        batch_id=batch[0] if batch else None, batch_row=batch[1] if batch else None,
        school_name=request.school_name, student_number=request.student_number,
        delivery=delivery.method.value,
        collection_outlet_code=(delivery.outlet_code or outlet.code) if delivery.method is DeliveryMethod.COLLECT else None,
        recipient_name=delivery.recipient_name, recipient_phone=delivery.recipient_phone,
        postal_address=delivery.address, postcode=delivery.postcode, filed_at=at,
    )  # fmt: skip
    card_ref = card_ref or new_card_ref()
    record, events = submit(card_ref, at=at, replaces=replaces)
    try:
        with session.begin_nested():  # the application and its card, or neither
            session.add(application)
            session.flush()
            session.add(Card(card_ref=card_ref, person_id=person.id, application_id=application.id,
                             area_code=outlet.area_code, bank=False, state=record.state.value, live=True,
                             version=record.version, updated_at=at, replaces=replaces))
            session.flush()
    except IntegrityError:  # the partial unique index: someone filed for this person meanwhile
        raise NotEligible("pending_application", "the applicant already has an application in progress",
                          "申请人已有在办的制卡申请，不能重复申领") from None
    log_events(session, events, actor=actor, outlet_code=outlet.code,
               detail={"application": application.id, "kind": kind.value, "instant": request.instant,
                       "photo_sha256": application.photo_sha256, "batch": batch[0] if batch else None})
    for hook in hooks:
        hook(session, events)
    return Filed(application.id, card_ref, person.id)
