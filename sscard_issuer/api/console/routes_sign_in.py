"""Signing in and out, and the language switch.

Every sign-in, failed sign-in and sign-out is written to the registry's hash-chained audit log
(``console.sign_in``, ``console.sign_in_failed``, ``console.sign_out``; subject ``operator:<username>``).
A failed attempt names the username tried, never the password; its actor is ``anonymous`` (nobody
proved who they are) and its outlet is that member of staff's, when there is one, so their
supervisor reads it. Failed attempts are throttled per username (:mod:`.throttle`).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from sscard_issuer.api.console import queries
from sscard_issuer.api.console.i18n import language, text
from sscard_issuer.api.console.sessions import COOKIE, PRE_COOKIE
from sscard_issuer.api.console.throttle import TooManySignIns
from sscard_issuer.api.console.web import (
    LANG_COOKIE,
    PREFIX,
    Posted,
    redirect,
    refused,
    render,
    safe_next,
    state_of,
)
from sscard_issuer.errors import SscardError
from sscard_issuer.lifecycle.access import Forbidden
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry import audit

router = APIRouter()
FormText = Annotated[str, Form()]
USERNAME_MAX = 64  # the registry's usernames are 3 to 64 characters: a longer one is nobody's, logged cut short
ANONYMOUS = "anonymous"  # the actor of a failed sign-in


def _audit(office: Office, request: Request, action: str, *, actor: str, username: str, outlet: str | None,
           **detail: Any) -> None:
    """One entry in the audit log, in a transaction that takes the appenders' lock first (as every
    writing transaction of the Office does)."""
    if request.client is not None:
        detail["client"] = request.client.host  # the counter's machine (or the proxy in front of the console)
    with office.transaction() as session:
        audit.append(session, at=office.clock(), actor=actor, outlet_code=outlet, action=action,
                     subject=f"operator:{username}", detail=detail)


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
    tried = username.strip()[:USERNAME_MAX]
    try:
        state.throttle.attempt(tried)  # counted as failed until the password matches
        actor = state.office.authenticate(username.strip(), password)
    except (TooManySignIns, Forbidden) as error:
        reason = "throttled" if isinstance(error, TooManySignIns) else "wrong_username_or_password"
        _audit(state.office, request, "console.sign_in_failed", actor=ANONYMOUS, username=tried,
               outlet=queries.outlet_of(state.office, tried), reason=reason)
        page = _sign_in_page(request, next_path=target, error=error, username=username)
        if isinstance(error, TooManySignIns):
            page.headers["Retry-After"] = str(max(1, math.ceil(error.wait)))
        return page
    state.throttle.succeeded(tried)
    _audit(state.office, request, "console.sign_in", actor=actor.username, username=actor.username,
           outlet=actor.outlet_code)
    _, cookie = state.sessions.start(actor.username, queries.display_name(state.office, actor.username))
    response = redirect(target)
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="lax", path=PREFIX, secure=state.secure_cookies)
    response.delete_cookie(PRE_COOKIE, path=PREFIX)
    return response


@router.post("/sign-out")
def sign_out(request: Request, viewer: Posted) -> Response:
    state = state_of(request)
    state.sessions.end(viewer.session)  # signed out even if the log cannot be written
    _audit(state.office, request, "console.sign_out", actor=viewer.actor.username, username=viewer.actor.username,
           outlet=viewer.actor.outlet_code)
    response = redirect("/sign-in?out=1")
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.get("/lang/{to}")
def switch_language(request: Request, to: str) -> Response:
    response = redirect(safe_next(request.query_params.get("next")))
    response.set_cookie(LANG_COOKIE, language(to), samesite="lax", path=PREFIX, max_age=365 * 86400)
    return response
