"""``sscard card personalise`` and ``sscard card profiles``: an encoder's view of personalisation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sscard_issuer.cli.common import err, open_key_store, open_transport, out, plain_errors, show_reading
from sscard_issuer.errors import FieldError


def profiles() -> None:
    """List the personalisation profiles."""
    from sscard_issuer.perso import load_profile, profile_names

    table = Table("profile", "title", "algorithm", "keys", "records", "PKI", "bank")
    with plain_errors():
        for name in profile_names():
            p = load_profile(name)
            bank = f"SCP{p.bank.scp:02X} level {p.bank.level:02X} ({p.bank.diversify})" if p.bank else "—"
            table.add_row(p.name, escape(p.title), p.algorithm.value, str(len(p.keys)), str(len(p.records)),
                          "yes" if p.pki else "—", bank)
    out.print(table)


def personalise(
    applicant: Annotated[Path, typer.Option(help="Application JSON: the person's fields, optional bank_pan.")],
    profile: Annotated[str, typer.Option(help="Profile name (sscard card profiles) or a profile .json file.")],
    reader: Annotated[str | None, typer.Option(help="Reader holding the blank card.")] = None,
    image: Annotated[Path | None, typer.Option(help="A simulated blank card image, in-process.")] = None,
    photo: Annotated[Path | None, typer.Option(help="The holder's photo (JPEG) for EF08.")] = None,
    database: Annotated[str | None, typer.Option(help="Registry URL; default $SSCARD_DATABASE_URL or a local SQLite file.")] = None,
    ca_dir: Annotated[Path | None, typer.Option(help="Folder of the test CA (made on first use).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the read-back as JSON.")] = False,
    keyset: Annotated[Path | None, typer.Option(help="Development key set file (TEST ONLY).")] = None,
    card_timeout: Annotated[float, typer.Option(help="Seconds to wait for a card.")] = 5.0,
) -> None:
    """Personalise a blank card (or resume its interrupted personalisation) and read it back."""
    with plain_errors():
        try:
            application = json.loads(applicant.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FieldError("applicant", f"a readable JSON file ({exc})") from None
        photo_bytes = photo.read_bytes() if photo is not None else None
        # the personalisation stack (SQLAlchemy, Alembic, SM2, GP) is imported by the commands that
        # use it, so that reading a card starts fast
        from sscard_issuer.perso import Personaliser, load_profile
        from sscard_issuer.perso.wiring import application_hooks
        from sscard_issuer.registry import Registry

        chosen = load_profile(profile)
        keys = open_key_store(keyset, None, None)
        registry = Registry(database)
        pki, bank = application_hooks(keys, ca_dir=ca_dir)
        personaliser = Personaliser(registry, keys, pki=pki, bank=bank,
                                    progress=lambda line: err.print(line, markup=False))
        transport = open_transport(reader, image, card_timeout=card_timeout)
        with transport:
            outcome = personaliser.personalise(transport, application, chosen, photo=photo_bytes)
        registry.close()
    verb = "resumed and finished" if outcome.resumed else "personalised"
    err.print(f"{verb}: job {outcome.job_id}, {outcome.apdus} APDUs", markup=False)
    show_reading(outcome.reading, as_json=as_json)
