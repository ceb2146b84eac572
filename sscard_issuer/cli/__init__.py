"""The ``sscard`` command. Sub-commands live one module each; errors become plain words here."""

from __future__ import annotations

import typer

from sscard_issuer.cli import (
    apply,
    audit,
    batch,
    card,
    demo,
    ecard,
    gp,
    instant,
    keys,
    lifecycle,
    perso,
    sim,
    staff,
    stock,
)

app = typer.Typer(
    help="sscard-issuer: social security cards and their electronic twin. 社会保障卡发卡工具。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
card.app.command("personalise")(perso.personalise)
card.app.command("profiles")(perso.profiles)
lifecycle.register(card.app)
app.add_typer(card.app, name="card")
app.command("apply")(apply.apply)
app.add_typer(batch.app, name="batch")
app.add_typer(apply.person_app, name="person")
app.add_typer(staff.staff_app, name="staff")
app.add_typer(staff.outlet_app, name="outlet")
app.add_typer(stock.app, name="stock")
app.add_typer(audit.app, name="audit")
app.add_typer(ecard.app, name="ecard")
app.add_typer(instant.app, name="instant")
staff.outlet_app.command("run")(instant.run)
staff.outlet_app.command("print-face")(instant.print_face)
app.add_typer(ecard.serve_app, name="serve")
app.add_typer(sim.app, name="sim")
app.add_typer(keys.app, name="keys")
app.add_typer(gp.app, name="gp")
app.command("demo")(demo.demo)


def main() -> None:
    app()
