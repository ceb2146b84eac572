"""Shared helpers for tests of the registry's services: a settable clock, staff, applicants."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sscard_issuer.applications import DocumentType, IdentityDocument
from sscard_issuer.applications.requests import Applicant, ApplicationKind, ApplicationRequest, Delivery
from sscard_issuer.card.identifiers import SocialSecurityNumber
from sscard_issuer.lifecycle.access import Actor
from sscard_issuer.lifecycle.office import Office, OfficeSettings
from sscard_issuer.registry import Registry, Role

PHOTO = (Path(__file__).resolve().parents[2] / "sscard_issuer" / "data" / "sample_photo.jpg").read_bytes()
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """The office's clock: starts at ``START``; moves when told, and by ``tick`` at every reading
    (a tick gives every audit entry its own time)."""

    def __init__(self, now: datetime = START, *, tick: timedelta = timedelta(0)) -> None:
        self.now = now
        self.tick = tick

    def __call__(self) -> datetime:
        self.now += self.tick
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def ssn(birth: date, serial: int, area: str = "450103") -> str:
    first17 = f"{area}{birth:%Y%m%d}{serial:03d}"
    return first17 + SocialSecurityNumber.check_character(first17)


def applicant(serial: int = 123, *, birth: date = date(1985, 6, 15), name: str = "李秀英",
              doc_type: DocumentType = DocumentType.RESIDENT_ID_CARD) -> Applicant:
    number = ssn(birth, serial)
    sex = "1" if serial % 2 else "2"
    return Applicant(name=name, sex=sex, birth_date=birth, document=IdentityDocument(doc_type, number))


def individual(who: Applicant, **fields: object) -> ApplicationRequest:
    photo = fields.pop("photo", PHOTO)
    return ApplicationRequest(kind=fields.pop("kind", ApplicationKind.INDIVIDUAL), applicant=who,  # type: ignore[arg-type]
                              photo=photo, delivery=fields.pop("delivery", Delivery()), **fields)  # type: ignore[arg-type]


@dataclass
class Staff:
    admin: Actor
    operator: Actor  # NN01
    supervisor: Actor  # NN01
    elsewhere: Actor  # an operator of NN09 (a county hall)
    auditor: Actor


def hire(office: Office) -> Staff:
    admin = office.add_operator(None, username="admin", display_name="管理员", role=Role.ADMINISTRATOR)
    return Staff(
        admin=admin,
        operator=office.add_operator(admin, username="wang.li", display_name="王丽", role=Role.OPERATOR,
                                     outlet_code="NN01"),
        supervisor=office.add_operator(admin, username="zhao.min", display_name="赵敏", role=Role.SUPERVISOR,
                                       outlet_code="NN01"),
        elsewhere=office.add_operator(admin, username="chen.gang", display_name="陈刚", role=Role.OPERATOR,
                                      outlet_code="NN09"),
        auditor=office.add_operator(admin, username="audit", display_name="审计", role=Role.AUDITOR),
    )


def open_office(registry: Registry, clock: Clock | None = None, settings: OfficeSettings | None = None) -> Office:
    return Office(registry, clock=clock or Clock(), settings=settings)


def enrolled(office: Office, by: Actor, who: Applicant) -> Applicant:
    office.enrol(by, who, insured_since=date(2020, 1, 1))
    return who


RACERS = 6


def race(calls: list[Callable[[], object]]) -> list[object]:
    """Run ``calls`` at once (threads with their own connections released by one barrier, racing for
    real); each result is the return value or the exception raised."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> object:
        start.wait(timeout=30)
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - the outcome under test
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))
