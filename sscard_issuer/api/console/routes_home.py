"""Signing in and out, the language switch, the dashboard, and the staff list (administrators)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from sscard_issuer.api.console import queries
from sscard_issuer.api.console.i18n import language, text
from sscard_issuer.api.console.issuance_views import printer_view
from sscard_issuer.api.console.sessions import COOKIE, PRE_COOKIE
from sscard_issuer.api.console.web import (
    LANG_COOKIE,
    PREFIX,
    Posted,
    SignedIn,
    Viewer,
    redirect,
    refused,
    render,
    safe_next,
    state_of,
)
from sscard_issuer.errors import FieldError, SscardError
from sscard_issuer.lifecycle.access import Forbidden, Permission, role_name
from sscard_issuer.registry import Role

router = APIRouter()
FormText = Annotated[str, Form()]


def _sign_in_page(request: Request, *, next_path: str, status: int = 200, error: SscardError | None = None,
                  username: str = "") -> Response:
    state = state_of(request)
    cookie, token = state.sessions.sign_in_token()
    context = {"token": token, "next": next_path, "username": username,
               "expired": request.query_params.get("expired") == "1",
               "signed_out": request.query_params.get("out") == "1",
               "nobody": not queries.anyone_can_sign_in(state.office)}
    response = (refused(request, None, error, "sign_in.html", context) if error is not None
                else render(request, None, "sign_in.html", context, status=status))
    response.set_cookie(PRE_COOKIE, cookie, httponly=True, samesite="strict", path=PREFIX,
                        secure=state.secure_cookies)
    return response


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    return _sign_in_page(request, next_path=safe_next(request.query_params.get("next")))


@router.post("/sign-in")
def sign_in(request: Request, username: FormText = "", password: FormText = "", csrf: FormText = "",
            next: FormText = "") -> Response:
    state = state_of(request)
    target = safe_next(next)
    if not state.sessions.check_sign_in_token(request.cookies.get(PRE_COOKIE), csrf):
        stale = Forbidden(text("csrf_refused", "en"), text("csrf_refused", "zh"))
        return _sign_in_page(request, next_path=target, error=stale, username=username)
    try:
        actor = state.office.authenticate(username.strip(), password)
    except Forbidden as error:
        return _sign_in_page(request, next_path=target, error=error, username=username)
    _, cookie = state.sessions.start(actor.username, queries.display_name(state.office, actor.username))
    response = redirect(target)
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="lax", path=PREFIX, secure=state.secure_cookies)
    response.delete_cookie(PRE_COOKIE, path=PREFIX)
    return response


@router.post("/sign-out")
def sign_out(request: Request, viewer: Posted) -> Response:
    state_of(request).sessions.end(viewer.session)
    response = redirect("/sign-in?out=1")
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.get("/lang/{to}")
def switch_language(request: Request, to: str) -> Response:
    response = redirect(safe_next(request.query_params.get("next")))
    response.set_cookie(LANG_COOKIE, language(to), samesite="lax", path=PREFIX, max_age=365 * 86400)
    return response


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
    viewer.session.flash("ok", viewer.t("staff_added_ok", username=username.strip()))
    return redirect("/staff")
