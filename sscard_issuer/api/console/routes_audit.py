"""The audit log: filtered by action, outlet, member of staff, subject and dates; exported as CSV;
its hash chain verified. Supervisors read their own outlet's entries, auditors and administrators all."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sscard_issuer.api.console import queries
from sscard_issuer.api.console.web import SignedIn, refused, render, state_of
from sscard_issuer.errors import SscardError

router = APIRouter()


@router.get("/audit")
def audit(request: Request, viewer: SignedIn) -> Response:
    state = state_of(request)
    params = dict(request.query_params)
    context = {"filter": queries.AuditFilter(), "entries": [], "total": 0, "report": None,
               "outlets": state.office.outlets(), "detail": queries.detail_text, "export": ""}
    try:
        chosen = queries.AuditFilter.parse(params)
        context["filter"] = chosen
        entries, applied, total = queries.audit_entries(state.office, viewer.actor, chosen)
        context.update(entries=entries, filter=applied, total=total, export=applied.query_string())
        if params.get("verify") == "1":
            context["report"] = state.office.verify_audit(viewer.actor)
    except SscardError as error:
        return refused(request, viewer, error, "audit.html", context)
    return render(request, viewer, "audit.html", context)


@router.get("/audit.csv")
def audit_csv(request: Request, viewer: SignedIn) -> Response:
    state = state_of(request)
    body = queries.audit_csv(state.office, viewer.actor, queries.AuditFilter.parse(dict(request.query_params)))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
                             "Cache-Control": "no-store"})
