"""Card events: logged with their transition, published after its commit, caught up by durable consumers.

Every lifecycle transition through the Office appends exactly its events to ``card_event`` (in
order, with the record's versions) in the transition's own transaction; the bus hears of them
only once that transaction has committed, so a subscriber reading the registry through another
connection finds the new state; a transaction that fails publishes and logs nothing. Hooks in
``office.hooks`` run inside the transaction and can veto it. A durable consumer catches up from
the log and keeps its place across restarts. On PostgreSQL, listeners on ``sscard_card_event``
are told the newest event id when a transition commits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.orm import Session

from sscard_issuer.applications.requests import ApplicationKind, ApplicationRequest
from sscard_issuer.lifecycle import (
    CardActivated,
    CardApplied,
    CardCancelled,
    CardCollected,
    CardEvent,
    CardReplaced,
    CardState,
    IllegalTransition,
    LossCancelled,
    LossReported,
    PinChanged,
    PinReset,
    ProductionStarted,
    ReplacementRequested,
    ShippedToOutlet,
    StatusEffect,
    TemporaryLossExpired,
    ledger,
)
from sscard_issuer.lifecycle.access import Actor
from sscard_issuer.lifecycle.actions import LossKind, ReportLoss
from sscard_issuer.lifecycle.codec import event_from_json
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry import AuditEntry, Card, CardEventRow, Registry, Role
from tests.pg import NewDatabaseUrl, PostgresCluster
from tests.unit.offices import PHOTO, START, Clock, applicant


@dataclass
class Desk:
    """An office at hall NN01 with one operator, and everything its bus has published."""

    registry: Registry
    office: Office
    clock: Clock
    operator: Actor
    published: list[CardEvent] = field(default_factory=list)

    def file(self, serial: int) -> str:
        who = applicant(serial)
        self.office.enrol(self.operator, who, insured_since=date(2020, 1, 1))
        request = ApplicationRequest(kind=ApplicationKind.INDIVIDUAL, applicant=who, photo=PHOTO)
        return self.office.apply(self.operator, request).card_ref


def open_desk(registry: Registry) -> Desk:
    clock = Clock()
    office = Office(registry, clock=clock)
    admin = office.add_operator(None, username="admin", display_name="管理员", role=Role.ADMINISTRATOR)
    operator = office.add_operator(admin, username="wang.li", display_name="王丽", role=Role.OPERATOR,
                                   outlet_code="NN01")
    desk = Desk(registry, office, clock, operator)
    office.bus.subscribe(CardEvent, desk.published.append)
    return desk


@pytest.fixture
def desk(registry: Registry) -> Desk:
    return open_desk(registry)


@pytest.fixture
def outside(registry: Registry) -> Iterator[Engine]:
    """Another connection to the same database, as another process would have: a plain engine
    (no BEGIN IMMEDIATE on SQLite), so it reads what is committed and never waits for a writer."""
    engine = create_engine(registry.url)
    yield engine
    engine.dispose()


def logged(registry: Registry, after: int = 0) -> list[CardEventRow]:
    with registry.transaction() as session:
        return list(session.execute(select(CardEventRow).where(CardEventRow.id > after)
                                    .order_by(CardEventRow.id)).scalars())


def event_from_json_all(registry: Registry) -> list[CardEvent]:
    return [event_from_json(r.data) for r in logged(registry)]


def newest_id(registry: Registry) -> int:
    with registry.transaction() as session:
        return int(session.execute(select(func.coalesce(func.max(CardEventRow.id), 0))).scalar_one())


def audit_entries(registry: Registry) -> int:
    with registry.transaction() as session:
        return int(session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def card_seen_from(engine: Engine, card_ref: str) -> tuple[str, int, int] | None:
    """(state, version, events logged for it) as committed, or None if the card is not there."""
    with engine.connect() as connection:
        row = connection.execute(select(Card.state, Card.version).where(Card.card_ref == card_ref)).one_or_none()
        count = connection.execute(select(func.count()).select_from(CardEventRow)
                                   .where(CardEventRow.card_ref == card_ref)).scalar_one()
    return None if row is None else (row[0], row[1], int(count))


def shape(event: CardEvent) -> tuple[str, int, str, str | None, str, str]:
    return (type(event).__name__, event.version, event.action.value, event.source.value if event.source else None,
            event.target.value, event.status_effect.value)


def row_shape(row: CardEventRow) -> tuple[str, int, str, str | None, str, str]:
    return row.kind, row.version, row.action, row.source, row.target, row.status_effect


# -- every transition, its events -----------------------------------------------------------------------

N, S, R, V = "none", "suspend", "restore", "revoke"


def test_every_transition_logs_exactly_its_events_in_order_and_publishes_them_after_commit(
    desk: Desk, outside: Engine
) -> None:
    office, op = desk.office, desk.operator
    seen_outside: list[tuple[CardEvent, tuple[str, int, int] | None]] = []
    office.bus.subscribe(CardEvent, lambda e: seen_outside.append((e, card_seen_from(outside, e.card_ref))))
    card: dict[str, str] = {}

    def file() -> None:
        card["old"] = desk.file(1)

    def replace() -> None:
        card["new"] = office.replace(op, card["old"], photo=PHOTO).card_ref

    def lapse_then_read() -> None:
        desk.clock.advance(days=11)  # the regional temporary loss lasts 10 days
        office.status(op, card["old"])  # reading the card settles the lapse

    def lapse_then_formal_loss() -> None:
        desk.clock.advance(days=11)
        office.report_loss(op, card["old"], LossKind.FORMAL)  # the lapse and the report: one transaction

    steps: list[tuple[Callable[[], Any], list[tuple[str, int, str, str | None, str, str]]]] = [
        (file, [("CardApplied", 1, "submit", None, "applied", N)]),
        (lambda: office.produce(op, card["old"]),
         [("ProductionStarted", 2, "produce", "applied", "in_production", N)]),
        (lambda: office.ship_to_outlet(op, card["old"]),
         [("ShippedToOutlet", 3, "ship_to_outlet", "in_production", "awaiting_collection", N)]),
        (lambda: office.collect(op, card["old"]),
         [("CardCollected", 4, "collect", "awaiting_collection", "collected", N)]),
        (lambda: office.activate(op, card["old"]), [("CardActivated", 5, "activate", "collected", "activated", N)]),
        (lambda: office.reset_pin(op, card["old"]), [("PinReset", 6, "pin_reset", "activated", "activated", N)]),
        (lambda: office.change_pin(op, card["old"]), [("PinChanged", 7, "pin_change", "activated", "activated", N)]),
        (lambda: office.report_loss(op, card["old"], LossKind.TEMPORARY),
         [("LossReported", 8, "report_temporary_loss", "activated", "temporarily_lost", S)]),
        (lambda: office.cancel_loss(op, card["old"]),
         [("LossCancelled", 9, "cancel_loss", "temporarily_lost", "activated", R)]),
        (lambda: office.report_loss(op, card["old"], LossKind.TEMPORARY),
         [("LossReported", 10, "report_temporary_loss", "activated", "temporarily_lost", S)]),
        (lapse_then_read,
         [("TemporaryLossExpired", 11, "temporary_loss_lapse", "temporarily_lost", "activated", R)]),
        (lambda: office.report_loss(op, card["old"], LossKind.TEMPORARY),
         [("LossReported", 12, "report_temporary_loss", "activated", "temporarily_lost", S)]),
        (lapse_then_formal_loss,
         [("TemporaryLossExpired", 13, "temporary_loss_lapse", "temporarily_lost", "activated", R),
          ("LossReported", 14, "report_formal_loss", "activated", "formally_lost", V)]),
        (replace,
         [("CardReplaced", 15, "replace", "formally_lost", "replaced", V),
          ("ReplacementRequested", 15, "replace", "formally_lost", "replaced", N),
          ("CardApplied", 1, "submit", None, "applied", N)]),
        (lambda: office.cancel(op, card["new"]), [("CardCancelled", 2, "cancel", "applied", "cancelled", V)]),
    ]  # fmt: skip
    expected_types = {"CardApplied": CardApplied, "ProductionStarted": ProductionStarted,
                      "ShippedToOutlet": ShippedToOutlet, "CardCollected": CardCollected,
                      "CardActivated": CardActivated, "PinReset": PinReset, "PinChanged": PinChanged,
                      "LossReported": LossReported, "LossCancelled": LossCancelled,
                      "TemporaryLossExpired": TemporaryLossExpired, "CardReplaced": CardReplaced,
                      "ReplacementRequested": ReplacementRequested, "CardCancelled": CardCancelled}
    last_id = 0
    for step, expected in steps:
        desk.published.clear()
        seen_outside.clear()
        step()
        rows = logged(desk.registry, last_id)
        assert [row_shape(r) for r in rows] == expected, expected
        assert [shape(e) for e in desk.published] == expected  # the bus got them, in the same order
        assert [type(e) for e in desk.published] == [expected_types[x[0]] for x in expected]
        assert [event_from_json(r.data) for r in rows] == desk.published  # the log holds the whole event
        by_the_system = step is lapse_then_read  # a lapse noticed by a read is the system's transition
        assert {(r.operator_id, r.outlet_code) for r in rows} == (
            {(None, None)} if by_the_system else {(op.operator_id, "NN01")})
        final = expected[-1]
        # published after commit: a subscriber reading through another connection finds it all
        for published, seen in seen_outside:
            assert seen is not None, published
            _state, version, events_logged = seen
            assert version >= published.version
            assert events_logged >= sum(1 for r in rows if r.card_ref == published.card_ref)
        last_seen = seen_outside[-1][1]  # the card of the last event, in the state that event left it
        assert last_seen is not None and last_seen[:2] == (final[4], final[1])
        last_id = rows[-1].id
    with desk.registry.transaction() as session:
        old = session.execute(select(Card).where(Card.card_ref == card["old"])).scalar_one()
        new = session.execute(select(Card).where(Card.card_ref == card["new"])).scalar_one()
        assert (old.state, old.version, old.replaced_by) == ("replaced", 15, card["new"])
        assert (new.state, new.version, new.replaces) == ("cancelled", 2, card["old"])
    expired = next(e for e in event_from_json_all(desk.registry) if isinstance(e, TemporaryLossExpired))
    assert expired.at == START + timedelta(days=10)  # dated when the loss ran out, not when it was noticed
    assert expired.observed_at == START + timedelta(days=11)


# -- failures publish nothing ---------------------------------------------------------------------------


def test_an_illegal_transition_logs_and_publishes_nothing(desk: Desk) -> None:
    ref = desk.file(1)
    before, entries = newest_id(desk.registry), audit_entries(desk.registry)
    desk.published.clear()
    with pytest.raises(IllegalTransition):
        desk.office.activate(desk.operator, ref)
    assert desk.published == []
    assert newest_id(desk.registry) == before and audit_entries(desk.registry) == entries


def test_a_transaction_that_fails_after_logging_events_publishes_none_of_them(desk: Desk) -> None:
    ref = desk.file(1)
    for step in (desk.office.produce, desk.office.collect, desk.office.activate):
        step(desk.operator, ref)
    before, entries = newest_id(desk.registry), audit_entries(desk.registry)
    desk.published.clear()
    # the work of a caller's own transaction: a transition logged, then something else fails
    with pytest.raises(RuntimeError, match="printer jammed"), desk.office.transaction() as session:
        ledger.transition(session, ref, ReportLoss(LossKind.TEMPORARY), at=desk.clock(),
                          actor=desk.operator, outlet_code="NN01", settings=desk.office.settings.lifecycle)
        assert session.info[ledger.LOGGED_EVENTS]  # logged in the transaction...
        raise RuntimeError("printer jammed")
    assert desk.published == []  # ...and never published
    assert newest_id(desk.registry) == before and audit_entries(desk.registry) == entries
    assert desk.office.status(desk.operator, ref).state is CardState.ACTIVATED


def test_a_replacement_whose_second_half_fails_publishes_nothing_and_leaves_the_old_card(desk: Desk) -> None:
    """Replacing logs CardReplaced, then files the new card; a failure in the second half undoes the first."""
    ref = desk.file(1)
    for step in (desk.office.produce, desk.office.collect, desk.office.activate):
        step(desk.operator, ref)
    before, entries = newest_id(desk.registry), audit_entries(desk.registry)
    hooked: list[str] = []

    def refuse_new_cards(session: Session, events: Sequence[CardEvent]) -> None:
        hooked.extend(type(e).__name__ for e in events)
        if any(isinstance(e, CardApplied) for e in events):
            raise RuntimeError("e-card platform refuses the new card")

    desk.office.hooks.append(refuse_new_cards)
    desk.published.clear()
    with pytest.raises(RuntimeError, match="refuses the new card"):
        desk.office.replace(desk.operator, ref, photo=PHOTO)
    assert hooked == ["CardReplaced", "ReplacementRequested", "CardApplied"]  # the first half had run
    assert desk.published == []
    assert newest_id(desk.registry) == before and audit_entries(desk.registry) == entries
    status = desk.office.status(desk.operator, ref)
    assert (status.state, status.version, status.replaced_by) == (CardState.ACTIVATED, 4, None)
    with desk.registry.transaction() as session:
        assert session.execute(select(func.count()).select_from(Card)).scalar_one() == 1


# -- hooks run inside the transaction -------------------------------------------------------------------


def test_a_hook_runs_inside_the_transaction_before_anyone_else_sees_it(desk: Desk, outside: Engine) -> None:
    ref = desk.file(1)
    inside: list[tuple[Any, ...]] = []

    def hook(session: Session, events: Sequence[CardEvent]) -> None:
        state = session.execute(select(Card.state, Card.version).where(Card.card_ref == ref)).one()
        rows = session.execute(select(CardEventRow.kind).where(CardEventRow.card_ref == ref)
                               .order_by(CardEventRow.id)).scalars().all()
        inside.append(([type(e).__name__ for e in events], tuple(state), list(rows), list(desk.published),
                       card_seen_from(outside, ref)))

    desk.office.hooks.append(hook)
    desk.published.clear()
    desk.office.produce(desk.operator, ref)
    assert inside == [(
        ["ProductionStarted"],
        ("in_production", 2),  # the hook's session sees the new record...
        ["CardApplied", "ProductionStarted"],  # ...and the event logged with it
        [],  # nothing published yet
        ("applied", 1, 1),  # and no one else sees any of it until the commit
    )]  # fmt: skip
    assert [type(e).__name__ for e in desk.published] == ["ProductionStarted"]
    assert card_seen_from(outside, ref) == ("in_production", 2, 2)


def test_a_hook_that_raises_rolls_the_transition_back(desk: Desk) -> None:
    ref = desk.file(1)
    before, entries = newest_id(desk.registry), audit_entries(desk.registry)

    def ecard_down(session: Session, events: Sequence[CardEvent]) -> None:
        raise ConnectionError("e-card status service unreachable")

    desk.office.hooks.append(ecard_down)
    desk.published.clear()
    with pytest.raises(ConnectionError):
        desk.office.produce(desk.operator, ref)
    assert desk.published == []
    assert newest_id(desk.registry) == before and audit_entries(desk.registry) == entries
    desk.office.hooks.remove(ecard_down)
    status = desk.office.status(desk.operator, ref)
    assert (status.state, status.version) == (CardState.APPLIED, 1)  # kept its state
    assert desk.office.produce(desk.operator, ref).version == 2  # and the same transition goes through later


# -- durable consumers ------------------------------------------------------------------------------------


def test_catch_up_delivers_what_a_consumer_missed_once_and_resumes_after_a_restart(
    desk: Desk, database_url: str
) -> None:
    refs = [desk.file(serial) for serial in (1, 2)]
    for ref in refs:
        desk.office.produce(desk.operator, ref)
    first = event_from_json_all(desk.registry)
    assert len(first) == 4
    got: list[CardEvent] = []
    assert desk.office.catch_up("ecard-status", got.append, batch=2) == 4  # two full batches, then an empty one
    assert got == first
    assert desk.office.catch_up("ecard-status", got.append) == 0  # delivered once
    assert got == first

    for ref in refs:
        desk.office.collect(desk.operator, ref)
    # the consumer's process restarts: a new registry and office on the same database
    restarted = Office(Registry(database_url), clock=desk.clock)
    try:
        later: list[CardEvent] = []
        assert restarted.catch_up("ecard-status", later.append, batch=3) == 2
        assert [type(e) for e in later] == [CardCollected, CardCollected]
        assert later == event_from_json_all(desk.registry)[4:]
        assert restarted.catch_up("ecard-status", later.append) == 0
        everything: list[CardEvent] = []  # another consumer keeps its own place
        assert restarted.catch_up("outlet-jobs", everything.append) == 6
        assert everything == first + later
    finally:
        restarted.registry.close()


def test_a_consumer_whose_handler_fails_resumes_at_the_event_it_failed_on(desk: Desk) -> None:
    refs = [desk.file(serial) for serial in (1, 2, 3)]
    events = event_from_json_all(desk.registry)
    got: list[CardEvent] = []
    outage = threading.Event()
    outage.set()  # the status list is down when the third card's event comes, once

    def flaky(event: CardEvent) -> None:
        got.append(event)
        if event.card_ref == refs[2] and outage.is_set():
            outage.clear()
            raise ConnectionError("status list unavailable")

    with pytest.raises(ConnectionError):
        desk.office.catch_up("ecard-status", flaky, batch=2)
    assert got == events  # 1 and 2 in the first batch (saved), 3 failed in the second
    got.clear()
    assert desk.office.catch_up("ecard-status", flaky, batch=2) == 1
    assert got == events[2:]  # only the one not processed: the first batch's place was kept


# -- PostgreSQL: LISTEN / NOTIFY ----------------------------------------------------------------------------


@pytest.fixture
def pg_desk(new_database_url: NewDatabaseUrl) -> Iterator[Desk]:
    registry = Registry(new_database_url("postgresql"))
    yield open_desk(registry)
    registry.close()


@pytest.fixture
def listener(pg_desk: Desk, postgres: PostgresCluster) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    database = pg_desk.registry.engine.url.database
    assert database is not None
    with postgres.connect(database) as connection:  # autocommit
        connection.execute(f"LISTEN {ledger.NOTIFY_CHANNEL}")
        yield connection


def heard(connection: psycopg.Connection[tuple[object, ...]], timeout: float, count: int | None = None) -> list[str]:
    """The payloads notified within ``timeout`` seconds (or as soon as ``count`` have come)."""
    return [n.payload for n in connection.notifies(timeout=timeout, stop_after=count)
            if n.channel == ledger.NOTIFY_CHANNEL]


def test_postgresql_listeners_are_told_the_newest_event_id_when_a_transition_commits(
    pg_desk: Desk, listener: psycopg.Connection[tuple[object, ...]]
) -> None:
    ref = pg_desk.file(1)
    assert heard(listener, 5, 1) == [str(newest_id(pg_desk.registry))]
    during: list[list[str]] = []
    pg_desk.office.hooks.append(lambda session, events: during.append(heard(listener, 0.2)))
    pg_desk.office.produce(pg_desk.operator, ref)
    assert during == [[]]  # nothing while the transaction is open
    assert heard(listener, 5, 1) == [str(newest_id(pg_desk.registry))]
    pg_desk.office.hooks.clear()
    pg_desk.office.collect(pg_desk.operator, ref)
    assert heard(listener, 5, 1) == [str(newest_id(pg_desk.registry))]
    before = newest_id(pg_desk.registry)
    pg_desk.office.replace(pg_desk.operator, ref, photo=PHOTO)  # three events, one transaction
    assert heard(listener, 5) == [str(before + 3)]  # one notification, with the newest id
    assert newest_id(pg_desk.registry) == before + 3


def test_postgresql_listeners_hear_nothing_of_a_rolled_back_transition(
    pg_desk: Desk, listener: psycopg.Connection[tuple[object, ...]]
) -> None:
    ref = pg_desk.file(1)
    assert len(heard(listener, 5, 1)) == 1

    def veto(session: Session, events: Sequence[CardEvent]) -> None:
        raise RuntimeError("vetoed")

    pg_desk.office.hooks.append(veto)
    with pytest.raises(RuntimeError):
        pg_desk.office.produce(pg_desk.operator, ref)
    assert heard(listener, 0.5) == []
    pg_desk.office.hooks.clear()
    pg_desk.office.produce(pg_desk.operator, ref)
    assert heard(listener, 5, 1) == [str(newest_id(pg_desk.registry))]  # the listener still works


def test_postgresql_catch_up_does_not_skip_an_event_that_commits_after_a_later_numbered_one(
    new_database_url: NewDatabaseUrl,
) -> None:
    url = new_database_url("postgresql")
    slow_registry, fast_registry = Registry(url), Registry(url)
    try:
        fast = open_desk(fast_registry)
        slow = Office(slow_registry, clock=fast.clock)
        first, second = fast.file(1), fast.file(2)
        fast.office.catch_up("ecard-status", lambda e: None)  # up to date
        numbered, go_on = threading.Event(), threading.Event()

        def pause_before_the_lock(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "pg_advisory_xact_lock" in statement and not go_on.is_set():
                numbered.set()  # the transition is under way, its events not yet numbered
                go_on.wait(10)

        event.listen(slow_registry.engine, "before_cursor_execute", pause_before_the_lock)
        errors: list[BaseException] = []

        def produce_slowly() -> None:
            try:
                slow.produce(fast.operator, first)
            except BaseException as error:  # noqa: BLE001 - handed to the test
                errors.append(error)

        thread = threading.Thread(target=produce_slowly)
        thread.start()
        assert numbered.wait(10)
        fast.office.produce(fast.operator, second)  # a higher id, committed first
        got: list[CardEvent] = []
        fast.office.catch_up("ecard-status", got.append)
        go_on.set()
        thread.join(10)
        assert not thread.is_alive() and errors == []
        fast.office.catch_up("ecard-status", got.append)
        assert sorted((e.card_ref, type(e).__name__) for e in got) == sorted(
            [(first, "ProductionStarted"), (second, "ProductionStarted")])
    finally:
        slow_registry.close()
        fast_registry.close()


def test_status_effects_of_a_loss_and_its_end_reach_subscribers_by_class(desk: Desk) -> None:
    """What the e-card status service subscribes to: suspend on a temporary loss, restore at its end."""
    effects: list[tuple[str, StatusEffect]] = []
    desk.office.bus.subscribe(LossReported, lambda e: effects.append(("reported", e.status_effect)))
    desk.office.bus.subscribe(LossCancelled, lambda e: effects.append(("cancelled", e.status_effect)))
    ref = desk.file(1)
    for step in (desk.office.produce, desk.office.collect):
        step(desk.operator, ref)
    desk.office.report_loss(desk.operator, ref, LossKind.TEMPORARY)
    desk.office.cancel_loss(desk.operator, ref)
    assert effects == [("reported", StatusEffect.SUSPEND), ("cancelled", StatusEffect.RESTORE)]
