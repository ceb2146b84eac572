"""The in-process event bus: in order, to the subscribers of each class, and a failing one loses nothing."""

from __future__ import annotations

import logging

import pytest

from sscard_issuer.lifecycle import (
    CardEvent,
    CardReplaced,
    CardState,
    EventBus,
    LossReported,
    Replace,
    ReplacementRequested,
    StatusEffect,
    apply,
    start_replacement,
)
from tests.unit.test_lifecycle_table import NEW_CARD, SETTINGS, STEP, walk


def replaced_events() -> tuple[CardEvent, ...]:
    old = walk("temporarily_lost")
    _, events = apply(old, Replace(NEW_CARD), at=old.updated_at + STEP, settings=SETTINGS)
    return events


def test_events_reach_subscribers_in_order_and_by_class() -> None:
    bus, seen = EventBus(), []
    bus.subscribe(CardEvent, lambda e: seen.append(("all", type(e).__name__)))
    bus.subscribe(CardReplaced, lambda e: seen.append(("ecard", e.status_effect.value)))
    bus.subscribe(ReplacementRequested, lambda e: seen.append(("outlet", e.new_card_ref)))
    bus.subscribe(LossReported, lambda e: seen.append(("never", e.card_ref)))
    assert bus.publish(*replaced_events()) == ()
    assert seen == [
        ("all", "CardReplaced"), ("ecard", "revoke"),
        ("all", "ReplacementRequested"), ("outlet", NEW_CARD),
    ]  # fmt: skip


def test_a_failing_subscriber_is_reported_and_stops_neither_the_others_nor_the_transition(
    caplog: pytest.LogCaptureFixture,
) -> None:
    old = walk("activated")
    new, events = apply(old, Replace(NEW_CARD), at=old.updated_at + STEP, settings=SETTINGS)
    bus, seen = EventBus(), []

    def broken(event: CardEvent) -> None:
        raise RuntimeError("status list unavailable")

    bus.subscribe(CardReplaced, broken)
    bus.subscribe(CardEvent, lambda e: seen.append(type(e).__name__))
    with caplog.at_level(logging.ERROR, logger="sscard_issuer.lifecycle.bus"):
        failures = bus.publish(*events)
    assert seen == ["CardReplaced", "ReplacementRequested"]
    assert [(f.event, f.subscriber, str(f.error)) for f in failures] == [(events[0], broken, "status list unavailable")]
    assert "failed on CardReplaced" in caplog.text and "status list unavailable" in caplog.text
    assert new.state is CardState.REPLACED  # the transition stands; the caller records the failure to retry


def test_events_published_by_a_subscriber_wait_for_the_current_event() -> None:
    events = replaced_events()
    bus, seen = EventBus(), []

    def start_successor(event: ReplacementRequested) -> None:
        bus.publish(*start_replacement(event)[1])

    def broken_on_applied(event: CardEvent) -> None:
        if event.card_ref == NEW_CARD:
            raise ValueError("outlet queue full")

    bus.subscribe(ReplacementRequested, start_successor)
    bus.subscribe(CardEvent, lambda e: seen.append((type(e).__name__, e.card_ref)))
    bus.subscribe(CardEvent, broken_on_applied)
    failures = bus.publish(*events)
    assert seen == [("CardReplaced", "CARD-0001"), ("ReplacementRequested", "CARD-0001"), ("CardApplied", NEW_CARD)]
    assert [type(f.event).__name__ for f in failures] == ["CardApplied"]  # reported by the outer publish


def test_unsubscribe_and_base_exceptions() -> None:
    bus, seen = EventBus(), []
    unsubscribe = bus.subscribe(CardEvent, lambda e: seen.append(e))
    events = replaced_events()
    unsubscribe()
    unsubscribe()  # twice is harmless
    assert bus.publish(*events) == () and seen == []

    def interrupted(event: CardEvent) -> None:
        raise KeyboardInterrupt

    bus.subscribe(CardEvent, interrupted)
    with pytest.raises(KeyboardInterrupt):
        bus.publish(*events)
    bus = EventBus()
    bus.subscribe(CardEvent, lambda e: seen.append(e))
    assert bus.publish(events[0]) == () and seen == [events[0]]
    assert events[0].status_effect is StatusEffect.REVOKE
