"""The platform's side of the e-card in the lifecycle: explicit issuance and the status lists.

The status itself follows the card in every Office (:mod:`.ecard_follow`, registered by the Office
itself); :class:`EcardLink` makes sure the status lists exist and issues the holder's token: the
active e-card with a fresh token, or a new one (issued, or rotated to another level).
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random, SystemRandom

from sscard_issuer.credential import store
from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle import ledger
from sscard_issuer.lifecycle.access import Actor, Permission
from sscard_issuer.lifecycle.ecard_follow import audit_issued
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry.credentials import Ecard, EcardLevel


@dataclass(frozen=True)
class IssuedEcard:
    """What :meth:`EcardLink.issue` hands the holder's app: the e-card record and a fresh token."""

    ecard: Ecard
    token: str
    created: bool  # False: the active e-card was already there
    revoked: str | None  # the e-card id a level change revoked


class EcardLink:
    """Keeps every card's e-card in step with the card; ``mint`` makes tokens (signing with ``kid``, if
    the registry keeps the keys); ``shards`` lists of ``shard_size`` entries hold the statuses."""

    def __init__(self, office: Office, *, mint: store.Mint, shards: int, shard_size: int, kid: str | None = None,
                 rng: Random | None = None) -> None:
        if shards < 1 or shard_size < 1:
            raise FieldError("shards", "at least one shard of at least one entry", (shards, shard_size))
        self.office = office
        self.mint = mint
        self.shards = shards
        self.shard_size = shard_size
        self.kid = kid
        self.rng = rng or SystemRandom()  # indices must not be guessable from the order of issue
        with office.registry.transaction() as session:
            store.ensure_shards(session, shards, shard_size, office.clock())

    def issue(self, actor: Actor, card_key: str, level: int = EcardLevel.IDENTITY) -> IssuedEcard:
        """The card's e-card of ``level`` with a fresh token: the active one, or a new one (issued, or
        rotated from another level). ``card_key``: card reference, identification code or SSN."""
        actor.require(Permission.CARD_OPERATION)
        at = self.office.clock()
        with self.office.transaction() as session:
            row = ledger.find_card(session, card_key, lock=True)
            ledger.settle_row(session, row, at=at, hooks=tuple(self.office.hooks))  # a lapsed loss first
            placed = store.issue_record(session, card=row, level=level, at=at, shards=self.shards,
                                        shard_size=self.shard_size, rng=self.rng)
            token = store.mint_token(session, placed.ecard, mint=self.mint, kid=self.kid)
            if placed.created:
                audit_issued(session, placed, at=at, actor=actor)
            return IssuedEcard(placed.ecard, token, placed.created,
                               placed.revoked.ecard_id if placed.revoked else None)

    def status(self, actor: Actor, card_key: str) -> Ecard | None:
        """The card's active e-card, else its last one (None: it never had one); a lapsed loss settled first."""
        actor.require(Permission.VIEW)
        with self.office.transaction() as session:
            row = ledger.find_card(session, card_key, lock=True)
            ledger.settle_row(session, row, at=self.office.clock(), hooks=tuple(self.office.hooks))
            return store.latest_for_card(session, row.card_ref)

    def status_list(self, shard: int) -> tuple[int, list[tuple[int, int]]]:
        """What a publisher of ``shard`` needs: its version and its (index, status) entries that are not 0."""
        with self.office.registry.transaction(durable=False) as session:
            return store.status_entries(session, shard)
