#!/usr/bin/env python3
"""Benchmark: e-card credentials and presentation codes, in the library and over HTTP.

Library, in this process pinned to one core (``--cpu``), each path interleaved in short blocks with
its raw ``cryptography`` reference on an input of the same size; the best rate of each is kept and
the median per-round ratio printed beside (as ``tools/bench_jose.py`` does):

* issuing: :func:`~sscard_issuer.credential.mint.mint_credential` (the claims, two disclosures, the
  JWS, the ``~`` serialisation) against ``key.sign`` over a credential's signing input, target 0.7;
  :func:`~sscard_issuer.credential.jose.sign_compact` alone and pyjwt ``jwt.encode`` of the same
  payload are shown for information;
* verifying: :meth:`Verifier.verify_credential` (signature, claims, disclosures, status from a
  decoded status list held in memory, as a relying party holds it after fetching) and
  :meth:`Verifier.verify_code` (fresh codes, made before timing, each claimed once in an in-memory
  replay store) against ``public_key.verify`` over inputs of the same size, target 0.8; pyjwt
  ``jwt.decode`` (signature, exp, aud, iss) and the relying party's own :class:`IssuerClient`
  (key set and status list fetched once, then served from its cache) for information.

Floors, for information: the same tokens through what no ES256 SD-JWT implementation can skip
around the signature (base64url in and out, JSON, SHA-256 of each disclosure, DER <-> r || s, a
salt per disclosure), one C call each, nothing checked, the payload's JSON already written when
signing. A path with every check cannot be faster than its floor: when the floor's ratio is at or
below the target, so is any implementation's on this machine.

The raw references are the bare ``cryptography`` calls and nothing else: ``key.sign`` returns a
DER signature and ``public_key.verify`` is given the DER made beforehand. Turning DER into JOSE's
r || s after signing (``signers._r_s``) and r || s into DER before verifying (``keyset._der``),
about a microsecond each, is part of what the library paths are charged for, not of the reference.

``--profile`` adds where the time goes: each step timed alone, the signature timed *inside* each
path (a signature between other work runs with colder caches than in a loop of signatures alone,
which is what the raw reference is; timed there with its DER conversion), and cProfile's busiest
functions.

HTTP: ``sscard serve platform`` (uvicorn) on loopback, on a registry prepared with one collected
card (SQLite file by default, ``--postgres`` for a throw-away cluster from ``tests/pg.py``), its
process pinned to that core, with ``POST /v1/verify`` for ``--seconds`` each after ``--warmup``: a
malformed token (refused before any signature or database work: the cost of the HTTP stack alone),
the credential the server issued, then fresh presentation codes (single use: made before the
phase, with the platform's development key, half again as many as the expected rate needs);
requests per second, latency p50/p99, the share of answers with the expected reason, the CPU per
request of the server and of the load, the machine's load. The reference is ``Platform.verify``
in-process on the same database and core (what the service could do without HTTP). Then a second
server process on the same database (another port, the next core), each server with its own load:
total rate and its ratio to one process.

The load (``--load``) is wrk when it is on PATH: one wrk process per server (``-t1``,
``--connections`` keep-alive connections), a Lua script giving the body (the codes from a file, a
different one each request; should they run out the script counts the requests that carried one
again, which the server refuses as replayed) and reading the reason of every response (a substring
search; it costs wrk some 10 us a request, 35-40 us against 45-50, about 1 % of the server's
millisecond and below the rates' run-to-run noise, so all are read rather than a sample;
``--wrk-check none`` leaves them unread). wrk's figures cover its whole run: requests, and p50/p99
as wrk has them (with its correction for coordinated omission, which adds samples below each
response slower than twice a connection's mean interval: it raises the tail where the tail is long;
a response over its ``--timeout``, 10 s here, is counted a socket timeout and left out), merged
over the processes from a grid of each one's percentiles. The CPU of the servers, of wrk
(``/proc/<pid>/stat``) and of the machine are rates over the run less a quarter second at either
end. The wrk processes go on the cores left over from the servers; with no core to spare (two
servers on two cores) each goes on its own server's core (its cost is then taken from its own
server alike for both; the other server's core or no pinning measured the same within noise, the
other core with more wrk CPU per request). ``--load httpx`` is the fallback: ``--procs`` client
processes x ``--threads`` connections (httpx), spread over the servers, on the cores left over or
on all of them; at some 800 us of client CPU a request they take much of what two servers on two
cores need.

Exits 1 when a library target is missed; the HTTP figures have no target. The default run takes
about a minute (8 s phases).

Usage: ``python3 tools/bench_ecard.py [--cpu N] [--rounds 100] [--block 100] [--seconds 8]
[--warmup 1] [--load wrk|httpx] [--connections 8] [--wrk-check all|none] [--procs N] [--threads 4]
[--postgres] [--no-http | --no-library] [--profile] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import binascii
import cProfile
import hashlib
import io
import json
import math
import multiprocessing
import os
import pstats
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# measure this checkout, whichever one an editable install points to
sys.path.insert(0, str(REPO))

import cryptography
import httpx
import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select

import sscard_issuer
from sscard_issuer.api.platform import Platform, PlatformSettings, development_signer
from sscard_issuer.applications import DocumentType, IdentityDocument
from sscard_issuer.applications.requests import Applicant, ApplicationKind, ApplicationRequest, Delivery
from sscard_issuer.card.identifiers import SocialSecurityNumber
from sscard_issuer.credential import jose, sdjwt, status_list
from sscard_issuer.credential.codes import CodeSubject, KeyAlias, make_code
from sscard_issuer.credential.fetch import IssuerClient
from sscard_issuer.credential.keyset import KeySet, PublicKey
from sscard_issuer.credential.mint import CredentialSubject, credential_claims, mint_credential
from sscard_issuer.credential.profile import CODE_TYP, DISCLOSABLE, ECARD_AUDIENCE, ECARD_TYP, BusinessType
from sscard_issuer.credential.signers import Es256Signer
from sscard_issuer.credential.verify import StatusUnavailable, Verifier, VerifierSettings
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry import Registry, Role
from sscard_issuer.registry.credentials import Ecard
from sscard_issuer.registry.holders import Card, Person

SIGN_TARGET = 0.7
VERIFY_TARGET = 0.8
ISSUER = PlatformSettings().issuer
STATUS_BASE = PlatformSettings().status_base
AUDIENCE = "450100-H0001"  # the verifier id codes are made for
SHARD, INDEX = 7, 41_234
ECDSA = ec.ECDSA(hashes.SHA256())
PHOTO = REPO / "sscard_issuer" / "data" / "sample_photo.jpg"

Work = Callable[[], object]


# -- timing -----------------------------------------------------------------------------------


def rate(work: Work, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        work()
    return n / (time.perf_counter() - started)


def interleaved(works: dict[str, tuple[Work, int]], rounds: int) -> dict[str, list[float]]:
    """Rates of each work (``(callable, block)``) over ``rounds`` rounds, the works interleaved in
    every round so that a disturbance of the machine falls on all of them alike."""
    for work, block in works.values():
        rate(work, block)  # warm up
    rates: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(rounds):
        for name, (work, block) in works.items():
            rates[name].append(rate(work, block))
    return rates


def against(rates: dict[str, list[float]], name: str, raw: str) -> dict[str, float]:
    """Best rates (what is left when nothing else is in the way), their ratio, the median per-round ratio."""
    ours, reference = rates[name], rates[raw]
    return {"rate": max(ours), "raw": max(reference), "ratio": max(ours) / max(reference),
            "median_ratio": statistics.median(o / r for o, r in zip(ours, reference, strict=True))}


def best_microseconds(work: Work, n: int, repeat: int = 5) -> float:
    return min(1e6 / rate(work, n) for _ in range(repeat))


# -- the library --------------------------------------------------------------------------------


class HeldStatusLists:
    """Status lists decoded once and held in memory, by URI: a relying party between two fetches."""

    def __init__(self, lists: dict[str, status_list.StatusList]) -> None:
        self._lists = lists

    def status(self, uri: str, idx: int) -> int:
        held = self._lists.get(uri)
        if held is None:
            raise StatusUnavailable(f"{uri} is not held")
        try:
            return held.get(idx)
        except status_list.StatusListError as error:
            raise StatusUnavailable(str(error)) from None


class MemoryReplay:
    """Codes seen, in a dict: one relying-party process."""

    def __init__(self) -> None:
        self.seen: dict[str, datetime] = {}

    def claim(self, jti: str, expires_at: datetime) -> bool:
        if jti in self.seen:
            return False
        self.seen[jti] = expires_at
        return True


@dataclass
class Library:
    signer: Es256Signer
    code_signer: KeyAlias
    raw_key: ec.EllipticCurvePrivateKey
    keys: KeySet
    subject: CredentialSubject
    code_subject: CodeSubject
    credential: str
    status_token: str  # the shard's Status List Token, as the platform publishes it
    lists: dict[str, status_list.StatusList]

    def verifier(self, replay: MemoryReplay) -> Verifier:
        settings = VerifierSettings(issuer=ISSUER, audience=AUDIENCE, status_base=STATUS_BASE)
        keys = self.keys
        return Verifier(settings, lambda: keys, HeldStatusLists(self.lists), replay)

    def mint(self) -> str:
        return mint_credential(self.subject, self.signer, issuer=ISSUER, status_base=STATUS_BASE)

    def code(self) -> str:
        return make_code(self.code_subject, self.code_signer, business=BusinessType.QUERY, issuer=ISSUER,
                         audience=AUDIENCE, now=int(time.time()))


def library_setup() -> Library:
    signer = Es256Signer.generate()
    code_signer = KeyAlias(signer, PlatformSettings().code_kid)
    keys = KeySet([PublicKey.from_signer(signer), PublicKey.from_signer(code_signer)])
    now = int(time.time())
    subject = CredentialSubject(
        ecard_id=str(uuid.uuid4()), issuance_number="45010020260302000001", level=1, area="450100",
        card_id="450100D156000005000000000000007B", card_number="A00000123", ssn="450103198506151231",
        name="李秀英", issued_at=now - 86_400, expires_at=now + 10 * 365 * 86_400, shard=SHARD, index=INDEX)
    code_subject = CodeSubject(area=subject.area, ssn=subject.ssn, name=subject.name,
                               card_number=subject.card_number, level=subject.level, shard=SHARD, index=INDEX)
    size = PlatformSettings().shard_size
    published = status_list.StatusList(size, bits=2)
    for idx in range(3, size, 997):  # some revoked and suspended neighbours; ours stays valid
        published.set(idx, status_list.INVALID if idx % 2 else status_list.SUSPENDED)
    uri = status_list.shard_uri(STATUS_BASE, SHARD)
    claims = status_list.status_list_claims(uri=uri, lst=published, iat=now, exp=now + 86_400, ttl=300, iss=ISSUER)
    token = jose.sign_compact({"typ": status_list.STATUS_LIST_TYP}, claims, signer)
    held = status_list.StatusList.decode(published.encode(), 2, max_size=10_000_000)
    raw_key: ec.EllipticCurvePrivateKey = signer._key  # the very key, for the raw reference
    library = Library(signer, code_signer, raw_key, keys, subject, code_subject, "", token, {uri: held})
    library.credential = library.mint()
    return library


def raw_pair(jws: str) -> tuple[bytes, bytes]:
    """The signing input of a compact JWS and its signature in DER, for the raw references."""
    signing_input, signature_b64 = jws.rsplit(".", 1)
    signature = jose.b64u_decode(signature_b64)
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    return signing_input.encode("ascii"), der


# -- the floor: what any ES256 SD-JWT code must do around the signature ---------------------------
#
# Not a signer, not a verifier: no check of any kind, lenient base64, the first JSON library call
# that works. Only the work no implementation can skip (base64 in and out, JSON, SHA-256 of each
# disclosure, DER <-> r || s), each as one C call, so that the ratio of these to raw says how close
# to raw a path can come on this machine at all.

_BARE_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_BARE_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_BARE_PAD = (b"", b"", b"==", b"=")
_a2b, _b2a, _sha256, _loads = binascii.a2b_base64, binascii.b2a_base64, hashlib.sha256, json.loads


def _bare_b64decode(text: str) -> bytes:
    return _a2b(text.encode().translate(_BARE_FROM_URLSAFE) + _BARE_PAD[len(text) & 3])


def bare_signer(key: ec.EllipticCurvePrivateKey, protected: bytes, body: bytes, disclosed: list[str]) -> Work:
    """The JWS of a payload already written as JSON under a header already encoded (with its dot),
    and one disclosure for each of ``disclosed`` (a JSON value already written): a salt, base64 and
    SHA-256 (whose digests this payload does not even carry)."""
    def sign() -> bytes:
        salts = os.urandom(16 * len(disclosed))
        made = []
        for i, value in enumerate(disclosed):
            salt = _b2a(salts[16 * i:16 * i + 16], newline=False).translate(_BARE_TO_URLSAFE, b"=").decode()
            encoded = _b2a(f'["{salt}",{value}]'.encode(), newline=False).translate(_BARE_TO_URLSAFE, b"=")
            _b2a(_sha256(encoded).digest(), newline=False).translate(_BARE_TO_URLSAFE, b"=")
            made.append(encoded)
        signing_input = protected + _b2a(body, newline=False).translate(_BARE_TO_URLSAFE, b"=")
        der = key.sign(signing_input, ECDSA)
        r_end = 4 + der[3]
        r_s = der[4:r_end][-32:].rjust(32, b"\0") + der[r_end + 2:][-32:].rjust(32, b"\0")
        return b"~".join([signing_input + b"." + _b2a(r_s, newline=False).translate(_BARE_TO_URLSAFE, b"="),
                          *made, b""])
    return sign


def bare_verifier(key: ec.EllipticCurvePublicKey, token: str) -> Work:
    """Signature, payload and disclosures of ``token`` (a compact JWS, or an SD-JWT), nothing checked."""
    def verify() -> object:
        parts = token.split("~")
        jws = parts[0]
        header_b64, payload_b64, signature_b64 = jws.split(".")
        signature = _bare_b64decode(signature_b64)
        r, s = signature[:32].lstrip(b"\0"), signature[32:].lstrip(b"\0")
        if r[0] > 0x7F:
            r = b"\0" + r
        if s[0] > 0x7F:
            s = b"\0" + s
        der = bytes((0x30, len(r) + len(s) + 4, 2, len(r))) + r + bytes((2, len(s))) + s
        key.verify(der, jws[: len(header_b64) + 1 + len(payload_b64)].encode(), ECDSA)
        payload = _loads(_bare_b64decode(payload_b64))
        for disclosure in parts[1:-1]:
            _sha256(disclosure.encode()).digest()
            _loads(_bare_b64decode(disclosure))
        return payload
    return verify


def issuer_client_verifier(lib: Library) -> tuple[Verifier, IssuerClient]:
    """The relying party's own client (``sscard ecard verify``), its fetches answered from memory
    once: after that every key set and status look-up is a cache hit."""
    jwks = json.dumps(lib.keys.to_jwks())
    headers = {"Cache-Control": "public, max-age=300"}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/jwks.json":
            return httpx.Response(200, text=jwks, headers=headers)
        if request.url.path == f"/v1/status-lists/{SHARD}":
            return httpx.Response(200, text=lib.status_token, headers=headers)
        return httpx.Response(404)

    client = IssuerClient(ISSUER, client=httpx.Client(transport=httpx.MockTransport(answer)))
    settings = VerifierSettings(issuer=ISSUER, audience=AUDIENCE, status_base=client.status_base)
    return Verifier(settings, client.keys, client, MemoryReplay()), client


def run_library(args: argparse.Namespace) -> dict[str, Any]:
    lib = library_setup()
    jws = lib.credential.split("~", 1)[0]
    signing_input, der = raw_pair(jws)
    public = lib.raw_key.public_key()
    payload, _ = sdjwt.conceal(credential_claims(lib.subject, issuer=ISSUER, status_base=STATUS_BASE), DISCLOSABLE)
    header = {"typ": ECARD_TYP}
    pyjwt_headers = {"kid": lib.signer.kid, "typ": ECARD_TYP}
    block = args.block
    protected, body_b64 = jws.split(".")[:2]
    bare_sign = bare_signer(lib.raw_key, protected.encode() + b".", jose.b64u_decode(body_b64),
                            [json.dumps(pair, ensure_ascii=False)[1:-1] for pair in
                             (["name", lib.subject.name], ["ssn", lib.subject.ssn])])

    # -- issuing
    sign_rates = interleaved({
        "raw": (lambda: lib.raw_key.sign(signing_input, ECDSA), block),
        "mint_credential": (lib.mint, block),
        "sign_compact": (lambda: jose.sign_compact(header, payload, lib.signer), block),
        "bare_sign": (bare_sign, block),
        "pyjwt_encode": (lambda: jwt.encode(payload, lib.raw_key, algorithm="ES256", headers=pyjwt_headers), block),
    }, args.rounds)

    # -- verifying
    replay = MemoryReplay()
    verifier = lib.verifier(replay)
    first = verifier.verify_credential(lib.credential)
    if not first.valid:
        raise SystemExit(f"the credential does not verify: {first.reason}")
    probe = lib.code()
    code_input, code_der = raw_pair(probe)
    if not lib.verifier(MemoryReplay()).verify_code(probe).valid:
        raise SystemExit("a presentation code does not verify")
    vblock = max(1, block // 2)
    needed = (args.rounds + 1) * vblock
    made = time.perf_counter()
    codes = [lib.code() for _ in range(needed)]  # fresh: each is claimed once
    made = time.perf_counter() - made
    next_code = iter(codes).__next__
    rp_verifier, rp_client = issuer_client_verifier(lib)
    if not rp_verifier.verify_credential(lib.credential).valid:
        raise SystemExit("the credential does not verify through IssuerClient")
    verify_rates = interleaved({
        "raw": (lambda: public.verify(der, signing_input, ECDSA), vblock),
        "verify_credential": (lambda: verifier.verify_credential(lib.credential), vblock),
        "raw_code": (lambda: public.verify(code_der, code_input, ECDSA), vblock),
        "verify_code": (lambda: verifier.verify_code(next_code()), vblock),
        "pyjwt_decode": (lambda: jwt.decode(jws, public, algorithms=["ES256"], audience=ECARD_AUDIENCE,
                                            issuer=ISSUER), vblock),
        "issuer_client": (lambda: rp_verifier.verify_credential(lib.credential), vblock),
        "bare_credential": (bare_verifier(public, lib.credential), vblock),
        "bare_code": (bare_verifier(public, probe), vblock),
    }, args.rounds)
    rp_client.close()
    if len(replay.seen) != needed:  # the replay claim is the last check: only accepted codes get there
        raise SystemExit(f"only {len(replay.seen)} of {needed} fresh codes were accepted")
    return {
        "credential_chars": len(lib.credential), "jws_chars": len(jws), "code_chars": len(probe),
        "codes_made_per_second": needed / made,
        "sign": {name: against(sign_rates, name, "raw")
                 for name in ("mint_credential", "sign_compact", "pyjwt_encode", "bare_sign")},
        "verify": {"verify_credential": against(verify_rates, "verify_credential", "raw"),
                   "verify_code": against(verify_rates, "verify_code", "raw_code"),
                   "pyjwt_decode": against(verify_rates, "pyjwt_decode", "raw"),
                   "issuer_client": against(verify_rates, "issuer_client", "raw"),
                   "bare_credential": against(verify_rates, "bare_credential", "raw"),
                   "bare_code": against(verify_rates, "bare_code", "raw_code")},
        "raw": {"sign": max(sign_rates["raw"]), "verify": max(verify_rates["raw"]),
                "verify_code_input": max(verify_rates["raw_code"])},
    }


def library_targets(figures: dict[str, Any]) -> list[tuple[str, float, float, bool]]:
    """(what, ratio, target, met) for every gated library figure."""
    rows = [("mint_credential", figures["sign"]["mint_credential"]["ratio"], SIGN_TARGET),
            ("verify_credential", figures["verify"]["verify_credential"]["ratio"], VERIFY_TARGET),
            ("verify_code", figures["verify"]["verify_code"]["ratio"], VERIFY_TARGET)]
    return [(name, ratio, target, ratio >= target) for name, ratio, target in rows]


class TimedSigner:
    """A signer that adds up the time of its signatures: the signature's cost inside the real path."""

    def __init__(self, signer: Es256Signer) -> None:
        self._signer = signer
        self.alg, self.kid = signer.alg, signer.kid
        self.seconds, self.calls = 0.0, 0

    def sign(self, signing_input: bytes) -> bytes:
        started = time.perf_counter()
        try:
            return self._signer.sign(signing_input)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1

    def public_jwk(self) -> dict[str, str]:
        return self._signer.public_jwk()


