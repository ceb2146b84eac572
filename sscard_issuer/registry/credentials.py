"""Registry tables of the electronic social security card (电子社保卡): e-cards, status lists, keys, used codes.

One e-card row per credential ever issued. ``active`` is false once the e-card is revoked for good
(status 1); partial unique indexes let a card, and a person, hold one active e-card at most,
whatever races the code above loses. ``status`` holds the Token Status List value the e-card's
entry (``status_shard``, ``status_index``) publishes: 0 valid, 1 invalid (for good), 2 suspended;
a check constraint ties "status 1" to "not active". ``version`` is the compare-and-set column.

The issuance number (签发号) is ``area code (6) + issue date in Beijing time (YYYYMMDD) + serial
within that area and day (6 digits, from 000001)``: 20 digits, unique.

A status shard is one published list; its ``version`` is bumped in the transaction of every change
of an entry in it, so a publisher derives its ETag from (shard, version) and republishes one small
list per change. Its ``size`` (number of entries) is fixed when the shard is first used.

A signing key stays published until ``not_after``: the latest expiry of anything it signed.
``used_code`` is the replay store of presentation codes, shared by every verifier process.

The record functions of signing keys and of the replay store live here with their tables (they
need nothing else); issuance and the status lists are in :mod:`sscard_issuer.credential.store`,
which names these too.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from sscard_issuer.errors import FieldError, SscardError
from sscard_issuer.registry.models import Base
from sscard_issuer.registry.types import UtcDateTime

PURGE_BATCH = 5_000  # expired used codes deleted by one purge (another follows at once when it is full)


class EcardStatus(enum.IntEnum):
    """The Token Status List values an e-card's entry takes."""

    VALID = 0
    INVALID = 1  # revoked for good: formal loss, replacement, cancellation, expiry
    SUSPENDED = 2  # temporary loss


class EcardLevel(enum.IntEnum):
    IDENTITY = 1  # identity and query
    PAYMENT = 2  # adds the card's bank account (needs an activated card with a bank application)


class SigningKey(Base):
    __tablename__ = "signing_key"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16), nullable=False)
    jwk: Mapped[str] = mapped_column(Text, nullable=False)  # the public JWK, JSON
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # signs nothing new from then on
    not_after: Mapped[datetime | None] = mapped_column(UtcDateTime)  # latest expiry of what it signed


