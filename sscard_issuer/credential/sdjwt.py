"""Selective disclosure for the e-card credential: SD-JWT (RFC 9901), with no I/O and no signing.

The issuer calls :func:`conceal` on the claim set, has the payload signed (``jose.py``, not here)
and hands :func:`serialise`'s ``<jws>~<d1>~...~<dn>~`` to the holder. The holder keeps only what a
verifier needs with :func:`present`; the verifier checks the signature, then :func:`disclose`.

Scope: selectively disclosable *top-level object properties* only, which is all the e-card profile
uses. Array-element disclosures and nested ``_sd`` objects are not processed: a disclosure for
either is refused (its digest is not in the top-level ``_sd``), never half-applied.

A digest is taken over the disclosure's base64url text exactly as sent (RFC 9901, "Hashing
Disclosures"), never over a re-encoding, so a :class:`Disclosure` keeps its ``encoded`` form and can
only be built by :meth:`Disclosure.make` or :meth:`Disclosure.parse`, which derive every field from
that one string.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from typing import Any, Literal, NoReturn

from sscard_issuer.errors import FieldError, SscardError

SD_ALG = "sha-256"  # the only hash this profile accepts (RFC 9901 makes it the default)
SALT_BYTES = 16  # 128 bits, the minimum RFC 9901 recommends
RESERVED_NAMES = frozenset({"_sd", "..."})  # never a disclosed claim name (RFC 9901, disclosures)
_PAYLOAD_KEYS = frozenset({"_sd", "_sd_alg"})

SdJwtErrorCode = Literal[
    "malformed", "duplicate_disclosure", "unknown_disclosure", "bad_disclosure", "reserved_name", "sd_alg"
]

_BASE64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_PRIVATE = object()  # only make() and parse() hold it: a Disclosure cannot be built inconsistent


class SdJwtError(SscardError, ValueError):
    """An SD-JWT or a disclosure was refused; ``code`` says why, in one stable word."""

    def __init__(self, code: SdJwtErrorCode, message: str) -> None:
        self.code: SdJwtErrorCode = code
        super().__init__(f"{code}: {message}")


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
# The URL-safe alphabet to the standard one, and "+", "/", "=" to a character strict mode refuses,
# as it refuses white space and everything else outside the alphabet: one pass checks and maps.
_FROM_URLSAFE = bytes.maketrans(b"-_+/=", b"+/!!!")
_PAD = (b"", b"", b"==", b"=")
_b2a = binascii.b2a_base64
_a2b = binascii.a2b_base64
_sha256 = hashlib.sha256


def _b64encode(data: bytes) -> str:
    # binascii with a translation that also deletes the padding: a third of
    # urlsafe_b64encode().rstrip().decode()'s time
    return _b2a(data, newline=False).translate(_TO_URLSAFE, b"=").decode("ascii")


# The C encoder, built once, for the [salt, name, value] arrays: compact, UTF-8 kept (no \uXXXX),
# no NaN; JSONEncoder.encode builds it again on every call. No markers (a dict kept between calls
# would keep stale ids after an error): a cyclic value ends in RecursionError, refused as not JSON.
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_PY_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _not_json(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not a JSON type")


_C_ENCODE: Any = (
    None
    if _c_make_encoder is None  # other Python implementations
    else _c_make_encoder(None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, False)
)


def _encode(value: list[Any]) -> str:
    if _C_ENCODE is not None:
        return "".join(_C_ENCODE(value, 0))
    return _PY_ENCODE(value)  # pragma: no cover


def _b64decode(text: str, what: str) -> bytes:
    """Base64url without padding; the same texts accepted as ``[A-Za-z0-9_-]+`` with a length that
    is not 1 mod 4 (trailing bits are not checked: a digest is over the text as sent)."""
    rest = len(text) & 3
    if rest == 1 or not text:
        raise SdJwtError("malformed", f"{what} is not base64url without padding")
    try:
        return _a2b(text.encode("ascii").translate(_FROM_URLSAFE) + _PAD[rest], strict_mode=True)
    except ValueError:  # binascii.Error and UnicodeEncodeError are ValueErrors
        raise SdJwtError("malformed", f"{what} is not base64url without padding") from None


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity are Python's, not JSON's


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
_scan: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def disclosure_digest(encoded: str) -> str:
    """base64url(SHA-256) over the disclosure's US-ASCII text as sent (RFC 9901, hashing disclosures)."""
    digest = _sha256(encoded.encode("ascii")).digest()
    return _b2a(digest, newline=False).translate(_TO_URLSAFE, b"=").decode("ascii")


