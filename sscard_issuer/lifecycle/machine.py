"""The lifecycle applied: pure functions from a record and an action to the next record and its events.

No database, no clock, no I/O: the caller passes the time (timezone-aware) and stores the result.
The registry persists each result in one transaction (new record compare-and-set on ``version``,
events appended to the log) and publishes the events after commit.

Nothing polls for a temporary loss running out. The record stores ``loss_expires_at``, fixed when
the loss is reported; :func:`effective_state` computes the state from it on every read, and the
first transition or read that observes the lapse (:func:`settle`, which :func:`apply` calls first)
turns it into a real transition with a :class:`TemporaryLossExpired` event dated at the moment the
loss ran out. Until then the stored state still says lost, and the e-card stays suspended: the safe
side, and only until anything touches the card. A consumer that must act on time without touching
the card (a status list republished on schedule) has the expiry moment in :class:`LossReported`.
"""

from __future__ import annotations

from dataclasses import replace as _replace
from datetime import datetime
from typing import TypedDict

from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle.actions import Action, LossKind, Replace
from sscard_issuer.lifecycle.errors import IllegalTransition
from sscard_issuer.lifecycle.events import (
    CardActivated,
    CardApplied,
    CardCancelled,
    CardCollected,
    CardEvent,
    CardExpired,
    CardReplaced,
    LossCancelled,
    LossReported,
    PinChanged,
    PinReset,
    ProductionStarted,
    ReplacementRequested,
    ShippedToOutlet,
    TemporaryLossExpired,
)
from sscard_issuer.lifecycle.record import CardRecord, LifecycleSettings, check_aware
from sscard_issuer.lifecycle.states import (
    INITIAL_ACTION,
    INITIAL_STATE,
    LOST_STATES,
    TRANSITIONS,
    ActionKind,
    CardState,
    Resume,
    Rule,
    StatusEffect,
    allowed_actions,
)

Outcome = tuple[CardRecord, tuple[CardEvent, ...]]

_PLAIN_EVENTS: dict[ActionKind, type[CardEvent]] = {
    ActionKind.PRODUCE: ProductionStarted,
    ActionKind.SHIP_TO_OUTLET: ShippedToOutlet,
    ActionKind.COLLECT: CardCollected,
    ActionKind.ACTIVATE: CardActivated,
    ActionKind.CANCEL_LOSS: LossCancelled,
    ActionKind.CANCEL: CardCancelled,
    ActionKind.PIN_RESET: PinReset,
    ActionKind.PIN_CHANGE: PinChanged,
    ActionKind.EXPIRE: CardExpired,
}


class _Common(TypedDict):
    card_ref: str
    at: datetime
    version: int
    action: ActionKind
    source: CardState | None
    target: CardState
    status_effect: StatusEffect


def submit(card_ref: str, *, at: datetime, replaces: str | None = None) -> Outcome:
    """A new card at ``applied``: a first application, or the successor of ``replaces``."""
    check_aware("at", at)
    record = CardRecord(card_ref=card_ref, state=INITIAL_STATE, version=1, updated_at=at, replaces=replaces)
    event = CardApplied(
        card_ref=card_ref, at=at, version=1, action=INITIAL_ACTION, source=None, target=INITIAL_STATE,
        status_effect=StatusEffect.NONE, replaces=replaces,
    )  # fmt: skip
    return record, (event,)


def start_replacement(request: ReplacementRequested) -> Outcome:
    """The successor's record: a replacement starts at ``applied`` and is made like any card."""
    return submit(request.new_card_ref, at=request.at, replaces=request.card_ref)


def effective_state(record: CardRecord, now: datetime) -> CardState:
    """The card's state at ``now``: the stored one, unless a temporary loss has run out by then."""
    check_aware("now", now)
    if _lapsed(record, now):
        assert record.state_before_loss is not None  # guaranteed by CardRecord
        return record.state_before_loss
    return record.state


def available_actions(record: CardRecord, *, at: datetime) -> tuple[ActionKind, ...]:
    """What may be requested on the card at ``at`` (for the operator's menu)."""
    return allowed_actions(effective_state(record, at))


