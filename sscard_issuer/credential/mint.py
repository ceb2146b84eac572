"""Making the e-card credential: an SD-JWT whose holder data are selectively disclosable.

The signed part binds the credential to its card (identification code and card number), names its
issuance number, level and issuing area, its validity (until the card expires) and where its
status is published; the holder's name and social security number travel as disclosures, so a
relying party sees only what the holder chooses to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sscard_issuer.credential import sdjwt, status_list
from sscard_issuer.credential.jose import Signer, sign_compact
from sscard_issuer.credential.profile import DISCLOSABLE, ECARD_AUDIENCE, ECARD_TYP


@dataclass(frozen=True)
class CredentialSubject:
    """What a credential says (the registry's e-card record, flattened)."""

    ecard_id: str
    issuance_number: str
    level: int
    area: str
    card_id: str
    card_number: str
    ssn: str
    name: str
    issued_at: int  # seconds since the epoch
    expires_at: int
    shard: int
    index: int


def credential_claims(subject: CredentialSubject, *, issuer: str, status_base: str) -> dict[str, Any]:
    return {
        "iss": issuer, "aud": ECARD_AUDIENCE, "sub": subject.ecard_id, "iat": subject.issued_at,
        "exp": subject.expires_at, "isn": subject.issuance_number, "lvl": subject.level, "ar": subject.area,
        "cid": subject.card_id, "cno": subject.card_number, "name": subject.name, "ssn": subject.ssn,
        "status": status_list.status_reference(status_list.shard_uri(status_base, subject.shard), subject.index),
    }  # fmt: skip


def mint_credential(subject: CredentialSubject, signer: Signer, *, issuer: str, status_base: str) -> str:
    """The credential as the holder's app stores it: ``<jws>~<disclosure>~...~``."""
    payload, disclosures = sdjwt.conceal(credential_claims(subject, issuer=issuer, status_base=status_base),
                                         DISCLOSABLE)
    # joined here rather than by sdjwt.serialise: the JWS was just made, its form needs no re-check
    return "~".join([sign_compact({"typ": ECARD_TYP}, payload, signer), *(d.encoded for d in disclosures), ""])
