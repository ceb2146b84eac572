"""Lists the console shows that the Office has no call for: read-only, each checked against the actor.

Every function takes the signed-in :class:`Actor` and asks :meth:`Actor.at` / :meth:`Actor.require`
first, exactly as the Office does: operators and supervisors read their own outlet only.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import Row, Select, func, select

from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle.access import Actor, Forbidden, Permission
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry import (
    Application,
    ApplicationBatch,
    ApprovalRequest,
    ApprovalState,
    AuditEntry,
    Card,
    Operator,
    Person,
)

AUDIT_PAGE = 200
Columns = TypeVarTuple("Columns")


def _rows(office: Office, query: Select[*Columns]) -> Sequence[Row[*Columns]]:
    """What ``query`` finds, read in a short transaction of its own."""
    with office.registry.transaction(durable=False) as session:
        return session.execute(query).all()


def display_name(office: Office, username: str) -> str:
    with office.registry.transaction(durable=False) as session:
        name = session.execute(select(Operator.display_name).where(Operator.username == username)).scalar()
        return name or username


def outlet_of(office: Office, username: str) -> str | None:
    """The outlet of the member of staff called ``username``, if there is one (for auditing a sign-in)."""
    with office.registry.transaction(durable=False) as session:
        return session.execute(select(Operator.outlet_code).where(Operator.username == username)).scalar()


def anyone_can_sign_in(office: Office) -> bool:
    with office.registry.transaction(durable=False) as session:
        return session.execute(select(Operator.id).where(Operator.password_hash.is_not(None),
                                                         Operator.active.is_(True)).limit(1)).first() is not None


@dataclass(frozen=True)
class CardLine:
    card_ref: str
    holder: str
    state: str
    instant: bool
    application_id: int
    filed_at: datetime


def recent_cards(office: Office, actor: Actor, outlet_code: str, *, limit: int = 15) -> list[CardLine]:
    """The newest applications filed at the outlet, with their card's state now."""
    where = actor.at(Permission.VIEW, outlet_code)
    return [CardLine(*row) for row in _rows(office, (
        select(Card.card_ref, Person.name, Card.state, Application.instant, Application.id, Application.filed_at)
        .join(Application, Application.id == Card.application_id).join(Person, Person.id == Card.person_id)
        .where(Application.outlet_code == where).order_by(Application.id.desc()).limit(limit)))]


@dataclass(frozen=True)
class ApprovalLine:
    id: int
    kind: str
    quantity: int
    reason: str
    state: str
    requested_by: str
    requested_at: datetime


def approvals(office: Office, actor: Actor, outlet_code: str, *, limit: int = 20) -> list[ApprovalLine]:
    """The outlet's approval requests: the pending ones first, then the latest decided."""
    where = actor.at(Permission.VIEW, outlet_code)
    return [ApprovalLine(r.id, r.kind.value, r.quantity, r.reason, r.state.value, username, r.requested_at)
            for r, username in _rows(office, (
                select(ApprovalRequest, Operator.username).join(Operator, Operator.id == ApprovalRequest.requested_by)
                .where(ApprovalRequest.outlet_code == where)
                .order_by((ApprovalRequest.state == ApprovalState.PENDING).desc(), ApprovalRequest.id.desc())
                .limit(limit)))]


def batch_outlet(office: Office, actor: Actor, batch_id: int) -> str:
    """The outlet of a batch import, once the actor may see it."""
    with office.registry.transaction(durable=False) as session:
        outlet = session.execute(select(ApplicationBatch.outlet_code).where(ApplicationBatch.id == batch_id)).scalar()
    if outlet is None:
        raise FieldError("batch", "the number of a batch import", batch_id)
    return actor.at(Permission.VIEW, outlet)


def staff(office: Office, actor: Actor) -> list[Operator]:
    actor.require(Permission.MANAGE)
    with office.registry.transaction(durable=False) as session:
        rows = list(session.execute(select(Operator).order_by(Operator.outlet_code, Operator.username)).scalars())
        session.expunge_all()
        return rows


def face_data(office: Office, card_ref: str) -> tuple[str, str | None, bytes | None]:
    """Name, social security number and photo of a card's holder (the caller checked access)."""
    with office.registry.transaction(durable=False) as session:
        name, ssn, photo = session.execute(
            select(Person.name, Person.social_security_number, Application.photo)
            .join(Card, Card.person_id == Person.id).join(Application, Application.id == Card.application_id)
            .where(Card.card_ref == card_ref)).one()
        return name, ssn, photo


