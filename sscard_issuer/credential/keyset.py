"""Published verification keys: JWK thumbprints, public keys loaded once, the issuer's key set.

A :class:`PublicKey` parses and checks its JWK when it is built and keeps the loaded key object,
so verifying costs one signature check and nothing else. A :class:`KeySet` maps ``kid`` to keys
and is the only place a verifier takes a key from. Rotation: a retired key gets ``not_after``, the
time until which credentials it signed stay valid, and is published until then
(:meth:`KeySet.published`).

JWK forms: ES256 ``{"kty":"EC","crv":"P-256","x","y"}`` (RFC 7518); SM2, this project's own,
``{"kty":"EC","crv":"SM2","x","y"}`` with 32-byte big-endian coordinates on sm2p256v1.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from sscard_issuer.credential.jose import SIGNATURE_LENGTH, JoseError, Signer, b64u_decode, b64u_encode
from sscard_issuer.crypto import CryptoError, Sm2PublicKey
from sscard_issuer.errors import FieldError

__all__ = ["KeySet", "PublicKey", "thumbprint"]

# RFC 7638 section 3.2: the required members of each key type, the only ones hashed.
_REQUIRED_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "oct": ("k", "kty"),
    "OKP": ("crv", "kty", "x"),
}
_CURVES = {"ES256": "P-256", "SM2": "SM2"}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_COORDINATE = 32
_ZERO = b"\x00"


def thumbprint(jwk: Mapping[str, str]) -> str:
    """The RFC 7638 SHA-256 thumbprint of any JWK (EC, RSA, oct, OKP), base64url."""
    kty = jwk.get("kty")
    members = _REQUIRED_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise JoseError("bad_key", f"no thumbprint for key type {kty!r} (known: EC, RSA, oct, OKP)")
    canonical: dict[str, str] = {}
    for name in members:
        value = jwk.get(name)
        if not isinstance(value, str):
            raise JoseError("bad_key", f"the {kty} JWK has no {name!r} string")
        canonical[name] = value
    text = json.dumps(canonical, separators=(",", ":"), ensure_ascii=False)
    return b64u_encode(hashlib.sha256(text.encode("utf-8")).digest())


# -- loading a JWK into a verifier ------------------------------------------------------------

Verify = Callable[[bytes, bytes], bool]


def _der(signature: bytes) -> bytes:
    """The DER ECDSA-Sig-Value of a 64-byte r || s, as ``encode_dss_signature`` gives it.

    Built from the bytes (minimal unsigned INTEGERs: leading zeros dropped, one zero added when
    the top bit is set) rather than through Python integers: it is on the verification hot path.
    """
    r = signature[:_COORDINATE].lstrip(_ZERO)
    s = signature[_COORDINATE:].lstrip(_ZERO)
    if not r or r[0] > 0x7F:
        r = _ZERO + r
    if not s or s[0] > 0x7F:
        s = _ZERO + s
    return bytes((0x30, len(r) + len(s) + 4, 0x02, len(r))) + r + bytes((0x02, len(s))) + s


def _coordinates(jwk: Mapping[str, Any], alg: str) -> bytes:
    """``X || Y`` of an EC JWK for ``alg``, after checking its kty, crv and lengths."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != _CURVES[alg]:
        raise JoseError("bad_key", f"an {alg} key is kty EC, crv {_CURVES[alg]}")
    if not _PRIVATE_MEMBERS.isdisjoint(jwk):
        raise JoseError("bad_key", "a published key must not carry private members")
    xy = b""
    for name in ("x", "y"):
        value = jwk.get(name)
        if not isinstance(value, str):
            raise JoseError("bad_key", f"the {alg} JWK has no {name!r} string")
        raw = b64u_decode(value)
        if len(raw) != _COORDINATE:
            raise JoseError("bad_key", f"the {alg} JWK's {name!r} is {len(raw)} bytes, not 32")
        xy += raw
    return xy


def _es256_verifier(xy: bytes) -> Verify:
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + xy)
    except ValueError:
        raise JoseError("bad_key", "the ES256 JWK is not a point on P-256") from None

    def verify(signing_input: bytes, signature: bytes) -> bool:
        if len(signature) != SIGNATURE_LENGTH:
            return False
        try:
            key.verify(_der(signature), signing_input, _ECDSA_SHA256)
        except InvalidSignature:
            return False
        return True

    return verify


def _sm2_verifier(xy: bytes) -> Verify:
    try:
        key = Sm2PublicKey.from_xy(xy)
    except CryptoError:
        raise JoseError("bad_key", "the SM2 JWK is not a valid point on sm2p256v1") from None

    def verify(signing_input: bytes, signature: bytes) -> bool:
        if len(signature) != SIGNATURE_LENGTH:
            return False
        try:
            key.verify(_der(signature), signing_input)  # SM3 and the default user id 1234567812345678
        except CryptoError:  # InvalidSignature, or a signature OpenSSL cannot even parse
            return False
        return True

    return verify


_VERIFIERS: dict[str, Callable[[bytes], Verify]] = {"ES256": _es256_verifier, "SM2": _sm2_verifier}


def _aware(name: str, when: datetime) -> datetime:
    if not isinstance(when, datetime) or when.tzinfo is None or when.utcoffset() is None:
        raise FieldError(name, "a timezone-aware datetime", when)
    return when


