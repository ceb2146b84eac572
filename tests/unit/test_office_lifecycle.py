"""The card lifecycle stored in the registry (SQLite and PostgreSQL): every legal path, every
illegal transition refused with the card untouched, losses that lapse, replacement in one
transaction, and the version check that stops acting on a state nobody saw."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from sscard_issuer.applications import PhotoRejected
from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle import TRANSITIONS, ActionKind, CardState, IllegalTransition, LifecycleSettings
from sscard_issuer.lifecycle.access import Actor
from sscard_issuer.lifecycle.actions import LossKind
from sscard_issuer.lifecycle.errors import CardNotFound, ConcurrentChange
from sscard_issuer.lifecycle.office import Office, OfficeSettings
from sscard_issuer.lifecycle.status_view import CardStatus
from sscard_issuer.registry import Card, CardEventRow, Registry
from tests.unit.offices import PHOTO, Clock, Staff, applicant, enrolled, hire, individual, open_office

LOSS_DAYS = 5


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def office(registry: Registry, clock: Clock) -> Office:
    settings = OfficeSettings(lifecycle=LifecycleSettings(temporary_loss_days=LOSS_DAYS))
    return open_office(registry, clock, settings)


@pytest.fixture
def staff(office: Office) -> Staff:
    return hire(office)


def do(office: Office, actor: Actor, ref: str, action: ActionKind) -> CardStatus:
    """Request ``action`` through the Office method an operator's screen would call."""
    calls: dict[ActionKind, Callable[[], CardStatus]] = {
        ActionKind.PRODUCE: lambda: office.produce(actor, ref),
        ActionKind.SHIP_TO_OUTLET: lambda: office.ship_to_outlet(actor, ref),
        ActionKind.COLLECT: lambda: office.collect(actor, ref),
        ActionKind.ACTIVATE: lambda: office.activate(actor, ref),
        ActionKind.REPORT_TEMPORARY_LOSS: lambda: office.report_loss(actor, ref, LossKind.TEMPORARY),
        ActionKind.REPORT_FORMAL_LOSS: lambda: office.report_loss(actor, ref, LossKind.FORMAL),
        ActionKind.CANCEL_LOSS: lambda: office.cancel_loss(actor, ref),
        ActionKind.CANCEL: lambda: office.cancel(actor, ref),
        ActionKind.PIN_RESET: lambda: office.reset_pin(actor, ref),
        ActionKind.PIN_CHANGE: lambda: office.change_pin(actor, ref),
        ActionKind.EXPIRE: lambda: office.expire(actor, ref),
    }
    if action is ActionKind.REPLACE:
        office.replace(actor, ref, photo=PHOTO)
        return office.status(actor, ref)
    return calls[action]()


# the shortest way to each state from a new application
PATHS: dict[CardState, tuple[ActionKind, ...]] = {
    CardState.APPLIED: (),
    CardState.IN_PRODUCTION: (ActionKind.PRODUCE,),
    CardState.AWAITING_COLLECTION: (ActionKind.PRODUCE, ActionKind.SHIP_TO_OUTLET),
    CardState.COLLECTED: (ActionKind.PRODUCE, ActionKind.COLLECT),
    CardState.ACTIVATED: (ActionKind.PRODUCE, ActionKind.COLLECT, ActionKind.ACTIVATE),
    CardState.TEMPORARILY_LOST: (ActionKind.PRODUCE, ActionKind.COLLECT, ActionKind.REPORT_TEMPORARY_LOSS),
    CardState.FORMALLY_LOST: (ActionKind.PRODUCE, ActionKind.COLLECT, ActionKind.REPORT_FORMAL_LOSS),
    CardState.REPLACED: (ActionKind.PRODUCE, ActionKind.COLLECT, ActionKind.REPLACE),
    CardState.CANCELLED: (ActionKind.CANCEL,),
    CardState.EXPIRED: (ActionKind.PRODUCE, ActionKind.COLLECT, ActionKind.EXPIRE),
}
ILLEGAL = {state: [a for a in ActionKind if a.requestable and (state, a) not in TRANSITIONS] for state in CardState}


def card_in(office: Office, staff: Staff, state: CardState) -> str:
    who = enrolled(office, staff.operator, applicant())
    ref = office.apply(staff.operator, individual(who)).card_ref
    for action in PATHS[state]:
        do(office, staff.operator, ref, action)
    assert office.status(staff.operator, ref).state is state
    return ref


def event_count(office: Office, ref: str) -> int:
    with office.registry.transaction() as session:
        return session.execute(select(func.count()).where(CardEventRow.card_ref == ref)).scalar_one()


