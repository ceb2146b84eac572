#!/usr/bin/env python3
"""Benchmark: what the simulator adds to a PC/SC round trip, and what reading a card costs.

One run measures, through pyscard -> pcscd -> vpcd:

* the reference: raw ``SCardTransmit`` of a trivial APDU to a minimal socket card (below, 30
  lines: answers every APDU with 9000), in reader "Virtual PCD 00 01";
* the same APDU, raw ``SCardTransmit``, to the simulator's card (runtime + SSSE applet) in reader
  "Virtual PCD 00 00"; the ratio of the two is the simulator's overhead (goal: under 30 %);
* the same APDU through :class:`PcscTransport` (exchange rules, trace hook, transmit watchdog);
* ``read_card`` (what ``sscard card read`` does) through PcscTransport: time and APDU count; and
  the ``sscard card read --json`` process end to end, Python start-up included.

Blocks of the reference and the simulator alternate, so machine noise hits both alike; figures
are medians of blocks. Usage: ``python3 tools/bench_pcsc.py [--rounds 4000] [--reads 50]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

from smartcard import scard

from sscard_issuer.apdu import CommandApdu, select_by_name
from sscard_issuer.card import ssc
from sscard_issuer.card.reader import read_card
from sscard_issuer.cli.demo import sample_applicant
from sscard_issuer.keys import DevKeyStore
from sscard_issuer.sim.make_card import make_card
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.sim.vpcd import DEBIAN_VPCD_READERS, VpcdLink
from sscard_issuer.transport.pcsc import PcscTransport, wait_for_reader_state
from sscard_issuer.transport.pcscd import Pcscd

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import TRIVIAL, block, minimal_card, raw_session

SIM_READER, REF_READER = "Virtual PCD 00 00", "Virtual PCD 00 01"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4000, help="APDUs per measured series")
    parser.add_argument("--reads", type=int, default=50, help="card reads to time")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    pcscd = Pcscd.ensure()
    stop = threading.Event()
    keys = DevKeyStore.default()
    sim = SimulatedCard(make_card(sample_applicant()))
    for reader in (SIM_READER, REF_READER):
        wait_for_reader_state(reader, present=False)
    link = VpcdLink(sim, port=DEBIAN_VPCD_READERS[SIM_READER]).start()
    threading.Thread(target=minimal_card, args=(DEBIAN_VPCD_READERS[REF_READER], stop), daemon=True).start()
    try:
        for reader in (SIM_READER, REF_READER):
            wait_for_reader_state(reader, present=True)
        ref_ctx, ref_card, ref_proto = raw_session(REF_READER)
        sim_ctx, sim_card, sim_proto = raw_session(SIM_READER)
        apdu = list(TRIVIAL)
        scard.SCardTransmit(sim_card, sim_proto, list(select_by_name(ssc.SSSE_AID).encode()))

        def ref() -> None:
            scard.SCardTransmit(ref_card, ref_proto, apdu)

        def raw_sim() -> None:
            _hr, resp = scard.SCardTransmit(sim_card, sim_proto, apdu)
            if resp[-2:] != [0x90, 0x00]:
                raise SystemExit(f"simulator answered {bytes(resp).hex()}")

        blocks = 20
        per_block = max(args.rounds // blocks, 1)
        for f in (ref, raw_sim):
            block(f, 200)  # warm up
        ref_t, sim_t = [], []
        for _ in range(blocks):
            ref_t.append(block(ref, per_block))
            sim_t.append(block(raw_sim, per_block))
        scard.SCardDisconnect(sim_card, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(sim_ctx)

        command = CommandApdu.decode(TRIVIAL)
        with PcscTransport(SIM_READER) as transport:
            transport.send_checked(select_by_name(ssc.SSSE_AID))
            block(lambda: transport.send(command), 200)
            tr_t = [block(lambda: transport.send(command), per_block) for _ in range(blocks // 2)]
            read_t, apdus = [], 0
            for _ in range(args.reads):
                before = transport.apdu_count
                started = time.perf_counter()
                reading = read_card(transport, keys)
                read_t.append(time.perf_counter() - started)
                apdus = transport.apdu_count - before
                assert reading.genuine
        scard.SCardDisconnect(ref_card, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(ref_ctx)

        started = time.perf_counter()
        cli = subprocess.run([sys.executable, "-m", "sscard_issuer", "card", "read", "--reader", SIM_READER, "--json"],
                             capture_output=True, text=True, env={**os.environ, "SSCARD_LANG": "en"})
        cli_s = time.perf_counter() - started
        if cli.returncode != 0:
            raise SystemExit(f"sscard card read failed: {cli.stderr}")
    finally:
        stop.set()
        link.close()
        pcscd.close()

    ref_us, sim_us, tr_us = (statistics.median(x) * 1e6 for x in (ref_t, sim_t, tr_t))
    read_ms = statistics.median(read_t) * 1e3
    figures = {
        "reference_round_trip_us": round(ref_us, 1),
        "simulator_round_trip_us": round(sim_us, 1),
        "simulator_overhead_pct": round((sim_us / ref_us - 1) * 100, 1),
        "transport_round_trip_us": round(tr_us, 1),
        "transport_overhead_pct": round((tr_us / sim_us - 1) * 100, 1),
        "card_read_ms": round(read_ms, 2),
        "card_read_apdus": apdus,
        "card_read_floor_ms": round(apdus * ref_us / 1000, 2),
        "card_read_vs_floor": round(read_ms / (apdus * ref_us / 1000), 2),
        "cli_card_read_process_ms": round(cli_s * 1000),
    }
    print("| measure | value |\n|---|---|")
    rows = [
        ("raw SCardTransmit, minimal socket card (reference)", f"{ref_us:.1f} µs"),
        ("raw SCardTransmit, simulator card", f"{sim_us:.1f} µs ({figures['simulator_overhead_pct']:+.1f} %)"),
        ("PcscTransport.send, simulator card", f"{tr_us:.1f} µs ({figures['transport_overhead_pct']:+.1f} % over raw)"),
        ("read_card (what `sscard card read` does)", f"{read_ms:.2f} ms, {apdus} APDUs"),
        ("  against APDUs x reference round trip", f"{figures['card_read_vs_floor']:.2f} x"),
        ("`sscard card read --json` process, start-up included", f"{figures['cli_card_read_process_ms']} ms"),
    ]
    for name, value in rows:
        print(f"| {name} | {value} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=2)
    verdict = "meets" if figures["simulator_overhead_pct"] < 30 else "MISSES"
    print(f"\nsimulator overhead {figures['simulator_overhead_pct']:.1f} % {verdict} the 30 % goal")


if __name__ == "__main__":
    main()
