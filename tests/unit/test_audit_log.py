"""The audit log is append-only and hash-chained; verify detects a changed, removed or reordered entry.

The log is built through the registry's services (staff, outlets, enrolment, an application and
its card's transitions, stock and dual control), never by calling ``audit.append`` by hand. The
database refuses UPDATE and DELETE on it; someone with the rights to drop those triggers can
change, remove or move entries, and :func:`audit.verify` names what was done and where. What a
full rewrite of the chain hides from the copy itself, the head published elsewhere still shows.
Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle.access import Actor, Forbidden
from sscard_issuer.lifecycle.actions import LossKind
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry import (
    ApprovalKind,
    AuditEntry,
    AuditHead,
    AuditReport,
    Registry,
    Role,
    StockKind,
)
from sscard_issuer.registry.audit import GENESIS, canonical_json, entry_hash
from tests.unit.offices import Clock, applicant, individual


@dataclass
class Log:
    office: Office
    admin: Actor
    operator: Actor
    supervisor: Actor
    auditor: Actor
    actions: list[tuple[str, str]]  # (actor, action) of every entry written, in order


def build_log(registry: Registry) -> Log:
    """A working day at hall NN01, through the Office: 14 audit entries."""
    office = Office(registry, clock=Clock(tick=timedelta(minutes=1)))
    admin = office.add_operator(None, username="admin", display_name="管理员", role=Role.ADMINISTRATOR)
    operator = office.add_operator(admin, username="wang.li", display_name="王丽", role=Role.OPERATOR,
                                   outlet_code="NN01")
    supervisor = office.add_operator(admin, username="zhao.min", display_name="赵敏", role=Role.SUPERVISOR,
                                     outlet_code="NN01")
    auditor = office.add_operator(admin, username="audit", display_name="审计", role=Role.AUDITOR)
    office.set_outlet(admin, "NN09", instant_issuance=True)
    person = applicant(123)
    office.enrol(operator, person, insured_since=date(2020, 1, 1))
    filed = office.apply(operator, individual(person))
    for step in (office.produce, office.collect, office.activate):
        step(operator, filed.card_ref)
    office.report_loss(operator, filed.card_ref, LossKind.TEMPORARY)
    office.receive_stock(operator, 50, reference="DN-2026-0301")
    office.record_stock(operator, StockKind.FED, 2)  # the printer's moves are not audited
    office.record_stock(operator, StockKind.SPOILED, 1)
    request = office.request_approval(operator, ApprovalKind.DESTROY_SPOILED, 1, reason="reject box, 1 card")
    office.decide(supervisor, request, approve=True)
    actions = [("admin", "staff.add")] * 4 + [
        ("admin", "outlet.set"), ("wang.li", "person.enrol"), ("wang.li", "card.submit"),
        ("wang.li", "card.produce"), ("wang.li", "card.collect"),
        ("system", "ecard.not_issued"),  # no status lists configured: the collection says so
        ("wang.li", "card.activate"),
        ("wang.li", "card.report_temporary_loss"), ("wang.li", "stock.received"),
        ("wang.li", "approval.request.destroy_spoiled"), ("zhao.min", "approval.approved"),
    ]  # fmt: skip
    return Log(office, admin, operator, supervisor, auditor, actions)


def problems(report: AuditReport) -> list[tuple[int, str]]:
    return [(p.seq, p.what) for p in report.problems]


def stored(registry: Registry) -> list[AuditEntry]:
    with registry.transaction() as session:
        return list(session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())


def head(registry: Registry) -> tuple[int, str]:
    with registry.transaction() as session:
        row = session.get(AuditHead, 1)
        assert row is not None
        return row.seq, row.hash


def drop_append_only_triggers(registry: Registry) -> None:
    """What someone with the database's owner rights can do."""
    with registry.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(text("DROP TRIGGER audit_log_no_delete"))


@pytest.fixture
def log(registry: Registry) -> Log:
    return build_log(registry)


# -- the log as written -------------------------------------------------------------------------------


