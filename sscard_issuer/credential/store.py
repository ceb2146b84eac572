"""The e-card in the registry: issuance, a status that follows the card, status list shards, keys, used codes.

Pure functions over the caller's :class:`Session`: they work in its transaction and never commit.
The token is not made here: :func:`issue` hands an :class:`EcardIssue` (everything the token needs)
to an injected ``mint`` callable and returns what it made.

Invariants kept here (ecard.md), each backed by the database as well as by the code:

- one active e-card per card and per person: the card row is locked while its e-card is issued, and
  the partial unique indexes ``one_active_ecard_per_card`` / ``..._per_person`` refuse a second one
  whatever race the code loses (the loser's insert is undone to a savepoint and re-checked);
- issuing again for the same card returns the active e-card (same level) or rotates it (another
  level: the old one revoked for good, a new one issued, in the same transaction);
- every change of an e-card's status bumps its shard's version in the same transaction.

Status indices are random: a random shard, then a random free index in it (a list then leaks no
order of issue). After :data:`PROBES` taken draws in a row (the lists are then about 90 % full or
more) each shard, in random order, is searched for the first free index from a random start; when
every shard is full, :class:`StatusListFull` is raised: add shards (a larger ``shards`` takes effect
at the next issue; indices already given never move). Keep the lists under half full so that draws
rarely collide: ``shards * shard_size`` about twice the e-cards alive.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone
from random import Random
from typing import Any, cast

from sqlalchemy import CursorResult, case, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from sscard_issuer.errors import FieldError
from sscard_issuer.registry.credentials import (
    Ecard,
    EcardError,
    EcardLevel,
    EcardStatus,
    SigningKey,
    SigningKeyError,
    StatusShard,
    claim_code,
    current_key,
    dialect_insert,
    key_signed,
    published_keys,
    purge_used_codes,
    record_key,
    retire_key,
    utc,
)
from sscard_issuer.registry.holders import Card, Person

BEIJING = timezone(timedelta(hours=8))  # issue dates and card expiry dates are Beijing dates
PROBES = 32  # random draws before searching the lists for a free index
ATTEMPTS = 16  # inserts undone by a racing transaction before giving up
TEN_YEARS = 10
# lifecycle.CardState values (stored as text; this layer does not import the lifecycle)
_USABLE = {EcardLevel.IDENTITY: ("collected", "activated"), EcardLevel.PAYMENT: ("activated",)}

__all__ = [  # signing keys and the replay store are plain records: kept beside their tables, named here
    "EcardError", "EcardIssue", "EcardRefused", "Mint", "Placement", "SigningKey", "SigningKeyError",
    "StatusListFull", "active_for_card", "claim_code", "current_key", "ensure_shards", "issue", "issue_record",
    "key_signed", "latest_for_card", "mint_token", "published_keys", "purge_used_codes", "record_key", "retire_key",
    "set_status_for_card", "status_entries",
]


class EcardRefused(EcardError):
    """This card (or its holder) cannot have this e-card now."""


class StatusListFull(EcardError):
    """Every status list shard is full: the platform must add shards."""


@dataclass(frozen=True)
class EcardIssue:
    """Everything the e-card's token carries; the same e-card always gives an equal value."""

    ecard_id: str
    issuance_number: str
    level: int
    area_code: str
    card_ref: str
    card_id: str  # card identification code (the card serial)
    card_number: str
    social_security_number: str
    name: str
    issued_at: datetime
    expires_at: datetime
    status_shard: int
    status_index: int


@dataclass(frozen=True)
class Placement:
    """The outcome of :func:`issue_record`: the active e-card, whether it is new, the one it replaced."""

    ecard: Ecard
    created: bool
    revoked: Ecard | None = None


Mint = Callable[[EcardIssue], str]


def _enum(name: str, kind: type[EcardLevel] | type[EcardStatus], value: int) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise FieldError(name, f"one of {[int(v) for v in kind]}", value) from None


def _rowcount(result: object) -> int:
    return cast(CursorResult[Any], result).rowcount


# -- issuance ------------------------------------------------------------------------------------


def active_for_card(session: Session, card_ref: str, *, lock: bool = False) -> Ecard | None:
    query = select(Ecard).where(Ecard.card_ref == card_ref, Ecard.active)
    if lock:
        query = query.with_for_update()
    return session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()


