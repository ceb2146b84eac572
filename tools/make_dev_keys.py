#!/usr/bin/env python3
"""Generate the development key set ``keys/dev/keyset.json`` (TEST KEYS ONLY).

One random master per key class for 3DES (16 bytes, odd parity) and SM4 (16 bytes), version 1,
with key check values and the warning marker. The file is committed on purpose so that every
checkout, the simulator and CI share the same test keys; that is exactly why they must never
protect a real card. Refuses to overwrite an existing file unless ``--force`` is given, since
cards personalised in the simulator with the old keys would stop working.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path

from sscard_issuer.keys import KeyClass
from sscard_issuer.keys.keyset_file import KeyId, build_keyset, parse_keyset, random_master

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "keys" / "dev" / "keyset.json"


def generate(existing: dict[KeyId, bytes] | None = None) -> dict[KeyId, bytes]:
    """Random masters, version 1, for every key class and each of its algorithms; keys already
    in ``existing`` are kept."""
    keys = dict(existing or {})
    for key_class in KeyClass:
        for alg in key_class.algorithms:
            keys.setdefault((key_class, alg, 1), random_master(alg, secrets.token_bytes(16)))
    return keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--force", action="store_true", help="overwrite an existing key set")
    parser.add_argument("--add-missing", action="store_true",
                        help="keep the existing keys, add masters for new key classes only")
    args = parser.parse_args(argv)
    output: Path = args.output
    existing: dict[KeyId, bytes] = {}
    if output.exists() and args.add_missing:
        _warning, existing = parse_keyset(json.loads(output.read_text(encoding="utf-8")))
    elif output.exists() and not args.force:
        print(f"{output} exists; pass --force to replace it (simulated cards will break)",
              file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    document = build_keyset(generate(existing))
    output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(document['keys'])} TEST ONLY master keys to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