def test_the_paths_cover_every_state() -> None:
    assert set(PATHS) == set(CardState)


@pytest.mark.parametrize("state", list(CardState), ids=[s.value for s in CardState])
def test_every_illegal_transition_is_refused_naming_the_state_and_the_allowed_actions(
        office: Office, staff: Staff, state: CardState) -> None:
    ref = card_in(office, staff, state)
    before, events = office.status(staff.operator, ref), event_count(office, ref)
    assert ILLEGAL[state], "every state refuses something"
    for action in ILLEGAL[state]:
        with pytest.raises(IllegalTransition) as caught:
            do(office, staff.operator, ref, action)
        assert (caught.value.state, caught.value.action) == (state, action)
        assert tuple(a.value for a in caught.value.allowed if a.at_the_counter) == before.allowed
        assert state.display("zh") in caught.value.display("zh")
        after = office.status(staff.operator, ref)
        assert (after.state, after.version) == (before.state, before.version), action
        assert event_count(office, ref) == events, action


def test_the_whole_story_of_a_card_is_its_history(office: Office, staff: Staff, clock: Clock) -> None:
    ref = card_in(office, staff, CardState.ACTIVATED)
    clock.advance(days=30)
    office.reset_pin(staff.operator, ref)
    office.change_pin(staff.operator, ref)
    office.report_loss(staff.operator, ref, LossKind.TEMPORARY)
    status = office.cancel_loss(staff.operator, ref)
    assert status.state is CardState.ACTIVATED and status.version == 8
    assert [(h.action, h.source, h.target) for h in status.history] == [
        ("submit", None, "applied"), ("produce", "applied", "in_production"),
        ("collect", "in_production", "collected"), ("activate", "collected", "activated"),
        ("pin_reset", "activated", "activated"), ("pin_change", "activated", "activated"),
        ("report_temporary_loss", "activated", "temporarily_lost"),
        ("cancel_loss", "temporarily_lost", "activated"),
    ]
    assert {h.operator for h in status.history} == {"wang.li"}
    assert {h.outlet_code for h in status.history} == {"NN01"}


def test_a_loss_is_reported_at_any_hall_and_recorded_there(office: Office, staff: Staff) -> None:
    ref = card_in(office, staff, CardState.COLLECTED)
    status = office.report_loss(staff.elsewhere, ref, LossKind.TEMPORARY)
    assert (status.history[-1].operator, status.history[-1].outlet_code) == ("chen.gang", "NN09")


def test_a_temporary_loss_lapses_after_the_configured_days(office: Office, staff: Staff, clock: Clock) -> None:
    ref = card_in(office, staff, CardState.ACTIVATED)
    reported = clock.advance(hours=1)
    lost = office.report_loss(staff.operator, ref, LossKind.TEMPORARY)
    assert lost.loss_expires_at == reported + timedelta(days=LOSS_DAYS)
    clock.advance(days=LOSS_DAYS, seconds=-1)
    assert office.status(staff.operator, ref).state is CardState.TEMPORARILY_LOST
    clock.advance(seconds=1)
    settled = office.status(staff.operator, ref)
    assert settled.state is CardState.ACTIVATED
    lapse = settled.history[-1]
    assert (lapse.action, lapse.operator, lapse.at) == ("temporary_loss_lapse", "system", reported + timedelta(days=LOSS_DAYS))
    with office.registry.transaction() as session:
        row = session.execute(select(Card).where(Card.card_ref == ref)).scalar_one()
        assert (row.state, row.loss_expires_at, row.state_before_loss) == ("activated", None, None)


def test_a_scheduled_settle_makes_every_due_lapse_real(office: Office, staff: Staff, clock: Clock) -> None:
    refs = []
    for serial in (301, 303, 305):
        who = enrolled(office, staff.operator, applicant(serial))
        ref = office.apply(staff.operator, individual(who)).card_ref
        for action in PATHS[CardState.COLLECTED]:
            do(office, staff.operator, ref, action)
        refs.append(ref)
    office.report_loss(staff.operator, refs[0], LossKind.TEMPORARY)
    clock.advance(days=2)
    office.report_loss(staff.operator, refs[1], LossKind.TEMPORARY)
    office.report_loss(staff.operator, refs[2], LossKind.FORMAL)
    clock.advance(days=LOSS_DAYS - 1)
    assert office.settle_due() == 1
    with office.registry.transaction() as session:
        states = {row.card_ref: row.state for row in session.execute(select(Card.card_ref, Card.state))}
    assert [states[r] for r in refs] == ["collected", "temporarily_lost", "formally_lost"]
    assert office.settle_due() == 0