@dataclass(frozen=True)
class PublicKey:
    """One published verification key; its JWK is checked and loaded when the key is built.

    ``not_after``: ``None`` while the key is in use; once retired, the time until which it must
    stay published (the expiry of the last credential it signed).
    """

    kid: str
    alg: str
    jwk: Mapping[str, str] = field(hash=False)
    not_after: datetime | None = None
    _verify: Verify = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.kid, str) or not self.kid:
            raise JoseError("bad_key", "a key needs a non-empty kid string")
        loader = _VERIFIERS.get(self.alg) if isinstance(self.alg, str) else None
        if loader is None:
            raise JoseError("bad_key", f"key {self.kid!r}: alg {self.alg!r} is not ES256 or SM2")
        if not isinstance(self.jwk, Mapping):
            raise JoseError("bad_key", f"key {self.kid!r}: the JWK is not an object")
        if self.jwk.get("alg", self.alg) != self.alg or self.jwk.get("kid", self.kid) != self.kid:
            raise JoseError("bad_key", f"key {self.kid!r}: the JWK's own alg or kid says otherwise")
        xy = _coordinates(self.jwk, self.alg)
        public = {"kty": "EC", "crv": _CURVES[self.alg], "x": self.jwk["x"], "y": self.jwk["y"]}
        object.__setattr__(self, "jwk", MappingProxyType(public))
        object.__setattr__(self, "_verify", loader(xy))
        if self.not_after is not None:
            _aware("not_after", self.not_after)

    @classmethod
    def from_signer(cls, signer: Signer, *, not_after: datetime | None = None) -> PublicKey:
        """The verification key of ``signer``, under the signer's kid and alg."""
        return cls(kid=signer.kid, alg=signer.alg, jwk=signer.public_jwk(), not_after=not_after)

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> PublicKey:
        """A key from a JWK Set member: ``kid`` and ``alg`` required, ``use`` if present ``sig``."""
        if not isinstance(jwk, Mapping):
            raise JoseError("bad_key", "a JWK Set member is not an object")
        if jwk.get("use", "sig") != "sig":
            raise JoseError("bad_key", f"key {jwk.get('kid')!r}: use is {jwk.get('use')!r}, not 'sig'")
        kid, alg = jwk.get("kid"), jwk.get("alg")
        if not isinstance(kid, str) or not isinstance(alg, str):
            raise JoseError("bad_key", "a JWK Set member needs kid and alg strings")
        return cls(kid=kid, alg=alg, jwk=jwk)

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (r || s) is this key's signature of ``signing_input``."""
        return self._verify(signing_input, signature)

    def to_jwk(self) -> dict[str, str]:
        """The JWK Set member: the public members, ``kid``, ``alg`` and ``use: sig``."""
        return {**self.jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


class KeySet:
    """Verification keys by ``kid``. Safe to read from many threads while one thread changes it:
    every change swaps in a new mapping."""

    def __init__(self, keys: Iterable[PublicKey] = ()) -> None:
        self._keys: dict[str, PublicKey] = {}
        for key in keys:
            self.add(key)

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> KeySet:
        """A set from a JWK Set document ``{"keys": [...]}``; every member must be usable."""
        members = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(members, list):
            raise JoseError("bad_key", 'a JWK Set is an object with a "keys" list')
        return cls(PublicKey.from_jwk(member) for member in members)

    def to_jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWK Set document of every key held (see :meth:`published` for what to serve)."""
        return {"keys": [key.to_jwk() for key in self._keys.values()]}

    def get(self, kid: str) -> PublicKey | None:
        """The key with this ``kid``, or ``None``."""
        return self._keys.get(kid)

    def add(self, key: PublicKey) -> None:
        """Add a key; adding the same key again changes nothing, another key under its kid is refused."""
        if not isinstance(key, PublicKey):
            raise TypeError(f"KeySet holds PublicKey objects, not {type(key).__name__}")
        held = self._keys.get(key.kid)
        if held is not None:
            if held.alg == key.alg and dict(held.jwk) == dict(key.jwk):
                return
            raise JoseError("bad_key", f"kid {key.kid!r} is already held by another key")
        self._keys = {**self._keys, key.kid: key}

    def retire(self, kid: str, keep_until: datetime) -> PublicKey:
        """Stop treating ``kid`` as current: it stays published until ``keep_until``.

        Retiring twice keeps the later date: credentials signed meanwhile must still verify.
        """
        _aware("keep_until", keep_until)
        key = self._keys.get(kid)
        if key is None:
            raise JoseError("unknown_kid", f"kid {kid!r} is not in the key set")
        if key.not_after is not None and key.not_after >= keep_until:
            return key
        retired = dataclasses.replace(key, not_after=keep_until)
        self._keys = {**self._keys, kid: retired}
        return retired

    def published(self, now: datetime) -> KeySet:
        """The keys to publish at ``now``: current ones, and retired ones until their ``not_after``."""
        _aware("now", now)
        kept = KeySet()
        kept._keys = {
            kid: key for kid, key in self._keys.items() if key.not_after is None or now <= key.not_after
        }
        return kept

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __iter__(self) -> Iterator[PublicKey]:
        return iter(list(self._keys.values()))

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"<KeySet {', '.join(self._keys) or 'empty'}>"
