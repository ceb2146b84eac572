"""``sscard demo``: the main job on the embedded defaults, end to end.

A blank third-generation card goes into a vpcd reader behind the real pcscd (started here if it
is not running); it is personalised for the sample applicant (keys, PIN, records, the PKI
application with certificates from the test CA, the bank application over a GlobalPlatform secure
channel), then read back the way a national terminal reads it. Everything lands in ``--out``:
the card image, the registry, the reading. ``--in-process`` skips PC/SC.
"""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from sscard_issuer.card import Applicant
from sscard_issuer.card.reader import read_card
from sscard_issuer.cli.common import card_algorithm, err, plain_errors, show_reading
from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys import DevKeyStore
from sscard_issuer.sim.make_card import make_blank_card
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.sim.vpcd import DEBIAN_VPCD_READERS, VpcdLink
from sscard_issuer.transport import InProcessTransport, PcscTransport, Transport, wait_for_reader_state
from sscard_issuer.transport.pcscd import Pcscd

SAMPLE_BANK_PAN = "6217000000000000004"  # a Luhn-valid UnionPay-style test PAN


def sample_applicant() -> Applicant:
    """The sample applicant as a ready-made card holds it (``sscard sim make-card``)."""
    return Applicant.from_json(_sample())


def sample_application() -> dict[str, Any]:
    """The sample applicant as an application for personalisation: no allocated fields."""
    from sscard_issuer.perso.prepare import ALLOCATED_FIELDS

    return {**{k: v for k, v in _sample().items() if k not in ALLOCATED_FIELDS}, "bank_pan": SAMPLE_BANK_PAN}


def _sample() -> dict[str, Any]:
    text = resources.files("sscard_issuer.data").joinpath("sample_applicant.json").read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def demo(
    out: Annotated[Path | None, typer.Option(help="Folder for the card image, registry and reading.")] = None,
    algorithm: Annotated[str, typer.Option(help="SM4 (profile ssc3-sm4) or 3DES (profile ssc2-3des).")] = "SM4",
    in_process: Annotated[bool, typer.Option(help="Skip PC/SC: talk to the simulated card directly.")] = False,
    reader: Annotated[str, typer.Option(help="vpcd reader to use.")] = "Virtual PCD 00 00",
) -> None:
    """Personalise a blank simulated card for the sample applicant through PC/SC, then read it."""
    from sscard_issuer.perso import Personaliser, load_profile  # the heavy stack: here only
    from sscard_issuer.perso.wiring import application_hooks
    from sscard_issuer.registry import Registry

    with plain_errors():
        alg = card_algorithm(algorithm)
    folder = out or Path(tempfile.mkdtemp(prefix="sscard-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    profile = load_profile("ssc3-sm4" if alg is Algorithm.SM4 else "ssc2-3des")
    keys = DevKeyStore.default()

    def say(line: str) -> None:
        err.print(line, markup=False)

    with plain_errors(), ExitStack() as stack:
        image = make_blank_card(algorithm=alg, keys=keys, out=folder / "card.json")
        say(f"1. blank {alg.value} card made -> {image.path}")
        card = SimulatedCard(image)
        transport: Transport
        if in_process:
            transport = stack.enter_context(InProcessTransport(card))
        else:
            pcscd = Pcscd.ensure()
            stack.callback(pcscd.close)
            wait_for_reader_state(reader, present=False)
            link = stack.enter_context(VpcdLink(card, port=DEBIAN_VPCD_READERS[reader]))
            link.wait_connected(timeout=10)
            wait_for_reader_state(reader, present=True)
            say(f"2. card inserted in {reader!r} (pcscd {'started' if pcscd.owned else 'running'})")
            transport = stack.enter_context(PcscTransport(reader, card_timeout=10))
        registry = Registry(f"sqlite:///{folder / 'registry.sqlite3'}")
        stack.callback(registry.close)
        pki, bank = application_hooks(keys, ca_dir=None)
        say(f"3. personalising with profile {profile.name}:")
        started = time.perf_counter()
        outcome = Personaliser(registry, keys, pki=pki, bank=bank, progress=lambda line: say("   " + line)
                               ).personalise(transport, sample_application(), profile)
        seconds = time.perf_counter() - started
        say(f"   done in {seconds * 1000:.0f} ms, {outcome.apdus} APDUs (read-back included)")
        started = time.perf_counter()
        reading = read_card(transport, keys)
        count = transport.apdu_count
    read_ms = (time.perf_counter() - started) * 1000
    (folder / "reading.json").write_text(json.dumps(reading.to_json(), ensure_ascii=False, indent=2) + "\n")
    say(f"4. read like a national terminal in {read_ms:.1f} ms; {count} APDUs in all; saved {folder / 'reading.json'}")
    show_reading(reading, as_json=False)