class TimedKey:
    """A published key whose signature checks are timed (all :func:`.jose.verify_compact` uses)."""

    def __init__(self, key: PublicKey, clock: list[float]) -> None:
        self._key, self._clock = key, clock
        self.alg, self.kid = key.alg, key.kid

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        started = time.perf_counter()
        try:
            return self._key.verify(signing_input, signature)
        finally:
            self._clock[0] += time.perf_counter() - started
            self._clock[1] += 1


class TimedKeySet(KeySet):
    def __init__(self, keys: KeySet, clock: list[float]) -> None:
        super().__init__(keys)
        self._timed = {key.kid: TimedKey(key, clock) for key in keys}

    def get(self, kid: str) -> PublicKey | None:
        timed: Any = self._timed.get(kid)  # duck-typed: verify_compact reads alg and calls verify
        return timed  # type: ignore[no-any-return]


def in_context(lib: Library, n: int = 3000) -> list[tuple[str, float, float]]:
    """(path, microseconds per call, of which the signature) with the signature timed where it runs:
    between other work its caches and branch history are colder than in a loop of signatures alone."""
    timed_signer = TimedSigner(lib.signer)
    clock = [0.0, 0.0]
    keys = TimedKeySet(lib.keys, clock)
    settings = VerifierSettings(issuer=ISSUER, audience=AUDIENCE, status_base=STATUS_BASE)
    verifier = Verifier(settings, lambda: keys, HeldStatusLists(lib.lists), MemoryReplay())
    codes = [lib.code() for _ in range(n)]
    rows = []
    for name, work in (("mint_credential", lambda: mint_credential(lib.subject, timed_signer, issuer=ISSUER,
                                                                   status_base=STATUS_BASE)),
                       ("verify_credential", lambda: verifier.verify_credential(lib.credential)),
                       ("verify_code", lambda: verifier.verify_code(codes.pop()))):
        best: tuple[float, float] | None = None
        for _ in range(3):
            timed_signer.seconds, timed_signer.calls, clock[:] = 0.0, 0, [0.0, 0.0]
            calls = n // 3
            started = time.perf_counter()
            for _ in range(calls):
                work()
            total = (time.perf_counter() - started) / calls
            signature = timed_signer.seconds / calls if name == "mint_credential" else clock[0] / calls
            if best is None or total < best[0]:
                best = (total, signature)
        assert best is not None
        rows.append((name, 1e6 * best[0], 1e6 * best[1]))
    return rows


