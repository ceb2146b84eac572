"""The card lifecycle as a pure state machine: the table, the records, the transitions, the events.

No database and no I/O: the registry stores each :func:`apply` result in one transaction and then
publishes its events on an :class:`EventBus`. ``docs/lifecycle.md`` is generated from
:mod:`.states` by :mod:`.diagram`.
"""

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

__all__ = [
    "TERMINAL_STATES",
    "TRANSITIONS",
    "Action",
    "ActionKind",
    "Activate",
    "Cancel",
    "CancelLoss",
    "CardActivated",
    "CardApplied",
    "CardCancelled",
    "CardCollected",
    "CardEvent",
    "CardExpired",
    "CardRecord",
    "CardReplaced",
    "CardState",
    "ChangePin",
    "Collect",
    "DeliveryFailure",
    "EventBus",
    "Expire",
    "IllegalTransition",
    "LifecycleError",
    "LifecycleSettings",
    "LossCancelled",
    "LossKind",
    "LossReported",
    "Outcome",
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
