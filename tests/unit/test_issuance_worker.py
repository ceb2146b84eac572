"""The printer worker runs instant-issuance jobs against the printer simulator (its Evolis protocol over
TCP on loopback) with simulated cards at its contact station, in this process. Faults, spoiled cards
and crashes at every step. The same against pcscd and a worker process that is killed:
``tests/integration/test_outlet_run.py``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys import DevKeyStore
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.lifecycle.states import CardState
from sscard_issuer.outlet.desk import IssuanceDesk
from sscard_issuer.outlet.evolis_driver import EvolisPrinter
from sscard_issuer.outlet.job import STEPS, JobState, OnFailure, Step
from sscard_issuer.outlet.station import make_face, simulated_printers
from sscard_issuer.outlet.worker import PrinterWorker, WorkerSettings
from sscard_issuer.perso import Personaliser, load_profile
from sscard_issuer.perso.wiring import application_hooks
from sscard_issuer.registry import CardAllocation, PersoJob, Registry
from sscard_issuer.sim.make_card import make_blank_card
from sscard_issuer.sim.printer import InProcessEncoder, PrinterSimulator, blank_card_factory
from sscard_issuer.sim.printer_machine import Fault, Timings
from sscard_issuer.sim.runtime import SimulatedCard
from tests.unit.offices import Staff, applicant, enrolled, hire, individual, open_office

KEYS = DevKeyStore.default()
PKI, BANK = application_hooks(KEYS, ca_dir=None)
PROFILE = load_profile("ssc3-sm4")
FAST = WorkerSettings(card_timeout=2.0, poll_interval=0.02, idle_interval=0.02)


class Crash(BaseException):
    """The process dies here (nothing in the worker catches a BaseException)."""


@dataclass
class Outlet:
    office: Office
    desk: IssuanceDesk
    staff: Staff
    sim: PrinterSimulator
    folder: Path

    def worker(self, checkpoint: Callable[[Step, str], None] = lambda _s, _p: None, name: str = "P1",
               **timeouts: float) -> PrinterWorker:
        encoder = self.sim.encoder
        assert isinstance(encoder, InProcessEncoder)
        return PrinterWorker(name=name, outlet_code="NN01", printer=EvolisPrinter.tcp("127.0.0.1", self.sim.port, **timeouts),
                             encoder=lambda _timeout: encoder.transport(), desk=self.desk,
                             personaliser=Personaliser(self.office.registry, KEYS, pki=PKI, bank=BANK),
                             profile=PROFILE, keys=KEYS, face=make_face, checkpoint=checkpoint, settings=FAST)

    def mark(self, serial: int = 123, policy: OnFailure = OnFailure.ASK) -> str:
        who = enrolled(self.office, self.staff.operator, applicant(serial))
        ref = self.office.apply(self.staff.operator, individual(who, instant=True)).card_ref
        self.desk.mark(self.staff.operator, ref, policy=policy)
        return ref

    def perso_jobs(self) -> int:
        with self.office.registry.transaction() as session:
            return len(session.query(PersoJob).all())

    def card_numbers(self) -> dict[str, int]:
        """How many allocated card numbers are on a finished card (used) or burnt with a spoiled one (void)."""
        with self.office.registry.transaction() as session:
            return dict(Counter(a.state.value for a in session.query(CardAllocation).all()))


@pytest.fixture
def outlet(registry: Registry, tmp_path: Path) -> Iterator[Outlet]:
    office = open_office(registry)
    staff = hire(office)
    office.receive_stock(staff.operator, 20, reference="delivery 1")
    sim = PrinterSimulator(blanks=20, timings=Timings(scale=0), encoder=InProcessEncoder(), out=tmp_path).start()
    try:
        yield Outlet(office, IssuanceDesk(office), staff, sim, tmp_path)
    finally:
        sim.close()


def assert_one_good_card(outlet: Outlet, ref: str, *, fed: int = 1) -> None:
    """What an auditor checks: the card is active, one good card left the printer, the stock adds up."""
    status = outlet.office.status(outlet.staff.operator, ref)
    assert status.state is CardState.ACTIVATED and status.card_number is not None
    good = [c for c in outlet.sim.ejected]
    assert len(good) == 1 and good[0].face is not None
    stock = outlet.office.stock(outlet.staff.operator)
    assert (stock.fed, stock.good, stock.spoiled, stock.unaccounted) == (fed, 1, fed - 1, 0)
    assert len(outlet.sim.rejected) == fed - 1
    assert stock.blanks_on_hand == 20 - fed
    assert outlet.sim.operate(lambda machine: machine.blanks) == 20 - fed  # the feeder agrees with the registry


def test_a_job_runs_from_the_queue_to_an_activated_card_with_its_face_printed(outlet: Outlet) -> None:
    ref = outlet.mark()
    worker = outlet.worker()
    assert worker.run_once() is True
    [job] = outlet.desk.jobs(outlet.staff.operator, open_only=False)
    assert job.state is JobState.ECARD_ISSUED and job.attempt == 1
    assert_one_good_card(outlet, ref)
    prints = sorted((outlet.folder / "prints").glob("*.png"))
    assert len(prints) == 1
    with Image.open(prints[0]) as printed:
        assert printed.size == (1016, 648)
    assert worker.run_once() is False  # the queue is empty
    printers = outlet.desk.printers(outlet.staff.operator)
    assert [(p.name, p.state) for p in printers] == [("P1", "idle")]


def paused(outlet: Outlet) -> bool:
    rows = outlet.desk.printers(outlet.staff.operator)
    return bool(rows) and rows[0].state == "paused"


def fix_when_paused(outlet: Outlet, fix: Callable[[], None]) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 20
        while not paused(outlet):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        fix()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(("fault", "at"), [(Fault.FEEDER_EMPTY, Step.FEED), (Fault.COVER_OPEN, Step.FEED),
                                           (Fault.RIBBON_ENDED, Step.PRINT), (Fault.COVER_OPEN, Step.PRINT),
                                           (Fault.COVER_OPEN, Step.EJECT)])
def test_a_printer_fault_pauses_the_printer_and_the_job_resumes_without_doing_anything_twice(
        outlet: Outlet, fault: Fault, at: Step) -> None:
    ref = outlet.mark()

    def inject(step: Step, phase: str) -> None:
        if (step, phase) == (at, "started"):
            outlet.sim.inject(fault)

    fixer = fix_when_paused(outlet, lambda: outlet.sim.clear(fault))
    outlet.worker(inject).run_once()
    fixer.join(5)
    assert_one_good_card(outlet, ref)
    assert outlet.perso_jobs() == 1  # personalised once
    _, journal = outlet.desk.job(outlet.staff.operator, 1)
    pause = next(line for line in journal if line.phase == "paused")
    assert pause.step == at.value and fault.value.split("_")[0] in (pause.detail or "")
    assert "请" in (pause.detail or "")  # what to do, for the operator
    assert [line.phase for line in journal].count("resumed") == 1


def test_a_printer_that_stops_answering_while_printing_spoils_that_card_and_the_next_blank_makes_it(
        outlet: Outlet) -> None:
    ref = outlet.mark()  # policy "ask": a lost print is not the application's fault, it goes back at once

    muted: list[Step] = []

    def mute(step: Step, phase: str) -> None:
        if (step, phase) == (Step.PRINT, "started") and not muted:  # the first print only
            muted.append(step)
            outlet.sim.inject(Fault.MUTE)

    fixer = fix_when_paused(outlet, lambda: outlet.sim.clear(Fault.MUTE))
    worker = outlet.worker(mute, command_timeout=0.3, move_timeout=0.3, print_timeout=0.3)
    worker.run_once()
    fixer.join(5)
    [job] = outlet.desk.jobs(outlet.staff.operator)
    assert (job.state, job.attempt) == (JobState.MARKED, 2) and "stopped answering" in (job.failure or "")
    worker.run_once()
    assert_one_good_card(outlet, ref, fed=2)
    assert outlet.card_numbers() == {"used": 1, "void": 1}


def test_a_card_that_fails_goes_to_the_reject_box_and_the_next_blank_makes_the_card(outlet: Outlet) -> None:
    good_blanks = blank_card_factory()
    made: list[int] = []

    def factory() -> tuple[str, SimulatedCard]:
        made.append(1)
        if len(made) == 1:  # the first blank is a 3DES chip: the SM4 profile refuses it
            return "BAD", SimulatedCard(make_blank_card(algorithm=Algorithm.DES3, keys=KEYS))
        return good_blanks()

    outlet.sim.machine.new_card = factory
    ref = outlet.mark(policy=OnFailure.REQUEUE)
    worker = outlet.worker()
    worker.run_once()
    [job] = outlet.desk.jobs(outlet.staff.operator)
    assert (job.state, job.attempt) == (JobState.MARKED, 2) and "SM4" in (job.failure or "")
    worker.run_once()
    assert_one_good_card(outlet, ref, fed=2)


@pytest.mark.parametrize("phase", ["started", "done"])
@pytest.mark.parametrize("at", STEPS, ids=[s.value for s in STEPS])
def test_a_crash_at_any_step_is_taken_up_and_yields_exactly_one_good_card(
        outlet: Outlet, at: Step, phase: str) -> None:
    ref = outlet.mark()

    def crash(step: Step, when: str) -> None:
        if (step, when) == (at, phase):
            raise Crash

    with pytest.raises(Crash):
        outlet.worker(crash).run_once()
    restarted = outlet.worker()  # a new process: a new connection to the printer, the same registry
    while restarted.run_once():
        pass
    [job] = outlet.desk.jobs(outlet.staff.operator, open_only=False)
    assert job.state is JobState.ECARD_ISSUED
    spoiled = 1 if (at, phase) == (Step.PRINT, "started") else 0  # a print cut short cannot be finished
    assert_one_good_card(outlet, ref, fed=1 + spoiled)
    assert outlet.perso_jobs() == 1 + spoiled
    assert outlet.card_numbers() == {"used": 1, **({"void": 1} if spoiled else {})}


def test_jobs_go_to_idle_healthy_printers(registry: Registry, tmp_path: Path) -> None:
    office = open_office(registry)
    staff = hire(office)
    office.receive_stock(staff.operator, 10)
    desk = IssuanceDesk(office)
    printers = simulated_printers(desk, "NN01", count=2, out=tmp_path, settings=FAST)
    try:
        sick, healthy = printers.simulators
        sick.inject(Fault.COVER_OPEN)
        refs = []
        for serial in range(3):
            who = enrolled(office, staff.operator, applicant(serial + 40))
            refs.append(office.apply(staff.operator, individual(who, instant=True)).card_ref)
            desk.mark(staff.operator, refs[-1])
        deadline = time.monotonic() + 60
        while desk.jobs(staff.operator):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        done = desk.jobs(staff.operator, open_only=False)
        assert {job.printer_name for job in done} == {"SIM2"} and len(healthy.ejected) == 3
        rows = {p.name: p for p in desk.printers(staff.operator)}
        assert rows["SIM1"].state == "paused" and rows["SIM1"].conditions == "cover_open"
        sick.clear(Fault.COVER_OPEN)  # fixed: it takes work again
        who = enrolled(office, staff.operator, applicant(50))
        ref = office.apply(staff.operator, individual(who, instant=True)).card_ref
        healthy.inject(Fault.FEEDER_EMPTY)
        while {p.name: p.state for p in desk.printers(staff.operator)} != {"SIM1": "idle", "SIM2": "paused"}:
            assert time.monotonic() < deadline  # both workers have seen their printer's state
            time.sleep(0.02)
        desk.mark(staff.operator, ref)
        while desk.jobs(staff.operator):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert desk.jobs(staff.operator, open_only=False)[-1].printer_name == "SIM1"
    finally:
        printers.close()
    stock = office.stock(staff.operator)
    assert (stock.fed, stock.good, stock.unaccounted) == (4, 4, 0)