def profile_library(top: int) -> str:
    """Where the time of the library paths goes: each step timed alone (best of 5, microseconds),
    the signature timed inside each path, then cProfile's busiest functions (cProfile inflates
    Python calls: read it for the shares)."""
    lib = library_setup()
    out = io.StringIO()
    jws = lib.credential.split("~", 1)[0]
    signing_input, der = raw_pair(jws)
    public = lib.raw_key.public_key()
    claims = credential_claims(lib.subject, issuer=ISSUER, status_base=STATUS_BASE)
    payload, disclosures = sdjwt.conceal(claims, DISCLOSABLE)
    header = {"typ": ECARD_TYP}
    replay = MemoryReplay()
    verifier = lib.verifier(replay)
    _, parsed, _ = sdjwt.parse(lib.credential)
    _, verified = jose.verify_compact(jws, lib.keys, algorithms=("ES256",), typ=ECARD_TYP)
    uri = status_list.shard_uri(STATUS_BASE, SHARD)
    code = lib.code()
    code_input, code_der = raw_pair(code)
    steps: list[tuple[str, Work, int]] = [
        ("raw ES256 sign (cryptography)", lambda: lib.raw_key.sign(signing_input, ECDSA), 1000),
        ("mint_credential", lib.mint, 1000),
        ("  credential_claims", lambda: credential_claims(lib.subject, issuer=ISSUER, status_base=STATUS_BASE), 5000),
        ("  sdjwt.conceal (2 disclosures)", lambda: sdjwt.conceal(claims, DISCLOSABLE), 3000),
        ("    sdjwt.Disclosure.make (one)", lambda: sdjwt.Disclosure.make("name", lib.subject.name), 5000),
        ("  sign_compact", lambda: jose.sign_compact(header, payload, lib.signer), 1000),
        ("    Es256Signer.sign", lambda: lib.signer.sign(signing_input), 1000),
        ("  sdjwt.serialise", lambda: sdjwt.serialise(jws, disclosures), 5000),
        ("raw ES256 verify (cryptography)", lambda: public.verify(der, signing_input, ECDSA), 500),
        ("verify_credential", lambda: verifier.verify_credential(lib.credential), 500),
        ("  sdjwt.parse (2 disclosures)", lambda: sdjwt.parse(lib.credential), 3000),
        ("  jose.verify_compact", lambda: jose.verify_compact(jws, lib.keys, algorithms=("ES256",), typ=ECARD_TYP),
         500),
        ("  sdjwt.disclose", lambda: sdjwt.disclose(verified, parsed), 5000),
        ("  status_list.parse_status_reference", lambda: status_list.parse_status_reference(verified), 5000),
        ("  status look-up (held list)", lambda: HeldStatusLists(lib.lists).status(uri, INDEX), 5000),
        ("raw ES256 verify, a code (cryptography)", lambda: public.verify(code_der, code_input, ECDSA), 500),
        ("  jose.verify_compact (a code)", lambda: jose.verify_compact(code, lib.keys, algorithms=("ES256",),
                                                                    typ=CODE_TYP), 500),
    ]
    print("step timings, best of 5, microseconds per call:", file=out)
    for name, work, n in steps:
        print(f"  {name:44} {best_microseconds(work, n):8.1f}", file=out)
    print("\nthe signature timed inside each path (best of 3 runs), microseconds per call:", file=out)
    for name, total, signature in in_context(lib):
        print(f"  {name:20} {total:7.1f}, of which the signature {signature:6.1f} and the rest {total - signature:6.1f}",
              file=out)
    codes = [lib.code() for _ in range(3000)]
    for name, work_n in (("mint_credential", (lib.mint, 3000)),
                         ("verify_credential", (lambda: verifier.verify_credential(lib.credential), 3000)),
                         ("verify_code", (lambda: verifier.verify_code(codes.pop()), 3000))):
        work, n = work_n
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(n):
            work()
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
        kept = [line for line in text.getvalue().splitlines() if line.strip()]
        start = next((i for i, line in enumerate(kept) if "ncalls" in line), 0)
        print(f"\ncProfile of {name} x {n}, by own time:", file=out)
        print("\n".join(line.replace(str(REPO) + "/", "") for line in kept[start:]), file=out)
    return out.getvalue()


