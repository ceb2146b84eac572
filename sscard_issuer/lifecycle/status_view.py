"""A card as an operator sees it: what :meth:`.office.Office.status` and each transition return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sscard_issuer.lifecycle.states import CardState

__all__ = ["CardStatus", "HistoryLine"]


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    action: str
    source: str | None
    target: str
    operator: str | None
    outlet_code: str | None


@dataclass(frozen=True)
class CardStatus:
    """A card as an operator sees it: state (a lapsed loss already settled), holder, what may be done at
    the counter (``allowed``), and its history (one line per transition)."""

    card_ref: str
    state: CardState
    version: int
    holder_name: str
    social_security_number: str | None
    application_id: int
    application_kind: str
    delivery: str
    tracking_number: str | None
    card_number: str | None
    card_id: str | None
    loss_reported_at: datetime | None
    loss_expires_at: datetime | None
    replaces: str | None
    replaced_by: str | None
    allowed: tuple[str, ...]
    history: tuple[HistoryLine, ...]

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "card_ref": self.card_ref, "state": self.state.value, "state_display": self.state.display(
                "en" if lang == "en" else "zh"), "version": self.version,
            "holder": {"name": self.holder_name, "social_security_number": self.social_security_number},
            "application": {"id": self.application_id, "kind": self.application_kind, "delivery": self.delivery,
                            "tracking_number": self.tracking_number},
            "card_number": self.card_number, "card_id": self.card_id,
            "loss": {"reported_at": when(self.loss_reported_at), "expires_at": when(self.loss_expires_at)}
            if self.loss_reported_at else None,
            "replaces": self.replaces, "replaced_by": self.replaced_by, "allowed_actions": list(self.allowed),
            "history": [{"at": when(h.at), "action": h.action, "from": h.source, "to": h.target,
                         "operator": h.operator, "outlet": h.outlet_code} for h in self.history],
        }  # fmt: skip
