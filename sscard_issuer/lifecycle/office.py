"""The registry's services for outlets and platforms: one call, one transaction, events after commit.

:class:`Office` is the Python API that the command line, the outlet console and the platform call.
Each method checks who is acting (:mod:`.access`), does its work in one registry transaction
(state changes compare-and-set, the event log and the audit log written with them), and after
the commit publishes the lifecycle events on :attr:`Office.bus`. Code that must change with a
transition atomically (the e-card status) registers a hook in :attr:`Office.hooks` instead: hooks
run inside the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sscard_issuer.applications.codes import check_tracking_number
from sscard_issuer.applications.document_numbers import DocumentType
from sscard_issuer.applications.documents import IdentityDocument
from sscard_issuer.applications.photo import PhotoRules
from sscard_issuer.applications.requests import (
    Applicant,
    ApplicationKind,
    ApplicationRequest,
    Delivery,
    DeliveryMethod,
    check_request,
)
from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle import ecard_follow, filing, ledger, staff, stock
from sscard_issuer.lifecycle.access import Actor, Forbidden, Permission
from sscard_issuer.lifecycle.actions import (
    Action,
    Activate,
    Cancel,
    CancelLoss,
    ChangePin,
    Collect,
    Expire,
    LossKind,
    Produce,
    Replace,
    ReportLoss,
    ResetPin,
    ShipToOutlet,
)
from sscard_issuer.lifecycle.bus import EventBus
from sscard_issuer.lifecycle.codec import event_from_json
from sscard_issuer.lifecycle.errors import ConcurrentChange, NotEligible
from sscard_issuer.lifecycle.events import CardEvent
from sscard_issuer.lifecycle.machine import apply, available_actions, effective_state
from sscard_issuer.lifecycle.record import LifecycleSettings
from sscard_issuer.lifecycle.states import CardState
from sscard_issuer.lifecycle.status_view import CardStatus, HistoryLine
from sscard_issuer.registry import Registry, audit
from sscard_issuer.registry.holders import Application, Card, CardEventRow, EventConsumer, Person
from sscard_issuer.registry.office import ApprovalKind, ApprovalRequest, Operator, Outlet, Role, StockKind

# events that ride on a transition another event of the same version already shows
_NOT_TRANSITIONS = frozenset({"ReplacementRequested"})


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OfficeSettings:
    lifecycle: LifecycleSettings = field(default_factory=LifecycleSettings)
    photo: PhotoRules = field(default_factory=PhotoRules)


class Office:
    """The registry's services. ``clock`` returns the current time (timezone-aware)."""

    def __init__(self, registry: Registry, *, settings: OfficeSettings | None = None, bus: EventBus | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.registry = registry
        self.settings = settings or OfficeSettings()
        self.bus = bus or EventBus()
        self.clock = clock
        # the e-card follows its card in every Office (ecard_follow); others may add their own hooks
        self.hooks: list[ledger.TransitionHook] = [ecard_follow.follow]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One registry transaction; the lifecycle events it logged are published after commit.

        Every change is audited, and the audit chain has one writer at a time: the appenders' lock
        is taken first, so every writing transaction takes its locks in one order (that lock, then
        rows) and two of them can never deadlock. PostgreSQL writes are therefore serial, as SQLite's
        are; at outlet scale that costs nothing measurable (one chain per outlet would lift it).
        """
        with self.registry.transaction() as session:
            audit.serialise(session)
            yield session
            logged: list[CardEvent] = session.info.get(ledger.LOGGED_EVENTS, [])
            if logged:
                ledger.notify(session)  # one notification per transaction, sent at commit
        if logged:
            self.bus.publish(*logged)

    # -- staff and outlets ------------------------------------------------------------------------

    def add_operator(self, actor: Actor | None, *, username: str, display_name: str, role: Role,
                     outlet_code: str | None = None, password: str | None = None) -> Actor:
        with self.transaction() as session:
            return staff.add_operator(session, actor, username=username, display_name=display_name, role=role,
                                      outlet_code=outlet_code, password=password, at=self.clock())

    def actor(self, username: str) -> Actor:
        with self.registry.transaction() as session:
            return staff.find_actor(session, username)

    def authenticate(self, username: str, password: str) -> Actor:
        with self.registry.transaction() as session:
            operator = session.execute(select(Operator).where(Operator.username == username)).scalar_one_or_none()
            if not staff.password_matches(operator.password_hash if operator else None, password) or (
                    operator is None or not operator.active):
                raise Forbidden("wrong username or password", "用户名或密码错误")
            return staff.actor_of(operator)

    def outlets(self) -> list[Outlet]:
        with self.registry.transaction() as session:
            return list(session.execute(select(Outlet).order_by(Outlet.code)).scalars())

    def set_outlet(self, actor: Actor, code: str, **settings: bool | None) -> Outlet:
        with self.transaction() as session:
            return staff.set_outlet(session, actor, code, at=self.clock(), **settings)

    def enrol(self, actor: Actor, applicant: Applicant, *, insured_since: date) -> int:
        with self.transaction() as session:
            return staff.enrol(session, actor, applicant, insured_since=insured_since, at=self.clock()).id

    # -- applications -----------------------------------------------------------------------------

    def apply(self, actor: Actor, request: ApplicationRequest, *, outlet_code: str | None = None) -> filing.Filed:
        """File one application (individual, proxy or student; batches go through :mod:`.batch`)."""
        where = actor.at(Permission.FILE_APPLICATION, outlet_code)
        if request.kind in (ApplicationKind.EMPLOYER_BATCH, ApplicationKind.REPLACEMENT):
            raise FieldError("kind", "individual, proxy or student (batches are imported, replacements "
                             "made with replace)", request.kind.value)
        at = self.clock()
        checked = check_request(request, on=at.date(), photo_rules=self.settings.photo)
        with self.transaction() as session:
            outlet = staff.outlet(session, where)
            self._check_outlet_takes(session, outlet, request)
            person = filing.lock_person(session, request.applicant.document)
            filing.check_person_matches(person, checked)
            filing.check_eligible(session, person)
            return filing.insert_application(session, checked, person, outlet=outlet, actor=actor, at=at,
                                             hooks=tuple(self.hooks))

    @staticmethod
    def _check_outlet_takes(session: Session, outlet: Outlet, request: ApplicationRequest) -> None:
        if request.instant and not outlet.instant_issuance:
            raise NotEligible("no_instant_issuance", f"outlet {outlet.code} does not do instant issuance",
                              f"{outlet.name_zh} 未开通即时制卡业务")
        collect_at = request.delivery.outlet_code
        if request.delivery.method is DeliveryMethod.COLLECT and collect_at is not None:
            staff.outlet(session, collect_at)

    def record_shipment(self, actor: Actor, application_id: int, tracking_number: str) -> None:
        """The EMS item number of a mailed card (checked with its S10 check digit)."""
        actor.require(Permission.CARD_OPERATION)
        number = check_tracking_number(tracking_number)
        with self.transaction() as session:
            application = session.get(Application, application_id)
            if application is None:
                raise FieldError("application", "the number of an application", application_id)
            if application.delivery != DeliveryMethod.EMS.value:
                raise FieldError("tracking_number", "none: this card is collected at an outlet", number)
            application.tracking_number = number
            audit.append(session, at=self.clock(), actor=actor.username, outlet_code=actor.outlet_code,
                         action="application.shipped", subject=f"application:{application_id}",
                         detail={"tracking_number": number})

    # -- the card lifecycle -----------------------------------------------------------------------

    def status(self, actor: Actor, key: str) -> CardStatus:
        """The card's status; a temporary loss that ran out is settled (a transition) first."""
        actor.require(Permission.VIEW)
        with self.transaction() as session:
            row = ledger.find_card(session, key, lock=True)
            ledger.settle_row(session, row, at=self.clock(), hooks=tuple(self.hooks))
            return self._status(session, row)

    def _status(self, session: Session, row: Card) -> CardStatus:
        session.refresh(row)
        record = ledger.record_of(row)
        application = session.get(Application, row.application_id)
        person = session.get(Person, row.person_id)
        assert application is not None and person is not None
        names = {row.id: row.username for row in session.execute(select(Operator.id, Operator.username))}
        history = tuple(
            HistoryLine(e.at, e.action, e.source, e.target, names.get(e.operator_id) if e.operator_id else "system",
                        e.outlet_code)
            for e in session.execute(select(CardEventRow).where(CardEventRow.card_ref == row.card_ref)
                                     .order_by(CardEventRow.id)).scalars()
            if e.kind not in _NOT_TRANSITIONS)
        now = self.clock()
        return CardStatus(
            card_ref=row.card_ref, state=effective_state(record, max(now, record.updated_at)), version=row.version,
            holder_name=person.name, social_security_number=person.social_security_number,
            application_id=application.id, application_kind=application.kind, delivery=application.delivery,
            tracking_number=application.tracking_number, card_number=row.card_number, card_id=row.card_id,
            loss_reported_at=row.loss_reported_at, loss_expires_at=row.loss_expires_at, replaces=row.replaces,
            replaced_by=row.replaced_by,
            allowed=tuple(a.value for a in available_actions(record, at=max(now, record.updated_at)) if a.at_the_counter),
            history=history,
        )  # fmt: skip

    def _act(self, actor: Actor, key: str, action: Action, *, expected_version: int | None,
             permission: Permission = Permission.CARD_OPERATION) -> CardStatus:
        where = None if actor.is_system else actor.at(permission)
        with self.transaction() as session:
            row, _ = ledger.transition(session, key, action, at=self.clock(), actor=actor, outlet_code=where,
                                       settings=self.settings.lifecycle, expected_version=expected_version,
                                       hooks=tuple(self.hooks))
            return self._status(session, row)

    def report_loss(self, actor: Actor, key: str, loss: LossKind, *, expected_version: int | None = None) -> CardStatus:
        return self._act(actor, key, ReportLoss(loss), expected_version=expected_version)

    def cancel_loss(self, actor: Actor, key: str, *, expected_version: int | None = None) -> CardStatus:
        return self._act(actor, key, CancelLoss(), expected_version=expected_version)

    def activate(self, actor: Actor, key: str, *, expected_version: int | None = None) -> CardStatus:
        return self._act(actor, key, Activate(), expected_version=expected_version)

    def cancel(self, actor: Actor, key: str, *, expected_version: int | None = None) -> CardStatus:
        return self._act(actor, key, Cancel(), expected_version=expected_version)

    def reset_pin(self, actor: Actor, key: str, *, expected_version: int | None = None) -> CardStatus:
        return self._act(actor, key, ResetPin(), expected_version=expected_version)

    def change_pin(self, actor: Actor, key: str, *, expected_version: int | None = None) -> CardStatus:
        return self._act(actor, key, ChangePin(), expected_version=expected_version)

    def produce(self, actor: Actor, key: str, *, expected_version: int | None = None) -> CardStatus:
        return self._act(actor, key, Produce(), expected_version=expected_version)

    def ship_to_outlet(self, actor: Actor, key: str, *, expected_version: int | None = None) -> CardStatus:
        return self._act(actor, key, ShipToOutlet(), expected_version=expected_version)

    def collect(self, actor: Actor, key: str, *, expected_version: int | None = None) -> CardStatus:
        return self._act(actor, key, Collect(), expected_version=expected_version)

    def expire(self, actor: Actor, key: str, *, expected_version: int | None = None) -> CardStatus:
        """The end of the card's validity."""
        return self._act(actor, key, Expire(), expected_version=expected_version)

    def replace(self, actor: Actor, key: str, *, photo: bytes | None, delivery: Delivery | None = None,
                instant: bool = False, expected_version: int | None = None) -> filing.Filed:
        """Replace the card (补换): the old one dead for good, a new application and card at applied,
        in one transaction. A new photo is needed from 7 years of age, as for any application."""
        where = actor.at(Permission.CARD_OPERATION)
        at = self.clock()
        with self.transaction() as session:
            outlet = staff.outlet(session, where)
            old = ledger.find_card(session, key, lock=True)
            if expected_version is not None and old.version != expected_version:
                raise ConcurrentChange(f"card {old.card_ref}", expected_version, old.version)
            new_ref = filing.new_card_ref()
            # the lifecycle's refusal first: it names the state and what is possible
            outcome = apply(ledger.record_of(old), Replace(new_ref), at=at, settings=self.settings.lifecycle)
            person = session.get(Person, old.person_id)
            application = session.get(Application, old.application_id)
            assert person is not None and application is not None
            document = application.document
            request = ApplicationRequest(
                kind=ApplicationKind.INDIVIDUAL,
                applicant=Applicant(name=person.name, sex=person.sex, birth_date=person.birth_date,
                                    document=IdentityDocument(DocumentType(document.type), document.number,
                                                              document.country)),
                photo=photo, delivery=delivery or Delivery(), instant=instant)
            checked = check_request(request, on=at.date(), photo_rules=self.settings.photo)
            self._check_outlet_takes(session, outlet, request)
            person = filing.lock_person(session, request.applicant.document)
            filing.check_eligible(session, person, replacing=old)
            ledger.store(session, old, outcome, actor=actor, outlet_code=where, hooks=tuple(self.hooks))
            return filing.insert_application(session, checked, person, outlet=outlet, actor=actor, at=at,
                                             kind=ApplicationKind.REPLACEMENT, replaces=old.card_ref,
                                             card_ref=new_ref, hooks=tuple(self.hooks))

    def record_personalisation(self, actor: Actor, key: str, *, card_number: str, card_id: str,
                               issued_on: date, expires_on: date, bank: bool) -> CardStatus:
        """What personalisation wrote on the card: numbers, dates, whether it has a bank application.

        Only while the card is in production, once: a card's numbers never change afterwards."""
        actor.require(Permission.CARD_OPERATION)
        with self.transaction() as session:
            row = ledger.find_card(session, key, lock=True)
            if row.state != CardState.IN_PRODUCTION.value or row.card_id is not None:
                raise FieldError("card", "a card in production whose numbers are not recorded yet",
                                 f"{row.card_ref} ({row.state})")
            if expires_on <= issued_on:
                raise FieldError("expires_on", f"a date after the issue date {issued_on.isoformat()}", expires_on)
            row.card_number, row.card_id = card_number, card_id.upper()
            row.issued_on, row.expires_on, row.bank = issued_on, expires_on, bank
            audit.append(session, at=self.clock(), actor=actor.username, outlet_code=actor.outlet_code,
                         action="card.personalised", subject=f"card:{row.card_ref}",
                         detail={"card_number": card_number, "card_id": row.card_id, "bank": bank,
                                 "issued_on": issued_on.isoformat(), "expires_on": expires_on.isoformat()})
            session.flush()
            return self._status(session, row)

    def settle_due(self) -> int:
        """Make every temporary loss that has run out a real transition (for a scheduled run)."""
        now, settled = self.clock(), 0
        with self.registry.transaction() as session:
            refs = session.execute(select(Card.card_ref).where(Card.state == CardState.TEMPORARILY_LOST.value,
                                                               Card.loss_expires_at <= now)).scalars().all()
        for ref in refs:
            with self.transaction() as session:
                row = ledger.find_card(session, ref, lock=True)
                settled += bool(ledger.settle_row(session, row, at=now, hooks=tuple(self.hooks))[1])
        return settled

    # -- durable consumers --------------------------------------------------------------------------

    def catch_up(self, consumer: str, handler: Callable[[CardEvent], None], *, batch: int = 500) -> int:
        """Deliver the logged events ``consumer`` has not processed, oldest first; its place is kept in
        the registry, advanced in the same transaction as each batch. Returns how many were delivered."""
        delivered = 0
        while True:
            with self.registry.transaction() as session:
                place = session.get(EventConsumer, consumer, with_for_update=True)
                if place is None:
                    place = EventConsumer(name=consumer, last_event_id=0)
                    session.add(place)
                rows = session.execute(select(CardEventRow).where(CardEventRow.id > place.last_event_id)
                                       .order_by(CardEventRow.id).limit(batch)).scalars().all()
                for row in rows:
                    handler(event_from_json(row.data))
                if rows:
                    session.execute(update(EventConsumer).where(EventConsumer.name == consumer)
                                    .values(last_event_id=rows[-1].id))
                    if place in session.new:
                        place.last_event_id = rows[-1].id
            delivered += len(rows)
            if len(rows) < batch:
                return delivered

    # -- stock and dual control -----------------------------------------------------------------------

    def receive_stock(self, actor: Actor, quantity: int, *, reference: str | None = None) -> stock.StockSummary:
        with self.transaction() as session:
            movement = stock.record(session, actor, StockKind.RECEIVED, quantity, at=self.clock(), reference=reference)
            return stock.summary(session, movement.outlet_code)

    def record_stock(self, actor: Actor, kind: StockKind, quantity: int = 1, *, reference: str | None = None,
                     outlet_code: str | None = None) -> None:
        with self.transaction() as session:
            stock.record(session, actor, kind, quantity, at=self.clock(), reference=reference, outlet_code=outlet_code)

    def stock(self, actor: Actor, outlet_code: str | None = None) -> stock.StockSummary:
        where = actor.at(Permission.VIEW, outlet_code)
        with self.registry.transaction() as session:
            staff.outlet(session, where)
            return stock.summary(session, where)

    def request_approval(self, actor: Actor, kind: ApprovalKind, quantity: int, *, reason: str) -> int:
        with self.transaction() as session:
            return stock.request_approval(session, actor, kind, quantity, reason=reason, at=self.clock()).id

    def decide(self, actor: Actor, request_id: int, *, approve: bool) -> ApprovalRequest:
        with self.transaction() as session:
            return stock.decide(session, actor, request_id, approve=approve, at=self.clock())

    # -- audit -------------------------------------------------------------------------------------------

    def verify_audit(self, actor: Actor, *, expect_head: str | None = None) -> audit.AuditReport:
        actor.require(Permission.READ_AUDIT)
        with self.registry.transaction(durable=False) as session:
            return audit.verify(session, expect_head=expect_head)