# -- the platform over HTTP -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def prepare_database(url: str) -> str:
    """A registry with one collected card (the platform then has its e-card); the card reference."""
    registry = Registry(url)
    try:
        office = Office(registry)
        admin = office.add_operator(None, username="admin", display_name="管理员", role=Role.ADMINISTRATOR)
        operator = office.add_operator(admin, username="wang.li", display_name="王丽", role=Role.OPERATOR,
                                       outlet_code="NN01")
        first17 = "450103" + "19850615" + "123"
        applicant = Applicant(name="李秀英", sex="1", birth_date=date(1985, 6, 15),
                              document=IdentityDocument(DocumentType.RESIDENT_ID_CARD,
                                                        first17 + SocialSecurityNumber.check_character(first17)))
        office.enrol(operator, applicant, insured_since=date(2020, 1, 1))
        request = ApplicationRequest(kind=ApplicationKind.INDIVIDUAL, applicant=applicant, photo=PHOTO.read_bytes(),
                                     delivery=Delivery())
        ref = office.apply(operator, request).card_ref
        office.produce(operator, ref)
        office.record_personalisation(operator, ref, card_number="A00000123",
                                      card_id="450100D156000005000000000000007B", issued_on=date(2026, 3, 2),
                                      expires_on=date(2036, 3, 2), bank=False)
        office.collect(operator, ref)
        return ref
    finally:
        registry.close()


def code_subject(url: str, ecard_id: str) -> CodeSubject:
    """What :meth:`Platform.code` puts in a code, read once: codes are then made here, in bulk."""
    registry = Registry(url)
    try:
        with registry.transaction(durable=False) as session:
            ecard, card, person = session.execute(
                select(Ecard, Card, Person).join(Card, Card.card_ref == Ecard.card_ref)
                .join(Person, Person.id == Ecard.person_id).where(Ecard.ecard_id == ecard_id)).one()
            return CodeSubject(area=ecard.area_code, ssn=person.social_security_number or "", name=person.name,
                               card_number=card.card_number or "", level=ecard.level, shard=ecard.status_shard,
                               index=ecard.status_index)
    finally:
        registry.close()


class Server:
    """One ``sscard serve platform`` process, pinned to ``cpu``."""

    def __init__(self, url: str, clients: Path, issuer: str, cpu: int | None, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        pin: Callable[[], None] | None = None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sscard_issuer", "serve", "platform", "--port", str(self.port),
                 "--database", url, "--clients", str(clients), "--issuer", issuer],
                cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, preexec_fn=pin)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.base + "/.well-known/jwks.json", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise SystemExit(f"the platform on {self.base} did not start:\n{tail}")
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, all threads

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of every CPU since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass
class LoadJob:
    """What one client process does: ``threads`` connections, spread over ``bases``."""

    bases: list[str]
    key: str
    kind: str  # "credential", "code" or "floor" (a malformed token: refused before any real work)
    token: str  # the credential (kind "credential")
    subject: CodeSubject | None  # for codes
    issuer: str
    codes: int  # codes to make before the start
    threads: int
    offset: int  # the first connection's server, so that the processes together spread evenly
    seconds: float
    cpus: set[int] | None


