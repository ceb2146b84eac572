"""What several commands share: opening the key store, printing a card, running with errors shown."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sscard_issuer.card.reader import CardReading
from sscard_issuer.cli.errors import EXIT_NOT_GENUINE, describe_failure
from sscard_issuer.cli.messages import text
from sscard_issuer.crypto import Algorithm
from sscard_issuer.errors import FieldError, SscardError
from sscard_issuer.keys import DevKeyStore, KeyStore, Pkcs11KeyStore
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.transport import ApduTrace, InProcessTransport, PcscTransport, Transport

T = TypeVar("T")
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def card_algorithm(name: str) -> Algorithm:
    """The --algorithm option: a social security card uses SM4 (third generation) or 3DES."""
    try:
        return {"SM4": Algorithm.SM4, "3DES": Algorithm.DES3}[name.upper()]
    except KeyError:
        raise FieldError("algorithm", "SM4 or 3DES", name) from None


def open_key_store(keyset: Path | None, pkcs11_module: str | None, token_label: str | None) -> KeyStore:
    """The development key set by default; a PKCS#11 token when a module is named.

    The token PIN comes from SSCARD_TOKEN_PIN, never from the command line (process lists show
    arguments). SM4 masters stay with the development key set: SoftHSM2 has no SM4.
    """
    dev = DevKeyStore(keyset) if keyset is not None else DevKeyStore.default()
    if pkcs11_module is None:
        return dev
    pin = os.environ.get("SSCARD_TOKEN_PIN")
    if not pin:
        raise typer.BadParameter("set SSCARD_TOKEN_PIN to the token's user PIN", param_hint="--pkcs11-module")
    return Pkcs11KeyStore(pkcs11_module, token_label or "sscard", pin, fallback=dev)


def open_transport(
    reader: str | None,
    image: Path | None,
    *,
    trace: bool = False,
    card_timeout: float = 5.0,
    transmit_timeout: float | None = 5.0,
) -> Transport:
    """``--image``: a simulated card image in this process; otherwise the card in a PC/SC reader.

    ``trace`` prints the APDU trace (PINs and keys redacted) on stderr.
    """
    apdu_trace = ApduTrace(sink=lambda line: err.print(line, markup=False, soft_wrap=True)) if trace else None
    if image is not None:
        return InProcessTransport(SimulatedCard(CardImage.load(image)), trace=apdu_trace)
    return PcscTransport(reader, card_timeout=card_timeout, transmit_timeout=transmit_timeout, trace=apdu_trace)


@contextmanager
def plain_errors(context: str | None = None) -> Iterator[None]:
    """Print a known error as headline + detail and exit with its code; let bugs through."""
    try:
        yield
    except SscardError as error:
        failure = describe_failure(error, context=context)
        err.print(f"[bold red]{escape(failure.headline)}[/]: {escape(failure.detail)}")
        raise typer.Exit(failure.exit_code) from None


def run(action: Callable[[], T], context: str | None = None) -> T:
    with plain_errors(context):
        return action()


def show_reading(reading: CardReading, *, as_json: bool) -> None:
    """Print what was read; exit 3 when the card is not genuine (after saying so)."""
    doc = reading.to_json()
    if as_json:
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        out.print(reading_table(doc))
    if not reading.genuine:
        err.print(f"[bold red]{text('not_genuine')}[/]")
        raise typer.Exit(EXIT_NOT_GENUINE)


def reading_table(doc: dict[str, Any]) -> Table:
    table = Table(title=text("card_title"), show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in doc.items():
        if key == "sex" and value is not None:
            value = text("male") if value == "1" else text("female")
        elif key == "genuine":
            value = text("yes") if value else f"[red]{text('no')}[/]"
        else:  # what the card holds is shown as it is, never read as console markup
            value = None if value is None else escape(str(value))
        table.add_row(text(key), "—" if value is None else str(value))
    return table
