"""``sscard sim ...``: simulated cards for testers (make one, put it in a vpcd reader), and a
simulated Evolis card printer whose contact station is a vpcd reader."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from sscard_issuer.card import Applicant
from sscard_issuer.cli.common import card_algorithm, err, plain_errors
from sscard_issuer.errors import FieldError
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.make_card import DEFAULT_BLANK_AREA, make_blank_card, make_card
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.sim.vpcd import DEFAULT_HOST, DEFAULT_PORT, Faults, VpcdLink

app = typer.Typer(help="Simulated cards and card printer for testing. 模拟卡与模拟制卡机（测试用）。", no_args_is_help=True)

DEFAULT_PRINTER_PORT = 9100  # the Evolis TCP port is not documented publicly: a setting everywhere


def load_applicant(path: Path) -> Applicant:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FieldError("applicant", f"a JSON file at {path}") from None
    except ValueError as exc:
        raise FieldError("applicant", f"valid JSON in {path} ({exc})") from None
    return Applicant.from_json(doc)


@app.command("make-card")
def make_card_command(
    out: Annotated[Path, typer.Option(help="Card image file to write.")],
    applicant: Annotated[Path | None, typer.Option(help="Applicant JSON (see README).")] = None,
    blank: Annotated[bool, typer.Option(help="A blank card, to be personalised (sscard card personalise).")] = False,
    area_code: Annotated[str, typer.Option(help="With --blank: the city the blank stock is made for.")] = DEFAULT_BLANK_AREA,
    algorithm: Annotated[str, typer.Option(help="SM4 (third generation) or 3DES.")] = "SM4",
    serial: Annotated[str | None, typer.Option(help="8-byte card serial, 16 hex digits; random if absent.")] = None,
    bank_pan: Annotated[str | None, typer.Option(help="Give the card a bank application with this PAN.")] = None,
    counterfeit: Annotated[bool, typer.Option(help="Make a card whose internal authentication key is wrong.")] = False,
    locked: Annotated[bool, typer.Option(help="Make a card whose social security application is locked.")] = False,
) -> None:
    """Build a personalised card image directly (no APDUs), or with --blank a blank card.

    Keys come from the development key set (TEST ONLY).
    """
    with plain_errors():
        alg = card_algorithm(algorithm)
        serial_bytes = None
        if serial is not None:
            try:
                serial_bytes = bytes.fromhex(serial)
            except ValueError:
                serial_bytes = b""
            if len(serial_bytes) != 8:
                raise FieldError("serial", "16 hex digits", serial)
        if blank:
            if applicant is not None or bank_pan or counterfeit or locked:
                raise FieldError("blank", "no --applicant, --bank-pan, --counterfeit or --locked with --blank")
            image = make_blank_card(algorithm=alg, area_code=area_code, serial=serial_bytes, out=out)
            err.print(f"blank card image written to {out} (ATR {image.atr.hex().upper()})", markup=False)
            return
        if applicant is None:
            raise FieldError("applicant", "an applicant JSON file (or --blank)")
        who = load_applicant(applicant)  # its errors name their own fields
        try:
            image = make_card(
                who, algorithm=alg, serial=serial_bytes, bank_pan=bank_pan,
                counterfeit=counterfeit, locked=locked, out=out,
            )
        except ValueError as exc:
            if isinstance(exc, FieldError):
                raise
            raise FieldError("bank_pan", str(exc)) from None
    err.print(f"card image written to {out} (ATR {image.atr.hex().upper()})", markup=False)


@app.command("card")
def card(
    image: Annotated[Path, typer.Option(help="Card image file (kept up to date as the card is written).")],
    port: Annotated[int, typer.Option(help="vpcd port: 35963 is 'Virtual PCD 00 00', 35964 '00 01'.")] = DEFAULT_PORT,
    host: Annotated[str, typer.Option(help="Host where vpcd (pcscd) listens.")] = DEFAULT_HOST,
    mute: Annotated[bool, typer.Option(help="Fault: never answer an APDU.")] = False,
    delay: Annotated[float, typer.Option(help="Fault: seconds to wait before each answer.")] = 0.0,
    remove_after: Annotated[int | None, typer.Option(help="Fault: leave the reader after N APDUs.")] = None,
    durable: Annotated[bool, typer.Option(help="fsync every update (survives a host crash, slower).")] = False,
) -> None:
    """Put a simulated card into a vpcd reader and serve it until interrupted."""
    with plain_errors():
        sim_card = SimulatedCard(CardImage.load(image, durable=durable))
        faults = Faults(mute=mute, delay=delay, remove_after=remove_after)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with VpcdLink(sim_card, host=host, port=port, faults=faults) as link:
        try:
            link.wait_connected(timeout=10)
        except TimeoutError as exc:
            err.print(f"[bold red]vpcd[/]: {exc}; is pcscd running with vsmartcard-vpcd installed?")
            raise typer.Exit(5) from None
        err.print(f"card inserted at vpcd {host}:{port}; Ctrl-C removes it", markup=False)
        stop.wait()


@app.command("printer")
def printer(
    port: Annotated[int, typer.Option(help="TCP port the simulated printer listens on.")] = DEFAULT_PRINTER_PORT,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = DEFAULT_HOST,
    encoder_port: Annotated[int, typer.Option(help="vpcd port of the contact station's reader (35963: 'Virtual PCD 00 00').")] = DEFAULT_PORT,
    encoder_host: Annotated[str, typer.Option(help="Host where vpcd (pcscd) listens.")] = DEFAULT_HOST,
    blanks: Annotated[int, typer.Option(help="Blank cards in the feeder.")] = 100,
    ribbon: Annotated[int, typer.Option(help="Prints left on the ribbon.")] = 250,
    reject_capacity: Annotated[int, typer.Option(help="Cards the reject box holds.")] = 50,
    out: Annotated[Path | None, typer.Option(help="Directory for printed faces (prints/) and cards that left (cards/).")] = None,
    move_seconds: Annotated[float, typer.Option(help="Seconds a card move takes.")] = 1.0,
    print_seconds: Annotated[float, typer.Option(help="Seconds printing a face takes.")] = 20.0,
) -> None:
    """Run a simulated Evolis printer: cards taken to its contact station appear in a vpcd reader."""
    from sscard_issuer.sim.printer import PrinterSimulator, VpcdEncoder  # Pillow: only for this command
    from sscard_issuer.sim.printer_machine import Timings

    with plain_errors():
        for name, value in (("blanks", blanks), ("ribbon", ribbon), ("reject_capacity", reject_capacity)):
            if value < 0:
                raise FieldError(name, "a count >= 0", value)
        for name, seconds in (("move_seconds", move_seconds), ("print_seconds", print_seconds)):
            if seconds < 0:
                raise FieldError(name, "seconds >= 0", seconds)
        timings = Timings(move_seconds=move_seconds, print_seconds=print_seconds)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    simulator = PrinterSimulator(
        blanks=blanks, ribbon=ribbon, reject_capacity=reject_capacity, timings=timings, out=out,
        encoder=VpcdEncoder(encoder_host, encoder_port), host=host, port=port,
    )
    try:
        simulator.start()
    except OSError as exc:
        err.print(f"[bold red]printer[/]: cannot listen on {host}:{port}: {exc}", markup=True)
        raise typer.Exit(5) from None
    with simulator:
        err.print(
            f"simulated printer on {host}:{simulator.port} ({blanks} blanks, ribbon {ribbon}); "
            f"contact station at vpcd {encoder_host}:{encoder_port}; Ctrl-C stops",
            markup=False,
        )
        stop.wait()
