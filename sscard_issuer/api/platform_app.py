"""The platform's HTTP service (FastAPI): issue e-cards, make presentation codes, verify, publish.

Callers authenticate with a bearer API key. Issuance (``issue``: the holder app's back end, the
halls) and verification (``verify``: relying parties, each bound to its verifier id, the audience
its codes must carry) are separate rights; a caller without the right gets 401 (no or unknown key)
or 403 (wrong right), never data. The key set and the status lists are public and cacheable
(``Cache-Control``, ``ETag``, ``304``), so a content delivery network can carry them.
"""

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sscard_issuer.api.platform import Platform
from sscard_issuer.credential.profile import BusinessType
from sscard_issuer.credential.status_list import STATUS_LIST_TYP
from sscard_issuer.errors import FieldError, SscardError
from sscard_issuer.lifecycle.access import Actor
from sscard_issuer.lifecycle.errors import CardNotFound
from sscard_issuer.registry.credentials import EcardStatus

ISSUE, VERIFY = "issue", "verify"
_STATUS_NAMES = {EcardStatus.VALID: "valid", EcardStatus.INVALID: "revoked", EcardStatus.SUSPENDED: "suspended"}


@dataclass(frozen=True)
class Client:
    """A caller: its name, its rights, and (relying parties) the verifier id codes are bound to."""

    name: str
    rights: frozenset[str]
    audience: str | None = None


class Clients:
    """API keys by their SHA-256 (the keys themselves are never stored)."""

    def __init__(self, by_digest: dict[str, Client]) -> None:
        self._by_digest = by_digest

    @classmethod
    def from_keys(cls, keys: dict[str, Client]) -> "Clients":
        return cls({hashlib.sha256(key.encode()).hexdigest(): client for key, client in keys.items()})

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Clients":
        """``{"clients": [{"name", "key_sha256", "rights": [...], "audience"}]}``"""
        return cls({c["key_sha256"].lower(): Client(c["name"], frozenset(c["rights"]), c.get("audience"))
                    for c in doc["clients"]})

    def find(self, key: str) -> Client | None:
        digest = hashlib.sha256(key.encode()).hexdigest()
        for known, client in self._by_digest.items():
            if hmac.compare_digest(known, digest):
                return client
        return None


class IssueRequest(BaseModel):
    card: str = Field(description="card reference, card identification code or the holder's social security number")
    level: int = Field(1, ge=1, le=2, description="1: identity and query; 2: adds the bank account link")


class CodeRequest(BaseModel):
    business_type: str = Field("01", description="01 query, 02 payment, 03 other, 04 cross-region medical")
    audience: str = Field(description="the verifier id the code is for")
    nonce: str | None = Field(None, max_length=64)


class VerifyRequest(BaseModel):
    token: str = Field(max_length=16_384, description="a presentation code, or a credential (SD-JWT)")
    nonce: str | None = None
    card_id: str | None = Field(None, description="the identification code of a card tapped with it")
    business_types: list[str] | None = None


def _caller(request: Request, right: str, authorization: str | None) -> Client:
    scheme, _, key = (authorization or "").partition(" ")
    clients: Clients = request.app.state.clients
    client = clients.find(key.strip()) if scheme.lower() == "bearer" and key.strip() else None
    if client is None:
        raise HTTPException(401, "an API key is required", headers={"WWW-Authenticate": "Bearer"})
    if right not in client.rights:
        raise HTTPException(403, f"{client.name} may not {right}")
    return client


def _issuer(request: Request, authorization: Annotated[str | None, Header()] = None) -> Client:
    return _caller(request, ISSUE, authorization)


def _relying_party(request: Request, authorization: Annotated[str | None, Header()] = None) -> Client:
    return _caller(request, VERIFY, authorization)


Issuer = Annotated[Client, Depends(_issuer)]
RelyingParty = Annotated[Client, Depends(_relying_party)]


def create_app(platform: Platform, clients: Clients) -> FastAPI:
    app = FastAPI(title="sscard platform", version="1", description=__doc__)
    app.state.clients = clients

    @app.exception_handler(SscardError)
    async def refused(_: Request, error: SscardError) -> JSONResponse:
        status = 404 if isinstance(error, CardNotFound) else 422 if isinstance(error, FieldError) else 409
        code = getattr(error, "code", type(error).__name__)
        message_zh = getattr(error, "message_zh", str(error))
        return JSONResponse({"error": code, "message": message_zh, "message_en": str(error)}, status_code=status)

    @app.post("/v1/ecards", status_code=201)
    def issue(body: IssueRequest, client: Issuer) -> dict[str, Any]:
        issued = platform.issue(Actor(f"client:{client.name}", None, None), body.card, body.level)
        ecard = issued.ecard
        return {"ecard_id": ecard.ecard_id, "issuance_number": ecard.issuance_number, "level": ecard.level,
                "status": _STATUS_NAMES[EcardStatus(ecard.status)], "created": issued.created,
                "revoked": issued.revoked, "token": issued.token}

    @app.get("/v1/ecards/{ecard_id}")
    def ecard(ecard_id: str, client: Issuer) -> dict[str, Any]:
        row = platform.ecard(ecard_id)
        if row is None:
            raise HTTPException(404, "no such e-card")
        return {"ecard_id": row.ecard_id, "card_ref": row.card_ref, "issuance_number": row.issuance_number,
                "level": row.level, "area": row.area_code, "status": _STATUS_NAMES[EcardStatus(row.status)],
                "active": row.active, "issued_at": row.issued_at.isoformat(), "expires_at": row.expires_at.isoformat()}

    @app.post("/v1/ecards/{ecard_id}/codes", status_code=201)
    def code(ecard_id: str, body: CodeRequest, client: Issuer) -> dict[str, Any]:
        try:
            business = BusinessType(body.business_type)
        except ValueError:
            raise HTTPException(422, "business_type: one of 01, 02, 03, 04") from None
        made = platform.code(ecard_id, business=business, audience=body.audience, nonce=body.nonce)
        return {"code": made, "bytes": len(made), "expires_in": 60}

    @app.post("/v1/verify")
    def verify(body: VerifyRequest, client: RelyingParty) -> dict[str, Any]:
        if client.audience is None:
            raise HTTPException(403, f"{client.name} has no verifier id")
        try:
            accept = [BusinessType(b) for b in body.business_types] if body.business_types else None
        except ValueError:
            raise HTTPException(422, "business_types: values among 01, 02, 03, 04") from None
        return platform.verify(body.token, audience=client.audience, nonce=body.nonce, card_id=body.card_id,
                               accept=accept).to_json()

    @app.get("/v1/status-lists/{shard}")
    def status_list(shard: int, if_none_match: Annotated[str | None, Header()] = None) -> Response:
        token, etag = platform.status_list(shard)
        headers = {"ETag": etag, "Cache-Control": f"public, max-age={platform.settings.status_ttl}"}
        if if_none_match is not None and etag in [t.strip() for t in if_none_match.split(",")]:
            return Response(status_code=304, headers=headers)
        return Response(token, media_type=f"application/{STATUS_LIST_TYP}", headers=headers)

    @app.get("/.well-known/jwks.json")
    def jwks() -> Response:
        import json

        body = json.dumps(platform.keys().to_jwks(), sort_keys=True)
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
        return Response(body, media_type="application/jwk-set+json",
                        headers={"ETag": etag, "Cache-Control": f"public, max-age={platform.settings.jwks_max_age}"})

    from sscard_issuer.api.family_routes import family_router  # here: it imports this module's Issuer

    app.include_router(family_router(platform, limits=platform.settings.family))
    return app
