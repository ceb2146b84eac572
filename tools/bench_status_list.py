#!/usr/bin/env python3
"""Benchmark: Token Status Lists at national scale: size and build time for 1e8 entries, extrapolated
to 1e9 (about 1.39 billion cards), as one list and as shards.

For each share of non-valid entries (revoked or suspended, at random indices, suspended one in ten),
it builds a 2-bit :class:`~sscard_issuer.credential.status_list.StatusList` of ``--entries`` (1e8 by
default), encodes it as the token's ``lst`` (zlib DEFLATE + base64url, what ``encode`` does), signs
the status list token with a fresh ES256 key, and checks the token decodes back to the same statuses
at a sample of indices. Then one shard of 1e6 entries the same way (what the platform republishes
after a status change). Times are wall-clock on one core; 1e9 figures are the 1e8 ones times ten
(the work is linear in the entries: raw bytes, compression, base64).

Usage: ``python3 tools/bench_status_list.py [--entries 100000000] [--shard 1000000] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sscard_issuer.credential import status_list
from sscard_issuer.credential.jose import sign_compact
from sscard_issuer.credential.signers import Es256Signer

SHARES = (0.0001, 0.001, 0.01)  # share of entries not valid: 0.01 %, 0.1 %, 1 %


def build(entries: int, share: float, signer: Es256Signer, rng: random.Random) -> dict[str, float]:
    started = time.perf_counter()
    lst = status_list.StatusList(entries, bits=2)
    changed = rng.sample(range(entries), int(entries * share))
    for n, idx in enumerate(changed):
        lst.set(idx, status_list.SUSPENDED if n % 10 == 0 else status_list.INVALID)
    filled = time.perf_counter()
    claims = status_list.status_list_claims(uri="https://ecard.example/v1/status-lists/0", lst=lst, iat=1_790_000_000,
                                            exp=1_790_086_400, ttl=300, iss="https://ecard.example")
    encoded = time.perf_counter()
    token = sign_compact({"typ": status_list.STATUS_LIST_TYP}, claims, signer)
    signed = time.perf_counter()
    back = status_list.StatusList.decode(claims["status_list"]["lst"], 2, max_size=entries)
    for idx in rng.sample(changed, min(1000, len(changed))) + rng.sample(range(entries), 1000):
        assert back.get(idx) == lst.get(idx), idx
    return {"entries": entries, "non_valid_share": share, "raw_bytes": len(lst.to_bytes()),
            "token_bytes": len(token), "fill_s": filled - started, "encode_s": encoded - filled,
            "sign_s": signed - encoded, "total_s": signed - started}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000_000)
    parser.add_argument("--shard", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng, signer = random.Random(20261129), Es256Signer.generate()
    rows = []
    for size in (args.entries, args.shard):
        for share in SHARES:
            rows.append(build(size, share, signer, rng))
    print(f"{'entries':>12} {'not valid':>9} {'raw MB':>8} {'token MB':>9} {'fill s':>7} {'encode s':>8} "
          f"{'sign ms':>8} {'total s':>8} {'x10: token MB':>13} {'x10: total s':>12}")
    for r in rows:
        scale = 10 if r["entries"] == args.entries else None
        print(f"{r['entries']:>12,} {r['non_valid_share']:>9.2%} {r['raw_bytes'] / 1e6:>8.1f} "
              f"{r['token_bytes'] / 1e6:>9.3f} {r['fill_s']:>7.2f} {r['encode_s']:>8.2f} {r['sign_s'] * 1e3:>8.2f} "
              f"{r['total_s']:>8.2f} "
              + (f"{r['token_bytes'] * scale / 1e6:>13.1f} {r['total_s'] * scale:>12.1f}" if scale else ""))
    shards_for_1e9 = 1_000_000_000 // args.shard
    worst_shard = max(r["total_s"] for r in rows if r["entries"] == args.shard)
    print(f"1e9 as {shards_for_1e9:,} shards of {args.shard:,}: one status change republishes one shard "
          f"({worst_shard * 1e3:.0f} ms at worst here); all shards rebuilt on one core: "
          f"{worst_shard * shards_for_1e9 / 60:.1f} min")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
