"""Presentation codes: what the holder's app shows as a QR code for one scan.

A code is a compact JWS (``typ`` :data:`.profile.CODE_TYP`) valid for 60 seconds, with a unique
``jti`` that verifiers accept once, bound to one verifier (``aud``) and optionally to its nonce,
carrying only the holder data its business type needs (:data:`.profile.CODE_DATA`). It is refused
when built if it would exceed :data:`.profile.MAX_CODE_BYTES`: with ES256 the header and the
signature take about 150 of the 400 bytes, so codes are signed under a short ``kid``
(:class:`KeyAlias`), their claims are terse and the holder data positional. With a 21-character
issuer and a 12-character verifier id, names of up to 6 characters fit every business type and of
up to 10 the query type; a longer one is refused here (the verifier can then resolve the holder
online). QR images are drawn by segno.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sscard_issuer.credential.jose import Signer, b64u_encode, sign_compact
from sscard_issuer.credential.profile import (
    CODE_DATA,
    CODE_LIFETIME_SECONDS,
    CODE_TYP,
    MAX_CODE_BYTES,
    BusinessType,
)
from sscard_issuer.errors import FieldError

JTI_BYTES = 9  # 72 random bits, 12 characters: unique among the codes alive in any 60-second window


@dataclass(frozen=True)
class CodeSubject:
    """The e-card a code is made for, as the platform knows it."""

    area: str
    ssn: str
    name: str
    card_number: str
    level: int
    shard: int
    index: int


class CodeTooLarge(FieldError):
    def __init__(self, size: int) -> None:
        super().__init__("code", f"at most {MAX_CODE_BYTES} bytes", size)


class KeyAlias:
    """A signer under another ``kid`` (the platform's short code-signing kid); signs with the same key."""

    def __init__(self, signer: Signer, kid: str) -> None:
        self._signer = signer
        self.alg = signer.alg
        self.kid = kid

    def sign(self, signing_input: bytes) -> bytes:
        return self._signer.sign(signing_input)

    def public_jwk(self) -> dict[str, str]:
        return self._signer.public_jwk()


def code_claims(subject: CodeSubject, *, business: BusinessType, issuer: str, audience: str, now: int,
                nonce: str | None = None) -> dict[str, Any]:
    """The code's claims: the fixed ones and the holder data of ``business``, nothing more."""
    if business is BusinessType.PAYMENT and subject.level < 2:
        raise FieldError("business", "a level 2 e-card (bank account linked) for payment", business.value)
    data = {"area": subject.area, "ssn": subject.ssn, "name": subject.name, "card_number": subject.card_number,
            "level": subject.level}
    claims: dict[str, Any] = {
        "iss": issuer, "aud": audience, "jti": b64u_encode(secrets.token_bytes(JTI_BYTES)),
        "exp": now + CODE_LIFETIME_SECONDS, "bt": business.value, "st": [subject.shard, subject.index],
        "d": [data[name] for name in CODE_DATA[business]],
    }
    if nonce is not None:
        claims["nonce"] = nonce
    return claims


def make_code(subject: CodeSubject, signer: Signer, *, business: BusinessType, issuer: str, audience: str,
              now: int, nonce: str | None = None) -> str:
    code = sign_compact({"typ": CODE_TYP}, code_claims(subject, business=business, issuer=issuer,
                                                       audience=audience, now=now, nonce=nonce), signer)
    if len(code) > MAX_CODE_BYTES:
        raise CodeTooLarge(len(code))
    return code


def write_qr(code: str, path: Path, *, scale: int = 6) -> Path:
    """The code as a QR image; PNG or SVG by the file's suffix (error correction M)."""
    import segno  # only when an image is asked for

    if path.suffix.lower() not in (".png", ".svg"):
        raise FieldError("path", "a .png or .svg file name", path.name)
    segno.make_qr(code, error="m").save(str(path), scale=scale, border=4)
    return path
