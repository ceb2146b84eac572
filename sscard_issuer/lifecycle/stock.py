"""An outlet's card stock, and the dual control over destroying spoiled cards and adjusting stock.

Balances are sums over ``stock_movement``: blanks on hand = received - fed + adjusted; spoiled on
hand = spoiled - destroyed. Destroying spoiled cards and correcting the blank count are asked for
by one member of staff and carried out only when a supervisor of the same outlet, another person,
approves (the approval and the movement in one transaction, compare-and-set on the request).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle.access import Actor, Forbidden, Permission
from sscard_issuer.lifecycle.errors import ConcurrentChange
from sscard_issuer.lifecycle.staff import outlet as outlet_row
from sscard_issuer.registry import audit
from sscard_issuer.registry.office import (
    ApprovalKind,
    ApprovalRequest,
    ApprovalState,
    Role,
    StockKind,
    StockMovement,
)

MAX_QUANTITY = 100_000


@dataclass(frozen=True)
class StockSummary:
    outlet_code: str
    received: int
    fed: int
    good: int
    spoiled: int
    destroyed: int
    adjusted: int
    pending_approvals: int

    @property
    def blanks_on_hand(self) -> int:
        return self.received - self.fed + self.adjusted

    @property
    def spoiled_on_hand(self) -> int:
        return self.spoiled - self.destroyed

    @property
    def unaccounted(self) -> int:
        """Fed cards neither good nor spoiled: cards in a printer now, or lost (reconciliation)."""
        return self.fed - self.good - self.spoiled

    def to_json(self) -> dict[str, int | str]:
        return {"outlet": self.outlet_code, "received": self.received, "fed": self.fed, "good": self.good,
                "spoiled": self.spoiled, "destroyed": self.destroyed, "adjusted": self.adjusted,
                "blanks_on_hand": self.blanks_on_hand, "spoiled_on_hand": self.spoiled_on_hand,
                "unaccounted": self.unaccounted, "pending_approvals": self.pending_approvals}


def _quantity(value: int, *, signed: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value == 0 or abs(value) > MAX_QUANTITY or (
            value < 0 and not signed):
        shown = "a non-zero whole number" if signed else "a positive whole number"
        raise FieldError("quantity", f"{shown} of cards up to {MAX_QUANTITY}", value)
    return value


def summary(session: Session, outlet_code: str) -> StockSummary:
    sums = {row.kind: row.total for row in session.execute(
        select(StockMovement.kind, func.sum(StockMovement.quantity).label("total"))
        .where(StockMovement.outlet_code == outlet_code).group_by(StockMovement.kind))}
    pending = session.execute(select(func.count()).select_from(ApprovalRequest).where(
        ApprovalRequest.outlet_code == outlet_code, ApprovalRequest.state == ApprovalState.PENDING)).scalar_one()
    def total(kind: StockKind) -> int:
        return int(sums.get(kind) or 0)

    return StockSummary(outlet_code, received=total(StockKind.RECEIVED), fed=total(StockKind.FED),
                        good=total(StockKind.GOOD), spoiled=total(StockKind.SPOILED),
                        destroyed=total(StockKind.DESTROYED), adjusted=total(StockKind.ADJUSTED),
                        pending_approvals=pending)


def record(session: Session, actor: Actor, kind: StockKind, quantity: int, *, at: datetime,
           outlet_code: str | None = None, reference: str | None = None) -> StockMovement:
    """A movement that needs no second approval: received, fed, good, spoiled."""
    if kind in (StockKind.DESTROYED, StockKind.ADJUSTED):
        raise Forbidden(f"{kind.value} needs a supervisor's approval: ask for it",
                        "销毁废卡和调整库存须经主管复核，请提交申请")
    where = actor.at(Permission.STOCK, outlet_code)
    outlet_row(session, where)
    movement = StockMovement(outlet_code=where, kind=kind, quantity=_quantity(quantity), reference=reference,
                             operator_id=actor.operator_id, at=at)
    session.add(movement)
    session.flush()
    if kind is StockKind.RECEIVED:  # deliveries are audited; the printer's moves are in the job journal
        audit.append(session, at=at, actor=actor.username, outlet_code=where, action="stock.received",
                     subject=f"outlet:{where}", detail={"quantity": quantity, "reference": reference})
    return movement


def request_approval(session: Session, actor: Actor, kind: ApprovalKind, quantity: int, *, reason: str,
                     at: datetime, outlet_code: str | None = None) -> ApprovalRequest:
    where = actor.at(Permission.STOCK, outlet_code)
    outlet_row(session, where)
    quantity = _quantity(quantity, signed=kind is ApprovalKind.ADJUST_STOCK)
    if not isinstance(reason, str) or not reason.strip():
        raise FieldError("reason", "why (what was counted, which cards)", reason)
    _check_feasible(session, kind, quantity, where)
    row = ApprovalRequest(kind=kind, outlet_code=where, quantity=quantity, reason=reason.strip(),
                          state=ApprovalState.PENDING, requested_by=actor.operator_id, requested_at=at, version=1)
    session.add(row)
    session.flush()
    audit.append(session, at=at, actor=actor.username, outlet_code=where, action=f"approval.request.{kind.value}",
                 subject=f"approval:{row.id}", detail={"quantity": quantity, "reason": row.reason})
    return row


def _check_feasible(session: Session, kind: ApprovalKind, quantity: int, outlet_code: str) -> None:
    stock = summary(session, outlet_code)
    if kind is ApprovalKind.DESTROY_SPOILED and quantity > stock.spoiled_on_hand:
        raise FieldError("quantity", f"at most the {stock.spoiled_on_hand} spoiled cards on hand", quantity)
    if kind is ApprovalKind.ADJUST_STOCK and stock.blanks_on_hand + quantity < 0:
        raise FieldError("quantity", f"a correction leaving no fewer than 0 blanks ({stock.blanks_on_hand} on hand)",
                         quantity)


def decide(session: Session, actor: Actor, request_id: int, *, approve: bool, at: datetime) -> ApprovalRequest:
    """The second person's decision; approving carries out the movement in the same transaction."""
    row = session.execute(select(ApprovalRequest).where(ApprovalRequest.id == request_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if row is None:
        raise FieldError("approval", "the number of a pending request", request_id)
    actor.require(Permission.APPROVE, outlet_code=row.outlet_code)
    if actor.role is not Role.SUPERVISOR:
        raise Forbidden("only a supervisor of the outlet gives the second approval", "只有本网点主管可以复核")
    if actor.operator_id == row.requested_by:
        raise Forbidden("the second approval must come from another person than the one who asked",
                        "复核人不能是申请人本人（双人控制）")
    if row.state is not ApprovalState.PENDING:
        raise FieldError("approval", "a pending request", f"{request_id} ({row.state.value})")
    if approve:
        _check_feasible(session, row.kind, row.quantity, row.outlet_code)
    state = ApprovalState.APPROVED if approve else ApprovalState.REJECTED
    done = session.execute(update(ApprovalRequest).where(ApprovalRequest.id == row.id,
                                                         ApprovalRequest.version == row.version)
                           .values(state=state, decided_by=actor.operator_id, decided_at=at,
                                   version=row.version + 1))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrentChange(f"approval {row.id}", row.version, row.version + 1)
    if approve:
        kind = StockKind.DESTROYED if row.kind is ApprovalKind.DESTROY_SPOILED else StockKind.ADJUSTED
        session.add(StockMovement(outlet_code=row.outlet_code, kind=kind, quantity=row.quantity,
                                  reference=f"approval:{row.id}", operator_id=actor.operator_id, at=at))
    audit.append(session, at=at, actor=actor.username, outlet_code=row.outlet_code,
                 action=f"approval.{state.value}", subject=f"approval:{row.id}",
                 detail={"kind": row.kind.value, "quantity": row.quantity, "requested_by": row.requested_by})
    session.flush()
    session.refresh(row)
    return row