def test_office_operations_write_a_verifiable_chain_and_the_head_names_its_last_entry(
    registry: Registry, log: Log
) -> None:
    entries = stored(registry)
    assert [(e.actor, e.action) for e in entries] == log.actions
    assert [e.seq for e in entries] == list(range(1, len(log.actions) + 1))
    assert entries[0].prev_hash == GENESIS
    assert all(e.prev_hash == before.hash for before, e in itertools.pairwise(entries))
    # each operation its own time, as the clock gave it (what a transition triggers shares its time)
    assert len({e.at for e in entries if e.actor != "system"}) == sum(e.actor != "system" for e in entries)
    # the chain can be recomputed by anyone from the rows alone
    prev = GENESIS
    for e in entries:
        prev = entry_hash(prev, seq=e.seq, at=e.at, actor=e.actor, outlet_code=e.outlet_code, action=e.action,
                          subject=e.subject, detail=e.detail)
        assert prev == e.hash
    card = next(e for e in entries if e.action == "card.submit")
    assert card.subject.startswith("card:") and card.outlet_code == "NN01"
    assert "photo_sha256" in card.detail and len(card.detail) < 1000  # a digest of the photo, not the photo

    report = log.office.verify_audit(log.auditor)
    assert report.intact and report.problems == ()
    assert (report.entries, report.head_hash) == (len(entries), entries[-1].hash)
    assert head(registry) == (len(entries), entries[-1].hash)
    assert log.office.verify_audit(log.admin) == report  # the head is stable: reading changes nothing
    assert log.office.verify_audit(log.supervisor, expect_head=report.head_hash.upper()).intact
    with pytest.raises(Forbidden):
        log.office.verify_audit(log.operator)  # front-desk staff do not read the audit log


def test_a_refused_operation_writes_nothing_and_the_next_one_extends_the_head(registry: Registry, log: Log) -> None:
    before = log.office.verify_audit(log.auditor)
    with pytest.raises(Forbidden):
        log.office.set_outlet(log.operator, "NN01", instant_issuance=False)
    with pytest.raises(FieldError):
        log.office.add_operator(log.admin, username="Bad Name", display_name="x", role=Role.AUDITOR)
    assert log.office.verify_audit(log.auditor) == before
    log.office.receive_stock(log.operator, 10)
    after = log.office.verify_audit(log.auditor)
    assert after.intact and after.entries == before.entries + 1 and after.head_hash != before.head_hash
    assert stored(registry)[-1].prev_hash == before.head_hash
    # the head published yesterday no longer matches: the log grew since (or was rewritten)
    assert problems(log.office.verify_audit(log.auditor, expect_head=before.head_hash)) == [(after.entries, "head")]


# -- the database refuses changes --------------------------------------------------------------------


REFUSED = [
    "UPDATE audit_log SET detail = '{}' WHERE seq = 3",
    "UPDATE audit_log SET actor = 'someone' WHERE seq = 3",
    "DELETE FROM audit_log WHERE seq = 3",
    "DELETE FROM audit_log",
]


def test_the_database_refuses_to_update_or_delete_an_entry(registry: Registry, log: Log) -> None:
    before = stored(registry)
    for statement in REFUSED:
        with pytest.raises(DBAPIError, match="the audit log is append-only"), registry.transaction() as session:
            session.execute(text(statement))
    assert [(e.seq, e.actor, e.detail, e.hash) for e in stored(registry)] == [
        (e.seq, e.actor, e.detail, e.hash) for e in before]
    assert log.office.verify_audit(log.auditor).intact


# -- what verify finds once the triggers are gone ----------------------------------------------------


@pytest.fixture
def tampered(registry: Registry, log: Log) -> Registry:
    drop_append_only_triggers(registry)
    return registry


CHANGES: dict[str, Any] = {
    "detail": lambda e: {"detail": e.detail.replace('"quantity":50', '"quantity":5')},
    "actor": lambda e: {"actor": "zhao.min"},
    "time": lambda e: {"at": e.at - timedelta(days=1)},
    "outlet": lambda e: {"outlet_code": "NN02"},
    "subject": lambda e: {"subject": "outlet:NN02"},
}


