"""What the registry's commands share: the common options, the open Office, JSON and tables.

Every registry command takes ``--database URL`` (default ``$SSCARD_DATABASE_URL``, else a local
SQLite file), ``--operator USERNAME`` (default ``$SSCARD_OPERATOR``; required by every command that
acts or reads a holder's data) and, where it shows data, ``--json``. The registry (SQLAlchemy,
Alembic, Pillow) is imported when a command opens it, never when the CLI starts. Tables show times
in the machine's local time; JSON keeps them as ISO 8601 with their offset.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from sscard_issuer.cli.common import out
from sscard_issuer.cli.errors import RegistryUnavailable
from sscard_issuer.cli.messages import text

if TYPE_CHECKING:
    from sscard_issuer.lifecycle.access import Actor
    from sscard_issuer.lifecycle.office import Office

DatabaseOpt = Annotated[str | None, typer.Option(
    "--database", metavar="URL", help="Registry database URL; default $SSCARD_DATABASE_URL, else a local SQLite file.")]
OperatorOpt = Annotated[str | None, typer.Option(
    "--operator", metavar="USERNAME", envvar="SSCARD_OPERATOR", show_envvar=False,
    help="The member of staff acting (default $SSCARD_OPERATOR).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ExpectedVersionOpt = Annotated[int | None, typer.Option(
    "--expected-version", metavar="N", help="Refuse (exit 11) unless the card is still at version N.")]


@contextmanager
def open_office(database: str | None) -> Iterator[Office]:
    """The registry's services on ``database``; the registry is closed when the block ends."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from sscard_issuer.lifecycle.office import Office
    from sscard_issuer.registry import Registry, default_url

    try:
        registry = Registry(database or default_url())
    except (SQLAlchemyError, OSError) as exc:  # a bad URL, a server down, a folder not writable
        try:  # the URL as it may be shown: without its password
            where = make_url(database).render_as_string(hide_password=True) if database else "(default)"
        except ArgumentError:  # its message would repeat the URL, password and all
            raise RegistryUnavailable("--database", "not a database URL (sqlite:///FILE or "
                                      "postgresql://USER@HOST/DATABASE)") from None
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise RegistryUnavailable(where, reason[0] if reason else type(exc).__name__) from None
    try:
        yield Office(registry)
    finally:
        registry.close()


def acting(office: Office, operator: str | None) -> Actor:
    """The member of staff named by ``--operator`` (a usage error, exit 2, when none is named)."""
    if not operator:
        raise typer.BadParameter(text("need_operator"), param_hint="'--operator'")
    return office.actor(operator)


def read_file(path: Path, field: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        from sscard_issuer.applications.document_numbers import DocumentError

        raise DocumentError(field, f"a readable file ({exc.strerror})", f"无法读取文件（{exc.strerror}）",
                            str(path)) from None


def as_json(value: Any) -> Any:
    """Dates and times as ISO 8601 text, enums as their values, everything else as it is."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, int | str | float | bool):
        return value.value
    return value


def print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2, default=as_json) + "\n")


def shown(value: object) -> str:
    """A value for a table cell: booleans in words, times to the second, nothing as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return text("true") if value else text("false")
    if isinstance(value, datetime):  # the local time of the counter (JSON keeps ISO 8601 with its offset)
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def show_fields(title: str, rows: Sequence[tuple[str, object]]) -> None:
    """A two-column table: label, value (values are data, never console markup)."""
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(escape(label), escape(shown(value)))
    out.print(table)


def show_rows(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    table = Table(title=title)
    for header in headers:  # data is folded onto more lines, never cut off
        table.add_column(escape(header), overflow="fold")
    for row in rows:
        table.add_row(*(escape(shown(v)) for v in row))
    out.print(table)
