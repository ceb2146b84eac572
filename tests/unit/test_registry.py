"""The registry on a real SQLite file and a real PostgreSQL database (every test runs on both):
the migration builds what the models describe, the constraints that keep card numbers unique
hold, and two processes allocating at once never hand out one number twice."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, event, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from sscard_issuer.perso import load_profile
from sscard_issuer.perso.prepare import allocate_job, check_application
from sscard_issuer.registry import (
    AllocationState,
    AreaSequence,
    CardAllocation,
    JobState,
    PersoJob,
    PersoStep,
    Registry,
    StepState,
    default_url,
)
from sscard_issuer.registry.database import DEFAULT_URL_ENV
from sscard_issuer.registry.models import Base
from tests.pg import NewDatabaseUrl

TODAY = date(2026, 3, 2)
HEAD_REVISION = "0005"
APPLICATION = {
    "name": "李秀英", "ssn": "450103198506151231", "sex": "1", "ethnicity": "01",
    "birthplace": "450103", "birth_date": "1985-06-15", "area_code": "450100",
}
CARD_SERIAL = bytes.fromhex("0011223344556677")


def allocation(area: str = "450100", serial: int = 1, number: str = "A00000001",
               card_id: str | None = None) -> CardAllocation:
    return CardAllocation(area_code=area, serial=serial, card_number=number,
                          card_id=card_id or f"{area}D156000005{serial:016X}",
                          state=AllocationState.ALLOCATED)


# -- schema ---------------------------------------------------------------------------------------


def test_the_migrated_schema_is_what_the_models_describe(registry: Registry) -> None:
    with registry.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_schema_is_made_by_the_migrations_and_reopening_changes_nothing(database_url: str) -> None:
    first = Registry(database_url)
    with first.transaction() as session:
        session.add(AreaSequence(area_code="450100", next_serial=7))
    first.close()
    again = Registry(database_url)  # runs "upgrade head" again: a no-op on an up-to-date file
    with again.engine.connect() as connection:
        heads = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        tables = set(inspect(connection).get_table_names())
    with again.transaction() as session:
        kept = session.get(AreaSequence, "450100")
        assert kept is not None
        assert kept.next_serial == 7
    again.close()
    assert len(heads) == 1
    assert {"area_sequence", "card_allocation", "perso_job", "perso_step"} <= tables


def test_default_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DEFAULT_URL_ENV, "sqlite:///elsewhere.sqlite3")
    assert default_url() == "sqlite:///elsewhere.sqlite3"
    monkeypatch.delenv(DEFAULT_URL_ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_url() == f"sqlite:///{tmp_path / 'sscard' / 'registry.sqlite3'}"
    assert (tmp_path / "sscard").is_dir()


# -- constraints ----------------------------------------------------------------------------------


def test_a_transaction_commits_on_leaving_and_rolls_back_on_an_error(registry: Registry) -> None:
    with pytest.raises(RuntimeError), registry.transaction() as session:
        session.add(allocation())
        session.flush()
        raise RuntimeError("crash before commit")
    with registry.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CardAllocation)) == 0
        session.add(allocation())
    with registry.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CardAllocation)) == 1


@pytest.mark.parametrize(
    ("second", "why"),
    [
        (allocation(serial=1, number="A00000099", card_id="450100D156000005AAAAAAAAAAAAAAAA"), "same serial"),
        (allocation(serial=2, number="A00000001", card_id="450100D156000005BBBBBBBBBBBBBBBB"), "same number"),
        (allocation(area="110100", serial=5, number="A00000005",
                    card_id="450100D1560000050000000000000001"), "same card id"),
    ],
)
def test_numbers_are_unique_per_area_and_card_ids_everywhere(
    registry: Registry, second: CardAllocation, why: str
) -> None:
    with registry.transaction() as session:
        session.add(allocation())
    with pytest.raises(IntegrityError), registry.transaction() as session:
        session.add(second)
    with registry.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CardAllocation)) == 1, why


def test_the_same_serial_and_card_number_may_exist_in_another_area(registry: Registry) -> None:
    with registry.transaction() as session:
        session.add_all([allocation("450100"), allocation("110100")])
    with registry.transaction() as session:
        rows = session.execute(select(CardAllocation.area_code, CardAllocation.card_number)).all()
    assert sorted(rows) == [("110100", "A00000001"), ("450100", "A00000001")]


def test_an_allocation_belongs_to_one_job_and_steps_to_an_existing_job(registry: Registry) -> None:
    with registry.transaction() as session:
        owned = allocation()
        session.add(PersoJob(card_serial="00", profile="p", record="{}", allocation=owned, state=JobState.PREPARED))
    with pytest.raises(IntegrityError), registry.transaction() as session:
        again = session.execute(select(CardAllocation)).scalar_one()
        session.add(PersoJob(card_serial="01", profile="p", record="{}", allocation=again, state=JobState.PREPARED))
    with pytest.raises(IntegrityError), registry.transaction() as session:
        session.add(PersoStep(job_id=999, name="pin", state=StepState.STARTED))


def test_a_job_keeps_its_states_steps_and_timestamps(registry: Registry) -> None:
    with registry.transaction() as session:
        job = PersoJob(card_serial="0011", profile="ssc3-sm4", record="{}", allocation=allocation(),
                       state=JobState.PREPARED)
        session.add(job)
        session.flush()
        session.add_all([PersoStep(job_id=job.id, name="pin", state=StepState.STARTED),
                         PersoStep(job_id=job.id, name="pin", state=StepState.DONE)])
        job_id = job.id
    with registry.transaction() as session:
        loaded = session.get(PersoJob, job_id)
        assert loaded is not None
        assert loaded.state is JobState.PREPARED
        assert loaded.allocation.state is AllocationState.ALLOCATED
        assert [(s.name, s.state) for s in loaded.steps] == [("pin", StepState.STARTED), ("pin", StepState.DONE)]
        assert loaded.created_at is not None
        assert loaded.allocation.allocated_at is not None
        assert all(s.at is not None for s in loaded.steps)


# -- two writers at once ----------------------------------------------------------------------------


def test_two_registries_allocating_at_once_never_share_a_number(database_url: str) -> None:
    profile = load_profile("ssc3-sm4")
    dated = check_application(APPLICATION, profile, today=TODAY)
    registries = [Registry(database_url), Registry(database_url)]
    start = threading.Barrier(len(registries))

    def allocate(registry: Registry) -> list[tuple[str, str]]:
        start.wait()
        made = []
        for _ in range(50):
            with registry.transaction() as session:
                _job, record = allocate_job(session, dated, profile, card_serial=CARD_SERIAL)
            made.append((str(record.applicant.card_number), record.card_id.hex))
        return made

    with ThreadPoolExecutor(max_workers=len(registries)) as pool:
        futures = [pool.submit(allocate, r) for r in registries]
        made = [pair for future in futures for pair in future.result()]  # a thread's error is raised here
    for registry in registries:
        registry.close()

    assert len(made) == 100
    assert len({number for number, _ in made}) == 100
    assert len({card_id for _, card_id in made}) == 100
    check = Registry(database_url)
    with check.transaction() as session:
        serials = session.execute(select(CardAllocation.serial).order_by(CardAllocation.serial)).scalars().all()
        sequence = session.get(AreaSequence, "450100")
        assert sequence is not None
        assert sequence.next_serial == 101
    check.close()
    assert serials == list(range(1, 101))


# -- the same promises where writers really overlap (PostgreSQL's row locks, SQLite's one writer) ----


def _open_registry(url: str, start: Any) -> None:
    """A process opening the registry (so migrating it) when the others do; a failure's traceback
    goes to the captured stderr and its exit code to the test."""
    start.wait(timeout=30)
    Registry(url).close()


def test_processes_opening_a_new_database_at_once_migrate_it_once(database_url: str) -> None:
    # spawn, not fork: forking this test process (threads of earlier tests still running) can copy
    # a held lock into a child, which then stalls holding the database; real processes start fresh
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(3)
    processes = [context.Process(target=_open_registry, args=(database_url, start)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    registry = Registry(database_url)
    with registry.engine.connect() as connection:
        heads = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        outlets = connection.execute(text("SELECT count(*) FROM outlet")).scalar_one()
    registry.close()
    assert heads == [HEAD_REVISION]
    assert outlets == 14  # the seeded directory, inserted once


def _synchronous_commit(connection: Connection) -> str:
    if connection.dialect.name == "postgresql":
        return str(connection.exec_driver_sql("SHOW synchronous_commit").scalar())
    level = connection.exec_driver_sql("PRAGMA synchronous").scalar_one()
    return {1: "off", 2: "on"}[int(level)]  # SQLite NORMAL: WAL not flushed per commit; FULL: flushed


def test_a_transaction_that_need_not_survive_a_host_crash_skips_the_flush_and_only_it(database_url: str) -> None:
    registry = Registry(database_url)
    if registry.engine.dialect.name == "postgresql":  # the test cluster runs with it off; this database not
        with registry.engine.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{registry.engine.url.database}" SET synchronous_commit = on'))
            connection.commit()
        registry.engine.dispose()  # new connections take the database's setting
    seen = []
    with registry.transaction() as session:
        seen.append(_synchronous_commit(session.connection()))
    with registry.transaction(durable=False) as session:
        seen.append(_synchronous_commit(session.connection()))
        session.add(AreaSequence(area_code="450100", next_serial=1))  # and the work is done in it
    with registry.transaction() as session:
        seen.append(_synchronous_commit(session.connection()))
        assert session.get(AreaSequence, "450100") is not None
    with registry.connection(durable=False) as connection:
        seen.append(_synchronous_commit(connection))
    with registry.connection() as connection:
        seen.append(_synchronous_commit(connection))
    with registry.one_write() as connection:  # one statement, committed as it runs
        seen.append(_synchronous_commit(connection))
        connection.execute(text("UPDATE area_sequence SET next_serial = 2"))
    with registry.connection() as connection:
        seen.append(_synchronous_commit(connection))
        serial = connection.execute(text("SELECT next_serial FROM area_sequence")).scalar_one()
    registry.close()
    assert seen == ["on", "off", "on", "off", "on", "off", "on"]  # PostgreSQL: SET LOCAL ends with its transaction
    assert serial == 2


def test_a_reader_neither_waits_for_a_writer_nor_sees_its_uncommitted_work(database_url: str) -> None:
    registry = Registry(database_url)
    try:
        with registry.transaction() as session:  # holds SQLite's write lock until it commits
            session.add(AreaSequence(area_code="450100", next_serial=1))
            session.flush()
            with registry.reading() as connection:  # BEGIN IMMEDIATE here would wait, then fail
                seen = connection.execute(text("SELECT count(*) FROM area_sequence")).scalar_one()
        with registry.reading() as connection:
            after = connection.execute(text("SELECT count(*) FROM area_sequence")).scalar_one()
    finally:
        registry.close()
    assert (seen, after) == (0, 1)


def _waiting_on_a_lock(registry: Registry) -> int:
    with registry.engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )).scalar_one())


def test_two_first_allocations_of_a_new_area_both_succeed_with_different_serials(database_url: str) -> None:
    """The area's row does not exist yet, so there is nothing to lock: both transactions insert it.

    PostgreSQL holds the second INSERT on the primary key until the first commits, then fails it;
    the second rolls back to its savepoint and counts on from the first's row. (SQLite makes the
    second wait at BEGIN IMMEDIATE and it finds the row.)
    """
    profile = load_profile("ssc3-sm4")
    dated = check_application(APPLICATION, profile, today=TODAY)
    first, second = Registry(database_url), Registry(database_url)
    savepoints_undone = []
    event.listen(second.engine, "rollback_savepoint", lambda *_: savepoints_undone.append(1))
    on_postgresql = first.engine.dialect.name == "postgresql"

    def allocate_second() -> str:
        with second.transaction() as session:
            _job, record = allocate_job(session, dated, profile, card_serial=CARD_SERIAL)
        return str(record.applicant.card_number)

    with ThreadPoolExecutor(max_workers=1) as pool, first.transaction() as session:
        _job, record = allocate_job(session, dated, profile, card_serial=CARD_SERIAL)  # inserted, not committed
        later = pool.submit(allocate_second)
        deadline = time.monotonic() + 10
        while on_postgresql and _waiting_on_a_lock(first) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        if not on_postgresql:
            time.sleep(0.1)  # the second is in BEGIN IMMEDIATE's busy wait
        assert not later.done()
    assert str(record.applicant.card_number) == "A00000001"
    assert later.result(timeout=30) == "A00000002"
    assert savepoints_undone == ([1] if on_postgresql else [])
    first.close()
    second.close()


def test_many_writers_on_one_new_area_get_distinct_numbers(database_url: str) -> None:
    threads, each = 6, 15
    profile = load_profile("ssc3-sm4")
    dated = check_application(APPLICATION, profile, today=TODAY)
    registries = [Registry(database_url) for _ in range(threads)]
    start = threading.Barrier(threads)

    def allocate(registry: Registry) -> list[tuple[str, str]]:
        start.wait()
        made = []
        for _ in range(each):
            with registry.transaction() as session:
                _job, record = allocate_job(session, dated, profile, card_serial=CARD_SERIAL)
            made.append((str(record.applicant.card_number), record.card_id.hex))
        return made

    with ThreadPoolExecutor(max_workers=threads) as pool:
        made = [pair for made in pool.map(allocate, registries) for pair in made]  # errors raised here
    for registry in registries:
        registry.close()
    assert len({number for number, _ in made}) == len({card_id for _, card_id in made}) == threads * each
    assert sorted(number for number, _ in made) == [f"A{n:08d}" for n in range(1, threads * each + 1)]


def test_a_plain_postgresql_url_means_the_installed_driver(new_database_url: NewDatabaseUrl) -> None:
    url = new_database_url("postgresql").replace("postgresql+psycopg://", "postgresql://")
    registry = Registry(url)  # not psycopg2, which the project does not install
    assert registry.engine.dialect.driver == "psycopg"
    with registry.transaction() as session:
        assert session.scalar(text("SELECT 1")) == 1
    registry.close()