@dataclass(frozen=True)
class Disclosure:
    """One selectively disclosable claim: ``[salt, name, value]``, base64url-encoded as ``encoded``.

    Equal and hashed by ``encoded``. The salt and the value stay out of ``repr`` (the salt is the
    holder's secret; the value is personal data), as does the long encoded form.
    """

    salt: str = field(repr=False, compare=False)
    name: str = field(compare=False)
    value: Any = field(repr=False, compare=False)
    encoded: str = field(repr=False)
    digest: str = field(compare=False)
    _key: InitVar[object] = None

    def __post_init__(self, _key: object) -> None:
        if _key is not _PRIVATE:
            raise TypeError("build a Disclosure with Disclosure.make() or Disclosure.parse()")

    @classmethod
    def _build(cls, salt: str, name: str, value: Any, encoded: str, digest: str) -> Disclosure:
        """The instance, fields set directly: only make() and parse() call this, with every field
        derived from ``encoded`` (what the dataclass __init__ would do, at half its cost)."""
        made = _new(cls)
        made.__dict__.update(salt=salt, name=name, value=value, encoded=encoded, digest=digest)
        return made

    @classmethod
    def make(cls, name: str, value: Any, salt: str | None = None) -> Disclosure:
        """A new disclosure, with a fresh 128-bit salt from :mod:`secrets` unless ``salt`` is given.

        The JSON has no white space and keeps non-ASCII text as UTF-8: the credential must stay small.
        """
        if not isinstance(name, str):
            raise SdJwtError("bad_disclosure", "a claim name must be a string")
        if name in RESERVED_NAMES:
            raise SdJwtError("reserved_name", f"{name!r} cannot be a disclosed claim name")
        if salt is None:
            salt = _b64encode(secrets.token_bytes(SALT_BYTES))
        elif not isinstance(salt, str) or not salt:
            raise SdJwtError("bad_disclosure", "a salt must be a non-empty string")
        try:
            text = _encode([salt, name, value])
        except (TypeError, ValueError, RecursionError) as exc:
            raise SdJwtError("bad_disclosure", f"the value of {name!r} is not JSON") from exc
        encoded = _b64encode(text.encode("utf-8"))
        return cls._build(salt, name, value, encoded, disclosure_digest(encoded))

    @classmethod
    def parse(cls, encoded: str) -> Disclosure:
        """The disclosure a holder or issuer sent, refused unless it is ``[salt, name, value]``."""
        # Written flat (a verifier parses every disclosure of every credential): _b64decode and
        # disclosure_digest inline, the ASCII bytes decoded are the ones hashed.
        if not isinstance(encoded, str):
            raise SdJwtError("malformed", "a disclosure must be a string")
        rest = len(encoded) & 3
        try:
            if rest == 1 or not encoded:
                raise ValueError
            ascii_text = encoded.encode("ascii")
            raw = _a2b(ascii_text.translate(_FROM_URLSAFE) + _PAD[rest], strict_mode=True)
        except ValueError:  # binascii.Error and UnicodeEncodeError are ValueErrors
            raise SdJwtError("malformed", "a disclosure is not base64url without padding") from None
        try:
            text = raw.decode("utf-8")
            if text[:1] == "[":  # as written by make(): one scan, nothing around it
                items, end = _scan(text, 0)
                if end != len(text):
                    items = _DECODER.decode(text)  # trailing white space, or "extra data" refused
            else:  # leading white space, or not an array at all
                items = _DECODER.decode(text)
        except (ValueError, RecursionError, StopIteration) as exc:  # UnicodeDecodeError is a ValueError
            raise SdJwtError("malformed", "a disclosure is not UTF-8 JSON") from exc
        if type(items) is not list:
            raise SdJwtError("bad_disclosure", "a disclosure must be a JSON array")
        if len(items) == 2:
            raise SdJwtError("bad_disclosure", "array-element disclosures are not used by this profile")
        if len(items) != 3:
            raise SdJwtError("bad_disclosure", f"a disclosure has 3 elements, not {len(items)}")
        salt, name, value = items
        if type(salt) is not str or type(name) is not str:
            raise SdJwtError("bad_disclosure", "a disclosure's salt and claim name must be strings")
        if name in RESERVED_NAMES:
            raise SdJwtError("reserved_name", f"{name!r} cannot be a disclosed claim name")
        digest = _b2a(_sha256(ascii_text).digest(), newline=False).translate(_TO_URLSAFE, b"=").decode("ascii")
        made = _new(cls)  # as _build does
        made.__dict__.update(salt=salt, name=name, value=value, encoded=encoded, digest=digest)
        return made


