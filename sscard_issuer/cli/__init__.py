"""The ``sscard`` command. Sub-commands live one module each; errors become plain words here."""

from __future__ import annotations

import typer

from sscard_issuer.cli import card, demo, gp, keys, perso, sim

app = typer.Typer(
    help="sscard-issuer: social security cards and their electronic twin. 社会保障卡发卡工具。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
card.app.command("personalise")(perso.personalise)
card.app.command("profiles")(perso.profiles)
app.add_typer(card.app, name="card")
app.add_typer(sim.app, name="sim")
app.add_typer(keys.app, name="keys")
app.add_typer(gp.app, name="gp")
app.command("demo")(demo.demo)


def main() -> None:
    app()
