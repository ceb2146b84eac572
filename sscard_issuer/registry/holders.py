"""Registry tables of card holders: people, their documents, applications, cards, card events.

Codes of the layers above (card states, document types, application kinds) are stored as their text values; the
lifecycle service converts them. A card's lifecycle fields mirror :class:`sscard_issuer.lifecycle.CardRecord` one to one; ``version``
is the compare-and-set column. An application's status is not stored: it is its card's state
(one fact, one place). ``live`` is true while the card is not in a terminal state, and a partial
unique index lets a person hold one live card at most, whatever races the code above loses.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sscard_issuer.registry.models import Base
from sscard_issuer.registry.types import UtcDateTime


class Person(Base):
    __tablename__ = "person"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    sex: Mapped[str] = mapped_column(String(1), nullable=False)  # GB/T 2261.1: 1 male, 2 female
    birth_date: Mapped[date] = mapped_column(Date, nullable=False)
    nationality: Mapped[str] = mapped_column(String(3), nullable=False)  # ISO 3166-1 alpha-3
    ethnicity: Mapped[str | None] = mapped_column(String(2))  # GB/T 3304, citizens only
    social_security_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    insured_since: Mapped[date | None] = mapped_column(Date)  # None: not enrolled in social insurance
    phone: Mapped[str | None] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, nullable=False)  # bumped to serialise applications
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    documents: Mapped[list[IdentityDocumentRow]] = relationship(back_populates="person", order_by="IdentityDocumentRow.id")


class IdentityDocumentRow(Base):
    __tablename__ = "identity_document"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False, index=True)
    type: Mapped[str] = mapped_column(String(32), nullable=False)  # applications.DocumentType value
    number: Mapped[str] = mapped_column(String(32), nullable=False)
    country: Mapped[str] = mapped_column(String(3), nullable=False)
    person: Mapped[Person] = relationship(back_populates="documents")
    __table_args__ = (UniqueConstraint("type", "number", "country"),)


class ApplicationBatch(Base):
    """One employer's (or school's) batch form as imported; its rows become applications."""

    __tablename__ = "application_batch"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outlet_code: Mapped[str] = mapped_column(ForeignKey("outlet.code"), nullable=False)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id"), nullable=False)
    organisation_name: Mapped[str] = mapped_column(String(128), nullable=False)
    organisation_code: Mapped[str] = mapped_column(String(18), nullable=False)  # unified social credit code
    file_name: Mapped[str] = mapped_column(String(256), nullable=False)
    file_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    rows_total: Mapped[int] = mapped_column(Integer, nullable=False)
    rows_accepted: Mapped[int] = mapped_column(Integer, nullable=False)
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Application(Base):
    __tablename__ = "application"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)  # applications.ApplicationKind value
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False, index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("identity_document.id"), nullable=False)
    outlet_code: Mapped[str] = mapped_column(ForeignKey("outlet.code"), nullable=False, index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id"), nullable=False)
    instant: Mapped[bool] = mapped_column(Boolean, nullable=False)  # made at the outlet while waiting
    # the photo as accepted (None: a child under 7 without one); its digest for the audit log
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    # proxy: the agent and the signed commitment (承诺书)
    agent_name: Mapped[str | None] = mapped_column(String(64))
    agent_document_type: Mapped[str | None] = mapped_column(String(32))
    agent_document_number: Mapped[str | None] = mapped_column(String(32))
    agent_document_country: Mapped[str | None] = mapped_column(String(3))
    commitment_reference: Mapped[str | None] = mapped_column(String(128))
    # employer batch and students
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("application_batch.id"), index=True)
    batch_row: Mapped[int | None] = mapped_column(Integer)
    school_name: Mapped[str | None] = mapped_column(String(128))
    student_number: Mapped[str | None] = mapped_column(String(32))
    # delivery
    delivery: Mapped[str] = mapped_column(String(32), nullable=False)  # applications.DeliveryMethod value
    collection_outlet_code: Mapped[str | None] = mapped_column(ForeignKey("outlet.code"))
    recipient_name: Mapped[str | None] = mapped_column(String(64))
    recipient_phone: Mapped[str | None] = mapped_column(String(20))
    postal_address: Mapped[str | None] = mapped_column(String(256))
    postcode: Mapped[str | None] = mapped_column(String(6))
    tracking_number: Mapped[str | None] = mapped_column(String(13), unique=True)
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    person: Mapped[Person] = relationship()
    document: Mapped[IdentityDocumentRow] = relationship()


class Card(Base):
    """One physical card (and, through its ``card_ref``, its e-card)."""

    __tablename__ = "card"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_ref: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), nullable=False, unique=True)
    area_code: Mapped[str] = mapped_column(String(6), nullable=False)
    # set when the card is personalised
    card_number: Mapped[str | None] = mapped_column(String(9))
    card_id: Mapped[str | None] = mapped_column(String(32), unique=True)  # card identification code
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    bank: Mapped[bool] = mapped_column(Boolean, nullable=False)  # carries a bank application
    # the lifecycle record
    state: Mapped[str] = mapped_column(String(32), nullable=False)  # lifecycle.CardState value
    live: Mapped[bool] = mapped_column(Boolean, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    state_before_loss: Mapped[str | None] = mapped_column(String(32))
    loss_reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    loss_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    replaces: Mapped[str | None] = mapped_column(String(36))
    replaced_by: Mapped[str | None] = mapped_column(String(36))
    application: Mapped[Application] = relationship()
    person: Mapped[Person] = relationship()
    __table_args__ = (
        Index("one_live_card_per_person", "person_id", unique=True,
              sqlite_where=text("live"), postgresql_where=text("live")),
        Index("card_loss_expiry", "loss_expires_at"),
    )


class CardEventRow(Base):
    """The card status history and the event outbox: one row per lifecycle event, in commit order.

    Written in the transition's own transaction. Consumers (the e-card status, outlet jobs) get
    the events pushed after commit and keep their place in ``event_consumer`` to catch up after a
    restart.
    """

    __tablename__ = "card_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_ref: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)  # the event class
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    source: Mapped[str | None] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(32), nullable=False)
    status_effect: Mapped[str] = mapped_column(String(16), nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    data: Mapped[str] = mapped_column(Text, nullable=False)  # the whole event, JSON
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    outlet_code: Mapped[str | None] = mapped_column(ForeignKey("outlet.code"))
    __table_args__ = (UniqueConstraint("card_ref", "version", "kind"),)


class EventConsumer(Base):
    """How far a durable consumer has processed ``card_event`` (its last event id)."""

    __tablename__ = "event_consumer"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer, nullable=False)
