"""``sscard gp ...``: the card manager for card engineers, in the manner of GlobalPlatformPro.

Every command selects the issuer security domain, opens a secure channel (SCP02 or SCP03 at the
chosen level) and works through it. Keys: the GlobalPlatform test key 404142...4F by default,
``--key-file`` (JSON, never keys on the command line) or ``--dev-kmc`` (the development key
set's KMC, diversified for the card with ``--diversify``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from sscard_issuer.apdu import ApduFormatError, CommandApdu, describe
from sscard_issuer.card import ssc
from sscard_issuer.channel import (
    ChannelError,
    ChannelUsageError,
    CpsError,
    DiversificationTemplate,
    Scp,
    SecurityLevel,
    StaticKeys,
    diversify,
)
from sscard_issuer.cli.common import err, open_transport, out, plain_errors
from sscard_issuer.cli.errors import EXIT_CARD, EXIT_INPUT
from sscard_issuer.cli.messages import language, text
from sscard_issuer.crypto import Algorithm
from sscard_issuer.errors import FieldError
from sscard_issuer.gp import GpClient, KeySource
from sscard_issuer.keys import DevKeyStore
from sscard_issuer.transport.base import Transport

GP_TEST_KEY = bytes.fromhex("404142434445464748494A4B4C4D4E4F")
KNOWN_AIDS = {app.path[0]: app.name for app in ssc.APPLICATIONS}

app = typer.Typer(
    help="GlobalPlatform card manager: secure channels, applications, APDUs. 卡片管理器（GlobalPlatform）。 "
         "Keys default to the GlobalPlatform test key 404142...4F (ENC = MAC = DEK); see --key-file and --dev-kmc.",
    no_args_is_help=True,
)

ReaderOpt = Annotated[str | None, typer.Option(help="Reader name; default: the first with a card.")]
ImageOpt = Annotated[Path | None, typer.Option(help="Work on a simulated card image in-process instead.")]
ScpOpt = Annotated[str, typer.Option("--scp", help="Secure channel protocol: 02 (3DES) or 03 (AES).")]
LevelOpt = Annotated[str, typer.Option(
    help="Security level (hex): 1 C-MAC, 3 +C-DEC, 11 C-MAC+R-MAC, 13 +C-DEC, 33 all (SCP03 only).")]
DevKmcOpt = Annotated[bool, typer.Option(
    "--dev-kmc", help="Keys: the development KMC (TEST ONLY) diversified for the card.")]
DiversifyOpt = Annotated[str | None, typer.Option(
    "--diversify",
    help="Diversification: emv, visa2, kdf3 or none. Default with --dev-kmc: emv (SCP02), kdf3 (SCP03); "
         "otherwise none.")]
KeyFileOpt = Annotated[Path | None, typer.Option(
    help='Keys: a JSON file {"enc": hex, "mac": hex, "dek": hex}, or {"kmc": hex} to diversify. '
         "Without --key-file and --dev-kmc the GlobalPlatform test key 404142...4F is used for all three.")]
KeysetOpt = Annotated[Path | None, typer.Option(help="Development key set file for --dev-kmc (TEST ONLY).")]
KeyVersionOpt = Annotated[str, typer.Option(help="Key version (hex) for INITIALIZE UPDATE; 00: the card's default.")]
TraceOpt = Annotated[bool, typer.Option(help="Print the APDU trace (wrapped APDUs) on stderr.")]


def _headline(zh: str, en: str) -> str:
    return en if language() == "en" else zh


@contextmanager
def channel_errors() -> Iterator[None]:
    """Secure channel and CPS failures in plain words; everything else goes on to plain_errors."""
    try:
        yield
    except (ChannelUsageError, CpsError) as error:
        err.print(f"[bold red]{text('bad_input')}[/]: {escape(str(error))}")
        raise typer.Exit(EXIT_INPUT) from None
    except ChannelError as error:
        headline = _headline("安全通道失败", "secure channel failed")
        err.print(f"[bold red]{headline}[/]: {escape(str(error))}")
        raise typer.Exit(EXIT_CARD) from None


def _algorithm(scp: Scp) -> Algorithm:
    return Algorithm.DES3 if scp is Scp.SCP02 else Algorithm.AES


def _read_key_file(path: Path) -> dict[str, bytes]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FieldError("key_file", f"a readable JSON file ({exc.strerror})") from None
    except ValueError:
        raise FieldError("key_file", f"valid JSON in {path}") from None
    if not isinstance(doc, dict) or not (set(doc) == {"enc", "mac", "dek"} or set(doc) == {"kmc"}):
        raise FieldError("key_file", 'an object with "enc", "mac" and "dek", or with "kmc"')
    try:
        return {name: bytes.fromhex(value) for name, value in doc.items()}
    except (TypeError, ValueError):
        raise FieldError("key_file", "hex strings as key values") from None  # never echo key material


def key_source(
    scp: Scp, *, dev_kmc: bool, diversification: str | None, key_file: Path | None, keyset: Path | None
) -> KeySource:
    """What ``open`` is given: fixed keys, or a function of the card's diversification data."""
    alg = _algorithm(scp)
    if dev_kmc and key_file is not None:
        raise FieldError("keys", "--dev-kmc or --key-file, not both")
    if dev_kmc:
        default = DiversificationTemplate.EMV if scp is Scp.SCP02 else DiversificationTemplate.KDF3
        template = DiversificationTemplate.parse(diversification) if diversification else default
        store = DevKeyStore(keyset) if keyset is not None else DevKeyStore.default()
        return lambda kdd: store.gp_static_keys(alg, template.value, kdd)
    template = DiversificationTemplate.parse(diversification or "none")
    loaded = _read_key_file(key_file) if key_file is not None else {"kmc": GP_TEST_KEY}
    if "kmc" not in loaded:
        if template is not DiversificationTemplate.NONE:
            raise FieldError("diversify", 'none with separate keys (or give {"kmc": ...} to diversify)')
        return StaticKeys(loaded["enc"], loaded["mac"], loaded["dek"], alg)
    master = loaded["kmc"]
    if template is DiversificationTemplate.NONE:
        return StaticKeys.single(master, alg)
    return lambda kdd: diversify(template, master, kdd, algorithm=alg)


