"""The family service (亲情服务): a holder holds and presents the e-cards of relatives.

Pure functions over the caller's :class:`Session`: they work in its transaction and never commit.
A link (:class:`~sscard_issuer.registry.family.FamilyLink`) joins two people; it is made only

- for someone else (never oneself), with the relative's consent: how it was given (a face check in
  the relative's own app or at a hall), the reference of that real-name and face check, and when
  (not older than :attr:`FamilyLimits.consent_max_age_seconds`);
- while both the holder and the relative have an active e-card (one not revoked for good);
- once per (holder, relative) while active, and within the holder's :class:`FamilyLimits`.

The published limits differ (a national FAQ: 10 slots, 4 elders, 3 children, 1 spouse, 2 others;
one county page: 8 relatives), so they are a setting; the FAQ's are the defaults.

Two adds for one holder at once cannot both take the last slot: the audit appenders' lock is taken
first (the registry's lock order: that lock, then rows), then the holder's person row is locked
before the links are counted; the partial unique index ``one_active_family_link`` refuses a second
active link for one pair whatever race the code loses. Every change is written to the audit log in
its own transaction. A revoked link stays (``revoked_at``, ``revoked_by``); re-adding makes a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard_issuer.errors import FieldError
from sscard_issuer.registry import audit
from sscard_issuer.registry.credentials import Ecard, EcardError, utc
from sscard_issuer.registry.family import ConsentMethod, FamilyLink, Relation, RevokedBy
from sscard_issuer.registry.holders import Person

CONSENT_LEEWAY = timedelta(minutes=5)  # clock skew tolerated between the face-check service and us

__all__ = [
    "ConsentMethod", "ConsentMissing", "DuplicateLink", "FamilyError", "FamilyLimitReached", "FamilyLimits",
    "FamilyLink", "LinkNotFound", "NotEligible", "NotLinked", "Relation", "Relative", "RevokedBy",
    "active_ecard", "add_relative", "may_present", "relatives", "revoke", "revoke_all_of", "usage",
]


class FamilyError(EcardError):
    """A family service refusal: ``code`` is stable, ``str()`` English, ``message_zh`` Chinese; nothing changed."""


class NotEligible(FamilyError):
    """The holder or the relative cannot take part: oneself, or no active e-card."""


class ConsentMissing(FamilyError):
    """The relative's consent (a real-name and face check) is missing or too old."""


class DuplicateLink(FamilyError):
    """The holder already holds this relative's e-card."""


class FamilyLimitReached(FamilyError):
    """The holder has no free slot: in total (``family_limit_total``) or for this relation kind."""


class LinkNotFound(FamilyError):
    """No family link has this id."""


class NotLinked(FamilyError):
    """The holder may not present this e-card: no active link to its holder, or it is not active."""


@dataclass(frozen=True)
class FamilyLimits:
    """How many relatives one holder may hold, in total and per relation kind (None: no limit).

    Defaults: the national FAQ. The county page's rule is ``FamilyLimits(total=8, elder=None,
    child=None, spouse=None, other=None)``."""

    total: int | None = 10
    elder: int | None = 4
    child: int | None = 3
    spouse: int | None = 1
    other: int | None = 2
    consent_max_age_seconds: int = 1800  # a face check older than this is not consent to a new link

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name == "consent_max_age_seconds":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise FieldError(field.name, "a whole number of seconds, at least 1", value)
            elif value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise FieldError(field.name, "None (no limit) or a whole number, at least 0", value)

    def of(self, relation: Relation) -> int | None:
        limit: int | None = getattr(self, relation.value)
        return limit


@dataclass(frozen=True)
class Relative:
    """One link as the holder's app shows it: the relative's name and current e-card (None: none active)."""

    link: FamilyLink
    name: str
    ecard_id: str | None
    ecard_status: int | None


def _relation(value: Relation | str) -> Relation:
    try:
        return Relation(value)
    except ValueError:
        raise FieldError("relation", f"one of {[r.value for r in Relation]}", value) from None


