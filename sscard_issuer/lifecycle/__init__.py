"""The card lifecycle and the applications that start it.

Two halves. The pure core, with no database and no I/O: the table (:mod:`.states`), the records,
the actions, :func:`apply`, the events (``docs/lifecycle.md`` is generated from the table by
:mod:`.diagram`). The registry-backed services on top (:class:`Office`, loaded on first use so a
command that never touches the registry does not import SQLAlchemy): each call checks who acts
(:mod:`.access`), stores one transition per transaction with a compare-and-set on the card's
version (:mod:`.ledger`), files applications under the eligibility rules (:mod:`.filing`), keeps
staff, outlets (:mod:`.staff`) and stock (:mod:`.stock`), and publishes the events after commit.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sscard_issuer.lifecycle.actions import (
    Action,
    Activate,
    Cancel,
    CancelLoss,
    ChangePin,
    Collect,
    Expire,
    LossKind,
    Produce,
    Replace,
    ReportLoss,
    ResetPin,
    ShipToOutlet,
)
from sscard_issuer.lifecycle.bus import DeliveryFailure, EventBus
from sscard_issuer.lifecycle.errors import IllegalTransition, LifecycleError
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
from sscard_issuer.lifecycle.machine import (
    Outcome,
    apply,
    available_actions,
    effective_state,
    settle,
    start_replacement,
    submit,
)
from sscard_issuer.lifecycle.record import CardRecord, LifecycleSettings
from sscard_issuer.lifecycle.states import (
    TERMINAL_STATES,
    TRANSITIONS,
    ActionKind,
    CardState,
    StatusEffect,
    allowed_actions,
)

if TYPE_CHECKING:
    from sscard_issuer.lifecycle.access import Actor, Forbidden, Permission
    from sscard_issuer.lifecycle.errors import CardNotFound, ConcurrentChange, NotEligible
    from sscard_issuer.lifecycle.filing import Filed
    from sscard_issuer.lifecycle.office import Office, OfficeSettings
    from sscard_issuer.lifecycle.status_view import CardStatus

_LAZY = {
    "Actor": "sscard_issuer.lifecycle.access",
    "Forbidden": "sscard_issuer.lifecycle.access",
    "Permission": "sscard_issuer.lifecycle.access",
    "CardNotFound": "sscard_issuer.lifecycle.errors",
    "ConcurrentChange": "sscard_issuer.lifecycle.errors",
    "NotEligible": "sscard_issuer.lifecycle.errors",
    "Filed": "sscard_issuer.lifecycle.filing",
    "CardStatus": "sscard_issuer.lifecycle.status_view",
    "Office": "sscard_issuer.lifecycle.office",
    "OfficeSettings": "sscard_issuer.lifecycle.office",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "TERMINAL_STATES",
    "TRANSITIONS",
    "Action",
    "ActionKind",
    "Activate",
    "Actor",
    "Cancel",
    "CancelLoss",
    "CardActivated",
    "CardApplied",
    "CardCancelled",
    "CardCollected",
    "CardEvent",
    "CardExpired",
    "CardNotFound",
    "CardRecord",
    "CardReplaced",
    "CardState",
    "CardStatus",
    "ChangePin",
    "Collect",
    "ConcurrentChange",
    "DeliveryFailure",
    "EventBus",
    "Expire",
    "Filed",
    "Forbidden",
    "IllegalTransition",
    "LifecycleError",
    "LifecycleSettings",
    "LossCancelled",
    "LossKind",
    "LossReported",
    "NotEligible",
    "Office",
    "OfficeSettings",
    "Outcome",
    "Permission",
    "PinChanged",
    "PinReset",
    "Produce",
    "ProductionStarted",
    "Replace",
    "ReplacementRequested",
    "ReportLoss",
    "ResetPin",
    "ShipToOutlet",
    "ShippedToOutlet",
    "StatusEffect",
    "TemporaryLossExpired",
    "allowed_actions",
    "apply",
    "available_actions",
    "effective_state",
    "settle",
    "start_replacement",
    "submit",
]
