"""``sscard instant ...`` (the counter's side of instant issuance) and ``sscard outlet run`` (the
printers' workers).

An operator marks an applied-for card for instant issuance (``instant mark``), watches the queue
(``instant jobs``, ``instant show ID`` with the journal), and decides what happens to a job whose
blank was spoiled (``instant decide ID --requeue`` or ``--withdraw``). ``outlet run --config FILE``
drives the outlet's printers (settings: :mod:`sscard_issuer.outlet.station`) until interrupted; the
jobs survive it being killed at any moment.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sscard_issuer.cli.common import err, plain_errors
from sscard_issuer.cli.messages import language
from sscard_issuer.cli.registry_common import (
    DatabaseOpt,
    JsonOpt,
    OperatorOpt,
    acting,
    open_office,
    print_json,
    show_fields,
    show_rows,
)

if TYPE_CHECKING:
    from sscard_issuer.outlet.desk import JobView
    from sscard_issuer.outlet.job import Step

app = typer.Typer(help="Instant issuance at the counter. 即时制卡。", no_args_is_help=True)

# tests kill the worker right after a journal line: SSCARD_KILL_AT=STEP:PHASE (e.g. print:started)
KILL_AT_ENV = "SSCARD_KILL_AT"


def _job_rows(jobs: list[JobView]) -> list[list[object]]:
    lang = language()
    return [[j.id, j.card_ref, j.holder_name, j.state.display(lang), j.step_started.value if j.step_started else None,
             j.attempt, j.printer_name, j.failure] for j in jobs]


def _said(job: JobView, *, as_json: bool) -> None:
    if as_json:
        print_json(job.to_json())
    else:
        err.print(f"job {job.id}: {job.state.display(language())}", markup=False)


_HEADERS = ("job", "card", "holder", "state", "step under way", "attempt", "printer", "last failure")


@app.command("mark")
def mark(card: Annotated[str, typer.Argument(help="Card reference, identification code or holder's number.")],
         on_failure: Annotated[str, typer.Option(
             help="When a blank is spoiled: ask (wait for the operator), requeue, or withdraw.")] = "ask",
         database: DatabaseOpt = None, operator: OperatorOpt = None, as_json: JsonOpt = False) -> None:
    """Mark an applied-for card for instant issuance. 提交即时制卡。"""
    from sscard_issuer.outlet.desk import IssuanceDesk

    with plain_errors(), open_office(database) as office:
        job = IssuanceDesk(office).mark(acting(office, operator), card, policy=on_failure)
    _said(job, as_json=as_json)


@app.command("jobs")
def jobs(all_jobs: Annotated[bool, typer.Option("--all", help="Also the jobs that are over.")] = False,
         outlet: Annotated[str | None, typer.Option(metavar="CODE", help="The outlet; default: the operator's.")] = None,
         database: DatabaseOpt = None, operator: OperatorOpt = None, as_json: JsonOpt = False) -> None:
    """The outlet's instant-issuance queue. 制卡队列。"""
    from sscard_issuer.outlet.desk import IssuanceDesk

    with plain_errors(), open_office(database) as office:
        desk = IssuanceDesk(office)
        actor = acting(office, operator)
        found = desk.jobs(actor, outlet_code=outlet, open_only=not all_jobs)
        printers = desk.printers(actor, outlet)
    if as_json:
        print_json({"jobs": [j.to_json() for j in found],
                    "printers": [{"name": p.name, "state": p.state, "conditions": p.conditions.split(",") if p.conditions
                                  else [], "job": p.job_id} for p in printers]})
        return
    show_rows("instant issuance / 即时制卡", _HEADERS, _job_rows(found))
    if printers:
        show_rows("printers / 打印机", ("printer", "state", "conditions", "job"),
                  [[p.name, p.state, p.conditions, p.job_id] for p in printers])


@app.command("show")
def show(job_id: int, database: DatabaseOpt = None, operator: OperatorOpt = None, as_json: JsonOpt = False) -> None:
    """One job and its journal. 制卡任务详情。"""
    from sscard_issuer.outlet.desk import IssuanceDesk

    with plain_errors(), open_office(database) as office:
        job, journal = IssuanceDesk(office).job(acting(office, operator), job_id)
    if as_json:
        print_json({**job.to_json(), "journal": [{"attempt": line.attempt, "step": line.step, "phase": line.phase,
                                                  "printer": line.printer_name, "detail": line.detail, "at": line.at}
                                                 for line in journal]})
        return
    show_fields(f"job {job.id}", list(zip(_HEADERS, _job_rows([job])[0], strict=True)))
    show_rows("journal / 制卡日志", ("at", "attempt", "step", "phase", "printer", "detail"),
              [[line.at, line.attempt, line.step, line.phase, line.printer_name, line.detail] for line in journal])


