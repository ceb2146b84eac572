#!/usr/bin/env python3
"""Benchmark: personalising one blank card of each profile through pyscard -> pcscd -> vpcd.

For each profile it reports the APDUs sent against the minimum the profile needs, and the wall
time against the round-trip floor (APDU count x the raw round trip to the reference card,
measured in the same run). The minimum counts what this card OS cannot do without: one SELECT per
application entered, one GET CHALLENGE + EXTERNAL AUTHENTICATE per key session (the SSSE needs
three: TK for keys and PIN, UK for records, TK again to finish), each key, the PIN and each record
written once, certificates and the key envelope in full 255-byte UPDATE BINARY / IMPORT chunks,
STORE DATA in maximal blocks, and the read-backs the issue requires (the national terminal's read,
the PKI key check, the bank PAN record). Usage: ``python3 tools/bench_perso.py [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from sscard_issuer.card.reader import BASIC_RECORDS
from sscard_issuer.channel import Scp, SecurityLevel, store_data_block_count
from sscard_issuer.cli.demo import sample_application
from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys import DevKeyStore
from sscard_issuer.perso import Personaliser, PersoOutcome, Profile, load_profile
from sscard_issuer.perso.bank import bank_dgis
from sscard_issuer.perso.wiring import application_hooks
from sscard_issuer.registry import Registry
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.make_card import make_blank_card
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.sim.vpcd import DEBIAN_VPCD_READERS, VpcdLink
from sscard_issuer.transport import (
    ApduTrace,
    InProcessTransport,
    PcscTransport,
    Transport,
    wait_for_reader_state,
)
from sscard_issuer.transport.pcscd import Pcscd

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import minimal_card, reference_round_trip

CARD_READER, REF_READER = "Virtual PCD 00 00", "Virtual PCD 00 01"
CHUNK = 255
INS_IMPORT = 0xD8


def minimum_apdus(profile: Profile, outcome: PersoOutcome, image: CardImage, trace: ApduTrace) -> int:
    record = outcome.record
    records = record.records(profile)
    written = sum(1 for file, spec in profile.records if spec.tag in records.get(file.sfi, {}))
    photo_chunks = math.ceil(len(record.photo or b"") / (CHUNK - 4))
    others = profile.pki or (profile.bank is not None and record.bank_pan is not None)
    ssse = 1 + 3 * 2 + len(profile.keys) + 1 + written + photo_chunks + 1 + (1 if others else 0)
    pki = 0
    if profile.pki:
        files = image.applets["pki"]["files"]
        sign, enc = (len(bytes.fromhex(files[f])) for f in ("0018", "0019"))
        envelope = sum(len(e.command.data) for e in trace.entries if e.command.ins == INS_IMPORT)
        pki = (2 + 2 + 1 + 2 + (1 + math.ceil(sign / CHUNK)) + (1 + math.ceil(enc / CHUNK))
               + math.ceil(envelope / CHUNK) + 1 + 1)  # ... + activate + the card-key check
    bank = 0
    if profile.bank is not None and record.bank_pan:
        dgis = bank_dgis(record, profile)
        blocks = store_data_block_count(dgis, Scp(profile.bank.scp), SecurityLevel(profile.bank.level))
        bank = 1 + 2 + 1 + blocks + 2  # select, open, install, store data, read back
    read_back = 5 + sum(len(specs) for _, specs in BASIC_RECORDS)
    return ssse + pki + bank + read_back


def personalise(transport: Transport, profile: Profile, folder: Path) -> tuple[PersoOutcome, float]:
    keys = DevKeyStore.default()
    pki, bank = application_hooks(keys)
    registry = Registry(f"sqlite:///{folder / 'registry.sqlite3'}")
    started = time.perf_counter()
    outcome = Personaliser(registry, keys, pki=pki, bank=bank).personalise(transport, sample_application(), profile)
    seconds = time.perf_counter() - started
    registry.close()
    return outcome, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    pcscd = Pcscd.ensure()
    stop = threading.Event()
    rows = []
    try:
        wait_for_reader_state(REF_READER, present=False)
        threading.Thread(target=minimal_card, args=(DEBIAN_VPCD_READERS[REF_READER], stop), daemon=True).start()
        wait_for_reader_state(REF_READER, present=True)
        rt = reference_round_trip(REF_READER)
        for name, algorithm in (("ssc3-sm4", Algorithm.SM4), ("ssc2-3des", Algorithm.DES3)):
            profile = load_profile(name)
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                card = SimulatedCard(make_blank_card(algorithm=algorithm, out=folder / "card.json"))
                _, in_process_s = personalise(InProcessTransport(card), profile, folder / "a")
                image_path = folder / "pcsc.json"
                card = SimulatedCard(make_blank_card(algorithm=algorithm, out=image_path))
                trace = ApduTrace()
                wait_for_reader_state(CARD_READER, present=False)
                with VpcdLink(card, port=DEBIAN_VPCD_READERS[CARD_READER]) as link:
                    link.wait_connected()
                    wait_for_reader_state(CARD_READER, present=True)
                    with PcscTransport(CARD_READER, trace=trace) as transport:
                        outcome, seconds = personalise(transport, profile, folder / "b")
                minimum = minimum_apdus(profile, outcome, CardImage.load(image_path), trace)
            floor = outcome.apdus * rt
            rows.append({
                "profile": name, "apdus": outcome.apdus, "minimum": minimum,
                "extra_apdus_pct": round((outcome.apdus / minimum - 1) * 100, 1),
                "wall_ms": round(seconds * 1000, 1), "floor_ms": round(floor * 1000, 2),
                "wall_vs_floor": round(seconds / floor, 1), "in_process_ms": round(in_process_s * 1000, 1),
                "reference_round_trip_us": round(rt * 1e6, 1),
            })
    finally:
        stop.set()
        pcscd.close()
    print("| profile | APDUs | minimum | extra | wall time | floor (APDUs x round trip) | wall / floor | in-process |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['profile']} | {r['apdus']} | {r['minimum']} | {r['extra_apdus_pct']:+.1f} % | "
              f"{r['wall_ms']:.0f} ms | {r['floor_ms']:.1f} ms | {r['wall_vs_floor']:.1f} x | {r['in_process_ms']:.0f} ms |")
    print(f"\nreference round trip {rows[0]['reference_round_trip_us']:.0f} µs")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
