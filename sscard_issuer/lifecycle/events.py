"""What a transition tells the rest of the system: one frozen event class per kind of transition.

Every event names the card, the time the transition took effect, the record version it produced,
the action, the states before and after, and its ``status_effect`` on the e-card (ecard.md: the
e-card status always equals the card's). An event refuses to be built unless the table holds its
transition, so an event rebuilt from the registry's log is as trustworthy as a fresh one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle.actions import LossKind, check_card_ref
from sscard_issuer.lifecycle.record import check_aware
from sscard_issuer.lifecycle.states import (
    INITIAL_ACTION,
    INITIAL_STATE,
    TRANSITIONS,
    ActionKind,
    CardState,
    StatusEffect,
    targets,
)


@dataclass(frozen=True, kw_only=True)
class CardEvent:
    ACTIONS: ClassVar[frozenset[ActionKind]] = frozenset()

    card_ref: str
    at: datetime  # when the transition took effect (for a lapse: the moment the loss ran out)
    version: int  # the record's version after the transition
    action: ActionKind
    source: CardState | None  # None only for the card's first event
    target: CardState
    status_effect: StatusEffect

    def __post_init__(self) -> None:
        check_card_ref("card_ref", self.card_ref)
        check_aware("at", self.at)
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise FieldError("version", "a whole number from 1", self.version)
        if self.action not in self.ACTIONS:
            raise FieldError("action", f"one of {sorted(a.value for a in self.ACTIONS)}", self.action)
        if self.source is None:
            legal = self.action is INITIAL_ACTION and self.target is INITIAL_STATE and self.version == 1
        else:
            if self.version < 2:
                raise FieldError("version", "2 or more: only the first event has version 1", self.version)
            legal = self.target in targets(self.source, self.action)
        if not legal:
            shown = self.source.value if self.source else "(start)"
            raise FieldError("target", f"a transition the table holds, not {shown} -{self.action.value}->", self.target)
        table = StatusEffect.NONE if self.source is None else TRANSITIONS[self.source, self.action].effect
        effect = self._effect(table)
        if self.status_effect is not effect:
            raise FieldError("status_effect", f"{effect} for this transition", self.status_effect)

    def _effect(self, table_effect: StatusEffect) -> StatusEffect:
        return table_effect


@dataclass(frozen=True, kw_only=True)
class CardApplied(CardEvent):
    """A card exists: a first application, or the successor of a replaced card (``replaces``)."""

    ACTIONS = frozenset({ActionKind.SUBMIT})
    replaces: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.replaces is not None and check_card_ref("replaces", self.replaces) == self.card_ref:
            raise FieldError("replaces", "another card than this one", self.replaces)


@dataclass(frozen=True, kw_only=True)
class ProductionStarted(CardEvent):
    ACTIONS = frozenset({ActionKind.PRODUCE})


@dataclass(frozen=True, kw_only=True)
class ShippedToOutlet(CardEvent):
    ACTIONS = frozenset({ActionKind.SHIP_TO_OUTLET})


@dataclass(frozen=True, kw_only=True)
class CardCollected(CardEvent):
    ACTIONS = frozenset({ActionKind.COLLECT})


@dataclass(frozen=True, kw_only=True)
class CardActivated(CardEvent):
    ACTIONS = frozenset({ActionKind.ACTIVATE})


@dataclass(frozen=True, kw_only=True)
class LossReported(CardEvent):
    """A loss report; a temporary one carries the moment it lapses, so consumers need not poll."""

    ACTIONS = frozenset({ActionKind.REPORT_TEMPORARY_LOSS, ActionKind.REPORT_FORMAL_LOSS})
    loss: LossKind
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        kind = LossKind.TEMPORARY if self.action is ActionKind.REPORT_TEMPORARY_LOSS else LossKind.FORMAL
        if self.loss is not kind:
            raise FieldError("loss", f"{kind} for {self.action.value}", self.loss)
        if kind is LossKind.FORMAL and self.expires_at is not None:
            raise FieldError("expires_at", "None: a formal loss does not lapse", self.expires_at)
        if kind is LossKind.TEMPORARY and check_aware("expires_at", self.expires_at) <= self.at:
            raise FieldError("expires_at", "a time after the report", self.expires_at)


@dataclass(frozen=True, kw_only=True)
class LossCancelled(CardEvent):
    ACTIONS = frozenset({ActionKind.CANCEL_LOSS})


@dataclass(frozen=True, kw_only=True)
class TemporaryLossExpired(CardEvent):
    """The temporary loss ran out at ``at``; ``observed_at`` is when the registry first noticed."""

    ACTIONS = frozenset({ActionKind.TEMPORARY_LOSS_LAPSE})
    observed_at: datetime

    def __post_init__(self) -> None:
        super().__post_init__()
        if check_aware("observed_at", self.observed_at) < self.at:
            raise FieldError("observed_at", "a time not before the lapse", self.observed_at)


@dataclass(frozen=True, kw_only=True)
class _Succession(CardEvent):
    ACTIONS = frozenset({ActionKind.REPLACE})
    new_card_ref: str

    def __post_init__(self) -> None:
        super().__post_init__()
        if check_card_ref("new_card_ref", self.new_card_ref) == self.card_ref:
            raise FieldError("new_card_ref", "another card than this one", self.new_card_ref)


@dataclass(frozen=True, kw_only=True)
class CardReplaced(_Succession):
    """The old card's terminal event: it is dead for good; ``new_card_ref`` is its successor."""


@dataclass(frozen=True, kw_only=True)
class ReplacementRequested(_Succession):
    """The intent to make the successor: the registry starts ``new_card_ref`` at applied.

    It rides on the same transition as :class:`CardReplaced` and carries no status effect of its
    own (the revocation travels once, on ``CardReplaced``); the e-card service issues the successor's
    credential when the new card is issued, as for any card.
    """

    def _effect(self, table_effect: StatusEffect) -> StatusEffect:
        return StatusEffect.NONE


@dataclass(frozen=True, kw_only=True)
class CardCancelled(CardEvent):
    ACTIONS = frozenset({ActionKind.CANCEL})


@dataclass(frozen=True, kw_only=True)
class PinReset(CardEvent):
    """Recorded only: the card's state is unchanged. Never carries the PIN."""

    ACTIONS = frozenset({ActionKind.PIN_RESET})


@dataclass(frozen=True, kw_only=True)
class PinChanged(CardEvent):
    """Recorded only: the card's state is unchanged. Never carries the PIN."""

    ACTIONS = frozenset({ActionKind.PIN_CHANGE})


@dataclass(frozen=True, kw_only=True)
class CardExpired(CardEvent):
    ACTIONS = frozenset({ActionKind.EXPIRE})