_new = object.__new__


def decoy_digest() -> str:
    """A digest of nothing: the hash of 256 random bits (RFC 9901, "Decoy Digests")."""
    return _b64encode(hashlib.sha256(secrets.token_bytes(32)).digest())


def _names(argument: str, names: Collection[str]) -> frozenset[str]:
    if isinstance(names, str):  # a str is a Collection[str] of its letters: never what was meant
        raise FieldError(argument, "a collection of claim names, not one string", names)
    return frozenset(names)


def conceal(
    claims: Mapping[str, Any], disclosable: Collection[str], *, decoys: int = 0
) -> tuple[dict[str, Any], list[Disclosure]]:
    """The payload to sign, with each ``disclosable`` claim replaced by its digest in ``_sd``.

    ``_sd`` is sorted, so it tells nothing of the claims' order; ``decoys`` random digests can be
    mixed in so that its length tells nothing of how many claims are hidden.
    """
    wanted = _names("disclosable", disclosable)
    missing = sorted(wanted - claims.keys())
    if missing:
        raise FieldError("disclosable", "names of claims present in the claim set", missing)
    reserved = sorted(_PAYLOAD_KEYS & claims.keys())
    if reserved:
        raise SdJwtError("reserved_name", f"the claim set already has {', '.join(reserved)}")
    if not isinstance(decoys, int) or isinstance(decoys, bool) or decoys < 0:
        raise FieldError("decoys", "an integer >= 0", decoys)
    payload = {name: value for name, value in claims.items() if name not in wanted}
    hidden = [(name, value) for name, value in claims.items() if name in wanted]
    pool = os.urandom(SALT_BYTES * len(hidden))  # every salt from one read of the system's CSPRNG
    disclosures = [
        Disclosure.make(name, value, _b64encode(pool[i * SALT_BYTES : (i + 1) * SALT_BYTES]))
        for i, (name, value) in enumerate(hidden)
    ]
    digests = sorted([d.digest for d in disclosures] + [decoy_digest() for _ in range(decoys)])
    if digests:
        payload["_sd"] = digests
    payload["_sd_alg"] = SD_ALG
    return payload, disclosures


def _is_compact_jws(text: str) -> bool:
    """Three base64url-alphabet parts joined by dots, the first not empty (the form, not the content):
    what ``[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]*`` matches, in a third of its time."""
    try:
        rest = text.encode("ascii").translate(None, _BASE64URL_ALPHABET)
    except UnicodeEncodeError:
        return False
    return rest == b".." and text[:1] != "."


def serialise(jws: str, disclosures: Sequence[Disclosure]) -> str:
    """``<jws>~<d1>~...~<dn>~``: an SD-JWT without key binding (RFC 9901)."""
    if not isinstance(jws, str) or not _is_compact_jws(jws):
        raise SdJwtError("malformed", "the issuer-signed part must be a compact JWS")
    seen: set[str] = set()
    for disclosure in disclosures:
        if disclosure.encoded in seen:
            raise SdJwtError("duplicate_disclosure", f"disclosure of {disclosure.name!r} given twice")
        seen.add(disclosure.encoded)
    return "".join([jws, "~", *(d.encoded + "~" for d in disclosures)])


def parse(sd_jwt: str) -> tuple[str, list[Disclosure], str | None]:
    """Split an SD-JWT into the issuer-signed JWS, its disclosures and the key-binding JWT, if any.

    Nothing is verified here but the form: the caller checks the JWS signature, then calls
    :func:`disclose`.
    """
    return _split(sd_jwt, check_jws=True)