# -- the audit log ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    outlet: str = ""
    actor: str = ""
    subject: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def parse(cls, params: dict[str, str]) -> AuditFilter:
        def day(name: str) -> date | None:
            value = (params.get(name) or "").strip()
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise FieldError(name, "a date as YYYY-MM-DD", value) from None

        return cls(action=(params.get("action") or "").strip(), outlet=(params.get("outlet") or "").strip(),
                   actor=(params.get("actor") or "").strip(), subject=(params.get("subject") or "").strip(),
                   since=day("since"), until=day("until"))

    def query_string(self) -> str:
        from urllib.parse import urlencode

        values = {"action": self.action, "outlet": self.outlet, "actor": self.actor, "subject": self.subject,
                  "since": self.since.isoformat() if self.since else "",
                  "until": self.until.isoformat() if self.until else ""}
        return urlencode({k: v for k, v in values.items() if v})


def _audit_query(actor: Actor, chosen: AuditFilter) -> tuple[Select[AuditEntry], AuditFilter]:
    actor.require(Permission.READ_AUDIT)
    outlet = chosen.outlet
    if actor.outlet_code is not None:  # a supervisor reads their own outlet's entries
        if outlet and outlet != actor.outlet_code:
            actor.require(Permission.READ_AUDIT, outlet_code=outlet)
        outlet = actor.outlet_code
    query = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if chosen.action:
        query = query.where(AuditEntry.action.startswith(chosen.action, autoescape=True))
    if outlet:
        query = query.where(AuditEntry.outlet_code == outlet)
    if chosen.actor:
        query = query.where(AuditEntry.actor == chosen.actor)
    if chosen.subject:
        query = query.where(AuditEntry.subject.contains(chosen.subject, autoescape=True))
    if chosen.since:
        query = query.where(AuditEntry.at >= datetime.combine(chosen.since, time(), UTC))
    if chosen.until:
        query = query.where(AuditEntry.at < datetime.combine(chosen.until + timedelta(days=1), time(), UTC))
    return query, AuditFilter(chosen.action, outlet, chosen.actor, chosen.subject, chosen.since, chosen.until)


def audit_entries(office: Office, actor: Actor, chosen: AuditFilter, *, limit: int = AUDIT_PAGE
                  ) -> tuple[list[AuditEntry], AuditFilter, int]:
    """The newest entries that pass the filter, the filter as applied, and how many pass it."""
    query, applied = _audit_query(actor, chosen)
    with office.registry.transaction(durable=False) as session:
        total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
        rows = list(session.execute(query.limit(limit)).scalars())
        session.expunge_all()
        return rows, applied, total


AUDIT_COLUMNS = ("seq", "at", "actor", "outlet", "action", "subject", "detail", "hash")


def audit_csv(office: Office, actor: Actor, chosen: AuditFilter) -> str:
    """Every entry that passes the filter, oldest first, as CSV (with a BOM, for spreadsheets).

    Read in one short transaction and written out afterwards: a slow download never holds the
    registry (SQLite's transactions take its write lock)."""
    query, _ = _audit_query(actor, chosen)
    query = query.order_by(None).order_by(AuditEntry.seq)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(AUDIT_COLUMNS)
    with office.registry.transaction(durable=False) as session:
        for entry in session.execute(query).scalars():
            writer.writerow([entry.seq, entry.at.isoformat(), *(_cell(v) for v in (
                entry.actor, entry.outlet_code or "", entry.action, entry.subject, entry.detail)), entry.hash])
    return buffer.getvalue()


def _cell(value: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def detail_text(entry: AuditEntry) -> str:
    try:
        value: Any = json.loads(entry.detail)
    except ValueError:
        return entry.detail
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def check_outlet_choice(actor: Actor, outlet: str | None) -> None:
    """An outlet-bound actor may not ask for another outlet (Forbidden, explained)."""
    if outlet and actor.outlet_code is not None and outlet != actor.outlet_code:
        raise Forbidden(f"{actor.username} works at outlet {actor.outlet_code}, not {outlet}",
                        f"{actor.username} 只能查看本网点（{actor.outlet_code}），不能查看 {outlet}")