def settle(record: CardRecord, *, at: datetime) -> Outcome:
    """Make the time-driven transition real if it is due at ``at``; otherwise the record, no events.

    Call it whenever a card is read for a decision; :func:`apply` calls it first.
    """
    check_aware("at", at)
    if not _lapsed(record, at):
        return record, ()
    expired_at = record.loss_expires_at
    assert expired_at is not None
    rule = TRANSITIONS[record.state, ActionKind.TEMPORARY_LOSS_LAPSE]
    new = _advance(record, rule, at=expired_at)
    event = TemporaryLossExpired(**_common(record, new, ActionKind.TEMPORARY_LOSS_LAPSE, rule), observed_at=at)
    return new, (event,)


def apply(record: CardRecord, action: Action, *, at: datetime, settings: LifecycleSettings) -> Outcome:
    """The record after ``action`` at ``at``, and the events to log and publish, oldest first.

    Raises :class:`IllegalTransition` (naming the action, the state and the allowed actions) when
    the table does not allow it, and ``FieldError`` for a naive time or one before the last transition.
    """
    check_aware("at", at)
    if at < record.updated_at:
        raise FieldError("at", f"a time not before the card's last transition ({record.updated_at.isoformat()})", at)
    record, settled = settle(record, at=at)
    kind = action.kind
    rule = TRANSITIONS.get((record.state, kind))
    if rule is None or not kind.requestable:
        raise IllegalTransition(kind, record.state, allowed_actions(record.state))
    if isinstance(action, Replace) and action.new_card_ref == record.card_ref:
        raise FieldError("new_card_ref", "another card than the one replaced", action.new_card_ref)
    new = _advance(record, rule, at=at, action=action, settings=settings)
    common = _common(record, new, kind, rule)
    events: tuple[CardEvent, ...]
    if isinstance(action, Replace):
        intent = common.copy()
        intent["status_effect"] = StatusEffect.NONE  # the revocation travels once, on CardReplaced
        events = (
            CardReplaced(**common, new_card_ref=action.new_card_ref),
            ReplacementRequested(**intent, new_card_ref=action.new_card_ref),
        )
    elif kind in (ActionKind.REPORT_TEMPORARY_LOSS, ActionKind.REPORT_FORMAL_LOSS):
        loss = LossKind.TEMPORARY if kind is ActionKind.REPORT_TEMPORARY_LOSS else LossKind.FORMAL
        events = (LossReported(**common, loss=loss, expires_at=new.loss_expires_at),)
    else:
        events = (_PLAIN_EVENTS[kind](**common),)
    return new, settled + events


def _lapsed(record: CardRecord, now: datetime) -> bool:
    # A loss reported at t with a period of N days holds for [t, t + N days) and is gone at t + N days.
    return record.state is CardState.TEMPORARILY_LOST and record.loss_expires_at is not None and now >= record.loss_expires_at


def _advance(
    record: CardRecord,
    rule: Rule,
    *,
    at: datetime,
    action: Action | None = None,
    settings: LifecycleSettings | None = None,
) -> CardRecord:
    if isinstance(rule.target, Resume):
        assert record.state_before_loss is not None
        target = record.state_before_loss
    else:
        target = rule.target
    loss_before, loss_reported, loss_expires = None, None, None
    if target in LOST_STATES:
        already_lost = record.state in LOST_STATES
        loss_before = record.state_before_loss if already_lost else record.state
        loss_reported = record.loss_reported_at if already_lost else at
        if target is CardState.TEMPORARILY_LOST:
            assert settings is not None
            loss_expires = at + settings.temporary_loss_period
    return _replace(
        record,
        state=target,
        version=record.version + 1,
        updated_at=at,
        state_before_loss=loss_before,
        loss_reported_at=loss_reported,
        loss_expires_at=loss_expires,
        replaced_by=action.new_card_ref if isinstance(action, Replace) else None,
    )


def _common(old: CardRecord, new: CardRecord, kind: ActionKind, rule: Rule) -> _Common:
    return _Common(
        card_ref=old.card_ref,
        at=new.updated_at,
        version=new.version,
        action=kind,
        source=old.state,
        target=new.state,
        status_effect=rule.effect,
    )
