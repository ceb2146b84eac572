"""``sscard stock show|receive|request|approve|reject``: an outlet's blank and spoiled cards.

Receiving blanks needs one person. Destroying spoiled cards and correcting the blank count are
asked for by one member of staff (``stock request destroy N`` / ``stock request adjust N``, N may
be negative for an adjustment) and carried out only when a supervisor of the same outlet, another
person, approves (``stock approve ID``); ``stock show`` lists the requests waiting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from sscard_issuer.cli.common import err, plain_errors
from sscard_issuer.cli.errors import EXIT_TAMPERED
from sscard_issuer.cli.messages import text
from sscard_issuer.cli.registry_common import (
    DatabaseOpt,
    JsonOpt,
    OperatorOpt,
    acting,
    open_office,
    print_json,
    show_fields,
    show_rows,
)

if TYPE_CHECKING:
    from sscard_issuer.lifecycle.access import Actor
    from sscard_issuer.lifecycle.office import Office
    from sscard_issuer.registry.office import ApprovalRequest

app = typer.Typer(help="Card stock of an outlet, under dual control. 卡片库存（双人复核）。", no_args_is_help=True)
request_app = typer.Typer(help="Ask for a destruction or an adjustment. 提交销毁或调整申请。", no_args_is_help=True)
app.add_typer(request_app, name="request")

OutletOpt = Annotated[str | None, typer.Option(
    "--outlet", metavar="CODE", help="The outlet; default: the operator's.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why: what was counted, which cards.")]
_NEGATIVE_OK = {"ignore_unknown_options": True}  # "-3" is a quantity, not an option


def _approval_json(row: ApprovalRequest, requested_by: str | None = None) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind.value, "outlet": row.outlet_code, "quantity": row.quantity,
            "reason": row.reason, "state": row.state.value, "requested_by": requested_by,
            "requested_at": row.requested_at.isoformat(),
            "decided_at": row.decided_at.isoformat() if row.decided_at else None}


def _pending(office: Office, outlet: str) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from sscard_issuer.registry.office import ApprovalRequest, ApprovalState, Operator

    with office.registry.transaction(durable=False) as session:
        rows = session.execute(
            select(ApprovalRequest, Operator.username).join(Operator, Operator.id == ApprovalRequest.requested_by)
            .where(ApprovalRequest.outlet_code == outlet, ApprovalRequest.state == ApprovalState.PENDING)
            .order_by(ApprovalRequest.id)).all()
        return [_approval_json(row, username) for row, username in rows]


def _summary(office: Office, actor: Actor, outlet: str | None) -> dict[str, Any]:
    summary = office.stock(actor, outlet)
    return {**summary.to_json(), "pending": _pending(office, summary.outlet_code)}


def _show_stock(doc: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print_json(doc)
        return
    labels = {"received": "stock_received", "fed": "stock_fed", "good": "stock_good", "spoiled": "stock_spoiled",
              "destroyed": "stock_destroyed", "adjusted": "stock_adjusted", "blanks_on_hand": "blanks_on_hand",
              "spoiled_on_hand": "spoiled_on_hand", "unaccounted": "unaccounted",
              "pending_approvals": "pending_approvals"}
    show_fields(f"{text('stock_title')} {doc['outlet']}", [(text(key), doc[name]) for name, key in labels.items()])
    if doc["pending"]:
        show_rows(text("pending_approvals"), [text(k) for k in ("approval_id", "approval_kind", "quantity",
                                                                "reason", "requested_by")],
                  [(p["id"], text(p["kind"]), p["quantity"], p["reason"], p["requested_by"]) for p in doc["pending"]])


def _show_approval(doc: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print_json(doc)
        return
    show_fields(text("approval"), [(text("approval_id"), doc["id"]), (text("approval_kind"), text(doc["kind"])),
                                   (text("outlet"), doc["outlet"]), (text("quantity"), doc["quantity"]),
                                   (text("reason"), doc["reason"]), (text("state"), text(doc["state"])),
                                   (text("blanks_on_hand"), doc["stock"]["blanks_on_hand"]),
                                   (text("spoiled_on_hand"), doc["stock"]["spoiled_on_hand"])])


@app.command("show")
def show(outlet: OutletOpt = None, database: DatabaseOpt = None, operator: OperatorOpt = None,
         as_json: JsonOpt = False) -> None:
    """The outlet's stock and the requests waiting for approval. 库存。"""
    with plain_errors(), open_office(database) as office:
        doc = _summary(office, acting(office, operator), outlet)
    _show_stock(doc, as_json=as_json)


