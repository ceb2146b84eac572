"""``sscard demo``: the main job on the embedded defaults, end to end.

For now (issue 2): make a card for the sample applicant, put it into a vpcd reader behind the real
pcscd (started here if it is not running), and read it through PC/SC as a national terminal does.
"""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from sscard_issuer.card import Applicant
from sscard_issuer.card.reader import read_card
from sscard_issuer.cli.common import card_algorithm, err, plain_errors, show_reading
from sscard_issuer.keys import DevKeyStore
from sscard_issuer.sim.make_card import make_card
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.sim.vpcd import DEBIAN_VPCD_READERS, VpcdLink
from sscard_issuer.transport.base import Transport
from sscard_issuer.transport.inprocess import InProcessTransport
from sscard_issuer.transport.pcsc import PcscTransport, wait_for_reader_state
from sscard_issuer.transport.pcscd import Pcscd


def sample_applicant() -> Applicant:
    doc = json.loads(resources.files("sscard_issuer.data").joinpath("sample_applicant.json").read_text("utf-8"))
    return Applicant.from_json(doc)


def demo(
    out: Annotated[Path | None, typer.Option(help="Folder for the card image and the reading.")] = None,
    algorithm: Annotated[str, typer.Option(help="SM4 or 3DES.")] = "SM4",
    in_process: Annotated[bool, typer.Option(help="Skip PC/SC: talk to the simulated card directly.")] = False,
    reader: Annotated[str, typer.Option(help="vpcd reader to use.")] = "Virtual PCD 00 00",
) -> None:
    """Make a simulated card for the sample applicant and read it through PC/SC."""
    with plain_errors():
        alg = card_algorithm(algorithm)
    folder = out or Path(tempfile.mkdtemp(prefix="sscard-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    keys = DevKeyStore.default()
    with plain_errors():
        applicant = sample_applicant()
        image = make_card(applicant, algorithm=alg, keys=keys, out=folder / "card.json")
        err.print(f"1. card made for {applicant.name} ({alg.value}) -> {image.path}", markup=False)
        card = SimulatedCard(image)
        with ExitStack() as stack:
            transport: Transport
            if in_process:
                transport = stack.enter_context(InProcessTransport(card))
            else:
                pcscd = Pcscd.ensure()
                stack.callback(pcscd.close)
                link = stack.enter_context(VpcdLink(card, port=DEBIAN_VPCD_READERS[reader]))
                link.wait_connected(timeout=10)
                wait_for_reader_state(reader, present=True)
                state = "started" if pcscd.owned else "running"
                err.print(f"2. card inserted in {reader!r} (pcscd {state})", markup=False)
                transport = stack.enter_context(PcscTransport(reader, card_timeout=10))
            started = time.perf_counter()
            reading = read_card(transport, keys)
            count = transport.apdu_count
    seconds = time.perf_counter() - started
    (folder / "reading.json").write_text(json.dumps(reading.to_json(), ensure_ascii=False, indent=2) + "\n")
    err.print(f"3. read in {seconds * 1000:.1f} ms, {count} APDUs; saved {folder / 'reading.json'}", markup=False)
    show_reading(reading, as_json=False)
