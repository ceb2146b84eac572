"""Registry table of the family service (亲情服务): a holder holds and presents relatives' e-cards.

One row per link ever made, holder person to relative person. Links are between people, not
e-cards: when either card is replaced, the link follows the new e-card. The relative's consent is
recorded with the link: how it was given (a face check in the relative's own app, or at a hall),
the reference of that real-name and face check, and when. A link is never deleted: revoking it
sets ``revoked_at`` and ``revoked_by`` and clears ``active``; re-adding the relative makes a new
row. A partial unique index keeps one active link per (holder, relative), whatever race the code
above loses; check constraints keep a person from holding themself and tie ``active`` to the
revocation fields.

The rules (limits by relation kind, who must hold an active e-card) live in
:mod:`sscard_issuer.credential.family`.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from sscard_issuer.registry.models import Base
from sscard_issuer.registry.types import UtcDateTime


class Relation(enum.Enum):
    """What the relative is to the holder (the published limits are by these kinds)."""

    CHILD = "child"  # a son or daughter, usually a minor
    ELDER = "elder"  # a parent or grandparent
    SPOUSE = "spouse"
    OTHER = "other"

    def display(self, lang: str = "zh") -> str:
        zh, en = _RELATION_NAMES[self]
        return en if lang == "en" else zh


_RELATION_NAMES = {
    Relation.CHILD: ("子女", "child"),
    Relation.ELDER: ("长辈（父母或祖父母）", "elder (parent or grandparent)"),
    Relation.SPOUSE: ("配偶", "spouse"),
    Relation.OTHER: ("其他亲属", "other relative"),
}


class ConsentMethod(enum.Enum):
    """How the relative agreed: always after their own real-name and face check."""

    FACE_CHECK_APP = "face_check_app"  # in the relative's own e-card app
    FACE_CHECK_HALL = "face_check_hall"  # in person at a service hall, checked by staff


class RevokedBy(enum.Enum):
    HOLDER = "holder"
    RELATIVE = "relative"
    STAFF = "staff"


class FamilyLink(Base):
    """The holder (``holder_person_id``) may hold and present the e-card of the relative."""

    __tablename__ = "family_link"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False, index=True)
    relative_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False, index=True)
    relation: Mapped[str] = mapped_column(String(16), nullable=False)  # Relation value
    consent_method: Mapped[str] = mapped_column(String(32), nullable=False)  # ConsentMethod value
    consent_reference: Mapped[str] = mapped_column(String(128), nullable=False)  # the real-name + face check
    consented_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(16))  # RevokedBy value
    __table_args__ = (
        CheckConstraint("holder_person_id <> relative_person_id", name="family_link_not_self"),
        CheckConstraint("relation IN ('child', 'elder', 'spouse', 'other')", name="family_link_relation_values"),
        CheckConstraint("revoked_by IS NULL OR revoked_by IN ('holder', 'relative', 'staff')",
                        name="family_link_revoked_by_values"),
        CheckConstraint("(revoked_at IS NULL) = active AND (revoked_by IS NULL) = active",
                        name="family_link_revoked_iff_inactive"),
        Index("one_active_family_link", "holder_person_id", "relative_person_id", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
    )
