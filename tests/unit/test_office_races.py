"""Concurrent changes to one card or one person's application cannot both win (SQLite and
PostgreSQL): threads with their own connections release a barrier at once and race for real."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from sscard_issuer.lifecycle import CardState, IllegalTransition
from sscard_issuer.lifecycle.actions import LossKind
from sscard_issuer.lifecycle.errors import ConcurrentChange, NotEligible
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry import Card, CardEventRow, Registry
from tests.unit.offices import PHOTO, RACERS, applicant, enrolled, hire, individual, open_office, race


def versions_are_contiguous(office: Office, ref: str) -> list[int]:
    with office.registry.transaction() as session:
        versions = session.execute(select(CardEventRow.version).where(CardEventRow.card_ref == ref)
                                   .order_by(CardEventRow.id)).scalars().all()
    assert versions == sorted(versions) and set(versions) == set(range(1, max(versions) + 1))
    return list(versions)


@pytest.fixture
def activated(registry: Registry) -> tuple[Office, str]:
    office = open_office(registry)
    staff = hire(office)
    who = enrolled(office, staff.operator, applicant())
    ref = office.apply(staff.operator, individual(who)).card_ref
    for step in (office.produce, office.collect, office.activate):
        step(staff.operator, ref)
    return office, ref


def test_operators_acting_on_the_version_they_saw_one_wins_the_rest_are_told(activated: tuple[Office, str]) -> None:
    office, ref = activated
    actor = office.actor("wang.li")
    seen = office.status(actor, ref).version
    calls: list[Callable[[], object]] = [
        lambda: office.report_loss(actor, ref, LossKind.TEMPORARY, expected_version=seen),
        lambda: office.report_loss(actor, ref, LossKind.FORMAL, expected_version=seen),
        lambda: office.cancel(actor, ref, expected_version=seen),
    ] * (RACERS // 3)
    results = race(calls)
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(r, ConcurrentChange) for r in results if r not in winners), results
    final = office.status(actor, ref)
    assert final.version == seen + 1 and final.state is winners[0].state  # type: ignore[attr-defined]
    versions_are_contiguous(office, ref)


def test_the_same_request_at_once_is_done_once_the_others_find_it_done(activated: tuple[Office, str]) -> None:
    office, ref = activated
    actor = office.actor("wang.li")
    results = race([lambda: office.report_loss(actor, ref, LossKind.FORMAL)] * RACERS)
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert all(isinstance(r, IllegalTransition) and r.state is CardState.FORMALLY_LOST
               for r in results if isinstance(r, Exception)), results
    assert versions_are_contiguous(office, ref)[-1] == 5


def test_a_loss_is_never_cancelled_after_the_card_was_replaced(activated: tuple[Office, str]) -> None:
    office, ref = activated
    actor = office.actor("wang.li")
    office.report_loss(actor, ref, LossKind.TEMPORARY)
    cancels = [lambda: office.cancel_loss(actor, ref)] * 3
    replaces = [lambda: office.replace(actor, ref, photo=PHOTO)] * 3
    results = race([call for pair in zip(cancels, replaces, strict=True) for call in pair])
    cancelled = [r for r in results[0::2] if not isinstance(r, Exception)]
    replaced = [r for r in results[1::2] if not isinstance(r, Exception)]
    # the card is replaced exactly once; a cancellation can only have come before it
    assert len(replaced) == 1 and len(cancelled) <= 1, results
    with office.registry.transaction() as session:
        actions = session.execute(select(CardEventRow.action).where(CardEventRow.card_ref == ref)
                                  .order_by(CardEventRow.id)).scalars().all()
        cards = sorted((row.state, row.live) for row in session.execute(select(Card.state, Card.live)))
    assert actions[-1] == "replace" and actions.count("cancel_loss") == len(cancelled), actions
    assert cards == [("applied", True), ("replaced", False)]
    versions_are_contiguous(office, ref)


def test_applications_for_one_person_at_once_file_one(registry: Registry) -> None:
    office = open_office(registry)
    staff = hire(office)
    who = enrolled(office, staff.operator, applicant())
    results = race([lambda: office.apply(staff.operator, individual(who))] * RACERS)
    filed = [r for r in results if not isinstance(r, Exception)]
    assert len(filed) == 1, results
    assert all(isinstance(r, NotEligible) and r.code == "pending_application"
               for r in results if isinstance(r, Exception)), results
    with office.registry.transaction() as session:
        assert len(session.execute(select(Card)).all()) == 1