def client_process(job: LoadJob, ready: Any, go: Any, start: Any, results: Any) -> None:
    if job.cpus:
        os.sched_setaffinity(0, job.cpus)
    signer = KeyAlias(development_signer(), PlatformSettings().code_kid)
    supply: deque[bytes] = deque()
    made_late = 0
    lock = threading.Lock()

    def body_of_code() -> bytes:
        nonlocal made_late
        try:
            return supply.popleft()
        except IndexError:  # more than planned: made now, on the client's time
            assert job.subject is not None
            with lock:
                made_late += 1
            return json.dumps({"token": make_code(job.subject, signer, business=BusinessType.QUERY,
                                                  issuer=job.issuer, audience=AUDIENCE, now=int(time.time()))}).encode()

    if job.kind == "code":
        assert job.subject is not None
        supply.extend(json.dumps({"token": make_code(job.subject, signer, business=BusinessType.QUERY,
                                                     issuer=job.issuer, audience=AUDIENCE,
                                                     now=int(time.time()))}).encode() for _ in range(job.codes))
    fixed_body = json.dumps({"token": job.token if job.kind == "credential" else "x"}).encode()
    latencies: list[list[float]] = [[] for _ in range(job.threads)]
    completed = [0] * job.threads
    sent_all = [0] * job.threads  # with the warm-up: the client's CPU is taken over both
    reasons: list[Counter[str]] = [Counter() for _ in range(job.threads)]
    headers = {"Authorization": f"Bearer {job.key}", "Content-Type": "application/json"}
    ready.put(os.getpid())
    go.wait()
    cpu_before = os.times()
    t0 = start.value
    t_end = t0 + job.seconds

    def drive(i: int) -> None:
        base = job.bases[(job.offset + i) % len(job.bases)]
        with httpx.Client(base_url=base, headers=headers, timeout=30.0) as client:
            while True:
                sent = time.monotonic()
                if sent >= t_end:
                    return
                body = body_of_code() if job.kind == "code" else fixed_body
                try:
                    response = client.post("/v1/verify", content=body)
                    reason = str(response.json().get("reason")) if response.status_code == 200 else \
                        f"HTTP {response.status_code}"
                except (httpx.HTTPError, ValueError) as error:
                    reason = type(error).__name__
                done = time.monotonic()
                sent_all[i] += 1
                if t0 <= done <= t_end:
                    completed[i] += 1
                    reasons[i][reason] += 1
                    if sent >= t0:
                        latencies[i].append(done - sent)

    threads = [threading.Thread(target=drive, args=(i,), daemon=True) for i in range(job.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu_after = os.times()
    total: Counter[str] = Counter()
    for counter in reasons:
        total.update(counter)
    results.put({"completed": sum(completed), "latencies": [x for part in latencies for x in part],
                 "reasons": dict(total), "made_late": made_late, "sent": sum(sent_all),
                 "cpu": cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system})


def load(servers: list[Server], key: str, kind: str, *, token: str, subject: CodeSubject | None, issuer: str,
         expected_rate: float, args: argparse.Namespace, client_cpus: set[int] | None) -> dict[str, Any]:
    """``--seconds`` of ``POST /v1/verify`` from ``--procs`` client processes; the rate, latencies,
    the servers' CPU use."""
    context = multiprocessing.get_context("fork")
    ready, results = context.Queue(), context.Queue()
    go = context.Event()
    start = context.Value("d", 0.0)
    warmup = args.warmup
    per_process = math.ceil(expected_rate * (args.seconds + warmup + 1) * 1.5 / args.procs) + 200 if kind == "code" else 0
    bases = [server.base for server in servers]
    processes = [context.Process(target=client_process, daemon=True, args=(
        LoadJob(bases, key, kind, token, subject, issuer, per_process, args.threads, p * args.threads,
                args.seconds, client_cpus), ready, go, start, results)) for p in range(args.procs)]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=120)
        start.value = time.monotonic() + warmup
        go.set()
        time.sleep(max(0.0, start.value - time.monotonic()))
        cpu0, busy0 = [s.cpu_seconds() for s in servers], machine_busy()
        time.sleep(max(0.0, start.value + args.seconds - time.monotonic()))
        cpu1, busy1 = [s.cpu_seconds() for s in servers], machine_busy()
        parts = [results.get(timeout=120) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
    completed = sum(part["completed"] for part in parts)
    latencies = sorted(x for part in parts for x in part["latencies"])
    reasons: Counter[str] = Counter()
    for part in parts:
        reasons.update(part["reasons"])
    server_cpu = [(b - a) / args.seconds for a, b in zip(cpu0, cpu1, strict=True)]
    client_cpu, sent = sum(part["cpu"] for part in parts), sum(part["sent"] for part in parts)
    expected = "malformed" if kind == "floor" else "valid"
    return {
        "rps": completed / args.seconds, "requests": completed,
        "expected_share": reasons[expected] / completed if completed else 0.0, "reasons": dict(reasons),
        "p50_ms": 1e3 * latencies[len(latencies) // 2] if latencies else math.nan,
        "p99_ms": 1e3 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else math.nan,
        "server_cores_busy": server_cpu,
        "server_cpu_us_per_request": 1e6 * sum(server_cpu) * args.seconds / completed if completed else math.nan,
        "client_cores_busy": client_cpu / (warmup + args.seconds),
        "client_cpu_us_per_request": 1e6 * client_cpu / sent if sent else math.nan,
        "machine_busy": (busy1[0] - busy0[0]) / max(1.0, busy1[1] - busy0[1]),
        # the database server, the kernel, and anything else running on the machine meanwhile
        "other_cores_busy": max(0.0, (busy1[0] - busy0[0]) / max(1.0, busy1[1] - busy0[1]) * (os.cpu_count() or 1)
                                - sum(server_cpu) - client_cpu / (warmup + args.seconds)),
        "connections": args.procs * args.threads, "codes_made_during_run": sum(part["made_late"] for part in parts),
    }


# -- the load from wrk ----------------------------------------------------------------------------

# The Lua side of a wrk process: POST /v1/verify with one body (the credential, the malformed
# token) or with the bodies of a file of fresh codes, one per request and never one twice while
# the supply lasts; every response's reason counted (a substring search: wrk has no JSON); at the
# end one line of JSON on stdout, after wrk's own report. A prelude of constants is put before it.
WRK_LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. KEY
wrk.body = BODY
as_expected, issued, short, others = 0, 0, 0, {}

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

if CODES then
  local bodies = {}
  for line in io.lines(CODES) do
    bodies[#bodies + 1] = line
  end
  local count = #bodies
  function request()
    issued = issued + 1
    local i = issued
    if i > count then  -- the supply ran out: codes again, which the server refuses as replayed
      short = short + 1
      i = (i - 1) % count + 1
    end
    return wrk.format(nil, nil, nil, bodies[i])
  end
end

if CHECK then
  local needle = '"reason":"' .. EXPECTED .. '"'
  local find, match = string.find, string.match
  function response(status, headers, body)
    if status == 200 and find(body, needle, 1, true) then
      as_expected = as_expected + 1
    else
      local reason = "HTTP " .. status
      if status == 200 then
        reason = match(body, '"reason":"([^"]*)"') or "no reason"
      end
      others[reason] = (others[reason] or 0) + 1
    end
  end
end

function done(summary, latency, requests)
  local total = {as_expected = 0, issued = 0, short = 0}
  local reasons = {}
  for _, thread in ipairs(threads) do
    for key in pairs(total) do
      total[key] = total[key] + thread:get(key)
    end
    for reason, n in pairs(thread:get("others")) do
      reasons[reason] = (reasons[reason] or 0) + n
    end
  end
  local out = {}
  local function put(key, value)
    out[#out + 1] = string.format('"%s":%s', key, value)
  end
  local function int(x)
    return string.format("%d", x)
  end
  put("requests", int(summary.requests))
  put("duration_us", int(summary.duration))
  local errors = {}
  for key, n in pairs(summary.errors) do
    errors[#errors + 1] = string.format('"%s":%d', key, n)
  end
  put("errors", "{" .. table.concat(errors, ",") .. "}")
  for key, n in pairs(total) do
    put(key, int(n))
  end
  local seen = {}
  for reason, n in pairs(reasons) do
    seen[#seen + 1] = string.format('"%s":%d', reason:gsub("[^%w _.:-]", "?"), n)
  end
  put("others", "{" .. table.concat(seen, ",") .. "}")
  put("p50_us", int(latency:percentile(50)))
  put("p99_us", int(latency:percentile(99)))
  -- the latency in the middle of every 1/200 of the requests up to 95 %, of every 1/2000 above:
  -- each point stands for that share of the requests, enough to merge processes (each call
  -- walks the histogram, a slot a microsecond: a few hundred calls, not thousands)
  local grid = {}
  for i = 1, 190 do
    grid[#grid + 1] = string.format("[%.3f,%d]", 0.5, latency:percentile((i - 0.5) * 0.5))
  end
  for i = 1, 100 do
    grid[#grid + 1] = string.format("[%.3f,%d]", 0.05, latency:percentile(95 + (i - 0.5) * 0.05))
  end
  put("grid", "[" .. table.concat(grid, ",") .. "]")
  io.write("WRK-BENCH {" .. table.concat(out, ",") .. "}\n")
end
"""


# wrk leaves a response slower than its timeout out of its latency figures (counting it a socket
# timeout instead) and keeps a histogram slot for every microsecond up to it
WRK_TIMEOUT = 10


def wrk_version() -> str:
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    words = (done.stdout or done.stderr).split()
    return words[1] if len(words) > 1 else "?"


def lua_string(text: str) -> str:
    """``text`` as a Lua long string (JSON bodies, paths, keys: no ``]==]`` in any of them)."""
    if "]==]" in text:
        raise ValueError(f"cannot quote {text[:40]!r} for Lua")
    return f"[==[{text}]==]"


def code_bodies(subject: CodeSubject, issuer: str, n: int) -> list[str]:
    """``n`` request bodies, each with a fresh presentation code."""
    signer = KeyAlias(development_signer(), PlatformSettings().code_kid)
    return [json.dumps({"token": make_code(subject, signer, business=BusinessType.QUERY, issuer=issuer,
                                           audience=AUDIENCE, now=int(time.time()))}) for _ in range(n)]


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, all threads


@dataclass
class Wrk:
    """One wrk process (one thread, ``connections`` keep-alive connections) against one server."""

    process: subprocess.Popen[str]
    script: Path

    @classmethod
    def start(cls, server: Server, script: Path, *, seconds: int, connections: int, cpus: set[int] | None) -> Wrk:
        pin: Callable[[], None] | None = None if not cpus else (lambda: os.sched_setaffinity(0, cpus))
        process = subprocess.Popen(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", f"--timeout={WRK_TIMEOUT}s", "-s", str(script),
             server.base + "/v1/verify"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=pin)
        return cls(process, script)

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    def result(self, timeout: float) -> dict[str, Any]:
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        line = next((line for line in out.splitlines() if line.startswith("WRK-BENCH ")), None)
        if self.process.returncode != 0 or line is None:
            raise SystemExit(f"wrk with {self.script.name} failed ({self.process.returncode}):\n{out[-1500:]}{err[-1500:]}")
        result: dict[str, Any] = json.loads(line.split(" ", 1)[1])
        return result


def wrk_script(path: Path, *, key: str, expected: str, body: str | None, codes: Path | None, check: bool) -> Path:
    prelude = [f"local KEY = {lua_string(key)}", f"local EXPECTED = {lua_string(expected)}",
               f"local BODY = {lua_string(body) if body is not None else 'nil'}",
               f"local CODES = {lua_string(str(codes)) if codes is not None else 'nil'}",
               f"local CHECK = {'true' if check else 'false'}"]
    path.write_text("-- written by tools/bench_ecard.py\n" + "\n".join(prelude) + "\n" + WRK_LUA)
    return path


def merged_percentiles(parts: list[dict[str, Any]]) -> tuple[float, float]:
    """p50 and p99 in milliseconds over all the wrk processes: each one's exact figures when there
    is one; else the points of each one's grid weighted by the requests they stand for."""
    if len(parts) == 1:
        return float(parts[0]["p50_us"]) / 1e3, float(parts[0]["p99_us"]) / 1e3
    points = sorted((value, part["requests"] * share / 100) for part in parts for share, value in part["grid"])
    total = sum(weight for _, weight in points)
    if not total:
        return math.nan, math.nan

    def at(share: float) -> float:
        running = 0.0
        for value, weight in points:
            running += weight
            if running >= share * total:
                return float(value) / 1e3
        return float(points[-1][0]) / 1e3

    return at(0.50), at(0.99)


def load_wrk(servers: list[Server], key: str, kind: str, *, token: str, subject: CodeSubject | None,
             issuer: str, expected_rate: float, args: argparse.Namespace, client_cpus: list[set[int] | None],
             work: Path) -> dict[str, Any]:
    """``--seconds`` of ``POST /v1/verify`` from one wrk process per server (``client_cpus[i]``
    its cores) after ``--warmup`` seconds of the same; the same figures as :func:`load`.

    wrk's own figures (requests, latency) cover its whole run; the CPU of the servers, of wrk and
    of the machine are taken over the run less a quarter of a second at either end, as rates."""
    seconds, warmup = max(1, round(args.seconds)), round(args.warmup)
    expected = "malformed" if kind == "floor" else "valid"
    body = None if kind == "code" else json.dumps({"token": token if kind == "credential" else "x"})
    check = args.wrk_check == "all"

    def scripts(stage: str, duration: int) -> list[Path]:
        paths = []
        for i in range(len(servers)):
            codes = None
            if kind == "code":  # sized like the clients' supply of the httpx load: half again the expected rate
                assert subject is not None
                n = math.ceil(expected_rate * (duration + 1) * 1.5 / len(servers)) + 200
                codes = work / f"codes-{stage}-{i}.txt"
                codes.write_text("\n".join(code_bodies(subject, issuer, n)) + "\n")
            paths.append(wrk_script(work / f"wrk-{kind}-{stage}-{i}.lua", key=key, expected=expected, body=body,
                                    codes=codes, check=check))
        return paths

    # every code made before the warm-up: the measured run follows it without a gap
    warm_scripts = scripts("warmup", warmup) if warmup > 0 else []
    run_scripts = scripts("run", seconds)
    if warm_scripts:
        warming = [Wrk.start(server, script, seconds=warmup, connections=args.connections, cpus=cpus)
                   for server, script, cpus in zip(servers, warm_scripts, client_cpus, strict=True)]
        for wrk in warming:
            wrk.result(timeout=warmup + 60)
    started = time.monotonic()
    wrks = [Wrk.start(server, script, seconds=seconds, connections=args.connections, cpus=cpus)
            for server, script, cpus in zip(servers, run_scripts, client_cpus, strict=True)]
    try:
        margin = min(0.25, seconds / 10)
        time.sleep(max(0.0, started + margin - time.monotonic()))
        t0 = time.monotonic()
        cpu0, client0, busy0 = [s.cpu_seconds() for s in servers], [w.cpu_seconds() for w in wrks], machine_busy()
        time.sleep(max(0.0, started + seconds - margin - time.monotonic()))
        cpu1, client1, busy1 = [s.cpu_seconds() for s in servers], [w.cpu_seconds() for w in wrks], machine_busy()
        window = time.monotonic() - t0
        parts = [wrk.result(timeout=seconds + 60) for wrk in wrks]
    finally:
        for wrk in wrks:
            if wrk.process.poll() is None:
                wrk.process.kill()
                wrk.process.wait()
    for path in [*warm_scripts, *run_scripts, *work.glob("codes-*.txt")]:
        path.unlink(missing_ok=True)

    completed = sum(part["requests"] for part in parts)
    rps_each = [part["requests"] / (part["duration_us"] / 1e6) for part in parts]
    rps = sum(rps_each)
    reasons: Counter[str] = Counter()
    errors: Counter[str] = Counter()  # connect, read, write; timeout: answered, but after WRK_TIMEOUT
    for part in parts:
        reasons[expected] += part["as_expected"]
        reasons.update(part["others"])
        errors.update({name: n for name, n in part["errors"].items() if n and name != "status"})
    checked = sum(reasons.values())
    p50, p99 = merged_percentiles(parts)
    server_cpu = [(b - a) / window for a, b in zip(cpu0, cpu1, strict=True)]
    client_cpu = sum(b - a for a, b in zip(client0, client1, strict=True)) / window
    machine = (busy1[0] - busy0[0]) / max(1.0, busy1[1] - busy0[1])
    return {
        "rps": rps, "requests": completed,
        "expected_share": reasons[expected] / checked if check and checked else math.nan,
        "reasons": {reason: n for reason, n in reasons.items() if n},
        "p50_ms": p50, "p99_ms": p99,
        "server_cores_busy": server_cpu,
        "server_cpu_us_per_request": 1e6 * sum(server_cpu) / rps if rps else math.nan,
        "client_cores_busy": client_cpu,
        "client_cpu_us_per_request": 1e6 * client_cpu / rps if rps else math.nan,
        "machine_busy": machine,
        "other_cores_busy": max(0.0, machine * (os.cpu_count() or 1) - sum(server_cpu) - client_cpu),
        "connections": args.connections * len(servers), "codes_made_during_run": 0,
        "codes_short": sum(part["short"] for part in parts) if kind == "code" else 0,
        "checked": checked, "socket_errors": dict(errors), "rps_each": rps_each, "p50_ms_each": [part["p50_us"] / 1e3 for part in parts],
        "p99_ms_each": [part["p99_us"] / 1e3 for part in parts],
        "wrk_cpus": [sorted(cpus) if cpus else None for cpus in client_cpus],
    }


def in_process_reference(url: str, issuer: str, token: str, subject: CodeSubject, seconds: float) -> dict[str, float]:
    """``Platform.verify`` without HTTP, on the same database and core: the credential, fresh codes."""
    registry = Registry(url)
    try:
        platform = Platform(registry, settings=PlatformSettings(issuer=issuer))
        signer = platform.code_signer

        def one_code() -> str:
            return make_code(subject, signer, business=BusinessType.QUERY, issuer=issuer, audience=AUDIENCE,
                             now=int(time.time()))

        if platform.verify(token, audience=AUDIENCE).reason != "valid":
            raise SystemExit("the issued credential does not verify in-process")
        per_call = 1.0 / rate(lambda: platform.verify(token, audience=AUDIENCE), 50)
        n = max(20, int(seconds / 6 / per_call))  # three blocks of each kind: about ``seconds`` in all
        credential = max(rate(lambda: platform.verify(token, audience=AUDIENCE), n) for _ in range(3))
        codes = iter([one_code() for _ in range(3 * n + 10)])
        results: list[str] = []
        code = max(rate(lambda: results.append(platform.verify(next(codes), audience=AUDIENCE).reason), n)
                   for _ in range(3))
        if set(results) != {"valid"}:
            raise SystemExit(f"in-process code verification: {Counter(results)}")
        return {"credential": credential, "code": code}
    finally:
        registry.close()


def run_http(args: argparse.Namespace, cpus: list[int], server_cpu: int, work: Path) -> dict[str, Any]:
    cluster = None
    servers: list[Server] = []
    try:
        if args.postgres:
            from tests.pg import PostgresCluster

            cluster = PostgresCluster.start()
            url = cluster.url(cluster.create_database())
        else:
            url = f"sqlite:///{work / 'registry.sqlite3'}"
        card_ref = prepare_database(url)
        development_signer()  # made once here, should it not exist, before two servers race to make it
        issuer_key, verifier_key = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        clients = work / "clients.json"
        clients.write_text(json.dumps({"clients": [
            {"name": "bench-holder-app", "key_sha256": hashlib.sha256(issuer_key.encode()).hexdigest(),
             "rights": ["issue"]},
            {"name": "bench-hospital", "key_sha256": hashlib.sha256(verifier_key.encode()).hexdigest(),
             "rights": ["verify"], "audience": AUDIENCE},
        ]}))
        others = [cpu for cpu in cpus if cpu != server_cpu]
        second_cpu = others[0] if others else None
        issuer = "http://platform.bench.example"  # both processes answer as the same issuer
        first = Server(url, clients, issuer, server_cpu, work / "server-1.log")
        servers.append(first)
        first.wait_ready()
        issued = httpx.post(first.base + "/v1/ecards", json={"card": card_ref}, timeout=30,
                            headers={"Authorization": f"Bearer {issuer_key}"})
        if issued.status_code != 201:
            raise SystemExit(f"issuing over HTTP: {issued.status_code} {issued.text}")
        token, ecard_id = issued.json()["token"], issued.json()["ecard_id"]
        subject = code_subject(url, ecard_id)
        signer = KeyAlias(development_signer(), PlatformSettings().code_kid)
        probe = make_code(subject, signer, business=BusinessType.QUERY, issuer=issuer, audience=AUDIENCE,
                          now=int(time.time()))
        for what, value in (("credential", token), ("code", probe)):
            answer = httpx.post(first.base + "/v1/verify", json={"token": value}, timeout=30,
                                headers={"Authorization": f"Bearer {verifier_key}"}).json()
            if answer.get("reason") != "valid":
                raise SystemExit(f"a {what} does not verify over HTTP: {answer}")

        os.sched_setaffinity(0, {server_cpu})
        reference = in_process_reference(url, issuer, token, subject, 2.0)
        os.sched_setaffinity(0, set(cpus))

        def phase(kind: str, expected: float, client_cpus: set[int] | None) -> dict[str, Any]:
            if args.load == "wrk":
                return load_wrk(servers, verifier_key, kind, token=token, subject=subject, issuer=issuer,
                                expected_rate=expected, args=args, client_cpus=wrk_cpus(client_cpus), work=work)
            return load(servers, verifier_key, kind, token=token, subject=subject, issuer=issuer,
                        expected_rate=expected, args=args, client_cpus=client_cpus)

        def wrk_cpus(client_cpus: set[int] | None) -> list[set[int] | None]:
            """One wrk per server: on the cores left to clients when there are any, else (no core
            to spare) each one on the core of its own server."""
            if client_cpus:
                return [client_cpus] * len(servers)
            return [{cpu} if cpu is not None else None for cpu in figures["server_cpus"]]

        figures: dict[str, Any] = {"database": "postgresql" if args.postgres else "sqlite",
                                   "in_process": reference, "server_cpus": [server_cpu], "load": args.load}
        clients_one = set(others) or None
        one_floor = phase("floor", 0.0, clients_one)
        one_credential = phase("credential", 0.0, clients_one)
        one_code = phase("code", one_credential["rps"], clients_one)
        figures["one"] = {"floor": one_floor, "credential": one_credential, "code": one_code,
                          "client_cpus": sorted(clients_one or cpus)}
        second = Server(url, clients, issuer, second_cpu, work / "server-2.log")
        servers.append(second)
        second.wait_ready()
        figures["server_cpus"].append(second_cpu)
        clients_two = set(cpus) - {server_cpu, second_cpu} or None
        two_credential = phase("credential", 0.0, clients_two)
        two_code = phase("code", two_credential["rps"], clients_two)
        figures["two"] = {"credential": two_credential, "code": two_code, "client_cpus": sorted(clients_two or cpus)}
        figures["two_over_one"] = {kind: figures["two"][kind]["rps"] / figures["one"][kind]["rps"]
                                   for kind in ("credential", "code")}
        return figures
    finally:
        for server in servers:
            server.stop()
        if cluster is not None:
            cluster.stop()


# -- report ------------------------------------------------------------------------------------


def print_library(figures: dict[str, Any], cpu: int) -> bool:
    raw = figures["raw"]
    print(f"\nLIBRARY, one core (cpu {cpu}); credential {figures['credential_chars']} chars "
          f"(JWS {figures['jws_chars']}), code {figures['code_chars']} chars; best rates of interleaved blocks")
    print(f"  {'':54} {'per s':>9} {'vs raw':>7} {'median':>7}  target")
    print(f"  {'raw ES256 sign, cryptography (the JWS signing input)':54} {raw['sign']:9,.0f}")
    gated = {name: (ratio, target, met) for name, ratio, target, met in library_targets(figures)}
    labels = {"mint_credential": "mint_credential (claims, 2 disclosures, JWS, ~)",
              "sign_compact": "sign_compact (the JWS alone; information)",
              "pyjwt_encode": "pyjwt jwt.encode (the JWS alone; information)",
              "verify_credential": "Verifier.verify_credential (sig, claims, SD, status)",
              "verify_code": "Verifier.verify_code (fresh codes, replay claim)",
              "pyjwt_decode": "pyjwt jwt.decode (sig, exp, aud, iss; information)",
              "issuer_client": "verify_credential via IssuerClient cache (information)",
              "bare_sign": "floor: 2 disclosures, base64, sign, r||s (JSON made)",
              "bare_credential": "floor: split, base64, JSON, SHA-256 of SD (no check)",
              "bare_code": "floor: split, base64, JSON (no check)"}

    def row(section: str, name: str) -> None:
        f = figures[section][name]
        verdict = ""
        if name in gated:
            _, target, met = gated[name]
            verdict = f">= {target}  {'met' if met else 'MISSED'}"
        print(f"  {labels[name]:54} {f['rate']:9,.0f} {f['ratio']:7.3f} {f['median_ratio']:7.3f}  {verdict}")

    for name in ("mint_credential", "sign_compact", "pyjwt_encode", "bare_sign"):
        row("sign", name)
    print(f"  {'raw ES256 verify, cryptography (the credential JWS)':54} {raw['verify']:9,.0f}")
    for name in ("verify_credential", "pyjwt_decode", "issuer_client", "bare_credential"):
        row("verify", name)
    print(f"  {'raw ES256 verify, cryptography (a code)':54} {raw['verify_code_input']:9,.0f}")
    row("verify", "verify_code")
    row("verify", "bare_code")
    print("  (floor: the base64, JSON and hashing no implementation can skip, one C call each, nothing checked)")
    return all(met for *_, met in library_targets(figures))


KINDS = {"floor": "malformed token (HTTP floor)", "credential": "credentials", "code": "fresh codes"}


def print_http(figures: dict[str, Any], args: argparse.Namespace) -> None:
    ref = figures["in_process"]
    one, two = figures["one"], figures["two"]
    if figures["load"] == "wrk":
        check = "every response's reason read" if args.wrk_check == "all" else "reasons not read"
        print(f"\nHTTP POST /v1/verify on loopback ({figures['database']}); load from wrk {wrk_version()}, one process "
              f"per server (-t1 -c{args.connections}, {check}), {max(1, round(args.seconds))} s each after "
              f"{round(args.warmup)} s of warm-up")
    else:
        print(f"\nHTTP POST /v1/verify on loopback ({figures['database']}); load from httpx, {args.procs} client "
              f"processes x {args.threads} keep-alive connections, {args.seconds:g} s each")
    print(f"  in-process Platform.verify on the server's core (no HTTP): credential {ref['credential']:,.0f}/s, "
          f"code {ref['code']:,.0f}/s")
    print(f"  {'':36} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'as exp':>6} {'server cores':>13} "
          f"{'us/req':>6} {'client cores':>12} {'us/req':>6} {'other':>5} {'machine':>7}")
    def clients(setup: dict[str, Any]) -> str:
        if figures["load"] != "wrk":
            return f"clients cpu {setup['client_cpus']}"
        pins = setup["credential"]["wrk_cpus"]
        return "wrk " + ", ".join("unpinned" if cpus is None else f"cpu {cpus}" for cpus in pins)

    for label, setup in ((f"one process (cpu {figures['server_cpus'][0]}; {clients(one)})", one),
                         (f"two processes (cpus {figures['server_cpus']}; {clients(two)})", two)):
        print(f"  {label}")
        for kind in [k for k in ("floor", "credential", "code") if k in setup]:
            f = setup[kind]
            busy = " + ".join(f"{c:.2f}" for c in f["server_cores_busy"])
            share = f"{f['expected_share']:6.1%}" if not math.isnan(f["expected_share"]) else f"{'-':>6}"
            note = "" if f["expected_share"] == 1.0 or not f["reasons"] else f"  reasons {f['reasons']}"
            if f["codes_made_during_run"]:
                note += f"  ({f['codes_made_during_run']} codes made during the run)"
            if f.get("socket_errors"):
                note += f"  (wrk's socket errors {f['socket_errors']}; timeout: over {WRK_TIMEOUT} s, not in p50/p99)"
            if f.get("codes_short"):
                note += f"  (the codes ran out: {f['codes_short']} requests carried a code again)"
            print(f"    {KINDS[kind]:32} {f['rps']:8,.0f} {f['p50_ms']:7.1f} {f['p99_ms']:7.1f} {share} "
                  f"{busy:>13} {f['server_cpu_us_per_request']:6,.0f} {f['client_cores_busy']:12.2f} "
                  f"{f['client_cpu_us_per_request']:6,.0f} {f['other_cores_busy']:5.2f} {f['machine_busy']:7.0%}{note}")
    ratio = figures["two_over_one"]
    if figures["load"] == "wrk":
        pins = two["credential"]["wrk_cpus"]
        shared = any(cpus is None or not set(cpus).isdisjoint(figures["server_cpus"]) for cpus in pins)
    else:
        shared = not set(two["client_cpus"]).isdisjoint(figures["server_cpus"])
    per_core = {name: {kind: 1e6 / setup[kind]["server_cpu_us_per_request"] for kind in ("credential", "code")}
                for name, setup in (("one", one), ("two", two))}
    print(f"  requests per server core-second: one process {per_core['one']['credential']:,.0f} credentials, "
          f"{per_core['one']['code']:,.0f} codes; two processes {per_core['two']['credential']:,.0f}, "
          f"{per_core['two']['code']:,.0f}")
    print(f"  two processes / one: credentials {ratio['credential']:.2f}, codes {ratio['code']:.2f}"
          + ("  (the clients share the servers' cores: see 'machine')" if shared else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cpu", type=int, help="the core for the library and the first server (default: the last)")
    parser.add_argument("--rounds", type=int, default=100, help="interleaved rounds of the library comparisons")
    parser.add_argument("--block", type=int, default=100, help="calls per block when signing (half when verifying)")
    parser.add_argument("--seconds", type=float, default=8.0, help="each HTTP phase (five of them)")
    parser.add_argument("--warmup", type=float, default=1.0, help="load before each HTTP phase is measured")
    parser.add_argument("--procs", type=int, help="httpx: client processes (default: the cores left to clients, 1 to 4)")
    parser.add_argument("--threads", type=int, default=4, help="httpx: connections (threads) per client process")
    parser.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL cluster (tests/pg.py)")
    parser.add_argument("--load", choices=("wrk", "httpx"), default="wrk" if shutil.which("wrk") else "httpx",
                        help="the HTTP load: wrk (the default when on PATH) or httpx client processes")
    parser.add_argument("--connections", type=int, default=8, help="wrk: connections of each wrk process")
    parser.add_argument("--wrk-check", choices=("all", "none"), default="all",
                        help="wrk: read every response's reason (all) or none")
    parser.add_argument("--no-http", action="store_true", help="the library only")
    parser.add_argument("--no-library", action="store_true", help="the HTTP part only")
    parser.add_argument("--profile", action="store_true", help="also show where the library paths spend their time")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.seconds + args.warmup > 45:
        parser.error("--seconds + --warmup at most 45: codes live 60 s and are made before each phase")
    if args.no_http and args.no_library:
        parser.error("--no-http and --no-library: nothing left to run")
    if args.load == "wrk" and not shutil.which("wrk"):
        parser.error("--load wrk: no wrk on PATH")
    if args.load == "wrk" and (args.seconds != round(args.seconds) or args.warmup != round(args.warmup)):
        parser.error("--load wrk: --seconds and --warmup in whole seconds (wrk's -d)")

    cpus = sorted(os.sched_getaffinity(0))
    cpu = cpus[-1] if args.cpu is None else args.cpu
    if cpu not in cpus:
        parser.error(f"--cpu {cpu}: not one of this process's cpus {cpus}")
    if args.procs is None:  # one process per core the clients have (a process with more threads than
        args.procs = min(4, max(1, len(cpus) - 1))  # its core can serve pays for it in GIL hand-overs)
    print(f"sscard_issuer from {Path(sscard_issuer.__file__).parent}; Python {sys.version.split()[0]}, "
          f"cryptography {cryptography.__version__}, pyjwt {jwt.__version__}, httpx {httpx.__version__}"
          + (f", wrk {wrk_version()}" if args.load == "wrk" and not args.no_http else "") + f"; cpus {cpus}")
    figures: dict[str, Any] = {"cpus": cpus, "cpu": cpu}
    ok = True
    if not args.no_library:
        os.sched_setaffinity(0, {cpu})
        figures["library"] = run_library(args)
        ok = print_library(figures["library"], cpu)
        if args.profile:
            print("\n" + profile_library(top=18))
        os.sched_setaffinity(0, set(cpus))
    if not args.no_http:
        work = Path(tempfile.mkdtemp(prefix="bench-ecard-"))
        try:
            figures["http"] = run_http(args, cpus, cpu, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print_http(figures["http"], args)
    if not ok:
        missed = ", ".join(f"{name} {ratio:.2f} < {target}" for name, ratio, target, met
                           in library_targets(figures["library"]) if not met)
        print(f"\nlibrary target missed: {missed}" + ("" if args.profile else " (--profile shows where the time goes)"))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