def test_a_changed_entry_is_reported_as_changed_at_its_position(tampered: Registry, log: Log) -> None:
    seq = log.actions.index(("wang.li", "stock.received")) + 1  # a middle entry: "received 50 blanks"
    entry = stored(tampered)[seq - 1]
    original = {"detail": entry.detail, "actor": entry.actor, "at": entry.at, "outlet_code": entry.outlet_code,
                "subject": entry.subject}
    for field, change in CHANGES.items():
        for values in (change(entry), original):  # changed, then put back as it was
            with tampered.transaction() as session:
                done = session.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(**values)
                                       .execution_options(synchronize_session=False))
                assert done.rowcount == 1  # type: ignore[attr-defined]
            report = log.office.verify_audit(log.auditor)
            if values is original:
                assert report.intact, field  # the same row again: the same hash
                continue
            assert stored(tampered)[seq - 1].hash == entry.hash  # the row changed, its recorded hash did not
            assert problems(report) == [(seq, "changed")], field
            assert f"entry {seq} was changed" in report.problems[0].message


def test_a_changed_entry_whose_hash_is_recomputed_breaks_the_link_of_the_next(tampered: Registry, log: Log) -> None:
    seq = 8
    entry = stored(tampered)[seq - 1]
    forged_detail = canonical_json({**json.loads(entry.detail), "forged": True})
    forged = entry_hash(entry.prev_hash, seq=seq, at=entry.at, actor=entry.actor, outlet_code=entry.outlet_code,
                        action=entry.action, subject=entry.subject, detail=forged_detail)
    with tampered.transaction() as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(detail=forged_detail, hash=forged)
                        .execution_options(synchronize_session=False))
    report = log.office.verify_audit(log.auditor)
    assert problems(report) == [(seq + 1, "removed")]
    assert f"the entry before entry {seq + 1}" in report.problems[0].message


def test_a_removed_middle_entry_is_reported_where_it_was(tampered: Registry, log: Log) -> None:
    seq = 6
    with tampered.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq == seq))
    report = log.office.verify_audit(log.auditor)
    assert report.entries == len(log.actions) - 1
    assert problems(report) == [(seq, "removed"), (seq + 1, "removed")]  # the gap, and the broken link after it
    assert f"entries {seq} to {seq} are missing" in report.problems[0].message


def test_removing_the_first_entry_is_reported(tampered: Registry, log: Log) -> None:
    with tampered.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq == 1))
    assert problems(log.office.verify_audit(log.auditor)) == [(1, "removed"), (2, "removed")]


def test_removing_the_newest_entries_is_caught_by_the_head(tampered: Registry, log: Log) -> None:
    last = len(log.actions)
    with tampered.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq > last - 2))
    report = log.office.verify_audit(log.auditor)
    assert report.entries == last - 2
    assert problems(report) == [(last, "removed")]
    assert f"ends at entry {last - 2}" in report.problems[0].message


def test_removing_the_newest_entries_and_rewinding_the_head_is_caught_by_the_published_head(
    tampered: Registry, log: Log
) -> None:
    published = log.office.verify_audit(log.auditor).head_hash
    last = len(log.actions)
    keep = stored(tampered)[last - 3]
    with tampered.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq > keep.seq))
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=keep.seq, hash=keep.hash))
    assert log.office.verify_audit(log.auditor).intact  # consistent in itself: the copy alone cannot tell
    report = log.office.verify_audit(log.auditor, expect_head=published)
    assert problems(report) == [(keep.seq, "head")]
    assert published in report.problems[0].message


def test_a_chain_rewritten_from_a_changed_entry_on_is_caught_by_the_published_head(
    tampered: Registry, log: Log
) -> None:
    published = log.office.verify_audit(log.auditor).head_hash
    entries = stored(tampered)
    prev = entries[4].prev_hash
    with tampered.transaction() as session:
        for e in entries[4:]:
            actor = "nobody" if e.seq == 5 else e.actor
            digest = entry_hash(prev, seq=e.seq, at=e.at, actor=actor, outlet_code=e.outlet_code, action=e.action,
                                subject=e.subject, detail=e.detail)
            session.execute(update(AuditEntry).where(AuditEntry.seq == e.seq)
                            .values(actor=actor, prev_hash=prev, hash=digest)
                            .execution_options(synchronize_session=False))
            prev = digest
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=prev))
    assert log.office.verify_audit(log.auditor).intact
    assert problems(log.office.verify_audit(log.auditor, expect_head=published)) == [(len(entries), "head")]


