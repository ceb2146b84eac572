"""Compact JWS (RFC 7515) signing and verification: lean on the hot path, strict at every step.

Verification trusts nothing in the token for choosing a key or an algorithm. The key comes only
from the caller's :class:`~sscard_issuer.credential.keyset.KeySet`, by ``kid``; the algorithm must
be in the caller's allow-list *and* be the key's own. ``none`` and the HMAC algorithms can never be
allowed (only ``ES256`` and this project's ``SM2`` are known here), headers that carry or point to
a key (``jwk``, ``jku``, ``x5u``, ``x5c``, ``x5t``, ``x5t#S256``) are refused outright, so is any
``crit``. Base64url is strict (URL-safe alphabet, no padding, no stray bits); JSON is strict (an
object, no duplicate names, no NaN). The signature is checked before the payload is parsed.

Claims (``exp``, ``iss``, ``aud``...) are not checked here: the credential verifier does that.

Speed (``tools/bench_jose.py``): both paths are measured against the bare ``cryptography`` ES256
call. Encoded protected headers are cached on the signing side, and parsed headers on the
verifying side once a signature under them verified (so an attacker cannot fill the cache);
the caller's allow-list, ``typ`` and key set are checked on every call all the same.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sscard_issuer.errors import SscardError

if TYPE_CHECKING:
    from sscard_issuer.credential.keyset import KeySet

__all__ = [
    "ALGORITHMS",
    "FORBIDDEN_HEADERS",
    "MAX_TOKEN_LENGTH",
    "JoseError",
    "Signer",
    "b64u_decode",
    "b64u_encode",
    "sign_compact",
    "verify_compact",
]

# "SM2" is this project's own name (no JOSE registration exists): SM2 with SM3 over the signing
# input, the default user id 1234567812345678, signature r || s (32 bytes each).
ALGORITHMS = frozenset({"ES256", "SM2"})
SIGNATURE_LENGTH = 64  # r || s for both algorithms
# Header parameters that carry a key or say where to fetch one: the key comes from the set only.
FORBIDDEN_HEADERS = frozenset({"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"})
MAX_TOKEN_LENGTH = 64 * 1024  # far above any credential; refuses megabyte junk before any work


class JoseError(SscardError):
    """A token or key was refused; ``code`` is stable for programs, the message is for people.

    Codes: ``malformed`` (not three strict base64url parts of JSON objects, or unserialisable
    input), ``alg_not_allowed`` (not in the allow-list, not the key's own, or never allowed),
    ``unknown_kid`` (no ``kid``, or not in the key set), ``forbidden_header`` (a header that
    carries or points to a key), ``crit``, ``typ``, ``bad_signature``, ``bad_key`` (a JWK or key
    set that cannot be used).
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@runtime_checkable
class Signer(Protocol):
    """Something that signs JWS signing inputs with one key; the key may live in an HSM."""

    @property
    def alg(self) -> str:
        """``"ES256"`` or ``"SM2"``."""
        ...

    @property
    def kid(self) -> str:
        """The key id published in the key set."""
        ...

    def sign(self, signing_input: bytes) -> bytes:
        """The JOSE signature of ``signing_input``: r || s, 64 bytes."""
        ...

    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK (public members only)."""
        ...


# -- base64url ---------------------------------------------------------------------------------

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_+/=", b"+/!!!")
# Per length mod 4: the padding to add back, and the bits of the last character that must be zero.
_PAD = (b"", b"", b"==", b"=")
_SPARE_BITS = (0, 0, 0x0F, 0x03)
# Per length mod 4, the last characters that would carry such bits: one set look-up per text.
_STRAY = tuple(frozenset(c for i, c in enumerate(_ALPHABET) if i & bits) for bits in _SPARE_BITS)


_b2a = binascii.b2a_base64
_a2b = binascii.a2b_base64


def _b64(data: bytes) -> bytes:
    return _b2a(data, newline=False).translate(_TO_URLSAFE, b"=")  # the padding deleted


def b64u_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"b64u_encode takes bytes, not {type(data).__name__}")
    return _b64(bytes(data)).decode("ascii")


def b64u_decode(text: str) -> bytes:
    """Strict base64url: URL-safe alphabet only, no padding, no whitespace, no stray bits.

    Every accepted text is the one encoding of its bytes, so a token has one spelling.
    """
    if not isinstance(text, str):
        raise JoseError("malformed", f"base64url text must be a str, not {type(text).__name__}")
    rest = len(text) & 3
    try:
        if rest == 1:
            raise ValueError
        # one pass maps the URL-safe alphabet to the standard one and "+", "/", "=" to a character
        # strict mode refuses, as it refuses whitespace and everything else outside the alphabet
        data = _a2b(text.encode("ascii").translate(_FROM_URLSAFE) + _PAD[rest], strict_mode=True)
    except ValueError:  # binascii.Error and UnicodeEncodeError are ValueErrors
        raise JoseError("malformed", "not base64url (URL-safe alphabet, no padding)") from None
    if rest and text[-1] in _STRAY[rest]:
        raise JoseError("malformed", "not canonical base64url (the last character has stray bits)")
    return data


# -- JSON --------------------------------------------------------------------------------------


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        # two "alg" or two "kid": parsers disagree on which one wins, so none may
        raise JoseError("malformed", "a JSON object has a duplicate member name")
    return obj


def _no_constant(name: str) -> Any:
    raise JoseError("malformed", f"JSON {name} is not allowed")


def _not_json(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not a JSON type")


# Compact, UTF-8 (names stay 3 bytes a character, not 6), no NaN. On CPython the C encoder is
# built once here instead of on every call as JSONEncoder.encode does (a third of the cost of
# signing a presentation code's claims); no circular check: a cycle ends in RecursionError.
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_c_encode: Any = (
    None
    if _c_make_encoder is None  # other Python implementations
    else _c_make_encoder(None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, False)
)
_py_encoder = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False, default=_not_json
)


def _dumps(value: dict[str, Any]) -> str:
    if _c_encode is not None:
        return "".join(_c_encode(value, 0))
    return _py_encoder.encode(value)  # pragma: no cover


_DECODER = json.JSONDecoder(object_pairs_hook=_object_without_duplicates, parse_constant=_no_constant)


_scan: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _json_object(raw: bytes, part: str) -> dict[str, Any]:
    """A JSON object and nothing around it (not even whitespace), strictly UTF-8."""
    try:
        text = raw.decode("utf-8")
        value, end = _scan(text, 0)
    except (ValueError, StopIteration, RecursionError):  # UnicodeDecodeError is a ValueError
        raise JoseError("malformed", f"the {part} is not valid UTF-8 JSON") from None
    if type(value) is not dict or end != len(text):
        raise JoseError("malformed", f"the {part} is not one JSON object")
    return value


def _encode_json(value: Mapping[str, Any], part: str) -> bytes:
    try:
        return _dumps(value if type(value) is dict else dict(value)).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise JoseError("malformed", f"the {part} cannot be written as JSON: {exc}") from None


def _shown(value: object) -> str:
    """An attacker-chosen value, short enough for a message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- signing -----------------------------------------------------------------------------------


# Encoded protected headers, with the dot after them, by (alg, kid, header members): an issuer
# signs millions of tokens under a handful of headers. Only headers whose values are all strings
# are kept (an int and a bool that compare equal must not share an entry); the cache is emptied
# when it grows too big.
_HEADER_CACHE: dict[tuple[Any, ...], bytes] = {}
_HEADER_CACHE_SIZE = 256


def _protected(header: Mapping[str, Any], alg: str, kid: str, cache_key: tuple[Any, ...] | None) -> bytes:
    if "crit" in header or not FORBIDDEN_HEADERS.isdisjoint(header):
        raise JoseError("forbidden_header", "crit, jwk, jku, x5u, x5c and x5t headers are not signed here")
    if header.get("alg", alg) != alg or header.get("kid", kid) != kid:
        raise JoseError("forbidden_header", "the header's alg or kid contradicts the signer's")
    protected = _b64(_encode_json({"alg": alg, "kid": kid, **header}, "header")) + b"."
    if cache_key is not None and all(type(value) is str for value in header.values()):
        if len(_HEADER_CACHE) >= _HEADER_CACHE_SIZE:
            _HEADER_CACHE.clear()
        _HEADER_CACHE[cache_key] = protected
    return protected


def sign_compact(header: Mapping[str, Any], payload: Mapping[str, Any] | bytes, signer: Signer) -> str:
    """A compact JWS of ``payload`` (a JSON object, or bytes already serialised) by ``signer``.

    ``alg`` and ``kid`` come from the signer (a header may repeat them, not contradict them).
    Headers this module's verifier refuses (``crit``, ``jwk``, ``jku``, ``x5*``) are refused here.
    JSON is compact UTF-8, members in the order given (``alg`` and ``kid`` first).
    """
    # Written flat on purpose: this runs once per credential and is measured against the bare
    # signature (tools/bench_jose.py); helper calls cost as much here as the work they do.
    alg = signer.alg
    kid = signer.kid
    try:
        cache_key: tuple[Any, ...] | None = (alg, kid, *header.items()) if header else (alg, kid)
        protected = _HEADER_CACHE.get(cache_key)  # type: ignore[arg-type]
    except TypeError:  # an unhashable header value: not cached
        cache_key = protected = None
    if protected is None:
        protected = _protected(header, alg, kid, cache_key)
    if type(payload) is dict and _c_encode is not None:
        try:
            body = "".join(_c_encode(payload, 0)).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            raise JoseError("malformed", f"the payload cannot be written as JSON: {exc}") from None
    else:
        body = payload if isinstance(payload, bytes) else _encode_json(payload, "payload")
    return _sign_serialised(protected, body, signer)


def _protected_header(header: Mapping[str, Any], signer: Signer) -> bytes:
    """The encoded protected header and its dot, as :func:`sign_compact` makes (and caches) it."""
    alg, kid = signer.alg, signer.kid
    try:
        cache_key: tuple[Any, ...] | None = (alg, kid, *header.items()) if header else (alg, kid)
        protected = _HEADER_CACHE.get(cache_key)  # type: ignore[arg-type]
    except TypeError:
        cache_key = protected = None
    return _protected(header, alg, kid, cache_key) if protected is None else protected


def _sign_serialised(protected: bytes, body: bytes, signer: Signer) -> str:
    """The compact JWS of ``body`` (JSON already written) under ``protected`` (from
    :func:`_protected_header` for this very signer): what :func:`sign_compact` does once both exist."""
    signing_input = protected + _b2a(body, newline=False).translate(_TO_URLSAFE, b"=")
    signature = signer.sign(signing_input)
    if len(signature) != SIGNATURE_LENGTH:
        raise JoseError("bad_signature", f"the {signer.alg} signer gave {len(signature)} bytes, not r || s (64)")
    return (signing_input + b"." + _b2a(signature, newline=False).translate(_TO_URLSAFE, b"=")).decode("ascii")


# -- verification ------------------------------------------------------------------------------


def _check_allowed(algorithms: Collection[str]) -> None:
    """Refuse an allow-list naming anything but ES256 and SM2 (``none``, HS256...)."""
    if type(algorithms) is tuple and algorithms in _GOOD_ALLOW_LISTS:
        return  # a verifier's own setting, the same tuple on every call
    if isinstance(algorithms, str):
        raise TypeError('algorithms must be a collection of names, e.g. ["ES256"], not a str')
    if not ALGORITHMS.issuperset(algorithms):
        names = ", ".join(_shown(name) for name in algorithms if name not in ALGORITHMS)
        raise JoseError("alg_not_allowed", f"{names} can never be allowed (known: ES256, SM2)")


_GOOD_ALLOW_LISTS = frozenset({("ES256",), ("SM2",), ("ES256", "SM2"), ("SM2", "ES256")})


def verify_compact(
    token: str, keys: KeySet, *, algorithms: Collection[str], typ: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a compact JWS against ``keys``; return ``(header, payload)``, or raise :class:`JoseError`.

    ``algorithms`` is the caller's allow-list (``ES256`` and/or ``SM2``); ``typ``, when given,
    must equal the header's ``typ`` exactly. See the module docstring for every rule.
    """
    header, payload = _verify(token, keys, algorithms, typ)
    return dict(header), payload  # a copy: the header may be the cache's, and the caller may change its own


def _verify(
    token: str, keys: KeySet, algorithms: Collection[str], typ: str | None
) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """:func:`verify_compact`, the header as found (perhaps the cache's own: never to be changed)."""
    # Written flat, as sign_compact is: a verifier runs it for every token.
    _check_allowed(algorithms)
    if not isinstance(token, str):
        raise JoseError("malformed", f"a compact JWS is a str, not {type(token).__name__}")
    if len(token) > MAX_TOKEN_LENGTH:
        raise JoseError("malformed", f"the token is longer than {MAX_TOKEN_LENGTH} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise JoseError("malformed", f"a compact JWS has three parts, this one has {len(parts)}")
    header_b64, payload_b64, signature_b64 = parts
    cached = _VERIFIED_HEADERS.get(header_b64)
    header = _checked_header(header_b64) if cached is None else cached

    alg = header["alg"]
    if alg not in algorithms:
        raise JoseError("alg_not_allowed", f"alg {_shown(alg)} is not in the allowed list")
    if typ is not None and header.get("typ") != typ:
        raise JoseError("typ", f"typ is {_shown(header.get('typ'))}, expected {typ!r}")
    kid = header["kid"]
    key = keys.get(kid)
    if key is None:
        raise JoseError("unknown_kid", f"kid {_shown(kid)} is not in the key set")
    if key.alg != alg:
        raise JoseError("alg_not_allowed", f"alg {alg} is not the algorithm of key {_shown(kid)}")

    payload_raw = b64u_decode(payload_b64)  # which also proves the signing input is ASCII
    signature = b64u_decode(signature_b64)
    signing_input = token[: len(header_b64) + 1 + len(payload_b64)].encode("ascii")
    if not key.verify(signing_input, signature):
        raise JoseError("bad_signature", f"the signature does not verify with key {_shown(kid)}")
    if cached is None and all(type(value) is str for value in header.values()):
        # only headers that came with a valid signature: an attacker cannot fill this up
        if len(_VERIFIED_HEADERS) >= _HEADER_CACHE_SIZE:
            _VERIFIED_HEADERS.clear()
        _VERIFIED_HEADERS[header_b64] = dict(header)
    # the payload, as _json_object does it: one JSON object, nothing around it, strict UTF-8
    try:
        text = payload_raw.decode("utf-8")
        payload, end = _scan(text, 0)
    except (ValueError, StopIteration, RecursionError):
        raise JoseError("malformed", "the payload is not valid UTF-8 JSON") from None
    if type(payload) is not dict or end != len(text):
        raise JoseError("malformed", "the payload is not one JSON object")
    return header, payload


# Parsed headers (string members only) by their base64url text, added once a signature under them
# verified. What is cached passed every check that does not depend on the caller (shape, forbidden
# headers, crit); the caller's allow-list, typ and key set are checked on every call.
_VERIFIED_HEADERS: dict[str, dict[str, Any]] = {}


def _checked_header(header_b64: str) -> dict[str, Any]:
    header = _json_object(b64u_decode(header_b64), "header")
    if type(header.get("alg")) is not str:
        raise JoseError("malformed", "the header has no alg string")
    if not FORBIDDEN_HEADERS.isdisjoint(header):
        names = ", ".join(sorted(FORBIDDEN_HEADERS.intersection(header)))
        raise JoseError("forbidden_header", f"the header carries or points to a key ({names})")
    if "crit" in header:
        raise JoseError("crit", "the header has crit: no extension is understood here")
    if type(header.get("kid")) is not str:
        raise JoseError("unknown_kid", "the header has no kid string")
    return header
