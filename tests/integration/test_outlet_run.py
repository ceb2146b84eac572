"""``sscard outlet run`` as a process, against the printer simulator (its Evolis protocol over TCP) whose
contact station is a vpcd reader behind the real pcscd, on PostgreSQL; the process is killed
(SIGKILL, no clean-up) right after each journal line in turn, and run again.

What an auditor checks after each: the application yielded exactly one good card, activated, with its
e-card step done; the outlet's stock count matches the cards the printer took from its feeder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sscard_issuer.lifecycle.office import Office
from sscard_issuer.lifecycle.states import CardState
from sscard_issuer.outlet.desk import IssuanceDesk
from sscard_issuer.outlet.job import STEPS, JobState
from sscard_issuer.registry import Registry
from sscard_issuer.sim.printer import PrinterSimulator, VpcdEncoder
from sscard_issuer.sim.printer_machine import Timings
from sscard_issuer.sim.vpcd import DEBIAN_VPCD_READERS
from sscard_issuer.transport.pcsc import wait_for_reader_state
from sscard_issuer.transport.pcscd import Pcscd
from tests.pg import NewDatabaseUrl
from tests.unit.offices import Staff, applicant, enrolled, hire, individual

READER = "Virtual PCD 00 00"
REPO = Path(__file__).resolve().parents[2]
KILL_POINTS = [f"{step.value}:started" for step in STEPS] + ["feed:done", "personalise:done", "print:done"]


@dataclass
class Station:
    url: str
    office: Office
    staff: Staff
    sim: PrinterSimulator
    config: Path

    def run(self, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "SSCARD_LANG": "en"}
        if kill_at:
            env["SSCARD_KILL_AT"] = kill_at
        return subprocess.run([sys.executable, "-m", "sscard_issuer", "outlet", "run", "--config", str(self.config),
                               "--database", self.url, "--once"], capture_output=True, text=True, timeout=120,
                              cwd=REPO, env=env, check=False)


@pytest.fixture
def station(pcscd: Pcscd, new_database_url: NewDatabaseUrl, tmp_path: Path) -> Iterator[Station]:
    url = new_database_url("postgresql")
    registry = Registry(url)
    office = Office(registry)
    staff = hire(office)
    office.receive_stock(staff.operator, 50, reference="delivery 1")
    wait_for_reader_state(READER, present=False)
    sim = PrinterSimulator(blanks=50, timings=Timings(scale=0), out=tmp_path / "printer",
                           encoder=VpcdEncoder(port=DEBIAN_VPCD_READERS[READER])).start()
    config = tmp_path / "station.json"
    config.write_text(json.dumps({"outlet": "NN01", "printers": [
        {"name": "P1", "driver": "evolis-tcp", "address": f"127.0.0.1:{sim.port}", "encoder": READER}]}))
    try:
        yield Station(url, office, staff, sim, config)
    finally:
        sim.close()
        registry.close()
        wait_for_reader_state(READER, present=False)


def test_one_run_issues_the_queued_cards(station: Station) -> None:
    refs = []
    desk = IssuanceDesk(station.office)
    for serial in (1, 2):
        who = enrolled(station.office, station.staff.operator, applicant(serial))
        refs.append(station.office.apply(station.staff.operator, individual(who, instant=True)).card_ref)
        desk.mark(station.staff.operator, refs[-1])
    done = station.run()
    assert done.returncode == 0, done.stderr
    for ref in refs:
        assert station.office.status(station.staff.operator, ref).state is CardState.ACTIVATED
    assert [c.face is not None for c in station.sim.ejected] == [True, True]
    assert len(list((station.sim.out or Path()).glob("prints/*.png"))) == 2


def test_killed_after_any_journal_line_the_next_run_finishes_with_one_good_card(station: Station) -> None:
    desk = IssuanceDesk(station.office)
    for n, kill_at in enumerate(KILL_POINTS):
        who = enrolled(station.office, station.staff.operator, applicant(100 + n))
        ref = station.office.apply(station.staff.operator, individual(who, instant=True)).card_ref
        job = desk.mark(station.staff.operator, ref)
        killed = station.run(kill_at)
        assert killed.returncode == -signal.SIGKILL, (kill_at, killed.stderr)
        view, _ = desk.job(station.staff.operator, job.id)
        assert not view.state.over, kill_at
        again = station.run()
        assert again.returncode == 0, (kill_at, again.stderr)
        view, journal = desk.job(station.staff.operator, job.id)
        assert view.state is JobState.ECARD_ISSUED, (kill_at, view)
        assert any(line.phase == "taken_up" for line in journal) or kill_at.endswith(":done"), kill_at
        status = station.office.status(station.staff.operator, ref)
        assert status.state is CardState.ACTIVATED and status.card_id is not None, kill_at
        good = n + 1
        stock = station.office.stock(station.staff.operator)
        assert (stock.good, stock.unaccounted) == (good, 0), (kill_at, stock)
        assert stock.fed == station.sim.machine.fed == good + stock.spoiled, (kill_at, stock)
        assert len(station.sim.ejected) == good and len(station.sim.rejected) == stock.spoiled, kill_at
        ejected = station.sim.ejected[-1]
        assert ejected.serial == view.card_serial, kill_at  # the card handed over is the one personalised
    assert stock.spoiled == 1  # only the print cut short spoiled its card
