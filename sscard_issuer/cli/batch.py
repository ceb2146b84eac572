"""``sscard batch import|template``: employer and school batch applications from the spreadsheet form.

``import`` files every valid row of the form and writes the per-row report. It exits 0 whenever
the file was processed, refused rows included (the counts and the report say which); when nothing
could be imported it exits as the other registry commands do: 6 for unusable input (the
organisation code, the form, the photo folder, the report's place), 9 when the outlet does not
take batches, 10 when the member of staff may not file here, 14 when the registry cannot be opened.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sscard_issuer.cli.common import out, plain_errors
from sscard_issuer.cli.messages import Lang, language
from sscard_issuer.cli.registry_common import (
    DatabaseOpt,
    JsonOpt,
    OperatorOpt,
    acting,
    open_office,
    print_json,
)
from sscard_issuer.errors import FieldError

if TYPE_CHECKING:
    from sscard_issuer.applications.requests import ApplicationKind

app = typer.Typer(
    help="Employer and school batch applications from the spreadsheet form. 单位（学校）批量申领社保卡。",
    no_args_is_help=True,
)

_MESSAGES: dict[str, tuple[str, str]] = {
    "done": ("批次 {batch}：共 {total} 行，受理 {accepted} 行，退回 {refused} 行",
             "batch {batch}: {total} rows, {accepted} accepted, {refused} refused"),
    "reason": ("  {reason}：{count} 行", "  {reason}: {count} rows"),
    "report": ("结果文件：{path}", "report: {path}"),
    "template": ("已生成申领表模板：{path}", "blank form written: {path}"),
}


def _text(key: str, lang: Lang, **values: object) -> str:
    zh, en = _MESSAGES[key]
    return (en if lang == "en" else zh).format(**values)


class Kind(enum.Enum):
    employer = "employer"
    student = "student"


KindOpt = Annotated[Kind, typer.Option(help="employer (单位批量申领) or student (在校学生申领).")]


def _kind(kind: Kind) -> ApplicationKind:
    from sscard_issuer.applications.requests import ApplicationKind

    return ApplicationKind.STUDENT if kind is Kind.student else ApplicationKind.EMPLOYER_BATCH


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="The filled batch form (.xlsx).")],
    organisation_name: Annotated[str, typer.Option("--organisation-name", help="The employer's or school's name.")],
    organisation_code: Annotated[str, typer.Option(
        "--organisation-code", help="Its unified social credit code (18 characters).")],
    photos: Annotated[Path, typer.Option(
        help="Folder or .zip of the JPEG photos, named by document number or as the form's Photo file column says.")],
    kind: KindOpt = Kind.employer,
    report: Annotated[Path | None, typer.Option(
        help="Where to write the per-row report; default FILE.report.xlsx beside FILE.")] = None,
    operator: OperatorOpt = None,
    database: DatabaseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import an employer's or school's batch form: valid rows filed, every row in the report."""
    # openpyxl and the registry are imported by the commands that use them
    from sscard_issuer.lifecycle.batch import import_batch
    from sscard_issuer.lifecycle.batch_rows import reason_name

    with plain_errors(), open_office(database) as office:
        result = import_batch(office, acting(office, operator), file, photos=photos,
                              organisation_name=organisation_name, organisation_code=organisation_code,
                              kind=_kind(kind), report_path=report or file.with_name(f"{file.stem}.report.xlsx"))
    if as_json:
        print_json(result.to_json())
        return
    lang = language()
    out.print(_text("done", lang, batch=result.batch_id, total=result.rows_total, accepted=result.rows_accepted,
                    refused=result.rows_refused), markup=False)
    for code, count in sorted(result.reasons.items(), key=lambda item: -item[1]):
        zh, en = reason_name(code)
        out.print(_text("reason", lang, reason=en if lang == "en" else zh, count=count), markup=False)
    out.print(_text("report", lang, path=result.report_path), markup=False)


@app.command("template")
def template(
    file: Annotated[Path, typer.Argument(help="Where to write the blank form (.xlsx).")],
    kind: KindOpt = Kind.employer,
    organisation_name: Annotated[str | None, typer.Option(
        "--organisation-name", help="Fill in the organisation's name.")] = None,
    organisation_code: Annotated[str | None, typer.Option(
        "--organisation-code", help="Fill in its unified social credit code (checked).")] = None,
) -> None:
    """Write a blank batch form: bilingual headers, the organisation's row, a notes sheet."""
    from sscard_issuer.applications.codes import check_unified_credit_code
    from sscard_issuer.lifecycle.batch_form import write_template

    with plain_errors():
        code = check_unified_credit_code(organisation_code) if organisation_code is not None else None
        try:
            path = write_template(file, _kind(kind), organisation_name=organisation_name, organisation_code=code)
        except OSError as exc:
            raise FieldError("file", f"a file that can be written ({exc.strerror})", str(file)) from None
    out.print(_text("template", language(), path=path), markup=False)
