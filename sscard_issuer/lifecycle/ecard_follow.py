"""The e-card follows its card, whoever changes the card: every :class:`~.office.Office` runs
:func:`follow` inside each transition's own transaction (ecard.md: "the credential's status always
equals the card's"; a command-line loss report must suspend the e-card as surely as the platform's).

- SUSPEND (temporary loss) sets the card's e-card to 2, RESTORE (loss cancelled or lapsed) to 0,
  REVOKE (formal loss, replacement, cancellation, expiry) to 1, for good;
- :class:`CardCancelled` (a card cancelled without a successor) ends the family-service links its
  holder is in, either side: the relationship and the relative's consent are asked for again later;
- :class:`CardCollected` creates the card's e-card record (level 1) when it has none active:
  "issuing or replacing a card creates its e-card automatically". The record lands in one of the
  status lists the platform configured (``status_shard`` rows, made when the platform starts);
  with none configured, or when the e-card cannot follow (the card's numbers were never recorded,
  the holder has another active e-card, the lists are full), the card is still handed over and the
  refusal is written to the audit log as ``ecard.not_issued``: the e-card can be issued later.

Collection mints no token: nobody receives one at the counter, and handing a card over must not
depend on the signing key. The holder's app gets its token from the platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from random import SystemRandom

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sscard_issuer.credential import family, store
from sscard_issuer.lifecycle.access import Actor
from sscard_issuer.lifecycle.events import CardCancelled, CardCollected, CardEvent
from sscard_issuer.lifecycle.states import StatusEffect
from sscard_issuer.registry import audit
from sscard_issuer.registry.credentials import EcardLevel, EcardStatus, StatusShard
from sscard_issuer.registry.holders import Card

_STATUS = {StatusEffect.SUSPEND: EcardStatus.SUSPENDED, StatusEffect.RESTORE: EcardStatus.VALID,
           StatusEffect.REVOKE: EcardStatus.INVALID}
_RNG = SystemRandom()  # indices must not be guessable from the order of issue


def follow(session: Session, events: Sequence[CardEvent]) -> None:
    """The hook: called inside the transition's transaction with the events it logged."""
    for event in events:
        status = _STATUS.get(event.status_effect)
        if status is not None:
            store.set_status_for_card(session, event.card_ref, status, at=event.at)
        if isinstance(event, CardCollected):
            issue_on_collection(session, event.card_ref, event.at)
        elif isinstance(event, CardCancelled):  # no successor: the family service ends with the card
            person_id = session.execute(select(Card.person_id).where(Card.card_ref == event.card_ref)).scalar_one()
            family.revoke_all_of(session, person_id, at=event.at, reason=f"card {event.card_ref} cancelled")


def issue_on_collection(session: Session, card_ref: str, at: datetime) -> None:
    if store.active_for_card(session, card_ref) is not None:
        return
    shards, size = session.execute(select(func.count(), func.max(StatusShard.size))).one()
    if not shards:
        audit.append(session, at=at, actor="system", action="ecard.not_issued", subject=f"card:{card_ref}",
                     detail={"code": "no_status_lists", "reason": "the platform has not configured its status lists"})
        return
    card = session.execute(select(Card).where(Card.card_ref == card_ref)).scalar_one()
    try:
        with session.begin_nested():  # a refusal undoes the e-card's work only, never the collection
            placed = store.issue_record(session, card=card, level=EcardLevel.IDENTITY, at=at, shards=shards,
                                        shard_size=size, rng=_RNG)
    except store.EcardError as refusal:
        audit.append(session, at=at, actor="system", action="ecard.not_issued", subject=f"card:{card_ref}",
                     detail={"code": refusal.code, "reason": str(refusal)})
        return
    audit_issued(session, placed, at=at, actor=Actor.system())


def audit_issued(session: Session, placed: store.Placement, *, at: datetime, actor: Actor) -> None:
    ecard = placed.ecard
    audit.append(session, at=at, actor=actor.username, outlet_code=actor.outlet_code, action="ecard.issued",
                 subject=f"card:{ecard.card_ref}",
                 detail={"ecard_id": ecard.ecard_id, "issuance_number": ecard.issuance_number, "level": ecard.level,
                         "revoked": placed.revoked.ecard_id if placed.revoked else None})
