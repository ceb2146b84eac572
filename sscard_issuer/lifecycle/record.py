"""One card's lifecycle record, and the regional settings the lifecycle reads.

A :class:`CardRecord` is what the registry stores for a card: frozen, and refused when built if its
fields contradict one another (a lost card without the state to return to, a replaced card with no
successor). Only :mod:`.machine` makes new ones from old ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle.actions import check_card_ref
from sscard_issuer.lifecycle.states import LOST_STATES, STATES_BEFORE_LOSS, CardState

TEMPORARY_LOSS_DAYS_SEEN = (5, 10, 15)  # the regional periods published; others are accepted
MAX_TEMPORARY_LOSS_DAYS = 366


def check_aware(field: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise FieldError(field, "a timezone-aware datetime", value)
    return value


@dataclass(frozen=True, kw_only=True)
class LifecycleSettings:
    """Regional rules. ``temporary_loss_days``: how long a temporary loss lasts before it lapses."""

    temporary_loss_days: int = 10

    def __post_init__(self) -> None:
        days = self.temporary_loss_days
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TEMPORARY_LOSS_DAYS:
            raise FieldError(
                "temporary_loss_days", f"a whole number of days from 1 to {MAX_TEMPORARY_LOSS_DAYS}", days
            )

    @property
    def temporary_loss_period(self) -> timedelta:
        return timedelta(days=self.temporary_loss_days)


@dataclass(frozen=True, kw_only=True)
class CardRecord:
    """A card's state and what its next transitions need to know.

    ``version`` counts the transitions applied (1 after submit): the registry's compare-and-set
    column. ``updated_at`` is the time of the last transition. While the card is lost,
    ``state_before_loss`` is where cancelling the loss returns and ``loss_reported_at`` when the loss
    began; while it is temporarily lost, ``loss_expires_at`` is when the loss lapses by itself (fixed
    when reported, so a change of the regional setting never moves a running loss).
    """

    card_ref: str
    state: CardState
    version: int
    updated_at: datetime
    state_before_loss: CardState | None = None
    loss_reported_at: datetime | None = None
    loss_expires_at: datetime | None = None
    replaces: str | None = None  # the card this one replaced
    replaced_by: str | None = None  # the card that replaced this one

    def __post_init__(self) -> None:
        check_card_ref("card_ref", self.card_ref)
        if not isinstance(self.state, CardState):
            raise FieldError("state", "a CardState", self.state)
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise FieldError("version", "a whole number from 1", self.version)
        check_aware("updated_at", self.updated_at)
        self._check_loss()
        for field in ("replaces", "replaced_by"):
            ref = getattr(self, field)
            if ref is not None and check_card_ref(field, ref) == self.card_ref:
                raise FieldError(field, "another card than this one", ref)
        if (self.replaced_by is not None) != (self.state is CardState.REPLACED):
            raise FieldError("replaced_by", "a card reference exactly when the state is replaced", self.replaced_by)

    def _check_loss(self) -> None:
        lost = self.state in LOST_STATES
        if lost != (self.state_before_loss is not None) or (lost and self.state_before_loss not in STATES_BEFORE_LOSS):
            expected = sorted(s.value for s in STATES_BEFORE_LOSS)
            raise FieldError("state_before_loss", f"one of {expected} exactly when the card is lost", self.state_before_loss)
        if lost != (self.loss_reported_at is not None):
            raise FieldError("loss_reported_at", "a time exactly when the card is lost", self.loss_reported_at)
        temporary = self.state is CardState.TEMPORARILY_LOST
        if temporary != (self.loss_expires_at is not None):
            raise FieldError("loss_expires_at", "a time exactly when the card is temporarily lost", self.loss_expires_at)
        if self.loss_reported_at is not None:
            reported = check_aware("loss_reported_at", self.loss_reported_at)
            if reported > self.updated_at:
                raise FieldError("loss_reported_at", "a time not after updated_at", reported)
            if self.loss_expires_at is not None and check_aware("loss_expires_at", self.loss_expires_at) <= reported:
                raise FieldError("loss_expires_at", "a time after loss_reported_at", self.loss_expires_at)
