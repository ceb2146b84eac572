"""The issuance desk: instant-issuance jobs in the registry, for operators and for the workers.

Operators mark a card for instant issuance (:meth:`IssuanceDesk.mark`), watch the queue, and decide
what happens to a job whose blank was spoiled. Workers claim jobs for their printer and record each
step (:meth:`begin`, :meth:`finish`, :meth:`spoil`): every record is one transaction, with its stock
movement (a blank fed, a good card, a spoiled one) in that same transaction, so the stock count and
the journal cannot disagree. A compare-and-set on the job's ``version`` makes two workers on one job
impossible: the second is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sscard_issuer.lifecycle import ledger, stock
from sscard_issuer.lifecycle.access import Actor, Permission
from sscard_issuer.lifecycle.actions import Produce
from sscard_issuer.lifecycle.errors import ConcurrentChange
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.lifecycle.states import CardState
from sscard_issuer.lifecycle.stock import StockSummary
from sscard_issuer.outlet.job import (
    JobRefused,
    JobState,
    OnFailure,
    Step,
    after_spoil,
    check_step,
    decide,
    on_failure,
)
from sscard_issuer.registry import audit
from sscard_issuer.registry.holders import Card, Person
from sscard_issuer.registry.issuance import IssuanceJob, IssuanceStep, PrinterRow
from sscard_issuer.registry.office import StockKind


@dataclass(frozen=True)
class JobView:
    """A job as the console and the workers read it."""

    id: int
    card_ref: str
    outlet_code: str
    holder_name: str
    state: JobState
    step_started: Step | None
    attempt: int
    printer_name: str | None
    on_failure: OnFailure
    card_serial: str | None
    outcome: dict[str, Any] | None
    failure: str | None
    version: int
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "card_ref": self.card_ref, "outlet": self.outlet_code, "holder": self.holder_name,
                "state": self.state.value, "state_zh": self.state.display("zh"), "state_en": self.state.display("en"),
                "step_started": self.step_started.value if self.step_started else None, "attempt": self.attempt,
                "printer": self.printer_name, "on_failure": self.on_failure.value, "card_serial": self.card_serial,
                "failure": self.failure, "version": self.version, "updated_at": self.updated_at.isoformat()}


@dataclass(frozen=True)
class JournalLine:
    attempt: int
    step: str
    phase: str
    printer_name: str | None
    detail: str | None
    at: datetime


@dataclass(frozen=True)
class SpoiledCard:
    job_id: int
    attempt: int
    card_serial: str | None
    step: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class Reconciliation:
    """The outlet's stock against the jobs: every blank fed is a good card, a spoiled one (listed,
    with why), or a card inside a printer now (an open job's). ``balanced`` says they add up."""

    summary: StockSummary
    spoiled: list[SpoiledCard]
    inside: list[JobView]

    @property
    def balanced(self) -> bool:
        return self.summary.unaccounted == len(self.inside) and self.summary.spoiled == len(self.spoiled)

    def to_json(self) -> dict[str, Any]:
        return {"stock": self.summary.to_json(), "balanced": self.balanced,
                "spoiled": [{"job": c.job_id, "attempt": c.attempt, "card_serial": c.card_serial, "step": c.step,
                             "reason": c.reason, "at": c.at.isoformat()} for c in self.spoiled],
                "inside_printers": [{"job": j.id, "printer": j.printer_name, "card_serial": j.card_serial,
                                     "state": j.state.value} for j in self.inside]}


def _view(row: IssuanceJob, holder: str) -> JobView:
    return JobView(row.id, row.card_ref, row.outlet_code, holder, JobState(row.state),
                   Step(row.step_started) if row.step_started else None, row.attempt, row.printer_name,
                   OnFailure(row.on_failure), row.card_serial, json.loads(row.outcome) if row.outcome else None,
                   row.failure, row.version, row.updated_at)


class IssuanceDesk:
    """Instant-issuance jobs on an :class:`Office`'s registry (its clock, audit and lock order)."""

    def __init__(self, office: Office) -> None:
        self.office = office

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.office.clock

    # -- operators ---------------------------------------------------------------------------------

    def mark(self, actor: Actor, card_key: str, *, policy: OnFailure | str = OnFailure.ASK) -> JobView:
        """Mark an applied-for card for instant issuance at the actor's outlet (it goes into production)."""
        chosen = on_failure(policy)
        with self.office.transaction() as session:
            card = ledger.find_card(session, card_key, lock=True)
            where = actor.at(Permission.CARD_OPERATION, card.application.outlet_code)  # where it was applied for
            if actor.operator_id is None:
                raise JobRefused("a card is marked by an operator of the outlet, not by the system",
                                 "须由本网点经办人员提交即时制卡")
            if not card.application.instant:
                raise JobRefused(f"card {card.card_ref} was not applied for with instant issuance",
                                 "该申请未选择即时制卡")
            if card.state == CardState.APPLIED.value:
                ledger.transition(session, card.card_ref, Produce(), at=self.clock(), actor=actor, outlet_code=where,
                                  settings=self.office.settings.lifecycle, hooks=tuple(self.office.hooks))
            elif card.state != CardState.IN_PRODUCTION.value or card.card_id is not None:
                raise JobRefused(f"card {card.card_ref} is {card.state}: only a card applied for can be made here",
                                 f"卡片当前状态为 {card.state}，不能即时制卡")
            if self._open_job(session, card.card_ref) is not None:
                raise JobRefused(f"card {card.card_ref} already has an instant-issuance job", "该卡已在制卡队列中")
            now = self.clock()
            row = IssuanceJob(card_ref=card.card_ref, outlet_code=where, state=JobState.MARKED.value, attempt=1,
                              on_failure=chosen.value, requested_by=actor.operator_id,
                              created_at=now, updated_at=now, version=1)
            session.add(row)
            session.flush()
            self._journal(session, row, "mark", "done", detail={"policy": chosen.value})
            audit.append(session, at=now, actor=actor.username, outlet_code=where, action="instant.marked",
                         subject=f"card:{card.card_ref}", detail={"job": row.id, "on_failure": chosen.value})
            return self._to_view(session, row)

    def jobs(self, actor: Actor, *, outlet_code: str | None = None, open_only: bool = True) -> list[JobView]:
        """The outlet's jobs, oldest first (an operator sees their own outlet only)."""
        where = actor.at(Permission.VIEW, outlet_code) if not actor.is_system else outlet_code
        with self.office.registry.transaction(durable=False) as session:
            query = select(IssuanceJob, Person.name).join(Card, Card.card_ref == IssuanceJob.card_ref) \
                .join(Person, Person.id == Card.person_id).order_by(IssuanceJob.id)
            if where is not None:
                query = query.where(IssuanceJob.outlet_code == where)
            if open_only:
                query = query.where(IssuanceJob.state.not_in([s.value for s in JobState if s.over]))
            return [_view(row, name) for row, name in session.execute(query)]

    def job(self, actor: Actor, job_id: int) -> tuple[JobView, list[JournalLine]]:
        with self.office.registry.transaction(durable=False) as session:
            row = self._row(session, job_id)
            if not actor.is_system:
                actor.at(Permission.VIEW, row.outlet_code)
            lines = [JournalLine(s.attempt, s.step, s.phase, s.printer_name, s.detail, s.at) for s in session.execute(
                select(IssuanceStep).where(IssuanceStep.job_id == job_id).order_by(IssuanceStep.id)).scalars()]
            return self._to_view(session, row), lines

    def decide(self, actor: Actor, job_id: int, *, requeue: bool) -> JobView:
        """The operator's decision on a failed job: a new attempt with a new blank, or no instant issuance."""
        with self.office.transaction() as session:
            row = self._row(session, job_id, lock=True)
            actor.at(Permission.CARD_OPERATION, row.outlet_code)
            target = decide(JobState(row.state), requeue)
            self._move(session, row, target, new_attempt=requeue)
            self._journal(session, row, "decide", "done", detail={"requeue": requeue, "by": actor.username})
            audit.append(session, at=self.clock(), actor=actor.username, outlet_code=row.outlet_code,
                         action="instant.requeued" if requeue else "instant.withdrawn", subject=f"card:{row.card_ref}",
                         detail={"job": row.id, "attempt": row.attempt})
            return self._to_view(session, row)

    def reconcile(self, actor: Actor, outlet_code: str | None = None) -> Reconciliation:
        """The stock count checked against the jobs' journal (an auditor's or supervisor's report)."""
        summary = self.office.stock(actor, outlet_code)
        with self.office.registry.transaction(durable=False) as session:
            lines = session.execute(
                select(IssuanceStep).join(IssuanceJob, IssuanceJob.id == IssuanceStep.job_id)
                .where(IssuanceJob.outlet_code == summary.outlet_code, IssuanceStep.phase == "failed")
                .order_by(IssuanceStep.id)).scalars().all()
        spoiled = []
        for line in lines:
            detail = json.loads(line.detail or "{}")
            if detail.get("spoiled"):
                spoiled.append(SpoiledCard(line.job_id, line.attempt, detail.get("card_serial"), line.step,
                                           str(detail.get("reason", "")), line.at))
        inside = [job for job in self.jobs(actor, outlet_code=summary.outlet_code) if job.state.card_inside]
        return Reconciliation(summary, spoiled, inside)

    def face_data(self, actor: Actor, card_key: str) -> dict[str, Any]:
        """What the face of a card shows, from the registry (:func:`~.station.make_face` draws it);
        only for a card whose numbers personalisation recorded."""
        with self.office.registry.transaction(durable=False) as session:
            card = ledger.find_card(session, card_key)
            actor.at(Permission.VIEW, card.application.outlet_code)
            if card.card_number is None or card.issued_on is None:
                raise JobRefused(f"card {card.card_ref} has no card number yet: it is not personalised",
                                 "该卡尚未写卡，没有卡号，不能打印卡面")
            person = session.get(Person, card.person_id)
            assert person is not None
            return {"name": person.name, "ssn": person.social_security_number or "", "card_number": card.card_number,
                    "issue_date": card.issued_on.isoformat(), "bank_pan": None, "photo": card.application.photo}

    # -- printers ---------------------------------------------------------------------------------

    def printer_seen(self, name: str, outlet_code: str, driver: str, *, state: str, conditions: frozenset[Any] = frozenset(),
                     job_id: int | None = None) -> None:
        """Record a printer's state as its worker last saw it (paused, with what to fix; or working)."""
        values = {"outlet_code": outlet_code, "driver": driver, "state": state, "job_id": job_id,
                  "conditions": ",".join(sorted(c.value for c in conditions)), "updated_at": self.clock()}
        with self.office.registry.transaction(durable=False) as session:
            row = session.get(PrinterRow, name)
            if row is None:
                session.add(PrinterRow(name=name, **values))
            else:
                for key, value in values.items():
                    setattr(row, key, value)

    def printers(self, actor: Actor, outlet_code: str | None = None) -> list[PrinterRow]:
        where = actor.at(Permission.VIEW, outlet_code) if not actor.is_system else outlet_code
        with self.office.registry.transaction(durable=False) as session:
            query = select(PrinterRow).order_by(PrinterRow.name)
            if where is not None:
                query = query.where(PrinterRow.outlet_code == where)
            rows = list(session.execute(query).scalars())
            session.expunge_all()
            return rows

    # -- workers ----------------------------------------------------------------------------------

    def claim(self, printer_name: str, outlet_code: str) -> JobView | None:
        """The job this printer should work on: its own unfinished one first (after a crash), else the
        oldest job waiting at the outlet, assigned to it in the same transaction."""
        with self.office.transaction() as session:
            own = session.execute(select(IssuanceJob).where(
                IssuanceJob.printer_name == printer_name,
                IssuanceJob.state.not_in([JobState.ECARD_ISSUED.value, JobState.WITHDRAWN.value, JobState.FAILED.value]))
                .order_by(IssuanceJob.id).limit(1)).scalar_one_or_none()
            if own is not None:
                return self._to_view(session, own)
            waiting = session.execute(select(IssuanceJob).where(
                IssuanceJob.outlet_code == outlet_code, IssuanceJob.state == JobState.MARKED.value,
                IssuanceJob.printer_name.is_(None)).order_by(IssuanceJob.id).limit(1)
                .with_for_update(skip_locked=True)).scalar_one_or_none()
            if waiting is None:
                return None
            waiting.printer_name = printer_name
            self._bump(session, waiting)
            self._journal(session, waiting, "claim", "done")
            return self._to_view(session, waiting)

    def begin(self, job: JobView, step: Step) -> JobView:
        """Journal: ``step`` starts now (a second worker on the job is refused here)."""
        check_step(job.state, step)
        with self.office.registry.transaction() as session:
            row = self._cas(session, job)
            row.step_started = step.value
            self._bump(session, row)
            self._journal(session, row, step.value, "started")
            return self._to_view(session, row)

    def finish(self, job: JobView, step: Step, *, card_serial: str | None = None,
               outcome: dict[str, Any] | None = None, detail: dict[str, Any] | None = None) -> JobView:
        """Journal: ``step`` is done; the job moves on. A blank fed and a good card out are counted here."""
        check_step(job.state, step)
        with self.office.transaction() as session:
            row = self._cas(session, job)
            row.state, row.step_started = step.target.value, None
            if card_serial is not None:
                row.card_serial = card_serial
            if outcome is not None:
                row.outcome = json.dumps(outcome, ensure_ascii=False, sort_keys=True)
            if step is Step.FEED:
                self._stock(session, row, StockKind.FED)
            elif step is Step.EJECT:
                self._stock(session, row, StockKind.GOOD)
            self._bump(session, row)
            self._journal(session, row, step.value, "done", detail=detail)
            if step is Step.ECARD:
                audit.append(session, at=self.clock(), actor="system", outlet_code=row.outlet_code,
                             action="instant.done", subject=f"card:{row.card_ref}",
                             detail={"job": row.id, "attempt": row.attempt, "card_serial": row.card_serial})
            return self._to_view(session, row)

    def spoil(self, job: JobView, step: Step | None, reason: str, *, fed: bool, requeue: bool = False) -> JobView:
        """The attempt failed: its card (if one was fed) is in the reject box, counted as spoiled; the
        job goes where its policy says (waiting for the operator, back to the queue, or withdrawn),
        or back to the queue whatever the policy when ``requeue`` (the failure was not the application's)."""
        with self.office.transaction() as session:
            row = self._cas(session, job)
            if fed:
                self._stock(session, row, StockKind.SPOILED)
            label = step.value if step else "job"
            row.failure = f"{label}: {reason}"
            self._journal(session, row, label, "failed", detail={"reason": reason, "card_serial": row.card_serial,
                                                                  "spoiled": fed})
            target = JobState.MARKED if requeue else after_spoil(OnFailure(row.on_failure))
            self._move(session, row, target, new_attempt=target is JobState.MARKED)
            audit.append(session, at=self.clock(), actor="system", outlet_code=row.outlet_code,
                         action="instant.spoiled" if fed else "instant.failed", subject=f"card:{row.card_ref}",
                         detail={"job": row.id, "attempt": job.attempt, "step": label, "reason": reason,
                                 "card_serial": job.card_serial, "then": target.value})
            return self._to_view(session, row)

    def note(self, job: JobView, step: Step, phase: str, detail: dict[str, Any]) -> None:
        """A journal line that changes nothing (a printer paused on the job, and resumed)."""
        with self.office.registry.transaction(durable=False) as session:
            row = self._row(session, job.id)
            self._journal(session, row, step.value, phase, detail=detail)

    # -- inside ------------------------------------------------------------------------------------

    def _row(self, session: Session, job_id: int, *, lock: bool = False) -> IssuanceJob:
        query = select(IssuanceJob).where(IssuanceJob.id == job_id).execution_options(populate_existing=True)
        row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
        if row is None:
            raise JobRefused(f"no instant-issuance job {job_id}", f"制卡任务 {job_id} 不存在")
        return row

    def _cas(self, session: Session, job: JobView) -> IssuanceJob:
        row = self._row(session, job.id, lock=True)
        if row.version != job.version:
            raise ConcurrentChange(f"instant-issuance job {job.id}", job.version, row.version)
        return row

    def _bump(self, session: Session, row: IssuanceJob) -> None:
        row.version += 1
        row.updated_at = self.clock()
        session.flush()

    def _move(self, session: Session, row: IssuanceJob, target: JobState, *, new_attempt: bool) -> None:
        row.state, row.step_started = target.value, None
        if new_attempt:
            row.attempt += 1
            row.printer_name, row.card_serial, row.outcome = None, None, None
        self._bump(session, row)

    def _open_job(self, session: Session, card_ref: str) -> IssuanceJob | None:
        return session.execute(select(IssuanceJob).where(
            IssuanceJob.card_ref == card_ref,
            IssuanceJob.state.not_in([JobState.ECARD_ISSUED.value, JobState.WITHDRAWN.value]))).scalar_one_or_none()

    def _stock(self, session: Session, row: IssuanceJob, kind: StockKind) -> None:
        stock.record(session, Actor.system(), kind, 1, at=self.clock(), outlet_code=row.outlet_code,
                     reference=f"job {row.id}/{row.attempt}" + (f" card {row.card_serial}" if row.card_serial else ""))

    def _journal(self, session: Session, row: IssuanceJob, step: str, phase: str,
                 detail: dict[str, Any] | None = None) -> None:
        session.add(IssuanceStep(job_id=row.id, attempt=row.attempt, step=step, phase=phase,
                                 printer_name=row.printer_name, at=self.clock(),
                                 detail=json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None))
        session.flush()

    def _to_view(self, session: Session, row: IssuanceJob) -> JobView:
        name = session.execute(select(Person.name).join(Card, Card.person_id == Person.id)
                               .where(Card.card_ref == row.card_ref)).scalar_one()
        return _view(row, name)

