"""Making the e-card credential: an SD-JWT whose holder data are selectively disclosable.

The signed part binds the credential to its card (identification code and card number), names its
issuance number, level and issuing area, its validity (until the card expires) and where its
status is published; the holder's name and social security number travel as disclosures, so a
relying party sees only what the holder chooses to show.

Speed (``tools/bench_ecard.py``, measured against the bare ES256 signature): the claim set has one
shape, so :func:`mint_credential` writes its JSON and the two disclosures' JSON directly, with the
JSON encoder's own string escaping, byte for byte what :func:`credential_claims`,
:func:`.sdjwt.conceal` and the JSON encoder make of the same subject, and takes both salts from one
read of the system's CSPRNG. A subject with a value of another type than its field's (a ``bool``
level, a float time) takes that general path, so it is written, or refused, exactly as before.
"""

from __future__ import annotations

import binascii
import hashlib
import os
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from sscard_issuer.credential import jose, sdjwt, status_list
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


_HEADER = {"typ": ECARD_TYP}  # read, never changed, by sign_compact
_PROTECTED: dict[tuple[str, str], bytes] = {}  # the encoded _HEADER with the signer's alg and kid, by (alg, kid)
_AUD = encode_basestring(ECARD_AUDIENCE)
_SD_ALG = encode_basestring(sdjwt.SD_ALG)
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_SALT = sdjwt.SALT_BYTES
_b2a = binascii.b2a_base64
_sha256 = hashlib.sha256
_WRITTEN = DISCLOSABLE == ("name", "ssn")  # what _written discloses, in this order


def _written(subject: CredentialSubject, issuer: str, status_base: str) -> tuple[bytes, str, str] | None:
    """The payload's JSON and the two disclosures, or ``None`` for a subject of unusual types."""
    s = subject
    level, iat, exp, shard, idx = s.level, s.issued_at, s.expires_at, s.shard, s.index
    # the types JSON writes as these digits (a bool is an int, but JSON's true), and what
    # shard_uri and status_reference accept
    if (not _WRITTEN or type(level) is not int or type(iat) is not int or type(exp) is not int
            or type(shard) is not int or type(idx) is not int or shard < 0 or idx < 0
            or type(status_base) is not str or not status_base):
        return None
    salts = os.urandom(2 * _SALT)  # both 128-bit salts from one read
    name_salt = _b2a(salts[:_SALT], newline=False).translate(_TO_URLSAFE, b"=").decode("ascii")
    ssn_salt = _b2a(salts[_SALT:], newline=False).translate(_TO_URLSAFE, b"=").decode("ascii")
    try:  # encode_basestring refuses what is not a str; utf-8 refuses lone surrogates
        # the disclosures as Disclosure.make writes them, and their digests (over the ASCII text)
        name = _b2a(f'["{name_salt}","name",{encode_basestring(s.name)}]'.encode(), newline=False).translate(
            _TO_URLSAFE, b"=")
        ssn = _b2a(f'["{ssn_salt}","ssn",{encode_basestring(s.ssn)}]'.encode(), newline=False).translate(
            _TO_URLSAFE, b"=")
        name_digest = _b2a(_sha256(name).digest(), newline=False).translate(_TO_URLSAFE, b"=").decode("ascii")
        ssn_digest = _b2a(_sha256(ssn).digest(), newline=False).translate(_TO_URLSAFE, b"=").decode("ascii")
        first, second = (name_digest, ssn_digest) if name_digest < ssn_digest else (ssn_digest, name_digest)
        uri = encode_basestring(f"{status_base.rstrip('/')}/{shard}")
        body = (
            f'{{"iss":{encode_basestring(issuer)},"aud":{_AUD},"sub":{encode_basestring(s.ecard_id)},'
            f'"iat":{iat},"exp":{exp},"isn":{encode_basestring(s.issuance_number)},"lvl":{level},'
            f'"ar":{encode_basestring(s.area)},"cid":{encode_basestring(s.card_id)},'
            f'"cno":{encode_basestring(s.card_number)},"status":{{"status_list":{{"idx":{idx},"uri":{uri}}}}},'
            f'"_sd":["{first}","{second}"],"_sd_alg":{_SD_ALG}}}'
        ).encode()
    except (TypeError, UnicodeEncodeError):
        return None
    return body, name.decode("ascii"), ssn.decode("ascii")


def mint_credential(subject: CredentialSubject, signer: Signer, *, issuer: str, status_base: str) -> str:
    """The credential as the holder's app stores it: ``<jws>~<disclosure>~...~``."""
    written = _written(subject, issuer, status_base)
    if written is None:  # the general path: the claims, conceal(), the JSON encoder
        payload, disclosures = sdjwt.conceal(credential_claims(subject, issuer=issuer, status_base=status_base),
                                             DISCLOSABLE)
        return "~".join([sign_compact(_HEADER, payload, signer), *(d.encoded for d in disclosures), ""])
    body, name, ssn = written
    # the protected header of this signer's credentials: the same bytes sign_compact would look up
    alg, kid = signer.alg, signer.kid
    if type(alg) is not str or type(kid) is not str:  # not a Signer as typed: sign_compact decides
        return f"{sign_compact(_HEADER, body, signer)}~{name}~{ssn}~"
    protected = _PROTECTED.get((alg, kid))
    if protected is None:
        protected = jose._protected_header(_HEADER, signer)  # its checks, once per key
        if len(_PROTECTED) >= 64:
            _PROTECTED.clear()
        _PROTECTED[(alg, kid)] = protected
    # joined here rather than by sdjwt.serialise: the JWS was just made, its form needs no re-check
    return f"{jose._sign_serialised(protected, body, signer)}~{name}~{ssn}~"
