"""Registry tables (SQLAlchemy 2): what must survive a crash.

For now: card number / card identification code allocation (never reused) and the
personalisation journal. Applications, people, outlets and the rest join with issue 4; the
schema changes only through Alembic migrations (``registry/migrations``).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, Enum, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class AllocationState(enum.Enum):
    ALLOCATED = "allocated"  # handed to a personalisation job, not yet on a finished card
    USED = "used"  # on a card that finished personalisation
    VOID = "void"  # burnt: its card was spoiled; never given to another card


class JobState(enum.Enum):
    PREPARED = "prepared"
    WRITING = "writing"
    DONE = "done"
    SPOILED = "spoiled"


class StepState(enum.Enum):
    STARTED = "started"
    DONE = "done"


class AreaSequence(Base):
    """The next serial per issuing area, for card numbers and identification codes."""

    __tablename__ = "area_sequence"
    area_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    next_serial: Mapped[int] = mapped_column(Integer, nullable=False)


class CardAllocation(Base):
    __tablename__ = "card_allocation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_code: Mapped[str] = mapped_column(String(6), nullable=False)
    serial: Mapped[int] = mapped_column(Integer, nullable=False)
    card_number: Mapped[str] = mapped_column(String(9), nullable=False)  # unique per area
    card_id: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    state: Mapped[AllocationState] = mapped_column(
        Enum(AllocationState, native_enum=False, length=16), nullable=False
    )
    allocated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (UniqueConstraint("area_code", "serial"), UniqueConstraint("area_code", "card_number"))


class PersoJob(Base):
    """One blank card becoming one applicant's card; found again by the card's serial."""

    __tablename__ = "perso_job"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_serial: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    profile: Mapped[str] = mapped_column(String(32), nullable=False)
    record: Mapped[str] = mapped_column(Text, nullable=False)  # the personalisation record, JSON
    allocation_id: Mapped[int] = mapped_column(ForeignKey("card_allocation.id"), nullable=False, unique=True)
    state: Mapped[JobState] = mapped_column(Enum(JobState, native_enum=False, length=16), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    allocation: Mapped[CardAllocation] = relationship()
    steps: Mapped[list[PersoStep]] = relationship(order_by="PersoStep.id", back_populates="job")


class PersoStep(Base):
    """A journal line: a step was started, then (in its own transaction) done."""

    __tablename__ = "perso_step"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("perso_job.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[StepState] = mapped_column(Enum(StepState, native_enum=False, length=16), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    job: Mapped[PersoJob] = relationship(back_populates="steps")
