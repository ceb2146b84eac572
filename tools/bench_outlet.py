#!/usr/bin/env python3
"""Benchmark: instant issuance at an outlet, on simulated printers and cards, in this process.

Two figures, both from real jobs through the whole stack (registry, the issuance desk's journal,
the Evolis protocol over loopback TCP, personalisation with the PKI and bank applications, the
read-back, the face rendered and sent as YMCKO panels, report back, activation, the e-card step):

* the toolkit's own time per card: each job's wall time minus the time the simulator spent
  pretending to be mechanics (its ``simulated_seconds``: moves and prints at realistic durations
  scaled by ``--scale``) and minus the time spent inside the simulated chip (``card_seconds``, the
  card's own computing, which a real chip does on its own CPU). Target: under one second;
* the outlet's throughput with ``--printers`` printers (default 4) against one printer, the same
  cards per printer, the same timings; target: close to ``--printers`` times one printer's.

The mechanics are scaled (``--scale 0.25``: a 20 s print takes 5 s) to keep the run short; the
ratio holds as long as the printer, not the host, is the bottleneck, which a larger scale only
makes truer. Exits 1 when the per-card target is missed or the throughput ratio is below
``--min-ratio`` (default 0.85 of the printer count).

Usage: ``python3 tools/bench_outlet.py [--cards 3] [--printers 4] [--scale 0.25] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sscard_issuer.lifecycle.office import Office
from sscard_issuer.outlet.desk import IssuanceDesk
from sscard_issuer.outlet.station import simulated_printers
from sscard_issuer.outlet.worker import WorkerSettings
from sscard_issuer.registry import Registry
from tests.unit.offices import applicant, enrolled, hire, individual

PER_CARD_TARGET = 1.0  # seconds of the toolkit's own time per card


def run(printers: int, cards_per_printer: int, scale: float, folder: Path) -> dict[str, float]:
    """Issue ``printers * cards_per_printer`` cards on ``printers`` simulated printers; the figures."""
    registry = Registry(f"sqlite:///{folder / 'registry.sqlite3'}")
    try:
        office = Office(registry)
        staff = hire(office)
        total = printers * cards_per_printer
        office.receive_stock(staff.operator, total, reference="bench")
        desk = IssuanceDesk(office)
        refs = []
        for serial in range(total):
            who = enrolled(office, staff.operator, applicant(serial + 1))
            refs.append(office.apply(staff.operator, individual(who, instant=True)).card_ref)
        sims = simulated_printers(desk, "NN01", count=printers, blanks=total, timing_scale=scale,
                                  settings=WorkerSettings(poll_interval=0.05, idle_interval=0.02))
        try:
            started = time.perf_counter()
            for ref in refs:
                desk.mark(staff.operator, ref)
            while desk.jobs(staff.operator):
                time.sleep(0.02)
            wall = time.perf_counter() - started
        finally:
            sims.close()
        done = desk.jobs(staff.operator, open_only=False)
        assert len(done) == total and all(job.state.over and job.attempt == 1 for job in done), done
        stock = office.stock(staff.operator)
        assert (stock.fed, stock.good, stock.spoiled) == (total, total, 0), stock
        mechanics = sum(sim.simulated_seconds for sim in sims.simulators)
        chip = sum(sim.card_seconds for sim in sims.simulators)
        # a job's wall time: from its printer claiming it to its last journal line (the e-card step done)
        spans = []
        for job in done:
            _, journal = desk.job(staff.operator, job.id)
            claimed = next(line.at for line in journal if line.step == "claim")
            spans.append((journal[-1].at - claimed).total_seconds())
        own = (sum(spans) - mechanics - chip) / total
        return {"printers": printers, "cards": total, "wall_s": wall, "cards_per_minute": total / wall * 60,
                "job_s": sum(spans) / total,
                "mechanics_s_per_card": mechanics / total, "chip_s_per_card": chip / total, "own_s_per_card": own}
    finally:
        registry.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=3, help="cards per printer")
    parser.add_argument("--printers", type=int, default=4)
    parser.add_argument("--scale", type=float, default=0.25, help="scale of the realistic mechanics (1 s move, 20 s print)")
    parser.add_argument("--min-ratio", type=float, default=0.85, help="throughput ratio target, as a share of --printers")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sscard-bench-outlet-") as tmp:
        one_folder, many_folder = Path(tmp) / "one", Path(tmp) / "many"
        one_folder.mkdir()
        many_folder.mkdir()
        one = run(1, args.cards, args.scale, one_folder)
        many = run(args.printers, args.cards, args.scale, many_folder)
    ratio = many["cards_per_minute"] / one["cards_per_minute"]
    for figures in (one, many):
        print(f"{figures['printers']} printer(s), {figures['cards']} cards in {figures['wall_s']:.1f} s: "
              f"{figures['cards_per_minute']:.1f} cards/min; per card: job {figures['job_s']:.2f} s, mechanics {figures['mechanics_s_per_card']:.2f} s, "
              f"chip {figures['chip_s_per_card']:.2f} s, toolkit {figures['own_s_per_card']:.3f} s")
    own = one["own_s_per_card"]
    print(f"toolkit's own time per card (one printer): {own:.3f} s (target < {PER_CARD_TARGET} s)")
    print(f"throughput, {args.printers} printers / 1: {ratio:.2f} (target >= {args.min_ratio * args.printers:.2f})")
    if args.json:
        args.json.write_text(json.dumps({"one": one, "many": many, "ratio": ratio}, indent=2) + "\n")
    return 0 if own < PER_CARD_TARGET and ratio >= args.min_ratio * args.printers else 1


if __name__ == "__main__":
    sys.exit(main())
