"""The card lifecycle as data: its states, the actions on a card, and the one table of transitions.

Everything else in the package reads :data:`TRANSITIONS`: the machine applies it, the errors list
from it, the events check themselves against it, and ``docs/lifecycle.md`` is generated from it.

Choices the table encodes (card.md section 6, the seed page, ecard.md):

- Instant issuance makes the card at the outlet and hands it over at once, so ``collect`` is legal
  from ``in_production`` as well as from ``awaiting_collection`` (mail delivery counts as collection).
- A temporary loss (临时挂失) suspends; cancelling it (解挂), or its lapse after the regional number of
  days, returns the card to the state before the loss: ``activated``, or ``collected`` if it was
  never activated (activation needs the holder's identity check, which a loss report is not).
- A formal loss (正式挂失) cannot be undone (card.md section 6; ecard.md revokes for good): it leads to
  replacement. Replacement is also legal from a temporary loss (the hall formalises and replaces in
  one visit) and from a usable card (exchange of a worn or damaged card, 换卡).
- Terminal states have no exits; every transition into one revokes the e-card (idempotently).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Lang = Literal["zh", "en"]


class CardState(enum.Enum):
    """Where a card is in its life; the values are the stored codes and never change."""

    APPLIED = "applied"
    IN_PRODUCTION = "in_production"
    AWAITING_COLLECTION = "awaiting_collection"
    COLLECTED = "collected"
    ACTIVATED = "activated"
    TEMPORARILY_LOST = "temporarily_lost"
    FORMALLY_LOST = "formally_lost"
    REPLACED = "replaced"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES

    def display(self, lang: Lang = "zh") -> str:
        zh, en = _STATE_NAMES[self]
        return zh if lang == "zh" else en


class ActionKind(enum.Enum):
    """What may happen to a card. ``SUBMIT`` only starts a card; the lapse is driven by time alone."""

    SUBMIT = "submit"
    PRODUCE = "produce"
    SHIP_TO_OUTLET = "ship_to_outlet"
    COLLECT = "collect"
    ACTIVATE = "activate"
    REPORT_TEMPORARY_LOSS = "report_temporary_loss"
    REPORT_FORMAL_LOSS = "report_formal_loss"
    CANCEL_LOSS = "cancel_loss"
    REPLACE = "replace"
    CANCEL = "cancel"
    PIN_RESET = "pin_reset"
    PIN_CHANGE = "pin_change"
    EXPIRE = "expire"
    TEMPORARY_LOSS_LAPSE = "temporary_loss_lapse"

    @property
    def requestable(self) -> bool:
        """True for actions a caller asks for on an existing card (not submit, not the lapse)."""
        return self not in (ActionKind.SUBMIT, ActionKind.TEMPORARY_LOSS_LAPSE)

    @property
    def at_the_counter(self) -> bool:
        """True for what an operator may be asked to do; expiry comes with the card's validity date."""
        return self.requestable and self is not ActionKind.EXPIRE

    def display(self, lang: Lang = "zh") -> str:
        zh, en = _ACTION_NAMES[self]
        return zh if lang == "zh" else en


class StatusEffect(enum.Enum):
    """What a transition does to the card's e-card status (ecard.md: the status follows the card)."""

    NONE = "none"
    SUSPEND = "suspend"
    RESTORE = "restore"
    REVOKE = "revoke"  # for good; idempotent, so every entry into a terminal state carries it


class Resume(enum.Enum):
    """A target that is not fixed: the state the card was in when the loss was reported."""

    STATE_BEFORE_LOSS = "the state before the loss"


@dataclass(frozen=True)
class Rule:
    target: CardState | Resume
    effect: StatusEffect


S, A, E = CardState, ActionKind, StatusEffect
BEFORE_LOSS = Resume.STATE_BEFORE_LOSS

INITIAL_ACTION = A.SUBMIT
INITIAL_STATE = S.APPLIED

