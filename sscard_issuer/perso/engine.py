"""Personalise a blank card, journaling every step, resuming after any interruption.

The script is a list of named steps, each needing a card session (the transport key's, the
update key's, or none of its own). Before a step runs, "started" is committed to the journal;
after it, "done". A power cut, a pulled card or a crash leaves the job WRITING: the next run on the
same card (found by its ATR serial) re-opens the session the first unfinished step needs and
carries on. Every step is safe to run again (writes of the same bytes), so a step that was cut
after the card committed it but before the journal said so simply runs twice.

A card that refuses what a healthy blank card accepts (a status word other than 9000 that a new
session does not cure), or that reads back different from the record, is spoiled: the job says
why, its numbers are void for ever, and the caller rejects the card.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import insert, select, update

from sscard_issuer.apdu import Atr, CardError, CommandApdu, find_path
from sscard_issuer.card import cos, ssc
from sscard_issuer.card.model import KeyRef
from sscard_issuer.card.reader import CardReading, SsseSession, read_card
from sscard_issuer.crypto import Algorithm
from sscard_issuer.errors import SscardError
from sscard_issuer.keys import CardKey, KeyClass, KeyStore
from sscard_issuer.perso.errors import CardSpoiled, PersoError, PersoInterrupted
from sscard_issuer.perso.prepare import PersoRecord, allocate_job, check_application
from sscard_issuer.perso.profile import KeySlot, Profile
from sscard_issuer.registry import (
    AllocationState,
    CardAllocation,
    JobState,
    PersoJob,
    PersoStep,
    Registry,
    StepState,
)
from sscard_issuer.transport import Transport, TransportError

UPDATE_CHUNK = 255 - cos.MAC_LENGTH  # data bytes per UPDATE BINARY, leaving room for the MAC
_UNFINISHED = (JobState.PREPARED, JobState.WRITING)


@dataclass
class Step:
    name: str
    session: str | None  # "TK", "UK" or None (the step opens what it needs)
    run: Callable[[], None]
    already_done: Callable[[], bool] | None = None


@dataclass
class PersoOutcome:
    job_id: int
    record: PersoRecord
    reading: CardReading
    resumed: bool
    apdus: int
    steps_run: list[str] = field(default_factory=list)


class Personaliser:
    """Personalises cards; holds the registry and key store, never key bytes."""

    def __init__(
        self,
        registry: Registry,
        keys: KeyStore,
        *,
        pki: Callable[[Transport, PersoRecord, Profile], None] | None = None,
        bank: Callable[[Transport, PersoRecord, Profile], None] | None = None,
        progress: Callable[[str], None] | None = None,
        today: date | None = None,
    ) -> None:
        self.registry = registry
        self.keys = keys
        self.pki = pki
        self.bank = bank
        self.progress = progress or (lambda _line: None)
        self.today = today or date.today()

    # -- the job --------------------------------------------------------------------------------

    def personalise(self, transport: Transport, application: dict[str, Any] | None, profile: Profile,
                    *, photo: bytes | None = None) -> PersoOutcome:
        """Personalise the blank card behind ``transport``, or resume its unfinished job.

        ``application`` may be None to resume; when given for a card with an unfinished job it
        must be the same applicant's.
        """
        if application is not None:
            dated = check_application(application, profile, today=self.today, photo=photo)
            self._check_hooks(profile, application)
        else:
            dated = None
        first_apdu = transport.apdu_count
        atr = Atr.parse(transport.atr)
        serial = atr.card_factor
        job = self._open_job(serial)
        resumed = job is not None
        selected: SsseSession | None = None
        if job is None:
            if dated is None or application is None:
                raise PersoError(f"no unfinished personalisation for card {serial.hex().upper()}: give an application")
            selected = self._expect_blank(transport, profile, area_code=str(dated["area_code"]))
            with self.registry.transaction() as session:
                job_row, record = allocate_job(session, dated, profile, card_serial=serial,
                                               bank_pan=application.get("bank_pan"), photo=photo)
                job_id = job_row.id
            self.progress(f"prepared: card number {record.applicant.card_number}, "
                          f"card identification code {record.card_id.hex}")
        else:
            job_id, record = job
            if record.profile != profile.name:
                raise PersoError(f"card {serial.hex().upper()} is being personalised with profile {record.profile}")
            if dated is not None and not _same_person(dated, record):
                raise PersoError(f"card {serial.hex().upper()} has an unfinished personalisation for another "
                                 "applicant: resume it (no application) or reject the card")
            self.progress(f"resuming job {job_id} for card number {record.applicant.card_number}")
        return self._run(transport, job_id, record, profile, atr, resumed, selected, first_apdu)

    def _check_hooks(self, profile: Profile, application: dict[str, Any]) -> None:
        """Refuse, before anything is allocated, a job this personaliser could not finish."""
        if profile.pki and self.pki is None:
            raise PersoError(f"profile {profile.name} personalises the PKI application: no CA given")
        if profile.bank is not None and application.get("bank_pan") and self.bank is None:
            raise PersoError(f"profile {profile.name} personalises the bank application: no bank keys given")

    def _open_job(self, serial: bytes) -> tuple[int, PersoRecord] | None:
        """The card's unfinished job; a card spoiled before is refused (it belongs in the reject box)."""
        with self.registry.transaction() as session:
            jobs = session.execute(
                select(PersoJob).where(PersoJob.card_serial == serial.hex().upper())
            ).scalars().all()
            for job in jobs:
                if job.state is JobState.SPOILED:
                    raise CardSpoiled(f"card {serial.hex().upper()} was spoiled before ({job.reason})")
                if job.state in (JobState.PREPARED, JobState.WRITING):
                    return job.id, PersoRecord.from_json(job.record)
            return None

    def _expect_blank(self, transport: Transport, profile: Profile, *, area_code: str) -> SsseSession:
        """Select the SSSE and check it is blank and of the profile's algorithm; the session stays."""
        session = SsseSession(transport, self.keys, area_code=area_code)
        try:
            session.select()
            fci = session.fci
        except TransportError as exc:
            raise PersoInterrupted(f"the card went away ({exc}) before anything was written") from exc
        except CardError as exc:
            raise PersoError(f"the card's social security application refuses selection ({exc})") from exc
        algorithm = find_path(fci, 0x6F, 0xA5, 0x9F0C, 0x86)
        if algorithm is None or Algorithm.from_card_id(algorithm.value[0]) is not profile.algorithm:
            raise PersoError(f"this card's chip does not do {profile.algorithm.value}, which profile "
                             f"{profile.name} needs")
        if _life_cycle_of(fci) != cos.LIFE_CYCLE_BLANK:
            raise PersoError("this card is not blank (its social security application is already personalised)")
        return session

    def _run(self, transport: Transport, job_id: int, record: PersoRecord, profile: Profile, atr: Atr,
             resumed: bool, selected: SsseSession | None, first_apdu: int) -> PersoOutcome:
        script = CardScript(transport, self.keys, record, profile, atr, selected=selected)
        steps = script.steps(pki=self.pki, bank=self.bank)
        done = self._done_steps(job_id)
        ran: list[str] = []
        current = "start"
        finished: str | None = None  # a step run whose "done" line is not yet written
        try:
            for step in steps:
                current = step.name
                if step.name in done:
                    continue
                if step.already_done is not None and step.already_done():
                    self._journal(job_id, done=[finished, step.name])
                    finished = None
                    continue
                script.open_session(step.session)
                # one commit says "the last step is done, this one starts": nothing happens between
                self._journal(job_id, done=[finished], started=step.name)
                step.run()
                finished = step.name
                ran.append(step.name)
                self.progress(f"  {step.name}")
            self._journal(job_id, done=[finished])
            current = "verify"
            reading = script.verify()
        except TransportError as exc:
            raise PersoInterrupted(f"the card went away ({exc}); put it back and run again to resume") from exc
        except CardSpoiled as exc:
            self._spoil(job_id, exc.reason)
            raise
        except (CardError, SscardError) as exc:
            reason = f"{current}: {exc}"
            self._spoil(job_id, reason)
            raise CardSpoiled(reason) from exc
        self._settle(job_id, JobState.DONE, AllocationState.USED)
        return PersoOutcome(job_id, record, reading, resumed, transport.apdu_count - first_apdu, ran)

    def spoil_card(self, card_serial: str, reason: str) -> bool:
        """The card ``card_serial`` went to the reject box after (or while) it was personalised, so
        its personalisation job is spoiled and its numbers are burnt (never given to another card).
        False when it has no job, or its job was spoiled already."""
        with self.registry.transaction() as session:
            job = session.execute(select(PersoJob).where(PersoJob.card_serial == card_serial.upper(),
                                                         PersoJob.state != JobState.SPOILED)
                                  .with_for_update()).scalar_one_or_none()
            if job is None:
                return False
            job.state, job.reason = JobState.SPOILED, reason
            session.execute(update(CardAllocation).where(CardAllocation.id == job.allocation_id)
                            .values(state=AllocationState.VOID).execution_options(synchronize_session=False))
            return True

    def _done_steps(self, job_id: int) -> set[str]:
        with self.registry.transaction() as session:
            rows = session.execute(
                select(PersoStep.name).where(PersoStep.job_id == job_id, PersoStep.state == StepState.DONE)
            ).scalars()
            return set(rows)

    def _journal(self, job_id: int, *, done: list[str | None], started: str | None = None) -> None:
        """Journal lines in one commit: steps that finished, then the step about to run."""
        lines = [{"job_id": job_id, "name": name, "state": StepState.DONE} for name in done if name]
        if started is not None:
            lines.append({"job_id": job_id, "name": started, "state": StepState.STARTED})
        if not lines:
            return
        # not flushed to disk: a line lost in a host crash only makes a repeatable step run again
        with self.registry.connection(durable=False) as connection:
            connection.execute(insert(PersoStep), lines)
            if started is not None:
                connection.execute(update(PersoJob).where(PersoJob.id == job_id, PersoJob.state == JobState.PREPARED)
                                   .values(state=JobState.WRITING))

    def _spoil(self, job_id: int, reason: str) -> None:
        self._settle(job_id, JobState.SPOILED, AllocationState.VOID, reason=reason)

    def _settle(self, job_id: int, state: JobState, numbers: AllocationState, *, reason: str | None = None) -> None:
        """An unfinished job's final state and its numbers', in one transaction: a compare-and-set on
        the job's state, so of two personalisers settling one job at once exactly one wins (the
        other waits for its commit, finds the job settled, changes nothing and is told)."""
        with self.registry.transaction() as session:
            allocation_id = session.execute(
                update(PersoJob).where(PersoJob.id == job_id, PersoJob.state.in_(_UNFINISHED))
                .values(state=state, **({"reason": reason} if reason is not None else {}))
                .returning(PersoJob.allocation_id).execution_options(synchronize_session=False)
            ).scalar_one_or_none()
            if allocation_id is None:
                now = session.scalar(select(PersoJob.state).where(PersoJob.id == job_id))
                raise PersoError(f"personalisation job {job_id} is already {now.value if now else 'gone'}: "
                                 f"another personaliser settled it first, so it cannot become {state.value}")
            changed = session.execute(
                update(CardAllocation)
                .where(CardAllocation.id == allocation_id, CardAllocation.state == AllocationState.ALLOCATED)
                .values(state=numbers).returning(CardAllocation.id).execution_options(synchronize_session=False)
            ).scalar_one_or_none()
            if changed is None:  # rolled back: the job stays unfinished
                raise PersoError(f"the numbers of personalisation job {job_id} are no longer allocated")