@app.command("reconcile")
def reconcile(outlet: OutletOpt = None, database: DatabaseOpt = None, operator: OperatorOpt = None,
              as_json: JsonOpt = False) -> None:
    """The stock against the printers' jobs: each blank fed is good, spoiled (listed) or in a printer. 库存对账。

    Exits 12 when they do not add up."""
    from sscard_issuer.outlet.desk import IssuanceDesk

    with plain_errors(), open_office(database) as office:
        report = IssuanceDesk(office).reconcile(acting(office, operator), outlet)
    doc = report.to_json()
    if as_json:
        print_json(doc)
    else:
        _show_stock(doc["stock"], as_json=False)
        show_rows(text("spoiled_cards"), ("job", "attempt", "card serial", "step", "reason", "at"),
                  [[c.job_id, c.attempt, c.card_serial, c.step, c.reason, c.at] for c in report.spoiled])
        if report.inside:
            show_rows(text("cards_in_printers"), ("job", "printer", "card serial", "state"),
                      [[j.id, j.printer_name, j.card_serial, j.state.value] for j in report.inside])
        err.print(text("reconciled") if report.balanced else text("not_reconciled"), markup=False)
    if not report.balanced:
        raise typer.Exit(EXIT_TAMPERED)


@app.command("receive")
def receive(
    quantity: Annotated[int, typer.Argument(metavar="N", help="How many blank cards arrived.")],
    reference: Annotated[str | None, typer.Option("--reference", help="The delivery note's number.")] = None,
    database: DatabaseOpt = None,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record blank cards delivered to the operator's outlet. 空白卡入库。"""
    with plain_errors(), open_office(database) as office:
        actor = acting(office, operator)
        office.receive_stock(actor, quantity, reference=reference)
        doc = _summary(office, actor, None)
    _show_stock(doc, as_json=as_json)


def _ask(kind: str, quantity: int, reason: str, database: str | None, operator: str | None, as_json: bool) -> None:
    with plain_errors(), open_office(database) as office:
        from sscard_issuer.registry.office import ApprovalKind

        actor = acting(office, operator)
        request_id = office.request_approval(actor, ApprovalKind(kind), quantity, reason=reason)
        doc = _decided(office, actor, request_id)
    _show_approval(doc, as_json=as_json)


def _decided(office: Office, actor: Actor, request_id: int) -> dict[str, Any]:
    from sscard_issuer.registry.office import ApprovalRequest, Operator

    with office.registry.transaction(durable=False) as session:
        row = session.get(ApprovalRequest, request_id)
        assert row is not None
        who = session.get(Operator, row.requested_by)
        doc = _approval_json(row, who.username if who else None)
    return {**doc, "stock": office.stock(actor, doc["outlet"]).to_json()}


@request_app.command("destroy", context_settings=_NEGATIVE_OK)
def request_destroy(
    quantity: Annotated[int, typer.Argument(metavar="N", help="How many spoiled cards to destroy.")],
    reason: ReasonOpt,
    database: DatabaseOpt = None,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ask to destroy spoiled cards (a supervisor approves). 申请销毁废卡。"""
    _ask("destroy_spoiled", quantity, reason, database, operator, as_json)


@request_app.command("adjust", context_settings=_NEGATIVE_OK)
def request_adjust(
    quantity: Annotated[int, typer.Argument(metavar="N", help="The correction of the blank count (+ or -).")],
    reason: ReasonOpt,
    database: DatabaseOpt = None,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ask to correct the blank count after a count (a supervisor approves). 申请调整库存。"""
    _ask("adjust_stock", quantity, reason, database, operator, as_json)


def _decide(request_id: int, approve: bool, database: str | None, operator: str | None, as_json: bool) -> None:
    with plain_errors(), open_office(database) as office:
        actor = acting(office, operator)
        office.decide(actor, request_id, approve=approve)
        doc = _decided(office, actor, request_id)
    _show_approval(doc, as_json=as_json)


IdArg = Annotated[int, typer.Argument(metavar="ID", help="The request's number (sscard stock show).")]


@app.command("approve")
def approve(request_id: IdArg, database: DatabaseOpt = None, operator: OperatorOpt = None,
            as_json: JsonOpt = False) -> None:
    """Approve a request as the second person (a supervisor of the outlet): it is carried out. 复核批准。"""
    _decide(request_id, True, database, operator, as_json)


@app.command("reject")
def reject(request_id: IdArg, database: DatabaseOpt = None, operator: OperatorOpt = None,
           as_json: JsonOpt = False) -> None:
    """Reject a request: nothing changes. 复核驳回。"""
    _decide(request_id, False, database, operator, as_json)
