"""Two changes to one personalisation job at once: exactly one wins, on SQLite and on PostgreSQL.

A job ends once: DONE with its numbers USED, or SPOILED with its numbers VOID. The engine makes
that last change a compare-and-set on the job's state, ``UPDATE perso_job ... WHERE id = ? AND
state IN (PREPARED, WRITING)``, in the same transaction as the allocation's change. Whoever
commits first wins; the other's UPDATE waits for that commit (PostgreSQL: the row lock, then the
WHERE is checked again against the committed row; SQLite: BEGIN IMMEDIATE lets one writer in at
a time), matches no row, changes nothing and raises :class:`PersoError`. Without the compare-and-
set the second writer would overwrite the first: a job DONE whose numbers are VOID, or a card in
a customer's hand whose job says SPOILED.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text

from sscard_issuer.crypto import Algorithm
from sscard_issuer.perso import CardSpoiled, PersoError, PersoInterrupted, Personaliser, load_profile
from sscard_issuer.perso.prepare import allocate_job, check_application
from sscard_issuer.perso.profile import Profile
from sscard_issuer.perso.wiring import application_hooks
from sscard_issuer.registry import AllocationState, JobState, PersoJob, Registry
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.make_card import make_blank_card
from sscard_issuer.sim.runtime import PlannedPowerCut, SimulatedCard
from sscard_issuer.transport import InProcessTransport, Transport
from tests.unit.cards import keys

TODAY = date(2026, 3, 2)
SERIAL = bytes.fromhex("B1B2B3B4B5B6B7B8")
APPLICATION = {"name": "李秀英", "ssn": "450103198506151231", "sex": "1", "ethnicity": "01",
               "birthplace": "450103", "birth_date": "1985-06-15", "area_code": "450100"}
PAN = "6217000000000000004"
SETTLED = {JobState.DONE: AllocationState.USED, JobState.SPOILED: AllocationState.VOID}


@pytest.fixture
def registries(database_url: str) -> Iterator[tuple[Registry, Registry]]:
    """Two registries on one database: two personalisers' processes, each with its own connections."""
    pair = (Registry(database_url), Registry(database_url))
    yield pair
    for registry in pair:
        registry.close()


def writing_job(registry: Registry) -> int:
    """A job whose card is being written (numbers allocated, journal started)."""
    profile = load_profile("ssc2-3des")
    dated = check_application(APPLICATION, profile, today=TODAY)
    with registry.transaction() as session:
        job, _record = allocate_job(session, dated, profile, card_serial=SERIAL)
        job.state = JobState.WRITING
        return job.id


def final_state(registry: Registry, job_id: int) -> tuple[JobState, AllocationState, str | None]:
    with registry.transaction() as session:
        job = session.get(PersoJob, job_id)
        assert job is not None
        return job.state, job.allocation.state, job.reason


class Paused:
    def __init__(self) -> None:
        self.written = threading.Event()  # the winner has made its change and is about to commit
        self.released = False  # the winner's pause is over
        self.saw_the_other_wait = False  # PostgreSQL: the loser's UPDATE was seen waiting on the row lock