@app.command("decide")
def decide_job(job_id: int,
               requeue: Annotated[bool, typer.Option("--requeue/--withdraw",
                                                     help="A new blank, or no instant issuance for this card.")],
               database: DatabaseOpt = None, operator: OperatorOpt = None, as_json: JsonOpt = False) -> None:
    """Decide on a job whose blank was spoiled. 处理制卡失败的任务。"""
    from sscard_issuer.outlet.desk import IssuanceDesk

    with plain_errors(), open_office(database) as office:
        job = IssuanceDesk(office).decide(acting(office, operator), job_id, requeue=requeue)
    _said(job, as_json=as_json)


def run(config: Annotated[Path, typer.Option(help="The station's settings (JSON: outlet, printers, profile).")],
        database: DatabaseOpt = None,
        once: Annotated[bool, typer.Option(help="Stop when the queue is empty.")] = False) -> None:
    """Drive the outlet's printers: claim queued jobs and issue the cards. 运行制卡工作站。"""
    from sscard_issuer.outlet.desk import IssuanceDesk
    from sscard_issuer.outlet.station import Station, StationConfig, build_workers, issuance_worker

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with plain_errors(), open_office(database) as office:
        settings = StationConfig.load(config)
        desk = IssuanceDesk(office)
        checkpoint = _kill_at(os.environ.get(KILL_AT_ENV))
        workers = build_workers(settings, desk, make=lambda **kw: issuance_worker(
            profile=settings.profile, checkpoint=checkpoint, **kw))
        if once:
            for worker in workers:
                while worker.run_once():
                    pass
                worker.printer.close()
            return
        station = Station(workers).start()
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        err.print(f"outlet {settings.outlet}: {len(workers)} printer(s) at work; Ctrl-C stops", markup=False)
        while not stop.wait(0.5) and station.alive():
            pass
        station.stop()


def print_face(card: Annotated[str, typer.Argument(help="Card reference, identification code or holder's number.")],
               queue: Annotated[str | None, typer.Option(help="CUPS queue of a face-only card printer.")] = None,
               cups_server: Annotated[str | None, typer.Option(
                   metavar="HOST|SOCKET", help="The CUPS server (default: the system's).")] = None,
               out: Annotated[Path | None, typer.Option(help="Also write the face as PNG.")] = None,
               database: DatabaseOpt = None, operator: OperatorOpt = None) -> None:
    """Print a personalised card's face on a face-only printer (CUPS), or write it as PNG. 打印卡面。"""
    from sscard_issuer.outlet.desk import IssuanceDesk
    from sscard_issuer.outlet.face import CUPS_CANVAS
    from sscard_issuer.outlet.station import make_face

    if queue is None and out is None:
        raise typer.BadParameter("give --queue (a CUPS queue), --out (a PNG file) or both", param_hint="'--queue'")
    with plain_errors(), open_office(database) as office:
        data = IssuanceDesk(office).face_data(acting(office, operator), card)
        face = make_face(data, CUPS_CANVAS)
        if out is not None:
            face.save(out)
        if queue is not None:
            from sscard_issuer.outlet.cups_printer import CupsPrinter

            printer = CupsPrinter(queue, server=cups_server)
            try:
                printer.prepare()
                printer.print_face(face)
            finally:
                printer.close()
    err.print(f"face of card {data['card_number']} " + (f"printed on {queue}" if queue else f"written to {out}"),
              markup=False)


def _kill_at(where: str | None) -> Any:
    """A checkpoint that kills this process (SIGKILL: no clean-up at all) after one journal line."""
    if not where:
        return lambda _step, _phase: None
    step_name, _, phase = where.partition(":")

    def checkpoint(step: Step, when: str) -> None:
        if step.value == step_name and when == phase:
            os.kill(os.getpid(), signal.SIGKILL)

    return checkpoint
