"""Registry tables of instant issuance: the outlet's printers, one job per card, and the job's journal.

A job's ``state`` is the last step it finished; ``step_started`` the step it began and has not
finished (the journal, ``issuance_step``, has a line before and after every step). A crash between
the two leaves ``step_started`` set: the worker that picks the job up again knows where it was.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from sscard_issuer.registry.models import Base
from sscard_issuer.registry.types import UtcDateTime


class PrinterRow(Base):
    """A card printer of an outlet as the workers last saw it (the console reads this)."""

    __tablename__ = "printer"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    outlet_code: Mapped[str] = mapped_column(ForeignKey("outlet.code"), nullable=False, index=True)
    driver: Mapped[str] = mapped_column(String(32), nullable=False)  # evolis-tcp, evolis-usb, cups
    state: Mapped[str] = mapped_column(String(16), nullable=False)  # outlet.job.PrinterState value
    conditions: Mapped[str] = mapped_column(String(256), nullable=False)  # comma-separated Condition values
    job_id: Mapped[int | None] = mapped_column(Integer)  # the job it is working on
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class IssuanceJob(Base):
    """One card issued at the counter while the applicant waits."""

    __tablename__ = "issuance_job"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_ref: Mapped[str] = mapped_column(ForeignKey("card.card_ref"), nullable=False, index=True)
    outlet_code: Mapped[str] = mapped_column(ForeignKey("outlet.code"), nullable=False, index=True)
    state: Mapped[str] = mapped_column(String(32), nullable=False)  # outlet.job.JobState value
    step_started: Mapped[str | None] = mapped_column(String(32))  # a Step value, begun and not finished
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)  # 1, then one more per blank spoiled
    printer_name: Mapped[str | None] = mapped_column(String(64))
    on_failure: Mapped[str] = mapped_column(String(16), nullable=False)  # ask, requeue, withdraw
    card_serial: Mapped[str | None] = mapped_column(String(16))  # the blank of this attempt (its ATR serial)
    outcome: Mapped[str | None] = mapped_column(Text)  # JSON: what personalisation allocated and wrote
    failure: Mapped[str | None] = mapped_column(Text)  # the last failure: step and reason
    requested_by: Mapped[int] = mapped_column(ForeignKey("operator.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __table_args__ = (
        # a card has at most one job that is not over (done or withdrawn)
        Index("one_open_job_per_card", "card_ref", unique=True,
              sqlite_where=text("state NOT IN ('ecard_issued', 'withdrawn')"),
              postgresql_where=text("state NOT IN ('ecard_issued', 'withdrawn')")),
    )


class IssuanceStep(Base):
    """The job's journal: each step started, done or failed, per attempt."""

    __tablename__ = "issuance_step"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("issuance_job.id"), nullable=False, index=True)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    step: Mapped[str] = mapped_column(String(32), nullable=False)
    phase: Mapped[str] = mapped_column(String(16), nullable=False)  # started, done, failed, paused, resumed
    printer_name: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
