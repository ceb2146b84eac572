#!/usr/bin/env python3
"""Benchmark: compact JWS signing and verification against raw ``cryptography`` ES256.

Sign: :func:`sign_compact` (header and claims to JSON, base64url, the signature turned into
r || s) against ``key.sign(signing_input, ECDSA(SHA256()))`` on the same signing input; target
0.7 of the raw rate. Verify: :func:`verify_compact` (every check of the module, the key from a
:class:`KeySet`) against ``public_key.verify(der, signing_input, ECDSA(SHA256()))``; target 0.8.
The claims are a presentation code's (about 300 bytes). Short blocks of both are interleaved and
the best rate of each is kept (as timeit keeps the best time): on a shared machine the median of
one run moves by +-10 %, the best rates do not. The median per-round ratio is printed beside.
pyjwt and SM2 are shown for information. Exits 1 when a target is missed.

Usage: ``python3 tools/bench_jose.py [--rounds 100] [--block 200] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from sscard_issuer.credential import (
    Es256Signer,
    KeySet,
    PublicKey,
    Sm2Signer,
    b64u_decode,
    sign_compact,
    verify_compact,
)

SIGN_TARGET = 0.7
VERIFY_TARGET = 0.8
HEADER = {"typ": "vnd.sscard.code+jwt"}
CLAIMS = {
    "iss": "https://ecard.example.gov.cn",
    "aud": "hospital-450100-0001",
    "iat": 1767225600,
    "exp": 1767225660,
    "jti": "k3VbM0cJt8r1Xq2nYQ5wZg",
    "bus": "04",
    "area": "450100",
    "ssn": "450102199001011234",
    "name": "王小明",
    "tok": "c2b1e0a7-5f0e-4f6a-9d3b-2f7c1e9a8b40",
}


def rate(work: Callable[[], object], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        work()
    return n / (time.perf_counter() - started)


def compare(raw: Callable[[], object], ours: Callable[[], object], rounds: int, block: int) -> dict[str, float]:
    """Best rates of interleaved blocks (as timeit takes the best time: what is left when the
    machine's other work is not in the way), their ratio, and the median per-round ratio."""
    rate(raw, block)
    rate(ours, block)  # warm up
    raw_rates, our_rates = [], []
    for _ in range(rounds):
        raw_rates.append(rate(raw, block))
        our_rates.append(rate(ours, block))
    return {"raw": max(raw_rates), "ours": max(our_rates), "ratio": max(our_rates) / max(raw_rates),
            "median_ratio": statistics.median(o / r for o, r in zip(our_rates, raw_rates, strict=True))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--block", type=int, default=200)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    signer = Es256Signer.generate()
    raw_key: ec.EllipticCurvePrivateKey = signer._key  # the very key, for the raw reference
    public = raw_key.public_key()
    ecdsa = ec.ECDSA(hashes.SHA256())
    keys = KeySet([PublicKey.from_signer(signer)])
    token = sign_compact(HEADER, CLAIMS, signer)
    signing_input = token.rsplit(".", 1)[0].encode("ascii")
    raw_signature = b64u_decode(token.rsplit(".", 1)[1])
    der = encode_dss_signature(int.from_bytes(raw_signature[:32], "big"), int.from_bytes(raw_signature[32:], "big"))
    verify_compact(token, keys, algorithms=["ES256"], typ=HEADER["typ"])  # it must verify at all

    figures = {
        "token_chars": len(token),
        "sign": compare(lambda: raw_key.sign(signing_input, ecdsa),
                        lambda: sign_compact(HEADER, CLAIMS, signer), args.rounds, args.block),
        "verify": compare(lambda: public.verify(der, signing_input, ecdsa),
                          lambda: verify_compact(token, keys, algorithms=["ES256"], typ=HEADER["typ"]),
                          args.rounds, args.block // 2),
    }
    # pyjwt for comparison: its JWT layer on signing (the claims to JSON, as here), its JWS layer
    # on verifying (the signature only: no claim checks, as here)
    pyjwt_headers = {"kid": signer.kid, **HEADER}
    figures["pyjwt"] = {
        "sign": max(rate(lambda: jwt.encode(CLAIMS, raw_key, algorithm="ES256", headers=pyjwt_headers), args.block)
                    for _ in range(args.rounds // 4)),
        "verify": max(rate(lambda: jwt.api_jws.decode(token, public, algorithms=["ES256"]), args.block // 2)
                      for _ in range(args.rounds // 4)),
    }
    sm2 = Sm2Signer.generate()
    sm2_keys = KeySet([PublicKey.from_signer(sm2)])
    sm2_token = sign_compact(HEADER, CLAIMS, sm2)
    figures["sm2"] = {
        "sign": rate(lambda: sign_compact(HEADER, CLAIMS, sm2), 500),
        "verify": rate(lambda: verify_compact(sm2_token, sm2_keys, algorithms=["SM2"], typ=HEADER["typ"]), 500),
    }

    print(f"token: {figures['token_chars']} characters (ES256, a presentation code's claims)")
    ok = True
    for name, target in (("sign", SIGN_TARGET), ("verify", VERIFY_TARGET)):
        f = figures[name]
        assert isinstance(f, dict)
        met = f["ratio"] >= target
        ok = ok and met
        print(f"ES256 {name:6}: raw cryptography {f['raw']:9,.0f}/s   jose {f['ours']:9,.0f}/s   "
              f"ratio {f['ratio']:.3f} (target {target}) {'met' if met else 'MISSED'}; "
              f"median per-round ratio {f['median_ratio']:.3f}")
    print(f"pyjwt (information): jwt.encode {figures['pyjwt']['sign']:,.0f}/s "
          f"(ratio {figures['pyjwt']['sign'] / figures['sign']['raw']:.3f}), "
          f"jws decode {figures['pyjwt']['verify']:,.0f}/s "
          f"(ratio {figures['pyjwt']['verify'] / figures['verify']['raw']:.3f})")
    print(f"SM2 (information): sign_compact {figures['sm2']['sign']:,.0f}/s, "
          f"verify_compact {figures['sm2']['verify']:,.0f}/s")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