def hold_commit_until_the_other_waits(winner: Registry, loser: Registry) -> Paused:
    """Make ``winner`` pause just before it commits, until ``loser``'s change is waiting for it.

    That is the interleaving a lost update needs: both transactions in flight, the second
    writing after the first has written.
    """
    paused = Paused()
    on_postgresql = winner.engine.dialect.name == "postgresql"

    def waiting() -> bool:
        if not on_postgresql:
            return False
        with loser.engine.connect() as connection:
            return bool(connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'")).scalar_one())

    def before_commit(_connection: Any) -> None:
        if paused.released:
            return
        paused.written.set()
        deadline = time.monotonic() + (10 if on_postgresql else 0.2)  # SQLite: the other is in BEGIN's busy wait
        while not waiting() and time.monotonic() < deadline:
            time.sleep(0.01)
        paused.saw_the_other_wait = waiting()
        paused.released = True

    event.listen(winner.engine, "commit", before_commit)
    return paused


Settle = Callable[[Personaliser, int], None]


def finish(personaliser: Personaliser, job_id: int) -> None:
    personaliser._settle(job_id, JobState.DONE, AllocationState.USED)  # what _run does after the read-back


def spoil(personaliser: Personaliser, job_id: int) -> None:
    personaliser._spoil(job_id, "read back A00000002 but wrote A00000001")


@pytest.mark.parametrize(
    ("first", "second"),
    [(finish, spoil), (spoil, finish), (finish, finish), (spoil, spoil)],
    ids=["done-then-spoiled", "spoiled-then-done", "done-twice", "spoiled-twice"],
)
def test_of_two_final_changes_in_flight_at_once_exactly_one_wins(
    registries: tuple[Registry, Registry], first: Settle, second: Settle
) -> None:
    one, other = registries
    job_id = writing_job(one)
    paused = hold_commit_until_the_other_waits(one, other)

    def change(registry: Registry, settle: Settle, after: threading.Event | None) -> None:
        if after is not None:
            assert after.wait(timeout=10)  # the first has written and holds its commit
        settle(Personaliser(registry, keys(), today=TODAY), job_id)

    with ThreadPoolExecutor(max_workers=2) as pool:
        won = pool.submit(change, one, first, None)
        lost = pool.submit(change, other, second, paused.written)
        won.result(timeout=30)
        with pytest.raises(PersoError, match="already") as exc:
            lost.result(timeout=30)
    assert paused.released
    assert paused.saw_the_other_wait == (one.engine.dialect.name == "postgresql")
    assert not isinstance(exc.value, CardSpoiled)
    state, numbers, reason = final_state(one, job_id)
    assert state is (JobState.DONE if first is finish else JobState.SPOILED)  # the first to commit
    assert numbers is SETTLED[state]
    assert (reason is None) == (state is JobState.DONE)
    assert state.value in str(exc.value)


def test_many_rounds_of_finish_against_spoil_never_mix_their_states(registries: tuple[Registry, Registry]) -> None:
    """No pause this time: whichever order the scheduler picks, a job and its numbers agree."""
    one, other = registries
    outcomes = []
    for _ in range(15):
        job_id = writing_job(one)
        start = threading.Barrier(2)

        def change(registry: Registry, settle: Settle, job_id: int = job_id, start: Any = start) -> None:
            start.wait()
            settle(Personaliser(registry, keys(), today=TODAY), job_id)

        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(change, one, finish), pool.submit(change, other, spoil)]
            errors = [f.exception(timeout=30) for f in futures]
        assert sum(e is None for e in errors) == 1, errors
        assert all(isinstance(e, PersoError) and "already" in str(e) for e in errors if e is not None)
        state, numbers, _ = final_state(one, job_id)
        assert numbers is SETTLED[state]
        outcomes.append(state)
    assert set(outcomes) <= {JobState.DONE, JobState.SPOILED}


# -- through the personaliser: two stations resume one interrupted job at once ------------------------


def refusing_bank(transport: Transport, record: Any, profile: Profile) -> None:
    raise CardSpoiled("the bank application refused its keys")


def test_two_personalisers_resuming_one_job_at_once_settle_it_once(
    tmp_path: Path, registries: tuple[Registry, Registry]
) -> None:
    """One card's unfinished job, resumed by two personalisers at the same moment (two copies of
    the card, as a cloned chip serial would give): one has a healthy card and finishes, the
    other's bank application refuses and it spoils. Exactly one of those two changes happens."""
    profile = load_profile("ssc2-3des")
    pki, bank = application_hooks(keys(), ca_dir=tmp_path / "ca")
    image_path = tmp_path / "card.json"
    card = SimulatedCard(make_blank_card(algorithm=Algorithm.DES3, keys=keys(), serial=SERIAL, out=image_path))
    card.planned_cut = PlannedPowerCut(at_apdu=12)
    application = {**APPLICATION, "bank_pan": PAN}
    with pytest.raises(PersoInterrupted):
        Personaliser(registries[0], keys(), pki=pki, bank=bank, today=TODAY).personalise(
            InProcessTransport(card), application, profile)
    copies = [shutil.copy(image_path, tmp_path / f"copy{i}.json") for i in range(2)]
    stations = [Personaliser(registries[0], keys(), pki=pki, bank=bank, today=TODAY),
                Personaliser(registries[1], keys(), pki=pki, bank=refusing_bank, today=TODAY)]
    start = threading.Barrier(2)

    def resume(station: Personaliser, copy: Path) -> Any:
        transport = InProcessTransport(SimulatedCard(CardImage.load(copy)))
        start.wait()
        return station.personalise(transport, None, profile)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures: list[Future[Any]] = [pool.submit(resume, s, Path(c)) for s, c in zip(stations, copies, strict=True)]
        errors = [f.exception(timeout=60) for f in futures]

    settled = [e is None or isinstance(e, CardSpoiled) for e in errors]  # finished, or spoiled the job
    assert sum(settled) == 1, errors
    loser = errors[settled.index(False)]
    assert isinstance(loser, PersoError) and "already" in str(loser), errors
    with registries[0].transaction() as session:
        jobs = session.execute(select(PersoJob)).scalars().all()
        assert len(jobs) == 1  # resumed, never a second allocation
        assert jobs[0].allocation.state is SETTLED[jobs[0].state]