def _session_options(scp_text: str, level_text: str, key_version_text: str) -> tuple[Scp, SecurityLevel, int]:
    scp = Scp.parse(scp_text)
    level = SecurityLevel.parse(level_text)
    try:
        key_version = int(key_version_text, 16)
    except ValueError:
        raise FieldError("key_version", "a hex byte such as 00, 20 or 30", key_version_text) from None
    return scp, level, key_version


def _open(transport: Transport, scp: Scp, level: SecurityLevel, key_version: int, keys: KeySource) -> GpClient:
    gp = GpClient(transport)
    gp.select_isd()
    gp.open(keys, scp, level, key_version=key_version)
    return gp


@app.command("list")
def list_applications(
    reader: ReaderOpt = None,
    image: ImageOpt = None,
    scp: ScpOpt = "03",
    level: LevelOpt = "1",
    dev_kmc: DevKmcOpt = False,
    diversify_: DiversifyOpt = None,
    key_file: KeyFileOpt = None,
    keyset: KeysetOpt = None,
    key_version: KeyVersionOpt = "00",
    trace: TraceOpt = False,
) -> None:
    """List the security domain and the applications (GET STATUS through the secure channel)."""
    with plain_errors(), channel_errors():
        protocol, security, version = _session_options(scp, level, key_version)
        keys = key_source(protocol, dev_kmc=dev_kmc, diversification=diversify_, key_file=key_file, keyset=keyset)
        transport = open_transport(reader, image, trace=trace)
        with transport:
            gp = _open(transport, protocol, security, version, keys)
            entries = gp.list_applications()
            gp.close()
    for entry in entries:
        kind = "ISD" if entry.kind.name == "ISSUER_SECURITY_DOMAIN" else "APP"
        name = KNOWN_AIDS.get(entry.aid, "")
        privileges = entry.privileges.hex().upper() or "-"
        out.print(f"{kind}: {entry.aid.hex().upper()} ({entry.life_cycle_name}) privileges {privileges}"
                  + (f" {name}" if name else ""), markup=False, soft_wrap=True)


@app.command("apdu")
def apdu(
    apdus: Annotated[list[str], typer.Argument(help="Command APDUs in hex, sent in order through the channel.")],
    reader: ReaderOpt = None,
    image: ImageOpt = None,
    scp: ScpOpt = "03",
    level: LevelOpt = "1",
    dev_kmc: DevKmcOpt = False,
    diversify_: DiversifyOpt = None,
    key_file: KeyFileOpt = None,
    keyset: KeysetOpt = None,
    key_version: KeyVersionOpt = "00",
    trace: TraceOpt = False,
) -> None:
    """Send APDUs through the secure channel; print each unwrapped answer and its status word."""
    with plain_errors(), channel_errors():
        commands = []
        for index, hex_text in enumerate(apdus, start=1):
            try:
                commands.append(CommandApdu.decode(bytes.fromhex(hex_text)))
            except (ValueError, ApduFormatError):
                raise FieldError(f"apdu {index}", "a command APDU in hex", hex_text) from None
        protocol, security, version = _session_options(scp, level, key_version)
        keys = key_source(protocol, dev_kmc=dev_kmc, diversification=diversify_, key_file=key_file, keyset=keyset)
        transport = open_transport(reader, image, trace=trace)
        with transport:
            gp = _open(transport, protocol, security, version, keys)
            for command in commands:
                response = gp.send(command)
                data = response.data.hex().upper()
                out.print(f"{data + ' ' if data else ''}{response.sw:04X} {describe(response.sw)}",
                          markup=False, soft_wrap=True)
            gp.close()
