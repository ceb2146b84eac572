"""The card lifecycle stored: rows to records, one transition per transaction, the event log.

:func:`transition` runs inside the caller's transaction: it locks the card row (PostgreSQL
``SELECT ... FOR UPDATE``; SQLite transactions already hold the write lock), settles a lapsed
temporary loss, applies the action with the pure machine, writes the new record with a
compare-and-set on ``version``, appends the events to ``card_event`` and one entry to the audit log,
and (PostgreSQL) notifies listeners. If the caller names the version it saw (a form shown to an
operator), a card changed since is refused with :class:`ConcurrentChange` instead of acting on a
state the operator never saw.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from sscard_issuer.lifecycle.access import Actor
from sscard_issuer.lifecycle.actions import Action
from sscard_issuer.lifecycle.codec import event_to_json
from sscard_issuer.lifecycle.errors import CardNotFound, ConcurrentChange
from sscard_issuer.lifecycle.events import CardEvent
from sscard_issuer.lifecycle.machine import Outcome, apply, settle
from sscard_issuer.lifecycle.record import CardRecord, LifecycleSettings
from sscard_issuer.lifecycle.states import CardState
from sscard_issuer.registry import audit
from sscard_issuer.registry.holders import Card, CardEventRow, Person

#: PostgreSQL channel told the id of the newest event when a transition commits.
NOTIFY_CHANNEL = "sscard_card_event"

#: ``session.info`` key: the events logged in the transaction, for the caller to publish after commit.
LOGGED_EVENTS = "sscard_logged_events"

#: Called inside the transition's transaction, before commit (the e-card status uses it).
TransitionHook = Callable[[Session, Sequence[CardEvent]], None]

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CARD_ID = re.compile(r"[0-9A-Fa-f]{32}")
_SSN = re.compile(r"[0-9]{17}[0-9Xx]")


def record_of(row: Card) -> CardRecord:
    return CardRecord(
        card_ref=row.card_ref, state=CardState(row.state), version=row.version, updated_at=row.updated_at,
        state_before_loss=CardState(row.state_before_loss) if row.state_before_loss else None,
        loss_reported_at=row.loss_reported_at, loss_expires_at=row.loss_expires_at,
        replaces=row.replaces, replaced_by=row.replaced_by,
    )  # fmt: skip


def row_values(record: CardRecord) -> dict[str, object]:
    return {
        "state": record.state.value, "live": not record.state.terminal, "version": record.version,
        "updated_at": record.updated_at,
        "state_before_loss": record.state_before_loss.value if record.state_before_loss else None,
        "loss_reported_at": record.loss_reported_at, "loss_expires_at": record.loss_expires_at,
        "replaces": record.replaces, "replaced_by": record.replaced_by,
    }  # fmt: skip


def find_card(session: Session, key: str, *, lock: bool = False) -> Card:
    """The card named by ``key``: its reference, its identification code, or its holder's
    social security number (their live card, else their newest)."""
    key = key.strip()
    query = select(Card)
    if _UUID.fullmatch(key):
        query = query.where(Card.card_ref == key)
    elif _CARD_ID.fullmatch(key):
        query = query.where(Card.card_id == key.upper())
    elif _SSN.fullmatch(key):
        query = (query.join(Person, Card.person_id == Person.id)
                 .where(Person.social_security_number == key.upper())
                 .order_by(Card.live.desc(), Card.id.desc()).limit(1))
    else:
        raise CardNotFound(key)
    if lock:
        query = query.with_for_update(of=Card)
    row = session.execute(query.execution_options(populate_existing=True)).scalars().first()
    if row is None:
        raise CardNotFound(key)
    return row


def store(session: Session, row: Card, outcome: Outcome, *, actor: Actor, outlet_code: str | None,
          hooks: Sequence[TransitionHook] = (), detail: dict[str, object] | None = None) -> None:
    """Write ``outcome`` (the record after the transition of ``row``, and its events)."""
    new, events = outcome
    if not events:
        return
    done = session.execute(update(Card).where(Card.id == row.id, Card.version == row.version)
                           .values(**row_values(new)))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        current = session.execute(select(Card.version).where(Card.id == row.id)).scalar_one()
        raise ConcurrentChange(f"card {row.card_ref}", row.version, current)
    session.expire(row)
    log_events(session, events, actor=actor, outlet_code=outlet_code, detail=detail)
    for hook in hooks:
        hook(session, events)


def log_events(session: Session, events: Sequence[CardEvent], *, actor: Actor, outlet_code: str | None,
               detail: dict[str, object] | None = None) -> None:
    """Append ``events`` to the event log and the audit log (the transaction's owner then calls
    :func:`notify` once, just before commit)."""
    audit.serialise(session)  # event ids in commit order: catch-up readers never skip a late commit
    for event in events:
        session.add(CardEventRow(
            card_ref=event.card_ref, version=event.version, kind=type(event).__name__,
            action=event.action.value, source=event.source.value if event.source else None,
            target=event.target.value, status_effect=event.status_effect.value, at=event.at,
            data=event_to_json(event), operator_id=actor.operator_id, outlet_code=outlet_code,
        ))  # fmt: skip
    session.flush()
    session.info.setdefault(LOGGED_EVENTS, []).extend(events)
    last = events[-1]
    audit.append(session, at=max(e.at for e in events),
                 actor=actor.username, outlet_code=outlet_code, action=f"card.{last.action.value}",
                 subject=f"card:{last.card_ref}",
                 detail={"events": [type(e).__name__ for e in events],
                         "from": events[0].source.value if events[0].source else None,
                         "to": last.target.value, "version": last.version, **(detail or {})})


def notify(session: Session) -> None:
    """Tell PostgreSQL listeners the newest event id; delivered when (and only if) the transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        newest = session.execute(select(func.max(CardEventRow.id))).scalar_one()
        session.execute(text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": NOTIFY_CHANNEL, "payload": str(newest)})


def transition(session: Session, key: str, action: Action, *, at: datetime, actor: Actor,
               outlet_code: str | None, settings: LifecycleSettings, expected_version: int | None = None,
               hooks: Sequence[TransitionHook] = (), detail: dict[str, object] | None = None) -> tuple[Card, Outcome]:
    """Apply ``action`` to the card ``key`` in the caller's transaction; the row and the outcome."""
    row = find_card(session, key, lock=True)
    if expected_version is not None and row.version != expected_version:
        raise ConcurrentChange(f"card {row.card_ref}", expected_version, row.version)
    outcome = apply(record_of(row), action, at=at, settings=settings)
    store(session, row, outcome, actor=actor, outlet_code=outlet_code, hooks=hooks, detail=detail)
    return row, outcome


def settle_row(session: Session, row: Card, *, at: datetime, hooks: Sequence[TransitionHook] = ()) -> Outcome:
    """Make a lapsed temporary loss real (a transition by the system), if one is due."""
    outcome = settle(record_of(row), at=at)
    store(session, row, outcome, actor=Actor.system(), outlet_code=None, hooks=hooks)
    return outcome
