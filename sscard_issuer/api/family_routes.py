"""The family service over HTTP: a holder's app back end adds, lists and revokes relatives and makes
presentation codes for a relative's e-card (only while the link is active).

Holders and relatives are named by their e-card ids (what the apps know); links join the people
behind them, so a link follows a relative's replaced card to its new e-card. Every route needs the
``issue`` right. Refusals are the typed errors of :mod:`sscard_issuer.credential.family` (e-card
errors): the app's handler answers them 409 with the stable code and the Chinese and English
messages; an unknown e-card or link is 404, a malformed field 422.
"""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from sscard_issuer.api.platform import Platform
from sscard_issuer.api.platform_app import CodeRequest, Issuer
from sscard_issuer.credential import family
from sscard_issuer.credential.family import FamilyLimits, Relation
from sscard_issuer.credential.profile import CODE_LIFETIME_SECONDS, BusinessType
from sscard_issuer.registry.credentials import Ecard


class AddRelativeRequest(BaseModel):
    relative_ecard_id: str = Field(max_length=36, description="the relative's active e-card")
    relation: str = Field(description="child, elder (parent or grandparent), spouse or other")
    consent_method: str | None = Field(None, description="face_check_app (the relative's own app) or face_check_hall")
    consent_reference: str | None = Field(None, max_length=128,
                                          description="the reference of the relative's real-name and face check")
    consented_at: datetime | None = Field(None, description="when the face check was done (default: now)")


def _ecard(session: Session, ecard_id: str) -> Ecard:
    row = session.execute(select(Ecard).where(Ecard.ecard_id == ecard_id)).scalar_one_or_none()
    if row is None:
        raise HTTPException(404, "no such e-card")
    return row


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _link_json(relative: family.Relative) -> dict[str, Any]:
    link = relative.link
    kind = Relation(link.relation)
    return {"link_id": link.id, "relative_ecard_id": relative.ecard_id, "relative_name": relative.name,
            "relation": kind.value, "relation_name": kind.display("zh"), "relation_name_en": kind.display("en"),
            "consent": {"method": link.consent_method, "reference": link.consent_reference,
                        "at": link.consented_at.isoformat()},
            "created_at": link.created_at.isoformat(), "active": link.active, "revoked_at": _when(link.revoked_at),
            "revoked_by": link.revoked_by}


def family_router(platform: Platform, *, limits: FamilyLimits | None = None) -> APIRouter:
    """The family routes of ``platform``; ``limits`` default to the national FAQ's."""
    settings = limits or FamilyLimits()
    router = APIRouter(prefix="/v1/family", tags=["family service (亲情服务)"])

    @router.post("/{holder_ecard_id}/relatives", status_code=201)
    def add(holder_ecard_id: str, body: AddRelativeRequest, client: Issuer) -> dict[str, Any]:
        at = platform.office.clock()
        with platform.registry.transaction() as session:
            holder, relative = _ecard(session, holder_ecard_id), _ecard(session, body.relative_ecard_id)
            if not holder.active:
                raise family.NotEligible("family_holder_no_ecard", f"e-card {holder_ecard_id} is revoked",
                                         "本人的电子社保卡已失效，不能使用亲情服务")
            if not relative.active:
                raise family.NotEligible("family_relative_no_ecard", f"e-card {body.relative_ecard_id} is revoked",
                                         "该亲属的电子社保卡已失效，不能添加")
            link = family.add_relative(session, holder_person_id=holder.person_id,
                                       relative_person_id=relative.person_id, relation=body.relation,
                                       consent_method=body.consent_method, consent_reference=body.consent_reference,
                                       consented_at=body.consented_at, at=at, limits=settings,
                                       actor=f"client:{client.name}")
            shown = [r for r in family.relatives(session, holder.person_id) if r.link.id == link.id]
        return _link_json(shown[0])

    @router.get("/{holder_ecard_id}/relatives")
    def listing(holder_ecard_id: str, client: Issuer, include_revoked: bool = False) -> dict[str, Any]:
        with platform.registry.transaction(durable=False) as session:
            holder = _ecard(session, holder_ecard_id)
            rows = family.relatives(session, holder.person_id, include_revoked=include_revoked)
            used = family.usage(session, holder.person_id)
        slots = {kind.value: {"used": used[kind], "limit": settings.of(kind)} for kind in Relation}
        slots["total"] = {"used": sum(used.values()), "limit": settings.total}
        return {"holder_ecard_id": holder_ecard_id, "relatives": [_link_json(r) for r in rows], "slots": slots}

    @router.delete("/links/{link_id}")
    def revoke(link_id: int, client: Issuer, by: str = "holder") -> dict[str, Any]:
        at = platform.office.clock()
        with platform.registry.transaction() as session:
            try:
                link = family.revoke(session, link_id, by=by, at=at, actor=f"client:{client.name}")
            except family.LinkNotFound:
                raise HTTPException(404, "no such family link") from None
            shown = [r for r in family.relatives(session, link.holder_person_id, include_revoked=True)
                     if r.link.id == link.id]
        return _link_json(shown[0])

    @router.post("/{holder_ecard_id}/relatives/{relative_ecard_id}/codes", status_code=201)
    def code(holder_ecard_id: str, relative_ecard_id: str, body: CodeRequest, client: Issuer) -> dict[str, Any]:
        try:
            business = BusinessType(body.business_type)
        except ValueError:
            raise HTTPException(422, "business_type: one of 01, 02, 03, 04") from None
        with platform.registry.transaction(durable=False) as session:
            holder = _ecard(session, holder_ecard_id)
            allowed = holder.active and family.may_present(session, holder.person_id, relative_ecard_id)
        if not allowed:
            raise family.NotLinked("family_not_linked", f"e-card {relative_ecard_id} is not held by this holder",
                                   "未添加该亲属或亲情服务关系已解除，不能代为出示电子社保卡")
        made = platform.code(relative_ecard_id, business=business, audience=body.audience, nonce=body.nonce)
        return {"code": made, "bytes": len(made), "expires_in": CODE_LIFETIME_SECONDS}

    return router
