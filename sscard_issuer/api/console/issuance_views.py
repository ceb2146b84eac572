"""Instant-issuance jobs, printers and the simulator as the console shows them (no I/O of its own
beyond the desk's reads): what is paused, why, and what the operator should do about it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sscard_issuer.api.console.i18n import Lang, text
from sscard_issuer.outlet.desk import IssuanceDesk, JobView, JournalLine
from sscard_issuer.outlet.job import JobState
from sscard_issuer.outlet.printer import Condition
from sscard_issuer.registry import PrinterRow
from sscard_issuer.sim.printer_machine import Fault

#: simulator actions: (label key, what it does to the simulated machine)
SIM_ACTIONS: dict[str, str] = {
    "open_cover": "sim_open_cover", "close_cover": "sim_close_cover",
    "empty_feeder": "sim_empty_feeder", "load_cards": "sim_load_cards",
    "jam": "sim_jam", "clear_jam": "sim_clear_jam",
    "end_ribbon": "sim_end_ribbon", "replace_ribbon": "sim_replace_ribbon",
    "fill_reject": "sim_fill_reject", "empty_reject": "sim_empty_reject",
}
BLANKS_LOADED = 50
RIBBON_PRINTS = 250


def simulate(simulator: Any, action: str) -> None:
    """Do ``action`` on a :class:`~sscard_issuer.sim.printer.PrinterSimulator` (a fault, or its fix)."""
    faults = {"open_cover": Fault.COVER_OPEN, "empty_feeder": Fault.FEEDER_EMPTY, "jam": Fault.JAM,
              "end_ribbon": Fault.RIBBON_ENDED, "fill_reject": Fault.REJECT_BOX_FULL}
    if action in faults:
        simulator.inject(faults[action])
    elif action == "close_cover":
        simulator.clear(Fault.COVER_OPEN)
    elif action == "clear_jam":
        simulator.clear(Fault.JAM)
    elif action == "load_cards":
        def load(machine: Any) -> None:
            machine.clear(Fault.FEEDER_EMPTY)
            if machine.blanks < BLANKS_LOADED:
                machine.load_blanks(BLANKS_LOADED - machine.blanks)

        simulator.operate(load)
    elif action == "replace_ribbon":
        simulator.operate(lambda machine: machine.replace_ribbon(RIBBON_PRINTS))
    elif action == "empty_reject":
        simulator.operate(lambda machine: machine.empty_reject_box())
    else:
        raise ValueError(action)


@dataclass(frozen=True)
class SimulatorView:
    number: int
    faults: tuple[str, ...]
    blanks: int
    ribbon: int | None
    rejected: int


def simulator_view(number: int, simulator: Any) -> SimulatorView:
    faults, blanks, ribbon, rejected = simulator.operate(
        lambda m: (tuple(sorted(f.value for f in m.faults)), m.blanks, m.ribbon, m.reject_count))
    return SimulatorView(number, faults, blanks, ribbon, rejected)


@dataclass(frozen=True)
class PrinterView:
    name: str
    state: str
    state_text: str
    conditions: tuple[tuple[str, str], ...]  # (what, what to do)
    job_id: int | None
    updated_at: datetime

    @property
    def paused(self) -> bool:
        return self.state == "paused"


def printer_view(row: PrinterRow, lang: Lang) -> PrinterView:
    conditions = []
    for code in filter(None, (row.conditions or "").split(",")):
        try:
            condition = Condition(code)
        except ValueError:
            conditions.append((code, code))
            continue
        zh, en = condition.advice
        conditions.append((text(f"cond_{code}", lang), en if lang == "en" else zh))
    return PrinterView(row.name, row.state, text(f"printer_state_{row.state}", lang), tuple(conditions), row.job_id,
                       row.updated_at)


@dataclass(frozen=True)
class JobLine:
    """A job in the queue, with the printer that holds it up when it is paused."""

    job: JobView
    state_text: str
    step_text: str
    paused_by: PrinterView | None

    @property
    def steps(self) -> int:
        return len(_PATH) - 1

    @property
    def progress(self) -> int:
        """How far along the path the job is (0 queued, :attr:`steps` done); a failed job shows 0."""
        return _PATH.index(self.job.state) if self.job.state in _PATH else 0


_PATH = (JobState.MARKED, JobState.FED, JobState.AT_ENCODER, JobState.PERSONALISED, JobState.VERIFIED,
         JobState.PRINTED, JobState.EJECTED, JobState.REPORTED, JobState.ACTIVATED, JobState.ECARD_ISSUED)


def job_lines(jobs: list[JobView], printers: list[PrinterView], lang: Lang) -> list[JobLine]:
    by_name = {p.name: p for p in printers}
    every_paused = bool(printers) and all(p.paused for p in printers)
    lines = []
    for job in jobs:
        printer = by_name.get(job.printer_name or "")
        waiting = job.state is JobState.MARKED and job.printer_name is None and every_paused
        paused = printer if printer is not None and printer.paused else (printers[0] if waiting else None)
        step = text(f"step_{job.step_started.value}", lang) if job.step_started else ""
        lines.append(JobLine(job, job.state.display(lang), step, paused))
    return lines


def journal_lines(lines: list[JournalLine], lang: Lang) -> list[tuple[datetime, int, str, str, str, str | None, str]]:
    """(time, attempt, step, phase code, phase, printer, detail) in words; a pause shows its advice."""
    shown = []
    for line in lines:
        detail = ""
        if line.detail:
            try:
                data = json.loads(line.detail)
            except ValueError:
                data = line.detail
            if isinstance(data, dict) and f"advice_{lang}" in data:
                detail = "；".join(data[f"advice_{lang}"]) if lang == "zh" else "; ".join(data["advice_en"])
            elif isinstance(data, dict):
                detail = ", ".join(f"{k}={'—' if v is None else v}" for k, v in data.items()
                                   if k not in ("advice_zh", "advice_en"))
            else:
                detail = str(data)
        step = _known(f"step_{line.step}", lang, line.step)
        phase = _known(f"phase_{line.phase}", lang, line.phase)
        shown.append((line.at, line.attempt, step, line.phase, phase, line.printer_name, detail))
    return shown


def _known(key: str, lang: Lang, fallback: str) -> str:
    try:
        return text(key, lang)
    except KeyError:
        return fallback


def outlet_snapshot(desk: IssuanceDesk, actor: Any, outlet: str, lang: Lang, *, open_only: bool = True
                    ) -> tuple[list[JobLine], list[PrinterView]]:
    printers = [printer_view(row, lang) for row in desk.printers(actor, outlet)]
    return job_lines(desk.jobs(actor, outlet_code=outlet, open_only=open_only), printers, lang), printers
