"""The outlet console's application: one FastAPI app of server-rendered pages under ``/console``.

Errors become pages only here: a refusal of the toolkit (a typed error with its Chinese and English
words) is shown with its rule explained, no session sends the browser to the sign-in page, a form
without its session's token is refused (403), and anything else is a bug left to the server's log.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from sscard_issuer.api.console import (
    routes_applications,
    routes_audit,
    routes_cards,
    routes_home,
    routes_issuance,
    routes_sign_in,
    routes_stock,
)
from sscard_issuer.api.console.i18n import Lang, text
from sscard_issuer.api.console.refusals import Refusal, explain
from sscard_issuer.api.console.sessions import SessionStore
from sscard_issuer.api.console.throttle import DEFAULT_ATTEMPTS, DEFAULT_WINDOW, SignInThrottle
from sscard_issuer.api.console.web import PREFIX, ConsoleState, CsrfRefused, SignInRequired, lang_of, render
from sscard_issuer.cli.errors import audit_problem_text
from sscard_issuer.errors import SscardError
from sscard_issuer.lifecycle.access import role_name
from sscard_issuer.lifecycle.states import CardState
from sscard_issuer.registry import Role

if TYPE_CHECKING:
    from sscard_issuer.lifecycle.office import Office
    from sscard_issuer.outlet.desk import IssuanceDesk
    from sscard_issuer.outlet.station import SimulatedPrinters

HERE = Path(__file__).parent
DEFAULT_SESSION_TTL = 30 * 60.0  # seconds without a request before signing out
DEFAULT_SESSION_MAX = 12 * 3600.0  # a working day, whatever the activity


def _when(value: datetime | None) -> str:
    """A time in the counter's local time, to the second."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def _hms(value: datetime) -> str:
    return value.astimezone().strftime("%H:%M:%S")


def _card_state(value: str, lang: Lang) -> str:
    return CardState(value).display(lang)


def _role_label(role: Role, lang: Lang) -> str:
    return role_name(role, lang)


def _wants_json(request: Request) -> bool:
    """The page's script (fetch, the event stream) or an API client, not a browser navigating."""
    accept = request.headers.get("accept", "")
    return ("application/json" in accept or "text/event-stream" in accept or "x-csrf-token" in request.headers
            or request.url.path.endswith("/events"))


def create_console(office: Office, *, desk: IssuanceDesk, simulated: SimulatedPrinters | None = None,
                   simulated_outlet: str | None = None, session_ttl: float = DEFAULT_SESSION_TTL,
                   session_max: float = DEFAULT_SESSION_MAX, secret: str | None = None,
                   reports: Path | None = None, poll_interval: float = 0.5, secure_cookies: bool = False,
                   sign_in_attempts: int = DEFAULT_ATTEMPTS, sign_in_window: float = DEFAULT_WINDOW,
                   clock: Callable[[], float] = time.time) -> FastAPI:
    """The console on ``office`` and ``desk``.

    ``simulated``: printer simulators running in this process for ``simulated_outlet`` (their panel is
    shown to that outlet's staff). ``secret`` signs the session cookies (default: random, so a restart
    signs everyone out). ``reports``: where batch reports are kept for download (default: a temporary
    folder). ``sign_in_attempts`` failed sign-ins for one username within ``sign_in_window`` seconds
    pause that username's sign-in for the rest of the window (:mod:`.throttle`, kept in memory).
    ``clock`` (seconds) times sessions and the throttle; tests move it.
    """
    if simulated is not None and simulated_outlet is None:
        simulated_outlet = simulated.station.workers[0].outlet_code if simulated.station.workers else None
    app = FastAPI(title="sscard outlet console", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.autoescape = True
    templates.env.filters["when"] = _when
    templates.env.filters["hms"] = _hms
    templates.env.globals.update(card_state=_card_state, role_label=_role_label, audit_problem=audit_problem_text)
    folder = reports or Path(tempfile.mkdtemp(prefix="sscard-console-"))
    app.state.console = ConsoleState(
        office=office, desk=desk, simulated=simulated, simulated_outlet=simulated_outlet,
        sessions=SessionStore(secret or secrets.token_urlsafe(32), ttl=session_ttl, max_age=session_max, clock=clock),
        throttle=SignInThrottle(attempts=sign_in_attempts, window=sign_in_window, clock=clock),
        templates=templates, reports=folder, poll_interval=poll_interval, secure_cookies=secure_cookies)
    app.mount(PREFIX + "/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in (routes_sign_in, routes_home, routes_applications, routes_cards, routes_issuance, routes_stock,
                   routes_audit):
        app.include_router(module.router, prefix=PREFIX)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], object]) -> Response:
        response: Response = await call_next(request)  # type: ignore[misc]
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
        return response

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse(PREFIX + "/", status_code=307)

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, error: SignInRequired) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": "sign_in_required", "expired": error.expired}, status_code=401)
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = f"{PREFIX}/sign-in?next={quote(here, safe='')}" + ("&expired=1" if error.expired else "")
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _: CsrfRefused) -> Response:
        lang = lang_of(request)
        refusal = Refusal(text("refused", lang), (text("csrf_refused", lang),), 403)
        return render(request, None, "refusal.html", status=403, refusal=refusal)

    @app.exception_handler(SscardError)
    async def refused(request: Request, error: SscardError) -> Response:
        lang = lang_of(request)
        refusal = explain(error, lang)
        if _wants_json(request):
            return JSONResponse({"headline": refusal.headline, "reasons": list(refusal.reasons)},
                                status_code=refusal.status)
        viewer = getattr(request.state, "viewer", None)
        return render(request, viewer, "refusal.html", status=refusal.status, refusal=refusal)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        lang = lang_of(request)
        if _wants_json(request):
            return JSONResponse({"error": error.detail}, status_code=error.status_code)
        refusal = Refusal(text("not_found_page" if error.status_code == 404 else "refused", lang),
                          (str(error.detail),) if error.status_code != 404 else (), error.status_code)
        return render(request, None, "refusal.html", status=error.status_code, refusal=refusal)

    return app