def _split(sd_jwt: str, *, check_jws: bool) -> tuple[str, list[Disclosure], str | None]:
    """:func:`parse`; with ``check_jws=False`` the form of the issuer-signed JWS is left to a caller
    that verifies the JWS next and calls :func:`_is_compact_jws` when that fails (a JWS that verifies
    has that form: three parts, each strictly base64url), and that refuses every SdJwtError alike."""
    if not isinstance(sd_jwt, str):
        raise SdJwtError("malformed", "an SD-JWT must be a string")
    parts = sd_jwt.split("~")
    if len(parts) < 2:
        raise SdJwtError("malformed", "an SD-JWT has at least one '~' after the JWS")
    jws = parts[0]
    kb_jwt = parts[-1]
    encoded = parts[1:-1]
    if check_jws and not _is_compact_jws(jws):
        raise SdJwtError("malformed", "the issuer-signed part is not a compact JWS")
    if kb_jwt and not _is_compact_jws(kb_jwt):
        raise SdJwtError("malformed", "the key-binding part is not a compact JWT")
    if "" in encoded:
        raise SdJwtError("malformed", "an empty disclosure ('~~')")
    if len(set(encoded)) != len(encoded):
        raise SdJwtError("duplicate_disclosure", "the same disclosure is sent twice")
    return jws, [Disclosure.parse(text) for text in encoded], kb_jwt or None


def disclose(payload: Mapping[str, Any], disclosures: Sequence[Disclosure]) -> dict[str, Any]:
    """The claims the holder disclosed, checked against the (already verified) issuer payload.

    Each disclosure's digest must be in the top-level ``_sd`` exactly once and be sent once; its
    name must be neither reserved nor a plain claim. The result is the plain claims without
    ``_sd``/``_sd_alg``, plus the disclosed ones. Cost: set look-ups; the one SHA-256 per
    disclosure was taken when it was parsed.
    """
    if type(payload) is not dict and not isinstance(payload, Mapping):
        raise SdJwtError("malformed", "the payload must be a JSON object")
    alg = payload.get("_sd_alg", SD_ALG)  # absent means sha-256 (RFC 9901, "Hash Function Claim")
    if alg != SD_ALG:
        raise SdJwtError("sd_alg", f"_sd_alg must be {SD_ALG!r}")
    digests = payload.get("_sd", [])
    if not isinstance(digests, list):
        raise SdJwtError("malformed", "_sd must be an array of strings")
    for digest in digests:
        if not isinstance(digest, str):
            raise SdJwtError("malformed", "_sd must be an array of strings")
    listed = set(digests)
    if len(listed) != len(digests):
        raise SdJwtError("malformed", "a digest appears twice in _sd")
    claims = dict(payload)  # in the payload's order, without the two SD members
    claims.pop("_sd", None)
    claims.pop("_sd_alg", None)
    used: set[str] = set()
    for disclosure in disclosures:
        if not isinstance(disclosure, Disclosure):
            raise SdJwtError("malformed", "disclose() takes Disclosure objects")
        digest, name, value = disclosure.digest, disclosure.name, disclosure.value
        if digest in used:
            raise SdJwtError("duplicate_disclosure", f"disclosure of {name!r} sent twice")
        if digest not in listed:
            raise SdJwtError("unknown_disclosure", f"disclosure of {name!r} is not in _sd")
        if name in RESERVED_NAMES:  # pragma: no cover - make() and parse() refuse it first
            raise SdJwtError("reserved_name", f"{name!r} cannot be a disclosed claim name")
        if name in claims:
            raise SdJwtError("bad_disclosure", f"{name!r} is already a claim")
        if isinstance(value, dict) and "_sd" in value:
            raise SdJwtError("bad_disclosure", "nested selective disclosure is not used by this profile")
        used.add(digest)
        claims[name] = value
    return claims


def present(sd_jwt: str, names: Collection[str]) -> str:
    """A presentation of ``sd_jwt`` keeping only the disclosures of ``names`` (in their order).

    Refuses a name the SD-JWT has no disclosure for, and an SD-JWT that already carries a
    key-binding JWT (its ``sd_hash`` covers the disclosures, so it cannot be trimmed).
    """
    wanted = _names("names", names)
    jws, disclosures, kb_jwt = parse(sd_jwt)
    if kb_jwt is not None:
        raise SdJwtError("malformed", "a presentation with key binding cannot be presented again")
    kept = [d for d in disclosures if d.name in wanted]
    missing = sorted(wanted - {d.name for d in kept})
    if missing:
        raise SdJwtError("unknown_disclosure", f"no disclosure for {', '.join(missing)}")
    return serialise(jws, kept)
