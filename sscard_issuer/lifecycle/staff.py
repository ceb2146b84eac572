"""Outlets, staff and enrolment records, in the caller's transaction.

Passwords (for the web console's sign-in) are stored as scrypt hashes, never in clear. The
command line acts as a named member of staff without a password: whoever runs it has the
registry's database already; the console is where sign-in protects access.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import date, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from sscard_issuer.applications.documents import social_security_number_for
from sscard_issuer.applications.requests import Applicant, check_applicant
from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle.access import OUTLET_ROLES, Actor, Forbidden, Permission
from sscard_issuer.lifecycle.errors import NotEligible
from sscard_issuer.lifecycle.filing import document_row, find_document
from sscard_issuer.registry import audit
from sscard_issuer.registry.holders import Person
from sscard_issuer.registry.office import Operator, Outlet, Role

_USERNAME = re.compile(r"[a-z][a-z0-9_.-]{2,63}")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 10
# PostgreSQL: one bootstrap at a time, so two run at once cannot both find no administrator
_BOOTSTRAP_LOCK_KEY = 0x55C4_0003


class UnknownStaff(Forbidden):
    def __init__(self, username: str) -> None:
        super().__init__(f"no active member of staff named {username!r}", f"没有名为 {username} 的在岗工作人员")


class UnknownOutlet(FieldError):
    def __init__(self, code: str) -> None:
        super().__init__("outlet", "the code of an active outlet (see `sscard outlet list`)", code)
        self.message_zh = f"没有编号为 {code} 的在用网点"


def hash_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise FieldError("password", f"at least {MIN_PASSWORD} characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def password_matches(stored: str | None, password: str) -> bool:
    if not stored:
        hashlib.scrypt(b"", salt=b"0" * 16, **_SCRYPT)  # same work whether or not the user exists
        return False
    _, n, r, p, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(candidate.hex(), digest)


def actor_of(operator: Operator) -> Actor:
    return Actor(operator.username, operator.role, operator.outlet_code, operator.id)


def find_actor(session: Session, username: str) -> Actor:
    operator = session.execute(select(Operator).where(Operator.username == username)).scalar_one_or_none()
    if operator is None or not operator.active:
        raise UnknownStaff(username)
    return actor_of(operator)


def outlet(session: Session, code: str) -> Outlet:
    row = session.get(Outlet, code)
    if row is None or not row.active:
        raise UnknownOutlet(code)
    return row


def add_operator(session: Session, actor: Actor | None, *, username: str, display_name: str, role: Role,
                 outlet_code: str | None, password: str | None, at: datetime) -> Actor:
    """Add a member of staff. With no actor, only the first administrator may be added (bootstrap)."""
    if actor is None:
        if session.get_bind().dialect.name == "postgresql":  # SQLite's write lock already serialises
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _BOOTSTRAP_LOCK_KEY})
        has_admin = session.execute(select(Operator.id).where(Operator.role == Role.ADMINISTRATOR)).first()
        if has_admin is not None or role is not Role.ADMINISTRATOR:
            raise Forbidden("only an administrator adds staff (the first administrator needs no one)",
                            "只有管理员可以添加工作人员（首位管理员除外）")
    else:
        actor.require(Permission.MANAGE)
    if not isinstance(username, str) or not _USERNAME.fullmatch(username):
        raise FieldError("username", "3-64 characters: a lower-case letter, then letters, digits, _ . -", username)
    if session.execute(select(Operator.id).where(Operator.username == username)).first() is not None:
        raise FieldError("username", "a username not taken", username)
    if role in OUTLET_ROLES:
        if outlet_code is None:
            raise FieldError("outlet", f"the outlet a {role.value} works at", None)
        outlet(session, outlet_code)
    elif outlet_code is not None:
        raise FieldError("outlet", f"no outlet: a {role.value} is not bound to one", outlet_code)
    operator = Operator(username=username, display_name=display_name.strip() or username, role=role,
                        outlet_code=outlet_code, password_hash=hash_password(password) if password else None,
                        active=True, created_at=at)
    session.add(operator)
    session.flush()
    by = actor.username if actor else username
    audit.append(session, at=at, actor=by, outlet_code=outlet_code, action="staff.add",
                 subject=f"operator:{username}", detail={"role": role.value, "outlet": outlet_code})
    return actor_of(operator)


def set_outlet(session: Session, actor: Actor, code: str, *, at: datetime, instant_issuance: bool | None = None,
               batch_applications: bool | None = None, active: bool | None = None) -> Outlet:
    actor.require(Permission.MANAGE)
    row = session.get(Outlet, code)
    if row is None:
        raise UnknownOutlet(code)
    changes = {k: v for k, v in (("instant_issuance", instant_issuance), ("batch_applications", batch_applications),
                                 ("active", active)) if v is not None}
    for name, value in changes.items():
        setattr(row, name, value)
    audit.append(session, at=at, actor=actor.username, outlet_code=code, action="outlet.set",
                 subject=f"outlet:{code}", detail=changes)
    return row


def enrol(session: Session, actor: Actor, applicant: Applicant, *, insured_since: date, at: datetime) -> Person:
    """Record that the holder of ``applicant.document`` is enrolled in social insurance (参保登记).

    In production this record comes from the social insurance system; here it is what makes a
    person eligible to apply. Enrolling again updates the date; details must agree with the record.
    """
    actor.require(Permission.ENROL)
    check_applicant(applicant, on=at.date())
    name = applicant.name.strip()
    if insured_since > at.date():
        raise FieldError("insured_since", "a date not in the future", insured_since.isoformat())
    ssn = social_security_number_for(applicant.document)
    existing = find_document(session, applicant.document)
    person = session.get(Person, existing.person_id) if existing else None
    if person is None and ssn is not None:
        person = session.execute(select(Person).where(Person.social_security_number == str(ssn))).scalar_one_or_none()
    if person is None:
        person = Person(name=name, sex=applicant.sex, birth_date=applicant.birth_date,
                        nationality=applicant.document.country or "CHN", ethnicity=applicant.ethnicity,
                        social_security_number=str(ssn) if ssn else None, insured_since=insured_since,
                        phone=applicant.phone, version=1, created_at=at)
        session.add(person)
        session.flush()
    elif (person.name, person.sex, person.birth_date) != (name, applicant.sex, applicant.birth_date):
        raise NotEligible("details_differ", "the name, sex or date of birth differs from the existing record",
                          "姓名、性别或出生日期与已有登记信息不一致，请核对证件")
    else:
        person.insured_since = insured_since
    document_row(session, person, applicant.document)
    audit.append(session, at=at, actor=actor.username, outlet_code=actor.outlet_code, action="person.enrol",
                 subject=f"person:{person.id}", detail={"insured_since": insured_since.isoformat(),
                                                        "document_type": applicant.document.type.value})
    return person