def test_two_entries_swapped_are_reported_at_their_positions_and_the_next_is_seen_to_follow_a_moved_one(
    tampered: Registry, log: Log
) -> None:
    a, b = 7, 8  # card.submit and card.produce
    before = stored(tampered)
    with tampered.transaction() as session:
        for old, new in ((a, -1), (b, a), (-1, b)):  # through a free number: seq is the primary key
            session.execute(update(AuditEntry).where(AuditEntry.seq == old).values(seq=new)
                            .execution_options(synchronize_session=False))
    after = stored(tampered)
    assert (after[a - 1].hash, after[b - 1].hash) == (before[b - 1].hash, before[a - 1].hash)  # really swapped
    report = log.office.verify_audit(log.auditor)
    # the position is part of each entry's hash, so a moved entry no longer matches its own hash
    assert problems(report) == [(a, "changed"), (b, "changed"), (b + 1, "reordered")]
    assert f"entry {b + 1} follows entry {a} in the chain" in report.problems[2].message


def test_the_last_two_entries_swapped_are_reported_and_the_head_no_longer_matches(
    tampered: Registry, log: Log
) -> None:
    last = len(log.actions)
    with tampered.transaction() as session:
        for old, new in ((last - 1, -1), (last, last - 1), (-1, last)):
            session.execute(update(AuditEntry).where(AuditEntry.seq == old).values(seq=new)
                            .execution_options(synchronize_session=False))
    assert problems(log.office.verify_audit(log.auditor)) == [(last - 1, "changed"), (last, "changed"),
                                                              (last, "head")]


def test_an_altered_head_row_is_reported(registry: Registry, log: Log) -> None:
    with registry.transaction() as session:  # the head has no trigger: the chain is what guards it
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash="ab" * 32))
    report = log.office.verify_audit(log.auditor)
    assert problems(report) == [(len(log.actions), "head")]


def test_an_expected_head_that_differs_is_reported(log: Log) -> None:
    report = log.office.verify_audit(log.auditor, expect_head="00" * 32)
    assert problems(report) == [(len(log.actions), "head")]
    assert "00" * 32 in report.problems[0].message


# -- appenders at once -------------------------------------------------------------------------------

WORKERS = 4
ENTRIES_PER_WORKER = 6


def _work_at_once(url: str, worker: int, start: Any) -> None:
    """One outlet process: stock deliveries, an enrolment, an application and a transition. Its
    failure's traceback goes to the captured stderr and its exit code to the test."""
    registry = Registry(url)
    try:
        office = Office(registry)
        operator = office.actor("wang.li")
        person = applicant(200 + worker)
        start.wait(timeout=30)
        for i in range(3):
            office.receive_stock(operator, 1, reference=f"worker-{worker}-{i}")
        office.enrol(operator, person, insured_since=date(2020, 1, 1))
        filed = office.apply(operator, individual(person))
        office.produce(operator, filed.card_ref)
    finally:
        registry.close()


def test_processes_appending_at_once_leave_one_intact_chain_without_gaps(registry: Registry, log: Log) -> None:
    """On PostgreSQL the appenders are serialised by the advisory lock (without it two would read
    the same head and one would fail on the duplicate position); on SQLite by the write lock."""
    written = len(log.actions)
    # spawn, not fork: a forked child can inherit a lock held by another thread of this process
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WORKERS)
    processes = [context.Process(target=_work_at_once, args=(registry.url, worker, start))
                 for worker in range(WORKERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [p.exitcode for p in processes] == [0] * WORKERS  # every operation succeeded
    entries = stored(registry)
    total = written + WORKERS * ENTRIES_PER_WORKER
    assert [e.seq for e in entries] == list(range(1, total + 1))
    report = log.office.verify_audit(log.auditor)
    assert report.intact, report.problems
    assert (report.entries, report.head_hash) == (total, entries[-1].hash)
    references = sorted(e.detail for e in entries if e.action == "stock.received" and "worker-" in e.detail)
    assert len(references) == WORKERS * 3
    assert sum(e.action == "card.produce" for e in entries) == 1 + WORKERS