def test_a_formal_loss_cannot_be_cancelled_and_leads_to_replacement(office: Office, staff: Staff) -> None:
    ref = card_in(office, staff, CardState.FORMALLY_LOST)
    with pytest.raises(IllegalTransition) as caught:
        office.cancel_loss(staff.operator, ref)
    assert ActionKind.REPLACE in caught.value.allowed and "正式挂失" in caught.value.display("zh")


def test_a_loss_cannot_be_cancelled_once_the_card_was_replaced(office: Office, staff: Staff) -> None:
    ref = card_in(office, staff, CardState.TEMPORARILY_LOST)
    new = office.replace(staff.operator, ref, photo=PHOTO)
    with pytest.raises(IllegalTransition) as caught:
        office.cancel_loss(staff.operator, ref)
    assert caught.value.state is CardState.REPLACED and caught.value.allowed == ()
    old = office.status(staff.operator, ref)
    assert (old.state, old.replaced_by) == (CardState.REPLACED, new.card_ref)
    successor = office.status(staff.operator, new.card_ref)
    assert (successor.state, successor.replaces, successor.application_kind) == (
        CardState.APPLIED, ref, "replacement")
    with office.registry.transaction() as session:
        kinds = session.execute(select(CardEventRow.kind).where(CardEventRow.card_ref == ref)
                                .order_by(CardEventRow.id)).scalars().all()
    assert kinds[-2:] == ["CardReplaced", "ReplacementRequested"]


def test_a_replacement_that_fails_leaves_the_old_card_as_it_was(office: Office, staff: Staff) -> None:
    ref = card_in(office, staff, CardState.FORMALLY_LOST)
    before = office.status(staff.operator, ref)
    with pytest.raises(PhotoRejected):
        office.replace(staff.operator, ref, photo=None)
    after = office.status(staff.operator, ref)
    assert (after.state, after.version, after.replaced_by) == (before.state, before.version, None)
    with office.registry.transaction() as session:
        assert session.execute(select(func.count()).select_from(Card)).scalar_one() == 1


def test_an_operator_acting_on_a_version_they_did_not_see_is_stopped(office: Office, staff: Staff) -> None:
    ref = card_in(office, staff, CardState.ACTIVATED)
    seen = office.status(staff.operator, ref).version
    office.report_loss(staff.elsewhere, ref, LossKind.TEMPORARY)  # meanwhile, at another hall
    with pytest.raises(ConcurrentChange) as caught:
        office.cancel(staff.operator, ref, expected_version=seen)
    assert (caught.value.expected_version, caught.value.current_version) == (seen, seen + 1)
    assert office.status(staff.operator, ref).state is CardState.TEMPORARILY_LOST
    assert office.cancel(staff.operator, ref, expected_version=seen + 1).state is CardState.CANCELLED


def test_a_card_is_found_by_reference_identification_code_or_holder(office: Office, staff: Staff) -> None:
    ref = card_in(office, staff, CardState.APPLIED)
    holder = office.status(staff.operator, ref).social_security_number
    assert holder is not None
    assert office.status(staff.operator, holder).card_ref == ref
    with pytest.raises(CardNotFound):
        office.status(staff.operator, "450103199001010000")
    with pytest.raises(CardNotFound):
        office.status(staff.operator, "not a card")


def test_personalisation_records_the_cards_numbers_once_while_in_production(office: Office, staff: Staff) -> None:
    ref = card_in(office, staff, CardState.APPLIED)
    numbers = {"card_number": "A00000001", "card_id": "450100d1560000050000000000000001",
               "issued_on": date(2026, 3, 2), "expires_on": date(2036, 3, 2), "bank": True}
    with pytest.raises(FieldError):  # not in production yet
        office.record_personalisation(staff.operator, ref, **numbers)  # type: ignore[arg-type]
    office.produce(staff.operator, ref)
    status = office.record_personalisation(staff.operator, ref, **numbers)  # type: ignore[arg-type]
    assert (status.card_number, status.card_id) == ("A00000001", "450100D1560000050000000000000001")
    assert office.status(staff.operator, "450100D1560000050000000000000001").card_ref == ref
    with pytest.raises(FieldError):  # never twice
        office.record_personalisation(staff.operator, ref, **{**numbers, "card_number": "A00000002"})  # type: ignore[arg-type]
    assert office.status(staff.operator, ref).card_number == "A00000001"
