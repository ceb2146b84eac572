"""What every page of the console shares: who is signed in, their language, the CSRF check, rendering.

Roles are never decided here: each route calls the :class:`~sscard_issuer.lifecycle.office.Office`
(or the issuance desk) with the signed-in :class:`~sscard_issuer.lifecycle.access.Actor`, and the
Office refuses what the actor may not do. The navigation only hides what would be refused anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from sscard_issuer.api.console.i18n import Lang, language, text
from sscard_issuer.api.console.refusals import Refusal, explain
from sscard_issuer.api.console.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, ConsoleSession, SessionStore
from sscard_issuer.api.console.throttle import SignInThrottle
from sscard_issuer.errors import SscardError
from sscard_issuer.lifecycle.access import Actor, Forbidden, Permission, role_name

if TYPE_CHECKING:
    from sscard_issuer.lifecycle.office import Office
    from sscard_issuer.outlet.desk import IssuanceDesk
    from sscard_issuer.outlet.station import SimulatedPrinters

LANG_COOKIE = "sscard_lang"
PREFIX = "/console"


@dataclass
class ConsoleState:
    """What the routes share; one per application."""

    office: Office
    desk: IssuanceDesk
    sessions: SessionStore
    throttle: SignInThrottle
    templates: Jinja2Templates
    reports: Path  # batch reports, kept for download
    simulated: SimulatedPrinters | None = None
    simulated_outlet: str | None = None
    poll_interval: float = 0.5
    secure_cookies: bool = False
    batch_reports: dict[int, Path] = field(default_factory=dict)


class SignInRequired(Exception):
    """No live session: the browser is sent to the sign-in page (``expired``: say why)."""

    def __init__(self, expired: bool) -> None:
        super().__init__("sign in required")
        self.expired = expired


class CsrfRefused(Exception):
    """A form posted without this session's token (another site, or a stale page)."""


def state_of(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


def lang_of(request: Request) -> Lang:
    return language(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


@dataclass(frozen=True)
class Viewer:
    """The member of staff signed in, as the registry knows them now."""

    session: ConsoleSession
    actor: Actor
    display_name: str
    lang: Lang

    def can(self, permission: Permission) -> bool:
        return self.actor.can(permission)

    @property
    def role(self) -> str:
        assert self.actor.role is not None
        return role_name(self.actor.role, self.lang)

    @property
    def can_approve(self) -> bool:
        return self.can(Permission.APPROVE)

    @property
    def bound(self) -> bool:
        """Bound to one outlet (operators and supervisors)."""
        return self.actor.outlet_code is not None

    def outlet(self, chosen: str | None) -> str | None:
        """The outlet a page shows: the actor's own, or (auditors, administrators) the one chosen."""
        return self.actor.outlet_code or chosen or None

    def t(self, key: str, **values: object) -> str:
        return text(key, self.lang, **values)


def _viewer(request: Request) -> Viewer:
    state = state_of(request)
    session, expired = state.sessions.find(request.cookies.get(COOKIE))
    if session is None:
        raise SignInRequired(expired)
    try:
        actor = state.office.actor(session.username)  # deactivated staff are out at once
    except Forbidden:
        state.sessions.end(session)
        raise SignInRequired(False) from None
    viewer = Viewer(session, actor, session.display_name, lang_of(request))
    request.state.viewer = viewer  # for the refusal pages the error handlers render
    return viewer


async def _checked_viewer(request: Request) -> Viewer:
    """The viewer of a form post, once its CSRF token (field or header) matched the session's."""
    viewer = await run_in_threadpool(_viewer, request)  # reads the registry: not on the event loop
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        form = await request.form()  # cached: the route's own form fields read the same parse
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not SessionStore.check_csrf(viewer.session, token):
        raise CsrfRefused()
    return viewer


SignedIn = Annotated[Viewer, Depends(_viewer)]
Posted = Annotated[Viewer, Depends(_checked_viewer)]


def _nav(viewer: Viewer) -> list[tuple[str, str]]:
    items = [("nav_dashboard", "/")]
    if viewer.can(Permission.FILE_APPLICATION):
        items += [("nav_apply", "/apply"), ("nav_batch", "/batch")]
    if viewer.can(Permission.ENROL):
        items.append(("nav_enrol", "/enrol"))
    items += [("nav_cards", "/cards"), ("nav_issuance", "/issuance"), ("nav_stock", "/stock")]
    if viewer.can(Permission.READ_AUDIT):
        items.append(("nav_audit", "/audit"))
    if viewer.can(Permission.MANAGE):
        items.append(("nav_staff", "/staff"))
    return [(text(key, viewer.lang), PREFIX + path) for key, path in items]


def render(request: Request, viewer: Viewer | None, template: str, context: Mapping[str, Any] | None = None, *,
           status: int = 200, refusal: Refusal | None = None) -> HTMLResponse:
    lang = viewer.lang if viewer else lang_of(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    values: dict[str, Any] = {
        "request": request, "lang": lang, "me": viewer, "prefix": PREFIX, "refusal": refusal,
        "t": lambda key, **v: text(key, lang, **v), "csrf": viewer.session.csrf if viewer else "",
        "nav": _nav(viewer) if viewer else [], "flashes": viewer.session.take_flashes() if viewer else [],
        "switch_to": "/console/lang/" + ("zh" if lang == "en" else "en") + "?next=" + quote(here, safe=""),
        "here": request.url.path, "simulated_outlet": state_of(request).simulated_outlet,
        **(context or {}),
    }
    response = state_of(request).templates.TemplateResponse(request, template, values, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def refused(request: Request, viewer: Viewer | None, error: SscardError, template: str,
            context: Mapping[str, Any] | None = None) -> HTMLResponse:
    """The page again, with the refusal explained at its top and the form as it was filled."""
    lang = viewer.lang if viewer else lang_of(request)
    refusal = explain(error, lang)
    return render(request, viewer, template, context, status=refusal.status, refusal=refusal)


def redirect(path: str) -> Response:
    return RedirectResponse(path if path.startswith(PREFIX) else PREFIX + path, status_code=303)


def done(viewer: Viewer, path: str, message: str, **values: object) -> Response:
    """A form's work done: say so (catalogue key ``message``) on the page at ``path``, and go there."""
    viewer.session.flash("ok", viewer.t(message, **values))
    return redirect(path)


def safe_next(value: str | None) -> str:
    """Only a path of this console (never another site) to go back to after signing in."""
    if value and value.startswith(PREFIX + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return PREFIX + "/"
