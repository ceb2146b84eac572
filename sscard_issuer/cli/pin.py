"""``sscard card pin verify|change|reset|unblock``: the holder's PIN, at a terminal or an outlet.

PINs come from a hidden prompt when standard input is a terminal, else one per line from standard
input; never from the command line, which process lists show. Every PIN is checked (form, the
two entries of a new PIN, not the initial PIN, not the current one) before the card is touched.
After each operation the card's retry counter is shown.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from sscard_issuer.card.pin import (
    CardNotGenuine,
    PinPolicy,
    change,
    check_change,
    check_pin,
    confirm_new_pin,
    open_session,
    reset,
    tries_left,
    unblock,
    verify,
)
from sscard_issuer.card.reader import PinError, SsseSession
from sscard_issuer.cli.common import err, open_key_store, open_transport, out, plain_errors
from sscard_issuer.cli.errors import EXIT_NOT_GENUINE
from sscard_issuer.cli.messages import text

app = typer.Typer(
    help="The holder's PIN: verify, change, reset, unblock. 个人密码：校验、修改、重置、解锁。",
    no_args_is_help=True,
)

ReaderOpt = Annotated[str | None, typer.Option(help="Reader name; default: the first with a card.")]
ImageOpt = Annotated[Path | None, typer.Option(help="Use a simulated card image in-process instead of a reader.")]
CardTimeoutOpt = Annotated[float, typer.Option(help="Seconds to wait for a card.")]
TransmitTimeoutOpt = Annotated[float, typer.Option(help="Seconds one APDU may take.")]
TraceOpt = Annotated[bool, typer.Option(help="Print the APDU trace (PINs redacted) on stderr.")]
KeysetOpt = Annotated[Path | None, typer.Option(help="Development key set file (TEST ONLY).")]
ModuleOpt = Annotated[
    str | None, typer.Option("--pkcs11-module", help="PKCS#11 module; the PIN comes from SSCARD_TOKEN_PIN.")
]
TokenOpt = Annotated[str | None, typer.Option("--token-label", help="PKCS#11 token label.")]


def read_pins(*prompts: str) -> list[str]:
    """One PIN per message key in ``prompts``: hidden prompts on a terminal, else stdin lines."""
    pins: list[str] = []
    for key in prompts:
        if sys.stdin.isatty():
            pins.append(str(typer.prompt(text(key), hide_input=True)))
            continue
        line = sys.stdin.readline().strip()
        if not line:
            raise PinError(f"{text(key, 'en')}: missing on standard input (one PIN per line)")
        pins.append(line)
    return pins


def _run(
    operation: Callable[[SsseSession], None],
    done: str,
    *,
    reader: str | None,
    image: Path | None,
    card_timeout: float,
    transmit_timeout: float,
    trace: bool,
    keyset: Path | None,
    pkcs11_module: str | None,
    token_label: str | None,
) -> None:
    """Open the key store and the card, run ``operation``, then show the tries left."""
    with plain_errors():
        keys = open_key_store(keyset, pkcs11_module, token_label)
        transport = open_transport(reader, image, trace=trace, card_timeout=card_timeout,
                                   transmit_timeout=transmit_timeout)
    with plain_errors(), keys, transport:
        try:
            session = open_session(transport, keys)
        except CardNotGenuine as exc:
            err.print(f"[bold red]{text('not_genuine')}[/]: {escape(str(exc))}")
            raise typer.Exit(EXIT_NOT_GENUINE) from None
        operation(session)
        tries = tries_left(session)
    out.print(text(done))
    out.print(text("pin_tries", tries=tries))


@app.command("verify")
def verify_command(
    reader: ReaderOpt = None,
    image: ImageOpt = None,
    card_timeout: CardTimeoutOpt = 5.0,
    transmit_timeout: TransmitTimeoutOpt = 5.0,
    trace: TraceOpt = False,
    keyset: KeysetOpt = None,
    pkcs11_module: ModuleOpt = None,
    token_label: TokenOpt = None,
) -> None:
    """Verify the holder's PIN (a wrong one costs a try)."""
    with plain_errors():
        (pin,) = read_pins("pin_prompt")
        check_pin(pin)
    _run(lambda session: verify(session, pin), "pin_verified", reader=reader, image=image,
         card_timeout=card_timeout, transmit_timeout=transmit_timeout, trace=trace, keyset=keyset,
         pkcs11_module=pkcs11_module, token_label=token_label)


@app.command("change")
def change_command(
    reader: ReaderOpt = None,
    image: ImageOpt = None,
    card_timeout: CardTimeoutOpt = 5.0,
    transmit_timeout: TransmitTimeoutOpt = 5.0,
    trace: TraceOpt = False,
    keyset: KeysetOpt = None,
    pkcs11_module: ModuleOpt = None,
    token_label: TokenOpt = None,
) -> None:
    """Change the PIN: the current one, then the new one twice (not the initial PIN)."""
    policy = PinPolicy()
    with plain_errors():
        old, first, second = read_pins("pin_prompt_old", "pin_prompt_new", "pin_prompt_again")
        new = confirm_new_pin(first, second)
        check_change(old, new, policy)
    _run(lambda session: change(session, old, new, policy), "pin_changed", reader=reader, image=image,
         card_timeout=card_timeout, transmit_timeout=transmit_timeout, trace=trace, keyset=keyset,
         pkcs11_module=pkcs11_module, token_label=token_label)


@app.command("reset")
def reset_command(
    reader: ReaderOpt = None,
    image: ImageOpt = None,
    card_timeout: CardTimeoutOpt = 5.0,
    transmit_timeout: TransmitTimeoutOpt = 5.0,
    trace: TraceOpt = False,
    keyset: KeysetOpt = None,
    pkcs11_module: ModuleOpt = None,
    token_label: TokenOpt = None,
) -> None:
    """Reset a forgotten or locked PIN with the reload key; the holder, present, enters it twice."""
    policy = PinPolicy()
    with plain_errors():
        first, second = read_pins("pin_prompt_new", "pin_prompt_again")
        new = confirm_new_pin(first, second)
        policy.check_new(new)
    _run(lambda session: reset(session, new, policy), "pin_reset", reader=reader, image=image,
         card_timeout=card_timeout, transmit_timeout=transmit_timeout, trace=trace, keyset=keyset,
         pkcs11_module=pkcs11_module, token_label=token_label)


@app.command("unblock")
def unblock_command(
    reader: ReaderOpt = None,
    image: ImageOpt = None,
    card_timeout: CardTimeoutOpt = 5.0,
    transmit_timeout: TransmitTimeoutOpt = 5.0,
    trace: TraceOpt = False,
    keyset: KeysetOpt = None,
    pkcs11_module: ModuleOpt = None,
    token_label: TokenOpt = None,
) -> None:
    """Restore the retry counter of a locked PIN with the unblock key; the PIN stays as it was."""
    _run(unblock, "pin_unblocked", reader=reader, image=image, card_timeout=card_timeout,
         transmit_timeout=transmit_timeout, trace=trace, keyset=keyset,
         pkcs11_module=pkcs11_module, token_label=token_label)