def _consent(method: ConsentMethod | str | None, reference: str | None, consented_at: datetime, at: datetime,
             limits: FamilyLimits) -> tuple[ConsentMethod, str]:
    if not method or reference is None or not reference.strip():
        raise ConsentMissing("family_no_consent", "the relative's consent (a real-name and face check) is required",
                             "须经亲属本人实名认证和人脸识别同意后才能添加")
    try:
        how = ConsentMethod(method)
    except ValueError:
        raise FieldError("consent_method", f"one of {[m.value for m in ConsentMethod]}", method) from None
    reference = reference.strip()
    if len(reference) > 128:
        raise FieldError("consent_reference", "at most 128 characters", len(reference))
    if consented_at > at + CONSENT_LEEWAY:
        raise FieldError("consented_at", "a time not in the future", consented_at.isoformat())
    if at - consented_at > timedelta(seconds=limits.consent_max_age_seconds):
        raise ConsentMissing("family_consent_stale", "the relative's face check is too old: check again",
                             "亲属的人脸识别已过期，请重新认证")
    return how, reference


def active_ecard(session: Session, person_id: int) -> Ecard | None:
    """The person's active e-card (not revoked for good; perhaps suspended), if any."""
    return session.execute(select(Ecard).where(Ecard.person_id == person_id, Ecard.active)
                           .execution_options(populate_existing=True)).scalar_one_or_none()


def usage(session: Session, holder_person_id: int) -> dict[Relation, int]:
    """The holder's active links by relation kind (every kind present, 0 when none)."""
    rows = session.execute(select(FamilyLink.relation, func.count()).where(
        FamilyLink.holder_person_id == holder_person_id, FamilyLink.active).group_by(FamilyLink.relation)).all()
    counts = {relation: 0 for relation in Relation}
    for relation, count in rows:
        counts[Relation(relation)] = int(count)
    return counts


def _active_link(session: Session, holder_person_id: int, relative_person_id: int) -> FamilyLink | None:
    return session.execute(select(FamilyLink).where(
        FamilyLink.holder_person_id == holder_person_id, FamilyLink.relative_person_id == relative_person_id,
        FamilyLink.active).execution_options(populate_existing=True)).scalar_one_or_none()


def _duplicate() -> DuplicateLink:
    return DuplicateLink("family_duplicate", "this relative's e-card is already held by the holder",
                         "已添加该亲属，不能重复添加")


def _check_limits(counts: dict[Relation, int], relation: Relation, limits: FamilyLimits) -> None:
    if limits.total is not None and sum(counts.values()) >= limits.total:
        raise FamilyLimitReached("family_limit_total", f"the holder already holds {limits.total} relatives' e-cards, "
                                 "the most allowed", f"亲情服务最多添加 {limits.total} 位亲属，已达上限")
    limit = limits.of(relation)
    if limit is not None and counts[relation] >= limit:
        raise FamilyLimitReached(f"family_limit_{relation.value}",
                                 f"the holder already holds {limit} e-card(s) of relation {relation.value!r}, "
                                 "the most allowed", f"亲情服务最多添加 {limit} 位{relation.display()}，已达上限")


def add_relative(session: Session, *, holder_person_id: int, relative_person_id: int, relation: Relation | str,
                 consent_method: ConsentMethod | str | None, consent_reference: str | None, at: datetime,
                 limits: FamilyLimits, consented_at: datetime | None = None, actor: str = "platform") -> FamilyLink:
    """Let the holder hold the relative's e-card; refused (typed errors, nothing changed) when not allowed.

    ``consented_at``: when the relative's face check was done (default: ``at``). ``actor`` is
    recorded in the audit log."""
    at = utc("at", at)
    consented_at = at if consented_at is None else utc("consented_at", consented_at)
    kind = _relation(relation)
    if holder_person_id == relative_person_id:
        raise NotEligible("family_self", "a holder cannot add themself as a relative", "不能添加本人为亲属")
    how, reference = _consent(consent_method, consent_reference, consented_at, at, limits)
    audit.serialise(session)  # the registry's lock order: the appenders' lock, then rows
    holder = session.execute(select(Person).where(Person.id == holder_person_id).with_for_update()
                             .execution_options(populate_existing=True)).scalar_one_or_none()
    if holder is None:
        raise FieldError("holder_person_id", "the id of a person", holder_person_id)
    if session.get(Person, relative_person_id) is None:
        raise FieldError("relative_person_id", "the id of a person", relative_person_id)
    if active_ecard(session, holder_person_id) is None:
        raise NotEligible("family_holder_no_ecard", "the holder has no active e-card",
                          "本人没有有效的电子社保卡，不能使用亲情服务")
    if active_ecard(session, relative_person_id) is None:
        raise NotEligible("family_relative_no_ecard", "the relative has no active e-card",
                          "该亲属没有有效的电子社保卡，须先领取电子社保卡")
    if _active_link(session, holder_person_id, relative_person_id) is not None:
        raise _duplicate()
    _check_limits(usage(session, holder_person_id), kind, limits)
    link = FamilyLink(holder_person_id=holder_person_id, relative_person_id=relative_person_id, relation=kind.value,
                      consent_method=how.value, consent_reference=reference, consented_at=consented_at,
                      created_at=at, active=True, revoked_at=None, revoked_by=None)
    try:
        with session.begin_nested():
            session.add(link)
            session.flush()
    except IntegrityError:  # the pair's active link, made by a transaction that did not lock the holder
        raise _duplicate() from None
    audit.append(session, at=at, actor=actor, action="family.added", subject=f"person:{holder_person_id}",
                 detail={"link": link.id, "relative": relative_person_id, "relation": kind.value,
                         "consent_method": how.value, "consent_reference": reference,
                         "consented_at": consented_at.isoformat()})
    return link


