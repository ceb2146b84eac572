"""The dashboard, and the staff list (administrators)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from sscard_issuer.api.console import queries
from sscard_issuer.api.console.issuance_views import printer_view
from sscard_issuer.api.console.web import Posted, SignedIn, Viewer, done, refused, render, state_of
from sscard_issuer.errors import FieldError, SscardError
from sscard_issuer.lifecycle.access import Permission, role_name
from sscard_issuer.registry import Role

router = APIRouter()
FormText = Annotated[str, Form()]


def outlet_context(request: Request, viewer: Viewer) -> dict[str, Any]:
    """The outlet a page is about (the viewer's, or the one an auditor chose) and the list to choose from."""
    chosen = request.query_params.get("outlet") or None
    queries.check_outlet_choice(viewer.actor, chosen)
    outlet = viewer.outlet(chosen)
    outlets = [] if viewer.bound else state_of(request).office.outlets()
    return {"outlet": outlet, "outlets": outlets}


@router.get("/")
def dashboard(request: Request, viewer: SignedIn) -> Response:
    state = state_of(request)
    context = outlet_context(request, viewer)
    outlet = context["outlet"]
    if outlet is not None:
        context.update(
            jobs=state.desk.jobs(viewer.actor, outlet_code=outlet),
            printers=[printer_view(row, viewer.lang) for row in state.desk.printers(viewer.actor, outlet)],
            stock=state.office.stock(viewer.actor, outlet),
            recent=queries.recent_cards(state.office, viewer.actor, outlet))
    return render(request, viewer, "dashboard.html", context)


# -- staff (administrators) ----------------------------------------------------------------------------

ROLES = tuple(Role)


def _staff_context(request: Request, viewer: Viewer, **extra: Any) -> dict[str, Any]:
    state = state_of(request)
    return {"staff": queries.staff(state.office, viewer.actor), "outlets": state.office.outlets(),
            "roles": [(r.value, role_name(r, viewer.lang)) for r in ROLES], "form": extra.pop("form", {}), **extra}


@router.get("/staff")
def staff_page(request: Request, viewer: SignedIn) -> Response:
    return render(request, viewer, "staff.html", _staff_context(request, viewer))


@router.post("/staff")
def add_staff(request: Request, viewer: Posted, username: FormText = "", display_name: FormText = "",
              role: FormText = "", outlet: FormText = "", password: FormText = "") -> Response:
    state = state_of(request)
    form = {"username": username, "display_name": display_name, "role": role, "outlet": outlet}
    try:
        viewer.actor.require(Permission.MANAGE)
        chosen = next((r for r in ROLES if r.value == role), None)
        if chosen is None:
            raise FieldError("role", "operator, supervisor, auditor or administrator", role)
        state.office.add_operator(viewer.actor, username=username.strip(), display_name=display_name,
                                  role=chosen, outlet_code=outlet or None, password=password or None)
    except SscardError as error:
        return refused(request, viewer, error, "staff.html", _staff_context(request, viewer, form=form))
    return done(viewer, "/staff", "staff_added_ok", username=username.strip())