def _same_person(dated: dict[str, Any], record: PersoRecord) -> bool:
    mine = record.applicant.to_json()
    return all(str(dated[k]) == str(mine[k]) for k in ("name", "ssn", "birth_date", "area_code"))


def _life_cycle_of(fci: bytes) -> int | None:
    tag = find_path(fci, 0x6F, 0xA5, cos.LIFE_CYCLE_TAG) if fci else None
    return tag.value[0] if tag is not None and tag.value else None



class CardScript:
    """The APDU-level steps for one card, built from the profile and the record."""

    def __init__(self, transport: Transport, keys: KeyStore, record: PersoRecord, profile: Profile, atr: Atr,
                 *, selected: SsseSession | None = None):
        self.transport = transport
        self.keys = keys
        self.record = record
        self.profile = profile
        self.atr = atr
        self.area = str(record.applicant.area_code)
        self.sm: cos.SecureMessaging | None = None
        self.ssse = selected  # an SSSE session already selected (and not authenticated), if any
        self.session: str | None = None

    def _card_key(self, key_class: KeyClass, version: int = 1) -> CardKey:
        return self.keys.card_key(key_class, self.profile.algorithm, area_code=self.area,
                                  card_factor=self.atr.card_factor, version=version)

    # -- sessions -------------------------------------------------------------------------------

    def open_session(self, name: str | None) -> None:
        if name is None or name == self.session:
            return
        key_class = {"TK": KeyClass.TK, "UK": KeyClass.UK}[name]
        key_id = cos.DEFAULT_KEY_IDS[KeyClass.TK] if name == "TK" else self.profile.key_slot(KeyClass.UK).key_id
        if self.ssse is None:  # the SSSE is not selected (start, resume, or after another application)
            self.ssse = SsseSession(self.transport, self.keys, area_code=self.area)
            self.ssse.select()
        self.sm = self.ssse.authenticate(KeyRef(name, key_id, "personalisation session"), key_class)
        self.session = name

    def _send_sm(self, command: CommandApdu) -> None:
        assert self.sm is not None
        self.transport.send_checked(self.sm.wrap(command))

    def _leave_session(self) -> None:
        if self.ssse is not None:
            self.ssse.close()
        self.ssse = None
        self.session = None
        self.sm = None

    # -- steps ----------------------------------------------------------------------------------

    def steps(self, *, pki: Callable[[Transport, PersoRecord, Profile], None] | None,
              bank: Callable[[Transport, PersoRecord, Profile], None] | None) -> list[Step]:
        out: list[Step] = []
        for slot in self.profile.keys:
            out.append(Step(f"key:{slot.key_class.value}", "TK", partial(self._write_key, slot)))
        out.append(Step("pin", "TK", self._set_pin))
        records = self.record.records(self.profile)
        for file, spec in self.profile.records:
            value = records.get(file.sfi, {}).get(spec.tag)
            if value is not None:  # 4E only when the name needs it
                out.append(Step(f"record:{file.name}:{spec.tag:02X}", "UK",
                                partial(self._update_record, file.sfi, spec.tag, value)))
        photo = self.record.photo or b""
        for offset in range(0, len(photo), UPDATE_CHUNK):
            out.append(Step(f"photo:{offset}", "UK", partial(self._update_photo, offset)))
        if self.profile.pki:
            if pki is None:
                raise PersoError(f"profile {self.profile.name} personalises the PKI application: no CA given")
            out.append(Step("pki", None, lambda: self._other_application(pki)))
        if self.profile.bank is not None and self.record.bank_pan:
            if bank is None:
                raise PersoError(f"profile {self.profile.name} personalises the bank application: no bank keys")
            out.append(Step("bank", None, lambda: self._other_application(bank)))
        out.append(Step("finish", "TK", self._finish, already_done=self._personalised))
        return out

    def _write_key(self, slot: KeySlot) -> None:
        with self._card_key(KeyClass.TK) as tk, self._card_key(slot.key_class, slot.version) as key:
            wrapped = tk.wrap(key)
        body = bytes([cos.KEY_CLASS_CODES[slot.key_class], slot.version]) + wrapped
        self._send_sm(CommandApdu(cos.CLA_SM, cos.INS_WRITE_KEY, cos.P1_WRITE_KEY, slot.key_id, body))

    def _set_pin(self) -> None:
        with self._card_key(KeyClass.TK) as tk:
            block = tk.encrypt_block(cos.encode_pin_block(self.profile.pin.initial))
        self._send_sm(CommandApdu(cos.CLA_SM, cos.INS_WRITE_KEY, cos.P1_SET_PIN, self.profile.pin.retry_limit,
                                  block, sensitive=True))

    def _update_record(self, sfi: int, tag: int, value: bytes) -> None:
        self._send_sm(CommandApdu(0x04, 0xDC, tag, sfi << 3, bytes([tag, len(value)]) + value))

    def _update_photo(self, offset: int) -> None:
        assert self.record.photo is not None
        if offset == 0:
            self.transport.send_checked(CommandApdu(0x00, 0xA4, 0x02, 0x00, ssc.EF08.fid.to_bytes(2, "big")))
        chunk = self.record.photo[offset : offset + UPDATE_CHUNK]
        self._send_sm(CommandApdu(0x04, 0xD6, offset >> 8, offset & 0xFF, chunk))

    def _other_application(self, personalise: Callable[[Transport, PersoRecord, Profile], None]) -> None:
        self._leave_session()  # selecting another application ends the SSSE session
        personalise(self.transport, self.record, self.profile)

    def _personalised(self) -> bool:
        """Whether the card already finished (a cut after FINISH committed); leaves the SSSE selected."""
        self._leave_session()
        self.ssse = SsseSession(self.transport, self.keys, area_code=self.area)
        self.ssse.select()
        return _life_cycle_of(self.ssse.fci) == cos.LIFE_CYCLE_PERSONALISED

    def _finish(self) -> None:
        self._send_sm(CommandApdu(cos.CLA_SM, cos.INS_FINISH, 0x00, 0x00))
        self._leave_session()

    # -- the read-back ---------------------------------------------------------------------------

    def verify(self) -> CardReading:
        """Read the card back the ordinary way; it must be genuine and hold exactly the record."""
        self._leave_session()
        reading = read_card(self.transport, self.keys)
        if not reading.genuine:
            raise CardSpoiled("the card failed internal authentication with its new keys")
        expected = self.record.applicant.basic_data(self.record.card_id, version=self.profile.spec_version)
        if reading.data != expected:
            raise CardSpoiled(f"read back {reading.data} but wrote {expected}")
        return reading