def revoke(session: Session, link_id: int, *, by: RevokedBy | str, at: datetime, actor: str = "platform",
           reason: str | None = None) -> FamilyLink:
    """End the link (the holder, the relative or staff asked; ``reason`` goes to the audit log); a link
    already revoked is returned unchanged."""
    at = utc("at", at)
    try:
        who = RevokedBy(by)
    except ValueError:
        raise FieldError("by", f"one of {[r.value for r in RevokedBy]}", by) from None
    audit.serialise(session)
    link = session.execute(select(FamilyLink).where(FamilyLink.id == link_id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one_or_none()
    if link is None:
        raise LinkNotFound("family_link_unknown", f"no family link {link_id}", f"亲情服务关系 {link_id} 不存在")
    if not link.active:
        return link
    link.active, link.revoked_at, link.revoked_by = False, at, who.value
    session.flush()
    audit.append(session, at=at, actor=actor, action="family.revoked", subject=f"person:{link.holder_person_id}",
                 detail={"link": link.id, "relative": link.relative_person_id, "by": who.value,
                         **({"reason": reason} if reason else {})})
    return link


def revoke_all_of(session: Session, person_id: int, *, at: datetime, reason: str, actor: str = "system") -> list[int]:
    """End every active link the person is in, as holder or as relative (their card was cancelled:
    the relationship and consent are asked for again if they come back). The ids revoked."""
    ids = list(session.execute(select(FamilyLink.id).where(
        FamilyLink.active, (FamilyLink.holder_person_id == person_id) | (FamilyLink.relative_person_id == person_id))
        .order_by(FamilyLink.id)).scalars())
    for link_id in ids:
        revoke(session, link_id, by=RevokedBy.STAFF, at=at, actor=actor, reason=reason)
    return ids


def relatives(session: Session, holder_person_id: int, *, include_revoked: bool = False) -> list[Relative]:
    """The holder's links (active ones, unless ``include_revoked``), oldest first, with each relative's e-card."""
    query = (select(FamilyLink, Person.name, Ecard.ecard_id, Ecard.status)
             .join(Person, Person.id == FamilyLink.relative_person_id)
             .outerjoin(Ecard, (Ecard.person_id == FamilyLink.relative_person_id) & Ecard.active)
             .where(FamilyLink.holder_person_id == holder_person_id).order_by(FamilyLink.id))
    if not include_revoked:
        query = query.where(FamilyLink.active)
    return [Relative(link, name, ecard_id, status)
            for link, name, ecard_id, status in session.execute(query.execution_options(populate_existing=True))]


def may_present(session: Session, holder_person_id: int, relative_ecard_id: str) -> bool:
    """Whether the holder may present this e-card for its holder now: the e-card is active, the holder has an
    active e-card, and an active link joins them. (A suspended e-card is still refused a code by the platform.)"""
    ecard = session.execute(select(Ecard).where(Ecard.ecard_id == relative_ecard_id)
                            .execution_options(populate_existing=True)).scalar_one_or_none()
    if ecard is None or not ecard.active or ecard.person_id == holder_person_id:
        return False
    if active_ecard(session, holder_person_id) is None:
        return False
    return _active_link(session, holder_person_id, ecard.person_id) is not None