class StatusShard(Base):
    __tablename__ = "status_shard"
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)  # entries in the list
    version: Mapped[int] = mapped_column(Integer, nullable=False)  # bumped on every change of an entry
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Ecard(Base):
    """One e-card credential of one physical card (``card_ref``)."""

    __tablename__ = "ecard"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ecard_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)  # uuid4
    card_ref: Mapped[str] = mapped_column(ForeignKey("card.card_ref"), nullable=False, index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    issuance_number: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    area_code: Mapped[str] = mapped_column(String(6), nullable=False)  # issuing area
    status: Mapped[int] = mapped_column(Integer, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    status_shard: Mapped[int] = mapped_column(ForeignKey("status_shard.shard"), nullable=False)
    status_index: Mapped[int] = mapped_column(Integer, nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    kid: Mapped[str | None] = mapped_column(ForeignKey("signing_key.kid"))  # signed its latest token
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    __table_args__ = (
        UniqueConstraint("status_shard", "status_index"),
        CheckConstraint("status IN (0, 1, 2)", name="ecard_status_values"),
        CheckConstraint("level IN (1, 2)", name="ecard_level_values"),
        CheckConstraint("(status = 1) <> active", name="ecard_revoked_iff_inactive"),
        Index("one_active_ecard_per_card", "card_ref", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
        Index("one_active_ecard_per_person", "person_id", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
        # what a publisher reads: the entries of a shard that are not 0
        Index("ecard_not_valid", "status_shard", "status_index",
              sqlite_where=text("status <> 0"), postgresql_where=text("status <> 0")),
    )


class UsedCode(Base):
    """A presentation code already accepted (its ``jti``), remembered until it expires."""

    __tablename__ = "used_code"
    jti: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, index=True)


# -- errors and helpers ---------------------------------------------------------------------------


class EcardError(SscardError):
    """An e-card refusal: ``code`` is stable; ``str()`` is English, ``message_zh`` Chinese; nothing changed."""

    def __init__(self, code: str, message: str, message_zh: str) -> None:
        self.code = code
        self.message_zh = message_zh
        super().__init__(message)

    def message(self, lang: str = "zh") -> str:
        return str(self) if lang == "en" else self.message_zh

    def __reduce__(self) -> tuple[type[EcardError], tuple[str, str, str]]:
        return (type(self), (self.code, str(self), self.message_zh))


class SigningKeyError(EcardError):
    """A signing key is unknown, retired, or its kid is taken by another key."""


def utc(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise FieldError(name, "a timezone-aware datetime", value)
    return value.astimezone(UTC)


def dialect_insert(session: Session, model: type[SigningKey] | type[StatusShard]) -> Any:
    """The dialect's INSERT (both have ``on_conflict_do_nothing``)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


# -- signing keys --------------------------------------------------------------------------------------


def current_key(session: Session, kid: str) -> SigningKey:
    key = session.get(SigningKey, kid, populate_existing=True)
    if key is None:
        raise SigningKeyError("unknown_key", f"no signing key {kid!r} is recorded", f"未登记签名密钥 {kid}")
    if key.retired_at is not None:
        raise SigningKeyError("key_retired", f"signing key {kid!r} is retired", f"签名密钥 {kid} 已停用")
    return key


def record_key(session: Session, kid: str, alg: str, jwk: str, at: datetime) -> SigningKey:
    """Record a signing key's public JWK; the same key again is a no-op, another key under its kid refused."""
    at = utc("at", at)
    if not kid or len(kid) > 64:
        raise FieldError("kid", "1 to 64 characters", kid)
    # recorded before (perhaps by another process just now): left alone, compared below
    session.execute(dialect_insert(session, SigningKey).values(kid=kid, alg=alg, jwk=jwk, created_at=at)
                    .on_conflict_do_nothing(index_elements=["kid"]))
    key = session.get(SigningKey, kid, populate_existing=True)
    assert key is not None
    if (key.alg, key.jwk) != (alg, jwk):
        raise SigningKeyError("key_id_reused", f"kid {kid!r} is already recorded for another key",
                              f"密钥标识 {kid} 已被另一把密钥使用")
    return key


def retire_key(session: Session, kid: str, at: datetime) -> SigningKey:
    """The key signs nothing new from ``at``; it stays published until its ``not_after``. Idempotent."""
    at = utc("at", at)
    key = session.get(SigningKey, kid, populate_existing=True)
    if key is None:
        raise SigningKeyError("unknown_key", f"no signing key {kid!r} is recorded", f"未登记签名密钥 {kid}")
    if key.retired_at is None:
        key.retired_at = at
        session.flush()
    return key


def key_signed(session: Session, kid: str, expires_at: datetime) -> None:
    """``kid`` signed something valid until ``expires_at``: keep it published at least that long."""
    expires_at = utc("expires_at", expires_at)
    session.execute(update(SigningKey).where(SigningKey.kid == kid)
                    .where((SigningKey.not_after.is_(None)) | (SigningKey.not_after < expires_at))
                    .values(not_after=expires_at), execution_options={"synchronize_session": "fetch"})


def code_alias(session: Session, kid: str) -> str | None:
    """The short kid presentation codes are signed under with the same key as ``kid``, if one is current
    (None for a key never recorded; :class:`SigningKeyError` for a retired one)."""
    if session.get(SigningKey, kid) is None:
        return None
    key = current_key(session, kid)
    alias = session.execute(select(SigningKey.kid).where(SigningKey.jwk == key.jwk, SigningKey.kid != kid,
                                                         SigningKey.retired_at.is_(None))
                            .order_by(SigningKey.created_at)).scalars().first()
    return alias


def next_code_kid(session: Session) -> str:
    """A short kid no key has used: ``c1``, ``c2``... (codes carry it, so it must stay short)."""
    used = set(session.execute(select(SigningKey.kid)).scalars())
    return next(f"c{n}" for n in range(1, len(used) + 2) if f"c{n}" not in used)


def rotate_keys(session: Session, *, kid: str, alg: str, jwk: str, code_kid: str, at: datetime,
                keep_until: datetime) -> list[SigningKey]:
    """Sign with the key ``kid`` (codes under ``code_kid``) from ``at``; retire every other current key.

    A retired key stays published while what it signed is valid: its credentials (``not_after``,
    raised as they are signed), and at least until ``keep_until`` for the codes and status lists it
    signed last. Returns the keys retired. Running twice with the same key changes nothing more."""
    at, keep_until = utc("at", at), utc("keep_until", keep_until)
    record_key(session, kid, alg, jwk, at)
    record_key(session, code_kid, alg, jwk, at)
    for new in (kid, code_kid):
        current_key(session, new)  # a retired key cannot come back
    retiring = list(session.execute(select(SigningKey).where(SigningKey.retired_at.is_(None),
                                                             SigningKey.kid.not_in((kid, code_kid)))).scalars())
    for key in retiring:
        retire_key(session, key.kid, at)
        key_signed(session, key.kid, keep_until)
    return retiring


def published_keys(session: Session, now: datetime) -> list[SigningKey]:
    """The keys to publish (JWKS): every current key, and retired ones still covering a valid credential."""
    now = utc("now", now)
    return list(session.execute(select(SigningKey).where(SigningKey.retired_at.is_(None) | (SigningKey.not_after > now))
                                .order_by(SigningKey.created_at, SigningKey.kid)).scalars())


# -- presentation codes: the replay store ------------------------------------------------------------


# Built once: a verifier claims a code for every presentation it accepts. (Core statements on the
# mapped table: they run on a plain connection.)
_CLAIM = {
    name: dialect.insert(UsedCode).values(jti=bindparam("jti"), expires_at=bindparam("expires_at"))
    .on_conflict_do_nothing(index_elements=["jti"]).returning(UsedCode.jti)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_EXPIRED = select(UsedCode.jti).where(UsedCode.expires_at <= bindparam("now")).limit(bindparam("batch"))
_PURGE = {  # PostgreSQL skips rows another purge is deleting, so purges never wait on each other
    "postgresql": delete(UsedCode).where(UsedCode.jti.in_(_EXPIRED.with_for_update(skip_locked=True))),
    "sqlite": delete(UsedCode).where(UsedCode.jti.in_(_EXPIRED)),
}


def claim_code(connection: Connection, jti: str, expires_at: datetime, now: datetime) -> bool:
    """True the first time a code's ``jti`` is presented, False for a replay; remembered until ``expires_at``.

    A code already expired is refused (False) and not stored: once purged, nobody can tell whether it
    was used. Expired entries are deleted by :func:`purge_used_codes`, not here."""
    expires_at, now = utc("expires_at", expires_at), utc("now", now)
    if not isinstance(jti, str) or not 0 < len(jti) <= 128:
        raise FieldError("jti", "1 to 128 characters", jti)
    if expires_at <= now:
        return False
    claimed = connection.execute(_CLAIM[connection.dialect.name], {"jti": jti, "expires_at": expires_at})
    return claimed.scalar_one_or_none() is not None


def purge_used_codes(connection: Connection, now: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete up to ``batch`` codes expired at ``now``; the number deleted."""
    deleted = connection.execute(_PURGE[connection.dialect.name], {"now": utc("now", now), "batch": batch})
    return int(deleted.rowcount)
