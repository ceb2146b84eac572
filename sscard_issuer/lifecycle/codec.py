"""Lifecycle events to and from JSON: how the registry's event log stores them.

An event read back is rebuilt through its own constructor, so a stored row that contradicts the
transition table is refused exactly as a freshly made event would be.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import datetime
from typing import Any

from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle import events
from sscard_issuer.lifecycle.actions import LossKind
from sscard_issuer.lifecycle.events import CardEvent
from sscard_issuer.lifecycle.states import ActionKind, CardState, StatusEffect

EVENT_TYPES: dict[str, type[CardEvent]] = {
    cls.__name__: cls
    for cls in vars(events).values()
    if isinstance(cls, type) and issubclass(cls, CardEvent) and cls.ACTIONS and not cls.__name__.startswith("_")
}
_ENUMS: dict[str, type[enum.Enum]] = {
    "action": ActionKind, "source": CardState, "target": CardState, "status_effect": StatusEffect,
    "loss": LossKind,
}
_TIMES = frozenset({"at", "expires_at", "observed_at"})


def event_to_dict(event: CardEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": type(event).__name__}
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, datetime):
            value = value.isoformat()
        out[field.name] = value
    return out


def event_from_dict(data: dict[str, Any]) -> CardEvent:
    fields = dict(data)
    kind = fields.pop("kind", None)
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise FieldError("kind", f"one of {sorted(EVENT_TYPES)}", kind)
    for name, value in fields.items():
        if value is None:
            continue
        if name in _ENUMS:
            fields[name] = _ENUMS[name](value)
        elif name in _TIMES:
            fields[name] = datetime.fromisoformat(value)
    return cls(**fields)


def event_to_json(event: CardEvent) -> str:
    return json.dumps(event_to_dict(event), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def event_from_json(text: str) -> CardEvent:
    return event_from_dict(json.loads(text))