def latest_for_card(session: Session, card_ref: str) -> Ecard | None:
    """The card's active e-card, else the last one it had (None: it never had one)."""
    return session.execute(select(Ecard).where(Ecard.card_ref == card_ref)
                           .order_by(Ecard.active.desc(), Ecard.id.desc()).limit(1)).scalar_one_or_none()


def issue(session: Session, *, card: Card, level: int, at: datetime, mint: Mint, shards: int, shard_size: int,
          rng: Random, kid: str | None = None) -> tuple[Ecard, str]:
    """The card's active e-card of ``level`` (returned, or issued, or rotated to) and a fresh token for it.

    ``kid`` names the key ``mint`` signs with, when the registry keeps keys: it must be recorded and
    not retired, and its ``not_after`` is carried to the e-card's expiry."""
    placed = issue_record(session, card=card, level=level, at=at, shards=shards, shard_size=shard_size, rng=rng)
    return placed.ecard, mint_token(session, placed.ecard, mint=mint, kid=kid)


def issue_record(session: Session, *, card: Card, level: int, at: datetime, shards: int, shard_size: int,
                 rng: Random) -> Placement:
    """:func:`issue` without the token: the e-card record (a collection issues it; the app fetches the token)."""
    wanted: EcardLevel = _enum("level", EcardLevel, level)
    at = utc("at", at)
    if shards < 1 or shard_size < 1:
        raise FieldError("shards", "at least one shard of at least one entry", (shards, shard_size))
    # the card's row lock: issuance for one card is serial (PostgreSQL; SQLite has one writer anyway)
    card = session.execute(select(Card).where(Card.id == card.id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one()
    holder = session.get(Person, card.person_id)
    assert holder is not None
    expires_at = _check_usable(card, holder, wanted, at)
    current = active_for_card(session, card.card_ref, lock=True)
    if current is not None and current.level == wanted:
        return Placement(current, created=False)
    _refuse_another_cards(session, card)
    if current is not None:
        _change_status(session, current, EcardStatus.INVALID, at)
        session.flush()
    for _ in range(ATTEMPTS):
        shard, index = _allocate(session, shards=shards, shard_size=shard_size, rng=rng, at=at)
        row = Ecard(ecard_id=str(uuid.uuid4()), card_ref=card.card_ref, person_id=card.person_id,
                    issuance_number=_issuance_number(session, card.area_code, at), level=int(wanted),
                    area_code=card.area_code, status=int(EcardStatus.VALID), active=True, status_shard=shard,
                    status_index=index, issued_at=at, expires_at=expires_at, kid=None, version=1)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # a racing transaction took the number or the index, or won the card
            _refuse_another_cards(session, card)
            if active_for_card(session, card.card_ref) is not None:
                raise EcardError("concurrent_change", f"card {card.card_ref} got an e-card meanwhile; try again",
                                 "该卡的电子社保卡已被同时签发，请重试") from None
            continue
        return Placement(row, created=True, revoked=current)
    raise EcardError("contention", f"could not issue an e-card for card {card.card_ref}: {ATTEMPTS} inserts "
                     "lost to concurrent issuance; try again", "并发签发冲突，电子社保卡未签发，请重试")


def _check_usable(card: Card, holder: Person, level: EcardLevel, at: datetime) -> datetime:
    """Refuse a card that cannot have this e-card now; its expiry if it can."""
    if card.state not in _USABLE[EcardLevel.IDENTITY]:
        raise EcardRefused("card_not_usable", f"card {card.card_ref} is {card.state}: an e-card needs a "
                           "collected or activated card", f"社保卡当前状态（{card.state}）不能签发电子社保卡：须为已领取或已启用的卡")
    if level is EcardLevel.PAYMENT and card.state not in _USABLE[level]:
        raise EcardRefused("card_not_activated", f"card {card.card_ref} is {card.state}: a level 2 e-card "
                           "needs an activated card", "二级电子社保卡须在社保卡启用后签发")
    if level is EcardLevel.PAYMENT and not card.bank:
        raise EcardRefused("no_bank_account", f"card {card.card_ref} has no bank application: a level 2 "
                           "e-card links the card's bank account", "该社保卡未开通金融功能，不能签发二级电子社保卡")
    if card.card_id is None or card.card_number is None:
        raise EcardRefused("card_not_personalised", f"card {card.card_ref} has no card numbers recorded: "
                           "an e-card is bound to them", "社保卡未登记卡号和卡识别码，不能签发电子社保卡")
    if holder.social_security_number is None:
        raise EcardRefused("no_social_security_number", f"the holder of card {card.card_ref} has no social "
                           "security number", "持卡人无社会保障号码，不能签发电子社保卡")
    if card.expires_on is None:
        expires_at = _years_later(at, TEN_YEARS)
    else:  # the end of the card's last valid day, Beijing time
        expires_at = datetime.combine(card.expires_on + timedelta(days=1), time(0), BEIJING).astimezone(UTC)
    if expires_at <= at:
        raise EcardRefused("card_expired", f"card {card.card_ref} expired on {card.expires_on}",
                           f"社保卡已于 {card.expires_on} 过期，不能签发电子社保卡")
    return expires_at


def _years_later(at: datetime, years: int) -> datetime:
    try:
        return at.replace(year=at.year + years)
    except ValueError:  # 29 February
        return at.replace(year=at.year + years, day=28)


def _refuse_another_cards(session: Session, card: Card) -> None:
    """Refuse when the holder has an active e-card on another card (one per person)."""
    other = session.execute(select(Ecard).where(Ecard.person_id == card.person_id, Ecard.active,
                                                Ecard.card_ref != card.card_ref)
                            .execution_options(populate_existing=True)).scalar_one_or_none()
    if other is not None:
        raise EcardRefused("person_has_active_ecard", f"the holder already has an active e-card "
                           f"{other.ecard_id} (card {other.card_ref})", "持卡人已有一张有效的电子社保卡（对应另一张社保卡）")


def _issuance_number(session: Session, area: str, at: datetime) -> str:
    """Area + Beijing date + the next serial of that area and day (see registry.credentials)."""
    prefix = f"{area}{at.astimezone(BEIJING):%Y%m%d}"
    last = session.execute(select(func.max(Ecard.issuance_number))
                           .where(Ecard.issuance_number.between(prefix + "000000", prefix + "999999"))).scalar_one()
    serial = 1 if last is None else int(last[-6:]) + 1
    if serial > 999_999:
        raise EcardError("issuance_numbers_exhausted", f"area {area} has issued 999999 e-cards today",
                         f"地区 {area} 今日签发号已用尽")
    return f"{prefix}{serial:06d}"


# -- status lists --------------------------------------------------------------------------------


def ensure_shards(session: Session, shards: int, shard_size: int, at: datetime) -> None:
    """Create the shards ``0 .. shards-1`` not there yet, of ``shard_size`` entries (existing ones keep theirs)."""
    rows = [{"shard": n, "size": shard_size, "version": 0, "updated_at": utc("at", at)} for n in range(shards)]
    session.execute(dialect_insert(session, StatusShard).values(rows).on_conflict_do_nothing(index_elements=["shard"]))


def _shard_size(session: Session, shard: int, shard_size: int, at: datetime) -> int:
    size = session.execute(select(StatusShard.size).where(StatusShard.shard == shard)).scalar_one_or_none()
    if size is None:
        session.execute(dialect_insert(session, StatusShard).values(shard=shard, size=shard_size, version=0, updated_at=at)
                        .on_conflict_do_nothing(index_elements=["shard"]))
        size = session.execute(select(StatusShard.size).where(StatusShard.shard == shard)).scalar_one()
    return size


def _taken(session: Session, shard: int, index: int) -> bool:
    return session.execute(select(exists().where(Ecard.status_shard == shard, Ecard.status_index == index))).scalar_one()


def _first_free(session: Session, shard: int, start: int, end: int) -> int | None:
    """The first free index in ``[start, end)``: ``start``, or the first one after a taken one."""
    if start >= end:
        return None
    if not _taken(session, shard, start):
        return start
    after = aliased(Ecard)
    return session.execute(
        select(Ecard.status_index + 1)
        .where(Ecard.status_shard == shard, Ecard.status_index >= start, Ecard.status_index + 1 < end,
               ~exists().where(after.status_shard == shard, after.status_index == Ecard.status_index + 1))
        .order_by(Ecard.status_index).limit(1)).scalar_one_or_none()


def _allocate(session: Session, *, shards: int, shard_size: int, rng: Random, at: datetime) -> tuple[int, int]:
    for _ in range(PROBES):
        shard = rng.randrange(shards)
        index = rng.randrange(_shard_size(session, shard, shard_size, at))
        if not _taken(session, shard, index):
            return shard, index
    order = list(range(shards))
    rng.shuffle(order)
    for shard in order:
        size = _shard_size(session, shard, shard_size, at)
        start = rng.randrange(size)
        found = _first_free(session, shard, start, size)
        found = _first_free(session, shard, 0, start) if found is None else found
        if found is not None:
            return shard, found
    raise StatusListFull("status_lists_full", f"all {shards} status lists are full: add shards",
                         f"全部 {shards} 个状态列表已满，请增加分片")


def _bump(session: Session, ecard: Ecard, **values: object) -> None:
    """Change ``ecard`` with a compare-and-set on its version."""
    done = session.execute(update(Ecard).where(Ecard.id == ecard.id, Ecard.version == ecard.version)
                           .values(version=Ecard.version + 1, **values))
    if _rowcount(done) != 1:
        raise EcardError("concurrent_change", f"e-card {ecard.ecard_id} was changed meanwhile; read it again",
                         "电子社保卡已被他人修改，请刷新后重试")
    session.refresh(ecard)


def _change_status(session: Session, ecard: Ecard, status: EcardStatus, at: datetime) -> None:
    values: dict[str, object] = {"status": int(status)}
    if status is EcardStatus.INVALID:
        values.update(active=False, revoked_at=at)
    _bump(session, ecard, **values)
    session.execute(update(StatusShard).where(StatusShard.shard == ecard.status_shard).values(
        version=StatusShard.version + 1,
        updated_at=case((StatusShard.updated_at > at, StatusShard.updated_at), else_=at)))


def set_status_for_card(session: Session, card_ref: str, status: int, *, at: datetime) -> Ecard | None:
    """Give the card's active e-card ``status`` (1: revoked for good, no longer active); None if it has none.

    Idempotent: the same status again changes nothing (no version bump)."""
    wanted: EcardStatus = _enum("status", EcardStatus, status)
    at = utc("at", at)
    ecard = active_for_card(session, card_ref, lock=True)
    if ecard is not None and ecard.status != wanted:
        _change_status(session, ecard, wanted, at)
    return ecard


def status_entries(session: Session, shard: int) -> tuple[int, list[tuple[int, int]]]:
    """The shard's version and its (index, status) entries that are not 0, read in one statement (so
    the version is the one the entries are at). An unknown shard is version 0 with no entries."""
    rows = session.execute(
        select(StatusShard.version, Ecard.status_index, Ecard.status).select_from(StatusShard)
        .outerjoin(Ecard, (Ecard.status_shard == StatusShard.shard) & (Ecard.status != 0))
        .where(StatusShard.shard == shard).order_by(Ecard.status_index)).all()
    if not rows:
        return 0, []
    return rows[0][0], [(index, status) for _, index, status in rows if index is not None]


# -- tokens ----------------------------------------------------------------------------------------


def mint_token(session: Session, ecard: Ecard, *, mint: Mint, kid: str | None = None) -> str:
    """A fresh token for the active ``ecard``; with ``kid``, the key is checked and its ``not_after`` kept."""
    if not ecard.active:
        raise EcardRefused("ecard_revoked", f"e-card {ecard.ecard_id} is revoked", "该电子社保卡已注销")
    if kid is not None:
        current_key(session, kid)
    card = session.execute(select(Card).where(Card.card_ref == ecard.card_ref)).scalar_one()
    holder = session.get(Person, ecard.person_id)
    assert holder is not None and card.card_id and card.card_number and holder.social_security_number
    token = mint(EcardIssue(
        ecard_id=ecard.ecard_id, issuance_number=ecard.issuance_number, level=ecard.level,
        area_code=ecard.area_code, card_ref=ecard.card_ref, card_id=card.card_id, card_number=card.card_number,
        social_security_number=holder.social_security_number, name=holder.name, issued_at=ecard.issued_at,
        expires_at=ecard.expires_at, status_shard=ecard.status_shard, status_index=ecard.status_index))
    if kid is not None:
        key_signed(session, kid, ecard.expires_at)
        if ecard.kid != kid:
            _bump(session, ecard, kid=kid)
    return token


