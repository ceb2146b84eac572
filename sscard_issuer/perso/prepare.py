"""Data preparation: an application becomes a personalisation record, numbers allocated for good.

Every field is checked before anything else happens (no APDU, no allocation); then, in one
registry transaction, the area's next serial gives the card number and the card identification
code, and the personalisation job is created holding them. A crash before that commit allocates
nothing; after it, the job owns the numbers forever: finished they are USED, spoiled VOID, and
never handed to another card.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard_issuer.card import Applicant, CardIdentificationCode, ssc
from sscard_issuer.card.identifiers import AreaCode
from sscard_issuer.errors import FieldError, ValidationError
from sscard_issuer.perso.profile import Profile
from sscard_issuer.registry import AllocationState, AreaSequence, CardAllocation, JobState, PersoJob

ALLOCATED_FIELDS = ("card_number", "issue_date", "expiry_date")
OPTIONAL_FIELDS = ("bank_pan",)
APPLICATION_FIELDS = tuple(f.name for f in fields(Applicant) if f.name not in ALLOCATED_FIELDS)
_PLACEHOLDER = {"card_number": "A00000000"}


def expiry_after(issued: date, years: int) -> date:
    """``years`` after ``issued``; 29 February becomes 28 February."""
    try:
        return issued.replace(year=issued.year + years)
    except ValueError:
        return issued.replace(year=issued.year + years, day=28)


def _luhn_ok(pan: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(pan)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def check_photo(photo: bytes | None) -> list[FieldError]:
    if photo is None:
        return []
    if not (photo.startswith(b"\xff\xd8") and photo.rstrip(b"\x00").endswith(b"\xff\xd9")):
        return [FieldError("photo", "a JPEG file")]
    if len(photo) > ssc.PHOTO_WRITABLE:
        return [FieldError("photo", f"at most {ssc.PHOTO_WRITABLE} bytes", f"{len(photo)} bytes")]
    return []


@dataclass(frozen=True)
class PersoRecord:
    """Everything a card will hold for one applicant, as prepared (and kept in the journal)."""

    applicant: Applicant
    card_id: CardIdentificationCode
    profile: str
    bank_pan: str | None = None
    photo: bytes | None = None

    def records(self, profile: Profile) -> dict[int, dict[int, bytes]]:
        return self.applicant.records(self.card_id, version=profile.spec_version, category=profile.card_category)

    def to_json(self) -> str:
        return json.dumps({
            "applicant": self.applicant.to_json(), "card_id": self.card_id.hex, "profile": self.profile,
            "bank_pan": self.bank_pan,
            "photo": base64.b64encode(self.photo).decode() if self.photo is not None else None,
        }, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> PersoRecord:
        doc = json.loads(text)
        photo = base64.b64decode(doc["photo"]) if doc.get("photo") is not None else None
        return cls(Applicant.from_json(doc["applicant"]), CardIdentificationCode.parse(doc["card_id"]),
                   doc["profile"], doc.get("bank_pan"), photo)


def check_application(doc: Any, profile: Profile, *, today: date, photo: bytes | None = None) -> dict[str, Any]:
    """All faults of an application at once (ValidationError), before any number is allocated.

    Returns the applicant JSON with the issue and expiry dates filled in; the card number comes
    with the allocation.
    """
    if not isinstance(doc, dict):
        raise ValidationError([FieldError("application", "a JSON object")])
    errors = [FieldError(f, "left out: data preparation allocates it", doc[f]) for f in ALLOCATED_FIELDS if f in doc]
    # unknown fields named here, not by the applicant model, whose list of fields is not an application's
    known = APPLICATION_FIELDS + OPTIONAL_FIELDS
    errors += [FieldError(str(k), f"no such field (known: {', '.join(known)})")
               for k in sorted(str(k) for k in doc if k not in known + ALLOCATED_FIELDS)]
    person = {k: v for k, v in doc.items() if k in APPLICATION_FIELDS}
    dated = {**person, "issue_date": today.isoformat(),
             "expiry_date": expiry_after(today, profile.validity_years).isoformat()}
    try:
        Applicant.from_json({**dated, **_PLACEHOLDER})
    except ValidationError as exc:
        errors += exc.errors
    pan = doc.get("bank_pan")
    if pan is not None and not (isinstance(pan, str) and pan.isascii() and pan.isdigit() and 16 <= len(pan) <= 19
                                and _luhn_ok(pan)):
        errors.append(FieldError("bank_pan", "16 to 19 digits with a valid Luhn check digit", pan))
    if pan is not None and profile.bank is None:
        errors.append(FieldError("bank_pan", f"no bank application in profile {profile.name}"))
    errors += check_photo(photo)
    if errors:
        raise ValidationError(errors)
    return dated


def _next_serial(session: Session, area: AreaCode) -> int:
    """The area's next serial, counted on in the caller's transaction.

    Two transactions never get one serial: the area's row is locked until commit (SQLite: the
    whole database, BEGIN IMMEDIATE; PostgreSQL: SELECT ... FOR UPDATE, the second waiting, then
    reading the first's committed count). An area's first allocation has no row to lock: both may
    INSERT it; PostgreSQL makes the second wait on the primary key and then fail, and the second
    then locks and counts on from the first's row (the savepoint keeps its transaction usable).
    """
    locked = (select(AreaSequence).where(AreaSequence.area_code == str(area)).with_for_update()
              .execution_options(populate_existing=True))  # the row as committed, never a stale copy
    row = session.execute(locked).scalar_one_or_none()
    if row is None:
        try:
            with session.begin_nested():
                row = AreaSequence(area_code=str(area), next_serial=1)
                session.add(row)
        except IntegrityError:  # another transaction created the area's row first
            row = session.execute(locked).scalar_one()
    serial = row.next_serial
    row.next_serial = serial + 1
    return serial


def allocate_job(session: Session, dated: dict[str, Any], profile: Profile, *, card_serial: bytes,
                 bank_pan: str | None = None, photo: bytes | None = None) -> tuple[PersoJob, PersoRecord]:
    """In the caller's transaction: the next card number and identification code, and the job."""
    area = AreaCode(dated["area_code"])
    serial = _next_serial(session, area)
    if serial >= 10**8:
        raise FieldError("area_code", f"an area with card numbers left (all of {area}'s are used)")
    card_number = f"{profile.card_number_prefix}{serial:08d}"
    card_id = CardIdentificationCode.build(area, serial.to_bytes(8, "big"))
    record = PersoRecord(Applicant.from_json({**dated, "card_number": card_number}), card_id, profile.name,
                         bank_pan, photo)
    allocation = CardAllocation(area_code=str(area), serial=serial, card_number=card_number,
                                card_id=card_id.hex, state=AllocationState.ALLOCATED)
    job = PersoJob(card_serial=card_serial.hex().upper(), profile=profile.name, record=record.to_json(),
                   allocation=allocation, state=JobState.PREPARED)
    session.add_all([allocation, job])
    session.flush()
    return job, record
