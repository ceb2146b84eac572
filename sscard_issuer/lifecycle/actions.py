"""What a caller asks of a card: one small frozen value per action, checked when built.

Starting a card is not an action on a record (there is none yet): see :func:`.machine.submit`.
The lapse of a temporary loss is not requested by anyone: time alone brings it (:func:`.machine.settle`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle.states import ActionKind


class LossKind(enum.Enum):
    TEMPORARY = "temporary"  # 临时挂失: by phone, online or at a kiosk; lapses by itself
    FORMAL = "formal"  # 正式挂失: in person; cannot be undone, leads to replacement


def check_card_ref(field: str, value: object) -> str:
    """A card reference: the registry's own key for one card, opaque here, non-blank and trimmed."""
    if not isinstance(value, str) or not value or value.strip() != value:
        raise FieldError(field, "a non-empty card reference without surrounding spaces", value)
    return value


@dataclass(frozen=True)
class Action:
    KIND: ClassVar[ActionKind]

    @property
    def kind(self) -> ActionKind:
        return self.KIND


@dataclass(frozen=True)
class Produce(Action):
    KIND = ActionKind.PRODUCE


@dataclass(frozen=True)
class ShipToOutlet(Action):
    KIND = ActionKind.SHIP_TO_OUTLET


@dataclass(frozen=True)
class Collect(Action):
    KIND = ActionKind.COLLECT


@dataclass(frozen=True)
class Activate(Action):
    KIND = ActionKind.ACTIVATE


@dataclass(frozen=True)
class ReportLoss(Action):
    loss: LossKind

    def __post_init__(self) -> None:
        if not isinstance(self.loss, LossKind):
            raise FieldError("loss", "LossKind.TEMPORARY or LossKind.FORMAL", self.loss)

    @property
    def kind(self) -> ActionKind:
        if self.loss is LossKind.TEMPORARY:
            return ActionKind.REPORT_TEMPORARY_LOSS
        return ActionKind.REPORT_FORMAL_LOSS


@dataclass(frozen=True)
class CancelLoss(Action):
    KIND = ActionKind.CANCEL_LOSS


@dataclass(frozen=True)
class Replace(Action):
    """Replace the card by a new one whose reference the registry has already allocated."""

    KIND = ActionKind.REPLACE
    new_card_ref: str

    def __post_init__(self) -> None:
        check_card_ref("new_card_ref", self.new_card_ref)


@dataclass(frozen=True)
class Cancel(Action):
    KIND = ActionKind.CANCEL


@dataclass(frozen=True)
class ResetPin(Action):
    KIND = ActionKind.PIN_RESET


@dataclass(frozen=True)
class ChangePin(Action):
    KIND = ActionKind.PIN_CHANGE


@dataclass(frozen=True)
class Expire(Action):
    """The end of the card's validity (ten years from issue)."""

    KIND = ActionKind.EXPIRE
