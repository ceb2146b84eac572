"""The outlet's card stock and its reconciliation; dual control over destroying spoiled cards and
adjusting the blank count (one member of staff asks, another supervisor of the outlet decides)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from sscard_issuer.api.console import queries
from sscard_issuer.api.console.routes_home import outlet_context
from sscard_issuer.api.console.web import Posted, SignedIn, Viewer, done, refused, render, state_of
from sscard_issuer.errors import FieldError, SscardError
from sscard_issuer.registry import ApprovalKind

router = APIRouter()
STOCK_ROWS = ("received", "fed", "good", "spoiled", "destroyed", "adjusted", "blanks_on_hand", "spoiled_on_hand",
              "unaccounted", "pending_approvals")
LABELS = {"received": "stock_received", "fed": "stock_fed", "good": "stock_good", "spoiled": "stock_spoiled",
          "destroyed": "stock_destroyed", "adjusted": "stock_adjusted"}


def _stock_context(request: Request, viewer: Viewer, **extra: Any) -> dict[str, Any]:
    state = state_of(request)
    context = outlet_context(request, viewer)
    outlet = context["outlet"]
    if outlet is not None:
        summary = state.office.stock(viewer.actor, outlet)
        values = summary.to_json()
        context.update(
            summary=summary, rows=[(viewer.t(LABELS.get(name, name)), values[name]) for name in STOCK_ROWS],
            approvals=[(a, viewer.t(a.kind), viewer.t(a.state)) for a in
                       queries.approvals(state.office, viewer.actor, outlet)])
    context.update(kinds=[(k.value, viewer.t(k.value)) for k in ApprovalKind], form=extra.pop("form", {}), **extra)
    return context


async def _refused(request: Request, viewer: Viewer, error: SscardError, form: dict[str, Any] | None = None
                   ) -> Response:
    """The stock page again, the refusal explained and the form as it was filled."""
    context = await run_in_threadpool(lambda: _stock_context(request, viewer, form=form or {}))
    return refused(request, viewer, error, "stock.html", context)


@router.get("/stock")
def stock(request: Request, viewer: SignedIn) -> Response:
    return render(request, viewer, "stock.html", _stock_context(request, viewer))


def _quantity(value: object) -> int:
    text = str(value or "").strip()
    try:
        return int(text)
    except ValueError:
        raise FieldError("quantity", "a whole number of cards", text) from None


@router.post("/stock/receive")
async def receive(request: Request, viewer: Posted) -> Response:
    state = state_of(request)
    posted = await request.form()
    try:
        quantity = _quantity(posted.get("quantity"))
        reference = str(posted.get("reference") or "").strip() or None
        await run_in_threadpool(lambda: state.office.receive_stock(viewer.actor, quantity, reference=reference))
    except SscardError as error:
        return await _refused(request, viewer, error, dict(posted))
    return done(viewer, "/stock", "received_ok", quantity=quantity)


@router.post("/stock/request")
async def request_approval(request: Request, viewer: Posted) -> Response:
    state = state_of(request)
    posted = await request.form()
    try:
        kind = next((k for k in ApprovalKind if k.value == posted.get("kind")), None)
        if kind is None:
            raise FieldError("kind", "destroy_spoiled or adjust_stock", posted.get("kind"))
        quantity, reason = _quantity(posted.get("quantity")), str(posted.get("reason") or "")
        request_id = await run_in_threadpool(
            lambda: state.office.request_approval(viewer.actor, kind, quantity, reason=reason))
    except SscardError as error:
        return await _refused(request, viewer, error, dict(posted))
    return done(viewer, "/stock", "requested_ok", id=request_id)


@router.post("/stock/approvals/{request_id}")
async def decide(request: Request, viewer: Posted, request_id: int) -> Response:
    state = state_of(request)
    posted = await request.form()
    approve = posted.get("approve") == "1"
    try:
        row = await run_in_threadpool(lambda: state.office.decide(viewer.actor, request_id, approve=approve))
    except SscardError as error:
        return await _refused(request, viewer, error)
    return done(viewer, "/stock", "decided_ok", id=request_id, state=viewer.t(row.state.value))
