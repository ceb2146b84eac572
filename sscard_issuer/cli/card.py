"""``sscard card ...``: read a card in a reader (or a card image in-process), list readers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sscard_issuer.card.reader import PinError, read_card
from sscard_issuer.cli import pin
from sscard_issuer.cli.common import err, open_key_store, open_transport, out, plain_errors, show_reading
from sscard_issuer.transport.pcsc import list_readers

app = typer.Typer(help="Read social security cards. 读取社会保障卡。", no_args_is_help=True)

KeysetOpt = Annotated[Path | None, typer.Option(help="Development key set file (TEST ONLY).")]
ModuleOpt = Annotated[
    str | None, typer.Option("--pkcs11-module", help="PKCS#11 module; the PIN comes from SSCARD_TOKEN_PIN.")
]
TokenOpt = Annotated[str | None, typer.Option("--token-label", help="PKCS#11 token label.")]


def read_pin() -> str:
    """The holder's PIN from a hidden prompt, or the first line of standard input when piped."""
    if sys.stdin.isatty():
        return str(typer.prompt("PIN / 密码", hide_input=True))
    line = sys.stdin.readline().strip()
    if not line:
        raise PinError("no PIN on standard input")
    return line


@app.command("read")
def read(
    reader: Annotated[str | None, typer.Option(help="Reader name; default: the first with a card.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    image: Annotated[
        Path | None, typer.Option(help="Read a simulated card image in-process instead of a reader.")
    ] = None,
    verify_pin: Annotated[bool, typer.Option("--verify-pin", help="Ask for the holder's PIN and verify it first.")] = False,
    card_timeout: Annotated[float, typer.Option(help="Seconds to wait for a card.")] = 5.0,
    transmit_timeout: Annotated[float, typer.Option(help="Seconds one APDU may take.")] = 5.0,
    trace: Annotated[bool, typer.Option(help="Print the APDU trace (PINs redacted) on stderr.")] = False,
    keyset: KeysetOpt = None,
    pkcs11_module: ModuleOpt = None,
    token_label: TokenOpt = None,
) -> None:
    """Read the card as a national terminal does: genuine-card check, then the basic data."""
    with plain_errors():
        pin = read_pin() if verify_pin else None
        keys = open_key_store(keyset, pkcs11_module, token_label)
        transport = open_transport(reader, image, trace=trace, card_timeout=card_timeout,
                                   transmit_timeout=transmit_timeout)
    with plain_errors(), keys, transport:
        reading = read_card(transport, keys, pin=pin)
    show_reading(reading, as_json=as_json)


@app.command("readers")
def readers() -> None:
    """List the PC/SC readers."""
    with plain_errors():
        names = list_readers()
    for name in names:
        out.print(name, markup=False)
    if not names:
        err.print("no readers / 没有读卡器")


app.add_typer(pin.app, name="pin")
