"""A tiny in-process publish/subscribe for lifecycle events: the e-card status and the outlet jobs listen.

Decisions:

- Publish after the transition is stored (the registry commits, then publishes). A subscriber
  therefore never sees a transition that did not happen, and cannot undo one that did.
- Subscribers run synchronously, in the order they subscribed; each event reaches every subscriber
  before the next event is delivered, also when a subscriber publishes in turn (those events queue).
- A subscriber that raises does not stop the others or the transition: the failure is logged and
  returned from :meth:`EventBus.publish` as a :class:`DeliveryFailure`, for the caller to record
  and retry. Nothing is swallowed. ``BaseException`` (Ctrl-C, exit) is not caught.
- Delivery is in-process and at most once; the registry's event log is the durable record a
  restarted consumer catches up from.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sscard_issuer.lifecycle.events import CardEvent

_log = logging.getLogger(__name__)

EventT = TypeVar("EventT", bound=CardEvent)


@dataclass(frozen=True)
class DeliveryFailure:
    event: CardEvent
    subscriber: Callable[[Any], None]
    error: Exception


class EventBus:
    """Subscribers by event class (a base class receives its subclasses; ``CardEvent`` gets all)."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[type[CardEvent], Callable[[Any], None]]] = []
        self._queue: deque[CardEvent] = deque()
        self._delivering = False

    def subscribe(self, event_type: type[EventT], handler: Callable[[EventT], None]) -> Callable[[], None]:
        """Call ``handler`` with every published ``event_type``; returns the function that unsubscribes."""
        entry: tuple[type[CardEvent], Callable[[Any], None]] = (event_type, handler)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, *events: CardEvent) -> tuple[DeliveryFailure, ...]:
        """Deliver ``events`` in order; the failures of this call (and of events queued during it)."""
        self._queue.extend(events)
        if self._delivering:
            return ()  # the outer publish delivers them, and reports their failures
        self._delivering = True
        failures: list[DeliveryFailure] = []
        try:
            while self._queue:
                event = self._queue.popleft()
                for event_type, handler in list(self._subscribers):
                    if isinstance(event, event_type):
                        failure = _deliver(event, handler)
                        if failure is not None:
                            failures.append(failure)
        finally:
            self._delivering = False
            self._queue.clear()
        return tuple(failures)


def _deliver(event: CardEvent, handler: Callable[[Any], None]) -> DeliveryFailure | None:
    try:
        handler(event)
    except Exception as error:  # noqa: BLE001 - logged and returned: one subscriber must not stop the rest
        _log.exception(
            "lifecycle subscriber %r failed on %s (card %s, version %d)",
            handler, type(event).__name__, event.card_ref, event.version,
        )  # fmt: skip
        return DeliveryFailure(event, handler, error)
    return None
