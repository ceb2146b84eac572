"""Registry tables of the service outlets: the halls, the people who work there, stock, approvals."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sscard_issuer.registry.models import Base
from sscard_issuer.registry.types import UtcDateTime


def _enum(kind: type[enum.Enum]) -> Enum:
    # stored as the value's text (portable, readable in SQL); the length fits every value
    return Enum(kind, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e],
                validate_strings=True)


class Role(enum.Enum):
    OPERATOR = "operator"  # files applications, runs card operations at their own outlet
    SUPERVISOR = "supervisor"  # an operator who also gives the second approval at their outlet
    AUDITOR = "auditor"  # reads everything, changes nothing
    ADMINISTRATOR = "administrator"  # outlets and staff; no front-desk operations


class Outlet(Base):
    """A service hall. ``instant_issuance`` and ``batch_applications`` are the outlet's settings."""

    __tablename__ = "outlet"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(128), nullable=False)
    name_en: Mapped[str] = mapped_column(String(128), nullable=False)
    address_zh: Mapped[str] = mapped_column(String(256), nullable=False)
    area_code: Mapped[str] = mapped_column(String(6), nullable=False)
    city_hall: Mapped[bool] = mapped_column(Boolean, nullable=False)  # a hall of the city's districts
    instant_issuance: Mapped[bool] = mapped_column(Boolean, nullable=False)
    batch_applications: Mapped[bool] = mapped_column(Boolean, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)


class Operator(Base):
    """A member of staff. ``outlet_code`` is required for operators and supervisors."""

    __tablename__ = "operator"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(128), nullable=False)
    role: Mapped[Role] = mapped_column(_enum(Role), nullable=False)
    outlet_code: Mapped[str | None] = mapped_column(ForeignKey("outlet.code"))
    password_hash: Mapped[str | None] = mapped_column(String(256))  # scrypt; set for console sign-in
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    outlet: Mapped[Outlet | None] = relationship()


class StockKind(enum.Enum):
    RECEIVED = "received"  # blank cards delivered to the outlet (+ blanks)
    FED = "fed"  # a blank taken by a printer (- blanks)
    GOOD = "good"  # a fed card that left as a good card
    SPOILED = "spoiled"  # a fed card that went to the reject box (+ spoiled on hand)
    DESTROYED = "destroyed"  # spoiled cards destroyed under dual control (- spoiled on hand)
    ADJUSTED = "adjusted"  # a counted correction of the blanks under dual control (+/-)


class StockMovement(Base):
    """One change of an outlet's card stock; the balances are sums over these rows."""

    __tablename__ = "stock_movement"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outlet_code: Mapped[str] = mapped_column(ForeignKey("outlet.code"), nullable=False, index=True)
    kind: Mapped[StockKind] = mapped_column(_enum(StockKind), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    reference: Mapped[str | None] = mapped_column(String(128))  # delivery note, card serial, approval
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class ApprovalKind(enum.Enum):
    DESTROY_SPOILED = "destroy_spoiled"
    ADJUST_STOCK = "adjust_stock"


class ApprovalState(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ApprovalRequest(Base):
    """Dual control: one member of staff asks, a supervisor of the same outlet (not them) decides."""

    __tablename__ = "approval_request"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[ApprovalKind] = mapped_column(_enum(ApprovalKind), nullable=False)
    outlet_code: Mapped[str] = mapped_column(ForeignKey("outlet.code"), nullable=False, index=True)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[ApprovalState] = mapped_column(_enum(ApprovalState), nullable=False)
    requested_by: Mapped[int] = mapped_column(ForeignKey("operator.id"), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
