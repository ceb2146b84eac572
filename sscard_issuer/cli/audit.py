"""``sscard audit verify``: walk the hash-chained audit log and say whether anyone changed it.

Exit 0 when the log is intact (its number of entries and its head hash are printed: publish the
hash elsewhere and pass it back with ``--expect-head`` to catch entries removed from the end);
exit 12 when it is not, each problem listed with the entry where the chain breaks.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sscard_issuer.cli.common import plain_errors
from sscard_issuer.cli.errors import audit_problem_text
from sscard_issuer.cli.messages import language, text
from sscard_issuer.cli.registry_common import (
    DatabaseOpt,
    JsonOpt,
    OperatorOpt,
    acting,
    open_office,
    print_json,
    show_fields,
)

app = typer.Typer(help="The tamper-evident audit log. 审计日志。", no_args_is_help=True)


@app.command("verify")
def verify(
    expect_head: Annotated[str | None, typer.Option(
        "--expect-head", metavar="HASH", help="The head hash published earlier: the log must still end there.")] = None,
    database: DatabaseOpt = None,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify the audit log's hash chain (auditors, supervisors, administrators). 校验审计日志。"""
    with plain_errors(), open_office(database) as office:
        from sscard_issuer.registry.audit import AuditTampered

        report = office.verify_audit(acting(office, operator), expect_head=expect_head)
    lang = language()
    if as_json:
        print_json({"intact": report.intact, "entries": report.entries, "head_hash": report.head_hash,
                    "problems": [{"seq": p.seq, "what": p.what, "message": p.message,
                                  "display": audit_problem_text(p, lang)} for p in report.problems]})
    elif report.intact:
        show_fields(text("audit_intact"), [(text("audit_entries"), report.entries),
                                           (text("audit_head"), report.head_hash)])
    if not report.intact:
        with plain_errors():
            raise AuditTampered(report)