TRANSITIONS: Mapping[tuple[CardState, ActionKind], Rule] = MappingProxyType({
    (S.APPLIED, A.PRODUCE): Rule(S.IN_PRODUCTION, E.NONE),
    (S.APPLIED, A.CANCEL): Rule(S.CANCELLED, E.REVOKE),

    (S.IN_PRODUCTION, A.SHIP_TO_OUTLET): Rule(S.AWAITING_COLLECTION, E.NONE),
    (S.IN_PRODUCTION, A.COLLECT): Rule(S.COLLECTED, E.NONE),  # instant issuance at the outlet
    (S.IN_PRODUCTION, A.CANCEL): Rule(S.CANCELLED, E.REVOKE),

    (S.AWAITING_COLLECTION, A.COLLECT): Rule(S.COLLECTED, E.NONE),
    (S.AWAITING_COLLECTION, A.CANCEL): Rule(S.CANCELLED, E.REVOKE),
    (S.AWAITING_COLLECTION, A.EXPIRE): Rule(S.EXPIRED, E.REVOKE),

    (S.COLLECTED, A.ACTIVATE): Rule(S.ACTIVATED, E.NONE),
    (S.COLLECTED, A.REPORT_TEMPORARY_LOSS): Rule(S.TEMPORARILY_LOST, E.SUSPEND),
    (S.COLLECTED, A.REPORT_FORMAL_LOSS): Rule(S.FORMALLY_LOST, E.REVOKE),
    (S.COLLECTED, A.REPLACE): Rule(S.REPLACED, E.REVOKE),
    (S.COLLECTED, A.CANCEL): Rule(S.CANCELLED, E.REVOKE),
    (S.COLLECTED, A.PIN_RESET): Rule(S.COLLECTED, E.NONE),
    (S.COLLECTED, A.PIN_CHANGE): Rule(S.COLLECTED, E.NONE),
    (S.COLLECTED, A.EXPIRE): Rule(S.EXPIRED, E.REVOKE),

    (S.ACTIVATED, A.REPORT_TEMPORARY_LOSS): Rule(S.TEMPORARILY_LOST, E.SUSPEND),
    (S.ACTIVATED, A.REPORT_FORMAL_LOSS): Rule(S.FORMALLY_LOST, E.REVOKE),
    (S.ACTIVATED, A.REPLACE): Rule(S.REPLACED, E.REVOKE),
    (S.ACTIVATED, A.CANCEL): Rule(S.CANCELLED, E.REVOKE),
    (S.ACTIVATED, A.PIN_RESET): Rule(S.ACTIVATED, E.NONE),
    (S.ACTIVATED, A.PIN_CHANGE): Rule(S.ACTIVATED, E.NONE),
    (S.ACTIVATED, A.EXPIRE): Rule(S.EXPIRED, E.REVOKE),

    (S.TEMPORARILY_LOST, A.REPORT_FORMAL_LOSS): Rule(S.FORMALLY_LOST, E.REVOKE),
    (S.TEMPORARILY_LOST, A.CANCEL_LOSS): Rule(BEFORE_LOSS, E.RESTORE),
    (S.TEMPORARILY_LOST, A.TEMPORARY_LOSS_LAPSE): Rule(BEFORE_LOSS, E.RESTORE),
    (S.TEMPORARILY_LOST, A.REPLACE): Rule(S.REPLACED, E.REVOKE),
    (S.TEMPORARILY_LOST, A.CANCEL): Rule(S.CANCELLED, E.REVOKE),
    (S.TEMPORARILY_LOST, A.EXPIRE): Rule(S.EXPIRED, E.REVOKE),

    (S.FORMALLY_LOST, A.REPLACE): Rule(S.REPLACED, E.REVOKE),
    (S.FORMALLY_LOST, A.CANCEL): Rule(S.CANCELLED, E.REVOKE),
    (S.FORMALLY_LOST, A.EXPIRE): Rule(S.EXPIRED, E.REVOKE),
})  # fmt: skip

TERMINAL_STATES = frozenset({S.REPLACED, S.CANCELLED, S.EXPIRED})
LOST_STATES = frozenset({S.TEMPORARILY_LOST, S.FORMALLY_LOST})
# The states a loss can be reported from, hence the ones cancelling a temporary loss returns to.
STATES_BEFORE_LOSS = frozenset(s for (s, a) in TRANSITIONS if a is A.REPORT_TEMPORARY_LOSS)
del S, A, E


def allowed_actions(state: CardState) -> tuple[ActionKind, ...]:
    """The actions a caller may request in ``state``, in declaration order (empty when terminal)."""
    return tuple(a for a in ActionKind if a.requestable and (state, a) in TRANSITIONS)


def targets(state: CardState, action: ActionKind) -> frozenset[CardState]:
    """Every state ``action`` may lead to from ``state`` (two for a loss cancelled); empty if illegal."""
    rule = TRANSITIONS.get((state, action))
    if rule is None:
        return frozenset()
    if isinstance(rule.target, Resume):
        return STATES_BEFORE_LOSS
    return frozenset({rule.target})


_STATE_NAMES: dict[CardState, tuple[str, str]] = {
    CardState.APPLIED: ("已申请", "applied"),
    CardState.IN_PRODUCTION: ("制卡中", "in production"),
    CardState.AWAITING_COLLECTION: ("待领取", "awaiting collection"),
    CardState.COLLECTED: ("已领取", "collected"),
    CardState.ACTIVATED: ("已启用", "activated"),
    CardState.TEMPORARILY_LOST: ("临时挂失", "temporarily lost"),
    CardState.FORMALLY_LOST: ("正式挂失", "formally lost"),
    CardState.REPLACED: ("已补换", "replaced"),
    CardState.CANCELLED: ("已注销", "cancelled"),
    CardState.EXPIRED: ("已过期", "expired"),
}

_ACTION_NAMES: dict[ActionKind, tuple[str, str]] = {
    ActionKind.SUBMIT: ("申领", "apply for a card"),
    ActionKind.PRODUCE: ("制卡", "start production"),
    ActionKind.SHIP_TO_OUTLET: ("配送至网点", "ship to the outlet"),
    ActionKind.COLLECT: ("领卡", "hand over the card"),
    ActionKind.ACTIVATE: ("启用", "activate"),
    ActionKind.REPORT_TEMPORARY_LOSS: ("临时挂失", "report a temporary loss"),
    ActionKind.REPORT_FORMAL_LOSS: ("正式挂失", "report a formal loss"),
    ActionKind.CANCEL_LOSS: ("解挂", "cancel the loss report"),
    ActionKind.REPLACE: ("补换", "replace the card"),
    ActionKind.CANCEL: ("注销", "cancel the card"),
    ActionKind.PIN_RESET: ("密码重置", "reset the PIN"),
    ActionKind.PIN_CHANGE: ("密码修改", "change the PIN"),
    ActionKind.EXPIRE: ("有效期满", "expire the card"),
    ActionKind.TEMPORARY_LOSS_LAPSE: ("临时挂失到期自动解除", "let the temporary loss lapse"),
}
