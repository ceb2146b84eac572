"""``sscard keys ...``: what a key store holds, shown by check value only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sscard_issuer.cli.common import open_key_store, out, plain_errors
from sscard_issuer.keys import KeyClass

app = typer.Typer(help="Key store. 密钥库。", no_args_is_help=True)


@app.command("list")
def list_keys(
    keyset: Annotated[Path | None, typer.Option(help="Development key set file (TEST ONLY).")] = None,
    pkcs11_module: Annotated[str | None, typer.Option("--pkcs11-module")] = None,
    token_label: Annotated[str | None, typer.Option("--token-label")] = None,
) -> None:
    """List the master keys with their check values (never the keys)."""
    with plain_errors():
        store = open_key_store(keyset, pkcs11_module, token_label)
        table = Table("class", "algorithm", "version", "KCV", title=repr(store))
        with store:
            for key_class in KeyClass:
                for alg in key_class.algorithms:
                    if store.has(key_class, alg):
                        kcv = store.check_value(key_class, alg).hex().upper()
                        table.add_row(key_class.value, alg.value, "1", kcv)
    out.print(table)
