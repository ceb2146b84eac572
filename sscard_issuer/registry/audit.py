"""The audit log: append-only, hash-chained, verifiable by anyone holding a copy of the database.

Entry ``n`` stores ``hash_n = SHA-256(hash_{n-1} || canonical JSON of (n, time, actor, outlet,
action, subject, detail))`` with ``hash_0`` 32 zero bytes. Changing an entry breaks its own hash;
removing or moving one breaks the sequence and the next entry's link; removing the newest entries
is caught by the head row (the count and last hash, written in the same transaction as each
entry), and by comparing with a head published elsewhere (``sscard audit verify --expect-head``).

Appends are serialised so the chain never forks: SQLite's write lock (every registry transaction
begins IMMEDIATE) and, on PostgreSQL, a transaction-scoped advisory lock taken just before the
head is read. Database triggers refuse UPDATE and DELETE on the log; the chain is what catches
someone who drops them.

The detail never holds a secret: callers put references and digests in it, not PINs or photos.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from sscard_issuer.errors import SscardError
from sscard_issuer.registry.models import Base
from sscard_issuer.registry.types import UtcDateTime

GENESIS = "00" * 32
_APPEND_LOCK_KEY = 0x55C4_0002  # PostgreSQL advisory lock: one appender at a time


class AuditEntry(Base):
    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)  # operator username, or "system"
    outlet_code: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    subject: Mapped[str] = mapped_column(String(128), nullable=False, index=True)  # e.g. card:<ref>
    detail: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditHead(Base):
    """One row: how many entries the log has and the hash of the last one."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


def canonical_json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_hash: str, *, seq: int, at: datetime, actor: str, outlet_code: str | None,
               action: str, subject: str, detail: str) -> str:
    body = canonical_json({"seq": seq, "at": at.isoformat(), "actor": actor, "outlet": outlet_code,
                           "action": action, "subject": subject, "detail": json.loads(detail)})
    return hashlib.sha256(bytes.fromhex(prev_hash) + body.encode()).hexdigest()


def serialise(session: Session) -> None:
    """Take the appenders' lock now (PostgreSQL; SQLite holds its write lock already) until commit.

    The lifecycle takes it before inserting card events, so event ids are given in commit order and
    a consumer reading "everything after id n" never skips one that commits late.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})


def append(session: Session, *, at: datetime, actor: str, action: str, subject: str,
           detail: Mapping[str, Any] | None = None, outlet_code: str | None = None) -> AuditEntry:
    """Add an entry in the caller's transaction (it commits or rolls back with the change it records)."""
    serialise(session)
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)
                           .execution_options(populate_existing=True)).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"a timezone-aware time is required, not {at!r}")
    at = at.astimezone(UTC)
    body = canonical_json(dict(detail or {}))
    seq = head.seq + 1
    digest = entry_hash(head.hash, seq=seq, at=at, actor=actor, outlet_code=outlet_code,
                        action=action, subject=subject, detail=body)
    entry = AuditEntry(seq=seq, at=at, actor=actor, outlet_code=outlet_code, action=action,
                       subject=subject, detail=body, prev_hash=head.hash, hash=digest)
    session.add(entry)
    head.seq, head.hash = seq, digest
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditProblem:
    seq: int  # the position where the chain breaks
    what: str  # "changed", "removed", "reordered", "head"
    message: str


@dataclass(frozen=True)
class AuditReport:
    entries: int
    head_hash: str
    problems: tuple[AuditProblem, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


class AuditTampered(SscardError):
    def __init__(self, report: AuditReport) -> None:
        self.report = report
        super().__init__("; ".join(p.message for p in report.problems))


def entries(session: Session, *, batch: int = 1000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = session.execute(select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq)
                               .limit(batch)).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify(session: Session, *, expect_head: str | None = None) -> AuditReport:
    """Walk the whole chain; every break is reported with its position and what it means."""
    problems: list[AuditProblem] = []
    expected_seq, prev, count = 1, GENESIS, 0
    hashes: dict[str, int] = {}
    for entry in entries(session):
        count += 1
        if entry.seq != expected_seq:
            problems.append(AuditProblem(expected_seq, "removed",
                                         f"entries {expected_seq} to {entry.seq - 1} are missing"))
        recomputed = entry_hash(entry.prev_hash, seq=entry.seq, at=entry.at, actor=entry.actor,
                                outlet_code=entry.outlet_code, action=entry.action,
                                subject=entry.subject, detail=entry.detail)
        if recomputed != entry.hash:
            problems.append(AuditProblem(entry.seq, "changed",
                                         f"entry {entry.seq} was changed after it was written"))
        elif entry.prev_hash != prev:
            what = "reordered" if entry.prev_hash in hashes else "removed"
            problems.append(AuditProblem(entry.seq, what, (
                f"entry {entry.seq} follows entry {hashes[entry.prev_hash]} in the chain, not the entry before it"
                if what == "reordered" else f"the entry before entry {entry.seq} was removed, replaced or moved")))
        hashes[entry.hash] = entry.seq
        prev, expected_seq = entry.hash, entry.seq + 1
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
    head_seq, head_hash = (head.seq, head.hash) if head is not None else (0, GENESIS)
    if head_seq != expected_seq - 1 or head_hash != prev:
        problems.append(AuditProblem(head_seq, "removed" if head_seq > expected_seq - 1 else "head",
                                     f"the log ends at entry {expected_seq - 1} but its head records entry "
                                     f"{head_seq}: entries were removed from the end or the head was altered"))
    if expect_head is not None and expect_head.lower() != head_hash:
        problems.append(AuditProblem(head_seq, "head",
                                     f"the head hash {head_hash} is not the expected {expect_head.lower()}"))
    return AuditReport(count, head_hash, tuple(problems))
