"""Records and events are immutable and refuse contradictions when built; replacement links two cards."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle import (
    ActionKind,
    CardApplied,
    CardEvent,
    CardRecord,
    CardReplaced,
    CardState,
    ChangePin,
    LossKind,
    LossReported,
    PinChanged,
    Produce,
    ProductionStarted,
    Replace,
    ReplacementRequested,
    ReportLoss,
    ResetPin,
    StatusEffect,
    apply,
    start_replacement,
    submit,
)
from tests.unit.test_lifecycle_table import CARD, NEW_CARD, SETTINGS, STEP, T0, walk


def test_submit_starts_a_card_at_applied() -> None:
    record, (event,) = submit(CARD, at=T0)
    assert record == CardRecord(card_ref=CARD, state=CardState.APPLIED, version=1, updated_at=T0)
    assert isinstance(event, CardApplied)
    assert (event.source, event.target, event.action, event.version) == (None, CardState.APPLIED, ActionKind.SUBMIT, 1)
    assert event.status_effect is StatusEffect.NONE and event.replaces is None


def test_replacement_ends_the_old_card_and_links_the_new_one() -> None:
    old = walk("formally_lost")
    at = old.updated_at + STEP
    dead, (ended, requested) = apply(old, Replace(NEW_CARD), at=at, settings=SETTINGS)
    assert dead.state is CardState.REPLACED and dead.replaced_by == NEW_CARD
    assert isinstance(ended, CardReplaced) and isinstance(requested, ReplacementRequested)
    assert not isinstance(requested, CardReplaced)  # a CardReplaced subscriber sees one event, not two
    assert (ended.new_card_ref, ended.status_effect) == (NEW_CARD, StatusEffect.REVOKE)
    assert (requested.card_ref, requested.new_card_ref, requested.status_effect) == (CARD, NEW_CARD, StatusEffect.NONE)
    assert requested.at == ended.at == at and requested.version == ended.version == dead.version

    successor, (applied,) = start_replacement(requested)
    assert successor.state is CardState.APPLIED and successor.replaces == CARD and successor.card_ref == NEW_CARD
    assert isinstance(applied, CardApplied) and applied.replaces == CARD and applied.at == at
    made, _ = apply(successor, Produce(), at=at + STEP, settings=SETTINGS)  # made like any other card
    assert made.state is CardState.IN_PRODUCTION and made.replaces == CARD


def test_a_card_cannot_replace_itself() -> None:
    record = walk("activated")
    with pytest.raises(FieldError, match=r"^new_card_ref: "):
        apply(record, Replace(CARD), at=record.updated_at + STEP, settings=SETTINGS)
    with pytest.raises(FieldError, match=r"^replaces: "):
        submit(CARD, at=T0, replaces=CARD)
    with pytest.raises(FieldError, match=r"^new_card_ref: "):
        Replace(" CARD-0003")


def test_pin_actions_are_recorded_without_changing_the_state() -> None:
    for path in ("collected", "activated"):
        record = walk(path)
        after_reset, (reset,) = apply(record, ResetPin(), at=record.updated_at + STEP, settings=SETTINGS)
        after_change, (change,) = apply(after_reset, ChangePin(), at=after_reset.updated_at + STEP, settings=SETTINGS)
        assert after_change.state is record.state and after_change.version == record.version + 2
        assert reset.source == reset.target == change.source == change.target == record.state
        assert isinstance(change, PinChanged) and change.status_effect is StatusEffect.NONE


def test_records_and_events_are_frozen() -> None:
    record, (event,) = submit(CARD, at=T0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.state = CardState.ACTIVATED  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.target = CardState.ACTIVATED  # type: ignore[misc]


VALID = {"card_ref": CARD, "state": CardState.ACTIVATED, "version": 5, "updated_at": T0}
LOST = VALID | {"state": CardState.TEMPORARILY_LOST, "state_before_loss": CardState.ACTIVATED,
                "loss_reported_at": T0, "loss_expires_at": T0 + timedelta(days=10)}  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"card_ref": ""}, "card_ref"),
        ({"state": "activated"}, "state"),
        ({"version": 0}, "version"),
        ({"version": True}, "version"),
        ({"updated_at": T0.replace(tzinfo=None)}, "updated_at"),
        ({"state_before_loss": CardState.ACTIVATED}, "state_before_loss"),  # not lost
        ({"replaced_by": NEW_CARD}, "replaced_by"),  # not replaced
        ({"state": CardState.REPLACED}, "replaced_by"),  # replaced without a successor
        ({"state": CardState.REPLACED, "replaced_by": CARD}, "replaced_by"),
        ({"replaces": CARD}, "replaces"),
        ({"state": CardState.FORMALLY_LOST}, "state_before_loss"),
    ],
)
def test_a_record_refuses_contradictions(changes: dict[str, object], field: str) -> None:
    with pytest.raises(FieldError) as caught:
        CardRecord(**(VALID | changes))  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"state_before_loss": CardState.IN_PRODUCTION}, "state_before_loss"),
        ({"loss_reported_at": None}, "loss_reported_at"),
        ({"loss_expires_at": None}, "loss_expires_at"),
        ({"loss_expires_at": T0}, "loss_expires_at"),
        ({"loss_reported_at": T0 + STEP}, "loss_reported_at"),  # after the last transition
    ],
)
def test_a_lost_record_refuses_contradictions(changes: dict[str, object], field: str) -> None:
    assert CardRecord(**LOST).state is CardState.TEMPORARILY_LOST  # type: ignore[arg-type]
    with pytest.raises(FieldError) as caught:
        CardRecord(**(LOST | changes))  # type: ignore[arg-type]
    assert caught.value.field == field


EVENT = {"card_ref": CARD, "at": T0, "version": 2, "action": ActionKind.PRODUCE,
         "source": CardState.APPLIED, "target": CardState.IN_PRODUCTION, "status_effect": StatusEffect.NONE}  # fmt: skip


@pytest.mark.parametrize(
    ("cls", "changes", "field"),
    [
        (ProductionStarted, {"target": CardState.ACTIVATED}, "target"),  # not in the table
        (ProductionStarted, {"action": ActionKind.COLLECT}, "action"),  # not this event's action
        (ProductionStarted, {"status_effect": StatusEffect.REVOKE}, "status_effect"),
        (ProductionStarted, {"version": 1}, "version"),  # only the first event has version 1
        (ProductionStarted, {"at": T0.replace(tzinfo=None)}, "at"),
        (CardApplied, {"action": ActionKind.SUBMIT, "source": None, "target": CardState.APPLIED}, "target"),
    ],
)
def test_an_event_refuses_a_transition_the_table_does_not_hold(
    cls: type[CardEvent], changes: dict[str, object], field: str
) -> None:
    assert ProductionStarted(**EVENT).target is CardState.IN_PRODUCTION  # type: ignore[arg-type]
    with pytest.raises(FieldError) as caught:
        cls(**(EVENT | changes))  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_loss_event_carries_its_lapse_only_when_temporary() -> None:
    base = EVENT | {"action": ActionKind.REPORT_TEMPORARY_LOSS, "source": CardState.ACTIVATED,
                    "target": CardState.TEMPORARILY_LOST, "status_effect": StatusEffect.SUSPEND}  # fmt: skip
    ok = LossReported(**base, loss=LossKind.TEMPORARY, expires_at=T0 + timedelta(days=5))  # type: ignore[arg-type]
    assert ok.expires_at == T0 + timedelta(days=5)
    for loss, expires, field in [
        (LossKind.TEMPORARY, None, "expires_at"),
        (LossKind.TEMPORARY, T0, "expires_at"),
        (LossKind.FORMAL, T0 + timedelta(days=5), "loss"),
    ]:
        with pytest.raises(FieldError) as caught:
            LossReported(**base, loss=loss, expires_at=expires)  # type: ignore[arg-type]
        assert caught.value.field == field


def test_report_loss_refuses_a_string_for_its_kind() -> None:
    with pytest.raises(FieldError, match=r"^loss: "):
        ReportLoss("temporary")  # type: ignore[arg-type]
