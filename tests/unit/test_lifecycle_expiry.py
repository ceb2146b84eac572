"""A temporary loss lapses by itself after the regional number of days, observed without polling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle import (
    ActionKind,
    CancelLoss,
    CardState,
    ChangePin,
    IllegalTransition,
    LifecycleSettings,
    LossCancelled,
    LossKind,
    LossReported,
    ReportLoss,
    StatusEffect,
    TemporaryLossExpired,
    apply,
    available_actions,
    effective_state,
    settle,
    submit,
)
from tests.unit.test_lifecycle_table import SETTINGS, STEP, T0, walk

TINY = timedelta(microseconds=1)


@pytest.mark.parametrize("days", [5, 10, 15])
def test_the_loss_holds_until_exactly_n_days_after_the_report(days: int) -> None:
    settings = LifecycleSettings(temporary_loss_days=days)
    activated = walk("activated")
    reported_at = activated.updated_at + STEP
    lost, (event,) = apply(activated, ReportLoss(LossKind.TEMPORARY), at=reported_at, settings=settings)
    boundary = reported_at + timedelta(days=days)
    assert lost.loss_expires_at == boundary and lost.loss_reported_at == reported_at
    assert isinstance(event, LossReported) and event.expires_at == boundary and event.loss is LossKind.TEMPORARY

    assert effective_state(lost, boundary - TINY) is CardState.TEMPORARILY_LOST
    assert settle(lost, at=boundary - TINY) == (lost, ())
    assert effective_state(lost, boundary) is CardState.ACTIVATED

    observed = boundary + timedelta(days=3)
    restored, (lapse,) = settle(lost, at=observed)
    assert restored.state is CardState.ACTIVATED and restored.version == lost.version + 1
    assert restored.updated_at == boundary  # dated when the loss ran out, not when it was noticed
    assert (restored.state_before_loss, restored.loss_reported_at, restored.loss_expires_at) == (None, None, None)
    assert isinstance(lapse, TemporaryLossExpired)
    assert (lapse.at, lapse.observed_at, lapse.version) == (boundary, observed, restored.version)
    assert (lapse.action, lapse.source, lapse.target) == (
        ActionKind.TEMPORARY_LOSS_LAPSE, CardState.TEMPORARILY_LOST, CardState.ACTIVATED,
    )  # fmt: skip
    assert lapse.status_effect is StatusEffect.RESTORE
    assert settle(restored, at=observed) == (restored, ())  # observed once, never again


def test_cancelling_one_instant_before_the_boundary_is_a_cancellation_not_a_lapse() -> None:
    lost = walk("temporarily_lost")
    assert lost.loss_expires_at is not None
    new, events = apply(lost, CancelLoss(), at=lost.loss_expires_at - TINY, settings=SETTINGS)
    assert new.state is CardState.ACTIVATED
    assert [type(e) for e in events] == [LossCancelled]


def test_at_the_boundary_the_loss_is_gone_and_cancelling_it_is_refused() -> None:
    lost = walk("temporarily_lost")
    assert lost.loss_expires_at is not None
    with pytest.raises(IllegalTransition) as caught:
        apply(lost, CancelLoss(), at=lost.loss_expires_at, settings=SETTINGS)
    assert caught.value.state is CardState.ACTIVATED
    assert ActionKind.CANCEL_LOSS not in available_actions(lost, at=lost.loss_expires_at)
    assert ActionKind.CANCEL_LOSS in available_actions(lost, at=lost.loss_expires_at - TINY)


def test_the_first_transition_after_the_lapse_records_it_first() -> None:
    lost = walk("temporarily_lost")
    assert lost.loss_expires_at is not None
    later = lost.loss_expires_at + timedelta(days=40)
    new, events = apply(lost, ReportLoss(LossKind.FORMAL), at=later, settings=SETTINGS)
    assert [type(e) for e in events] == [TemporaryLossExpired, LossReported]
    assert [e.version for e in events] == [lost.version + 1, lost.version + 2]
    assert [(e.source, e.target) for e in events] == [
        (CardState.TEMPORARILY_LOST, CardState.ACTIVATED), (CardState.ACTIVATED, CardState.FORMALLY_LOST),
    ]  # fmt: skip
    assert [e.status_effect for e in events] == [StatusEffect.RESTORE, StatusEffect.REVOKE]
    assert new.state is CardState.FORMALLY_LOST and new.loss_reported_at == later and new.version == lost.version + 2

    pin_record, pin_events = apply(lost, ChangePin(), at=later, settings=SETTINGS)  # usable again
    assert pin_record.state is CardState.ACTIVATED
    assert [type(e).__name__ for e in pin_events] == ["TemporaryLossExpired", "PinChanged"]


def test_a_card_never_activated_lapses_back_to_collected() -> None:
    lost = walk("temporarily_lost_never_activated")
    assert lost.loss_expires_at is not None
    restored, (lapse,) = settle(lost, at=lost.loss_expires_at)
    assert restored.state is lapse.target is CardState.COLLECTED


def test_a_changed_setting_never_moves_a_running_loss() -> None:
    lost = walk("temporarily_lost")  # reported under the default 10 days
    six_days = lost.updated_at + timedelta(days=6)
    new, events = apply(lost, CancelLoss(), at=six_days, settings=LifecycleSettings(temporary_loss_days=5))
    assert [type(e) for e in events] == [LossCancelled]
    assert new.state is CardState.ACTIVATED


def test_the_boundary_is_absolute_time_whatever_the_zone() -> None:
    lost = walk("temporarily_lost")
    assert lost.loss_expires_at is not None
    in_utc = lost.loss_expires_at.astimezone(UTC)
    assert effective_state(lost, in_utc - TINY) is CardState.TEMPORARILY_LOST
    assert effective_state(lost, in_utc) is CardState.ACTIVATED


def test_a_report_formalised_keeps_the_loss_start_and_drops_the_lapse() -> None:
    lost = walk("temporarily_lost")
    formal, _ = apply(lost, ReportLoss(LossKind.FORMAL), at=lost.updated_at + STEP, settings=SETTINGS)
    assert formal.loss_reported_at == lost.loss_reported_at and formal.loss_expires_at is None
    assert formal.state_before_loss is CardState.ACTIVATED
    assert effective_state(formal, formal.updated_at + timedelta(days=10_000)) is CardState.FORMALLY_LOST


@pytest.mark.parametrize("days", [0, -5, 367, True, 10.0, "10"])
def test_settings_refuse_a_nonsense_period(days: object) -> None:
    with pytest.raises(FieldError, match="temporary_loss_days"):
        LifecycleSettings(temporary_loss_days=days)  # type: ignore[arg-type]


def test_time_must_be_timezone_aware_and_never_run_backwards() -> None:
    naive = datetime(2025, 3, 1, 9, 0)
    with pytest.raises(FieldError, match=r"^at: expected a timezone-aware datetime"):
        submit("CARD-0009", at=naive)
    record = walk("activated")
    with pytest.raises(FieldError, match=r"^at: "):
        apply(record, ChangePin(), at=naive, settings=SETTINGS)
    with pytest.raises(FieldError, match=r"^now: "):
        effective_state(record, naive)
    with pytest.raises(FieldError, match="not before the card's last transition"):
        apply(record, ChangePin(), at=record.updated_at - TINY, settings=SETTINGS)
    same_instant, _ = apply(record, ChangePin(), at=record.updated_at, settings=SETTINGS)
    assert same_instant.version == record.version + 1


def test_nothing_but_a_temporary_loss_changes_with_time() -> None:
    other, _ = submit("CARD-0010", at=T0)
    assert effective_state(other, T0 + timedelta(days=365)) is CardState.APPLIED  # nothing lapses but a loss
