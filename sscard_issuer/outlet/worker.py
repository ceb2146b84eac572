"""The worker of one printer: claims the outlet's instant-issuance jobs and runs their steps.

Each step is journalled before and after it runs (:class:`~sscard_issuer.outlet.desk.IssuanceDesk`).
What can go wrong, and what the worker does:

- a printer fault (feeder empty, ribbon ended, cover open, jam, reject box full, no answer): the
  printer is recorded as paused with what to do; the worker reads its status until the fault is
  gone, then runs the same step again: nothing done before the fault is done twice;
- the card or its chip fails (personalisation refused, read-back differs, the card vanished): the
  card goes to the reject box, is counted as spoiled, and the job follows its ``on_failure`` policy;
- the process dies: the next worker for this printer finds the job with a step begun and not
  finished, and takes it up as :attr:`Step.after_crash` says (asking the printer where the card is,
  running the step again, or rejecting a card whose print was cut short).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from sscard_issuer.apdu import CardError
from sscard_issuer.apdu.atr import Atr
from sscard_issuer.card.reader import read_card
from sscard_issuer.credential import store as ecard_store
from sscard_issuer.errors import SscardError
from sscard_issuer.lifecycle.access import Actor
from sscard_issuer.lifecycle.states import CardState
from sscard_issuer.outlet.desk import IssuanceDesk, JobView
from sscard_issuer.outlet.job import AfterCrash, Step, next_step
from sscard_issuer.outlet.printer import CardPosition, Condition, Printer, PrinterFault, PrinterStatus
from sscard_issuer.perso.errors import PersoError
from sscard_issuer.perso.prepare import PersoRecord
from sscard_issuer.registry.holders import Application, Card, Person
from sscard_issuer.registry.models import JobState as PersoState
from sscard_issuer.registry.models import PersoJob
from sscard_issuer.transport.errors import TransportError

if TYPE_CHECKING:
    from PIL.Image import Image

    from sscard_issuer.keys.base import KeyStore
    from sscard_issuer.perso import Personaliser
    from sscard_issuer.perso.profile import Profile
    from sscard_issuer.transport.base import Transport

log = logging.getLogger(__name__)

Encoder = Callable[[float], "Transport"]  # connects to the card at the contact station (timeout, seconds)
FaceMaker = Callable[[dict[str, Any], tuple[int, int]], "Image"]  # the face from the card's data, at a canvas
EcardIssuer = Callable[[str], str | None]  # card_ref -> the e-card's id (None: not issued, reason audited)
Checkpoint = Callable[[Step, str], None]  # called after each journal line (tests kill the process here)


class CardFailed(SscardError):
    """The card of this attempt cannot become a good card: it goes to the reject box."""


@dataclass
class WorkerSettings:
    card_timeout: float = 10.0  # seconds to wait for the card to answer at the contact station
    poll_interval: float = 0.5  # seconds between status reads while the printer is paused
    idle_interval: float = 0.5  # seconds between looks at the queue when it is empty


@dataclass
class PrinterWorker:
    """Runs jobs on one printer; :meth:`run` until ``stop`` is set, or :meth:`run_once` for one job."""

    name: str
    outlet_code: str
    printer: Printer
    encoder: Encoder
    desk: IssuanceDesk
    personaliser: Personaliser
    profile: Profile
    keys: KeyStore
    face: FaceMaker
    issue_ecard: EcardIssuer | None = None
    bank_pan: Callable[[str], str | None] = lambda _card_ref: None
    checkpoint: Checkpoint = lambda _step, _phase: None
    settings: WorkerSettings = field(default_factory=WorkerSettings)
    driver: str = "evolis"
    stop: threading.Event = field(default_factory=threading.Event)
    _transport: Transport | None = field(default=None, init=False)
    _prepared: bool = field(default=False, init=False)
    _shown: str = field(default="", init=False)  # the state last recorded for the console

    # -- the loop -----------------------------------------------------------------------------------

    def run(self) -> None:
        """Work until :attr:`stop` is set. An unexpected error is logged and the job taken up again
        later, exactly as after a crash."""
        try:
            self._seen("idle")
            while not self.stop.is_set():
                try:
                    worked = self.run_once()
                except _Stopped:
                    raise
                except SscardError:
                    log.exception("printer %s: the job stopped; it is taken up again", self.name)
                    worked = False
                if not worked:
                    self.stop.wait(self.settings.idle_interval)
        except _Stopped:
            pass
        finally:
            self._close_card()

    def run_once(self) -> bool:
        """Wait for a healthy printer, then run the next job to its end; False when the queue is empty."""
        self._healthy()
        if self._shown == "paused":  # fixed while idle: the console must not go on showing it paused
            self._seen("idle")
        if not self._prepared:  # the settings the steps rely on (no eject after printing, above all)
            self.printer.prepare()
            self._prepared = True
        job = self.desk.claim(self.name, self.outlet_code)
        if job is None:
            return False
        self._seen("working", job_id=job.id)
        try:
            self.run_job(job)
        finally:
            self._close_card()
            self._seen("idle")
        return True

    def run_job(self, job: JobView) -> JobView:
        if job.step_started is not None:
            job = self._take_up(job, job.step_started)
        while (step := next_step(job.state)) is not None and job.printer_name == self.name:
            job = self.desk.begin(job, step)
            self.checkpoint(step, "started")
            job = self._step(job, step)
        return job

    # -- one step -----------------------------------------------------------------------------------

    def _step(self, job: JobView, step: Step) -> JobView:
        while True:
            try:
                done = self._run(job, step)
            except PrinterFault as fault:
                self._pause(job, step, fault)
                if step is Step.PRINT and Condition.OFFLINE in fault.conditions:
                    # no answer: the face may be half printed, and cannot be printed over
                    return self._spoil(job, step, "the printer stopped answering while printing", requeue=True)
                continue  # the printer refused before doing anything, and is fixed: the same step again
            except (CardFailed, PersoError, TransportError, CardError) as failure:
                return self._spoil(job, step, str(failure))
            job = self.desk.finish(job, step, **done)
            self.checkpoint(step, "done")
            return job

    def _run(self, job: JobView, step: Step) -> dict[str, Any]:
        if step is Step.FEED:
            if self._card_position() is CardPosition.NONE:  # after a fault the card may be in already
                self.printer.load_for_encoding()
            return {}
        if step is Step.ENCODER:
            return {"card_serial": Atr.parse(self._card().atr).card_factor.hex().upper()}
        if step is Step.PERSONALISE:
            return {"outcome": self._personalise(job)}
        if step is Step.VERIFY:
            return {"detail": self._verify(job)}
        if step is Step.PRINT:
            self._close_card()
            self.printer.print_face(self.face(self._face_data(job), self.printer.canvas))
            return {}
        if step is Step.EJECT:
            self._close_card()
            if self._card_position() is not CardPosition.NONE:
                self.printer.eject()
            return {}
        if step is Step.REPORT:
            return {"detail": self._report(job)}
        if step is Step.ACTIVATE:
            status = self.desk.office.status(Actor.system(), job.card_ref)
            if status.state is CardState.COLLECTED:
                self.desk.office.activate(Actor.system(), job.card_ref)
            return {}
        # Step.ECARD: made at hand-over when the platform's status lists exist (else audited why not)
        ecard = self.issue_ecard(job.card_ref) if self.issue_ecard is not None else self._active_ecard(job.card_ref)
        if ecard is None:  # the card is handed over all the same; the e-card can be issued later
            return {"detail": {"ecard_id": None, "reason": "no e-card: the audit log's ecard.not_issued says why"}}
        return {"detail": {"ecard_id": ecard}}

    def _personalise(self, job: JobView) -> dict[str, Any]:
        """Personalise the card, or resume its personalisation; a card whose personalisation finished
        before a crash cut in is not written again: its record is taken from the personaliser's journal."""
        finished = self._finished_perso(job.card_serial)
        if finished is not None:
            job_id, record = finished
        else:
            application, photo = self._application(job)
            outcome = self.personaliser.personalise(self._card(), application, self.profile, photo=photo)
            job_id, record = outcome.job_id, outcome.record
        applicant = record.applicant
        return {"card_number": str(applicant.card_number), "card_id": record.card_id.hex,
                "issue_date": applicant.issue_date.isoformat(), "expiry_date": applicant.expiry_date.isoformat(),
                "bank_pan": record.bank_pan, "perso_job": job_id}

    def _active_ecard(self, card_ref: str) -> str | None:
        with self.desk.office.registry.transaction(durable=False) as session:
            ecard = ecard_store.active_for_card(session, card_ref)
            return None if ecard is None else ecard.ecard_id

    def _finished_perso(self, card_serial: str | None) -> tuple[int, PersoRecord] | None:
        with self.desk.office.registry.transaction(durable=False) as session:
            row = session.execute(select(PersoJob).where(PersoJob.card_serial == card_serial,
                                                         PersoJob.state == PersoState.DONE)).scalar_one_or_none()
            return None if row is None else (row.id, PersoRecord.from_json(row.record))

    def _verify(self, job: JobView) -> dict[str, Any]:
        """Read the card back as a national terminal does and compare it with what was prepared."""
        assert job.outcome is not None
        reading = read_card(self._card(), self.keys)
        if not reading.genuine or reading.data is None:
            raise CardFailed("the card read back is not genuine (its internal authentication failed)")
        got = {"card_number": str(reading.data.card_number), "card_id": reading.data.card_id.hex}
        want = {k: job.outcome[k] for k in got}
        if got != want:
            raise CardFailed(f"the card read back differs from what was written: {got} != {want}")
        return got

    def _report(self, job: JobView) -> dict[str, Any]:
        """Report back (制卡回盘) and hand over: each only if not done yet (a crash may have cut in between)."""
        assert job.outcome is not None
        office, system, outcome = self.desk.office, Actor.system(), job.outcome
        status = office.status(system, job.card_ref)
        if status.card_id is None:
            office.record_personalisation(system, job.card_ref, card_number=outcome["card_number"],
                                          card_id=outcome["card_id"],
                                          issued_on=date.fromisoformat(outcome["issue_date"]),
                                          expires_on=date.fromisoformat(outcome["expiry_date"]),
                                          bank=outcome.get("bank_pan") is not None)
            status = office.status(system, job.card_ref)
        if status.state is CardState.IN_PRODUCTION:
            office.collect(system, job.card_ref)
        return {"card_number": outcome["card_number"], "card_id": outcome["card_id"]}

    # -- the card and the printer ---------------------------------------------------------------------

    def _card(self) -> Transport:
        if self._transport is None:
            self._transport = self.encoder(self.settings.card_timeout)
        return self._transport

    def _close_card(self) -> None:
        if self._transport is not None:
            transport, self._transport = self._transport, None
            try:
                transport.close()
            except SscardError:
                log.warning("closing the encoder's connection failed", exc_info=True)

    def _card_position(self) -> CardPosition:
        return self.printer.status().card

    def _healthy(self) -> PrinterStatus:
        """The printer's status once nothing blocks it (waiting, paused, while something does)."""
        while True:
            try:
                status = self.printer.status()
            except PrinterFault as fault:
                self._seen("paused", conditions=fault.conditions)
            else:
                if not status.blocking:
                    return status
                self._seen("paused", conditions=status.blocking)
            if self.stop.wait(self.settings.poll_interval):
                raise _Stopped

    def _pause(self, job: JobView, step: Step, fault: PrinterFault) -> None:
        advice = [c.advice for c in sorted(fault.conditions, key=lambda c: c.value)]
        log.warning("printer %s paused at step %s of job %s: %s", self.name, step.value, job.id, fault)
        self._seen("paused", conditions=fault.conditions, job_id=job.id)
        self.desk.note(job, step, "paused", {"conditions": sorted(c.value for c in fault.conditions),
                                              "advice_zh": [a[0] for a in advice], "advice_en": [a[1] for a in advice]})
        self._close_card()
        self._healthy()
        self._seen("working", job_id=job.id)
        self.desk.note(job, step, "resumed", {})

    def _reject(self) -> None:
        self._close_card()
        while True:
            try:
                if self._card_position() is not CardPosition.NONE:
                    self.printer.reject()
                return
            except PrinterFault as fault:  # a full reject box: empty it, then the card goes in
                self._seen("paused", conditions=fault.conditions)
                self._healthy()

    def _spoil(self, job: JobView, step: Step, reason: str, *, requeue: bool = False) -> JobView:
        fed = job.state.card_inside or step is not Step.FEED
        if fed:
            self._reject()
        if job.card_serial is not None:  # its numbers, if personalisation allocated any, are burnt
            self.personaliser.spoil_card(job.card_serial, f"{step.value}: {reason}")
        log.warning("job %s attempt %s failed at %s: %s", job.id, job.attempt, step.value, reason)
        return self.desk.spoil(job, step, reason, fed=fed, requeue=requeue)

    def _take_up(self, job: JobView, step: Step) -> JobView:
        """A step begun by a worker that died: decide from the step and the printer what happened."""
        self.desk.note(job, step, "taken_up", {"after_crash": step.after_crash.value})
        if step.after_crash is AfterCrash.SPOIL:  # not the application's fault: a new blank, at once
            return self._spoil(job, step, "interrupted while printing: the face may be incomplete", requeue=True)
        if step.after_crash is AfterCrash.ASK_PRINTER:
            position = self._card_position()
            moved = position is not CardPosition.NONE if step is Step.FEED else position is CardPosition.NONE
            if moved:
                job = self.desk.finish(job, step)
                self.checkpoint(step, "done")
                return job
        return self._step(job, step)  # REPEAT, or a move that did not happen

    def _seen(self, state: str, *, conditions: frozenset[Any] = frozenset(), job_id: int | None = None) -> None:
        self.desk.printer_seen(self.name, self.outlet_code, self.driver, state=state, conditions=conditions,
                               job_id=job_id)
        self._shown = state

    # -- the registry's data ------------------------------------------------------------------------

    def _application(self, job: JobView) -> tuple[dict[str, Any], bytes | None]:
        with self.desk.office.registry.transaction(durable=False) as session:
            card, person, application = session.execute(
                select(Card, Person, Application).join(Person, Person.id == Card.person_id)
                .join(Application, Application.id == Card.application_id).where(Card.card_ref == job.card_ref)).one()
            photo = application.photo
            ssn = person.social_security_number or ""
            doc = {"name": person.name, "ssn": ssn, "sex": person.sex,
                   "ethnicity": person.ethnicity or OTHER_ETHNICITY,
                   # a resident ID number begins with the birthplace's area code
                   "birthplace": ssn[:6] if ssn[:6].isdigit() else card.area_code,
                   "birth_date": person.birth_date.isoformat(), "area_code": card.area_code}
        pan = self.bank_pan(job.card_ref)
        if pan is not None:
            doc["bank_pan"] = pan
        return doc, photo

    def _face_data(self, job: JobView) -> dict[str, Any]:
        assert job.outcome is not None
        doc, photo = self._application(job)
        return {"name": doc["name"], "ssn": doc["ssn"], "card_number": job.outcome["card_number"],
                "issue_date": job.outcome["issue_date"], "bank_pan": job.outcome.get("bank_pan"), "photo": photo}


OTHER_ETHNICITY = "97"  # GB/T 3304 "other": people without a Chinese ethnicity on record


class _Stopped(Exception):
    pass

