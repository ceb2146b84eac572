"""Instant issuance at the counter: mark a card, the queue and each job live, printers with what to do
about a fault, the card face preview, and (test stacks) the printer simulator's panel.

Live progress is a server-sent event stream (``/console/events``): the server reads the desk every
``poll_interval`` seconds and, when anything changed, sends the page's live parts rendered in the
operator's language; the page swaps them in without reloading. The stream reads only what the
signed-in actor may read (the desk refuses another outlet's job), and ends with the session.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from sscard_issuer.api.console import issuance_views as views
from sscard_issuer.api.console import queries
from sscard_issuer.api.console.i18n import text
from sscard_issuer.api.console.routes_home import outlet_context
from sscard_issuer.api.console.web import Posted, SignedIn, Viewer, done, refused, render, safe_next, state_of
from sscard_issuer.errors import FieldError, SscardError
from sscard_issuer.lifecycle.access import Forbidden, Permission
from sscard_issuer.outlet.job import OnFailure

router = APIRouter()
HEARTBEAT = 15.0  # seconds between keep-alive comments of an idle stream


def _simulators(request: Request, viewer: Viewer, outlet: str | None) -> list[views.SimulatorView]:
    state = state_of(request)
    if state.simulated is None or outlet is None or outlet != state.simulated_outlet:
        return []
    if not viewer.can(Permission.CARD_OPERATION):
        return []
    return [views.simulator_view(n, s) for n, s in enumerate(state.simulated.simulators, start=1)]


def _issuance_context(request: Request, viewer: Viewer) -> dict[str, Any]:
    context = outlet_context(request, viewer)
    outlet = context["outlet"]
    if outlet is not None:
        lines, printers = views.outlet_snapshot(state_of(request).desk, viewer.actor, outlet, viewer.lang,
                                                open_only=request.query_params.get("all") != "1")
        context.update(lines=lines, printers=printers, simulators=_simulators(request, viewer, outlet))
    context.update(policies=[(p.value, viewer.t(f"on_failure_{p.value}")) for p in OnFailure],
                   show_all=request.query_params.get("all") == "1", sim_actions=views.SIM_ACTIONS)
    return context


@router.get("/issuance")
def issuance(request: Request, viewer: SignedIn) -> Response:
    return render(request, viewer, "issuance.html", _issuance_context(request, viewer))


@router.post("/issuance/mark")
async def mark(request: Request, viewer: Posted) -> Response:
    state = state_of(request)
    posted = await request.form()
    key, policy = str(posted.get("key") or "").strip(), str(posted.get("on_failure") or "ask")
    try:
        if not key:
            raise FieldError("key", "the card reference or the holder's social security number")
        job = await run_in_threadpool(lambda: state.desk.mark(viewer.actor, key, policy=policy))
    except SscardError as error:
        context = await run_in_threadpool(_issuance_context, request, viewer)
        return refused(request, viewer, error, "issuance.html", {**context, "key": key})
    return done(viewer, f"/issuance/jobs/{job.id}", "job_marked", job=job.id)


def _job_context(request: Request, viewer: Viewer, job_id: int) -> dict[str, Any]:
    state = state_of(request)
    job, journal = state.desk.job(viewer.actor, job_id)  # refuses a job of another outlet
    printers = [views.printer_view(row, viewer.lang) for row in state.desk.printers(viewer.actor, job.outlet_code)]
    [line] = views.job_lines([job], printers, viewer.lang)
    return {"line": line, "job": job, "journal": views.journal_lines(journal, viewer.lang), "printers": printers,
            "simulators": _simulators(request, viewer, job.outlet_code), "sim_actions": views.SIM_ACTIONS,
            "outlet": job.outlet_code, "back": f"/console/issuance/jobs/{job.id}"}


@router.get("/issuance/jobs/{job_id}")
def job_page(request: Request, viewer: SignedIn, job_id: int) -> Response:
    return render(request, viewer, "job.html", _job_context(request, viewer, job_id))


@router.post("/issuance/jobs/{job_id}/decide")
async def decide(request: Request, viewer: Posted, job_id: int) -> Response:
    state = state_of(request)
    posted = await request.form()
    try:
        await run_in_threadpool(lambda: state.desk.decide(viewer.actor, job_id, requeue=posted.get("requeue") == "1"))
    except SscardError as error:
        context = await run_in_threadpool(_job_context, request, viewer, job_id)
        return refused(request, viewer, error, "job.html", context)
    return done(viewer, f"/issuance/jobs/{job_id}", "job_decided", job=job_id)


@router.get("/issuance/jobs/{job_id}/face.png")
def face(request: Request, viewer: SignedIn, job_id: int) -> Response:
    """The card face as the printer will print it (once the chip holds the card's number)."""
    from sscard_issuer.outlet.face import EVOLIS_CANVAS
    from sscard_issuer.outlet.station import make_face

    state = state_of(request)
    job, _ = state.desk.job(viewer.actor, job_id)
    if job.outcome is None:
        raise FieldError("face", viewer.t("face_after_perso"))
    name, ssn, photo = queries.face_data(state.office, job.card_ref)
    image = make_face({"name": name, "ssn": ssn, "card_number": job.outcome["card_number"], "photo": photo,
                       "issue_date": job.outcome["issue_date"], "bank_pan": job.outcome.get("bank_pan")},
                      EVOLIS_CANVAS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return Response(buffer.getvalue(), media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.post("/issuance/simulator/{number}/{action}")
async def simulator(request: Request, viewer: Posted, number: int, action: str) -> Response:
    state = state_of(request)
    try:
        if state.simulated is None or state.simulated_outlet is None:
            raise Forbidden("no printer simulator runs here", text("sim_not_here", "zh"))
        viewer.actor.at(Permission.CARD_OPERATION, state.simulated_outlet)  # that outlet's staff only
        if action not in views.SIM_ACTIONS or not 1 <= number <= len(state.simulated.simulators):
            raise FieldError("action", "one of " + ", ".join(views.SIM_ACTIONS), f"{number}/{action}")
        views.simulate(state.simulated.simulators[number - 1], action)
    except SscardError as error:
        if request.headers.get("x-csrf-token"):
            from sscard_issuer.api.console.refusals import explain

            refusal = explain(error, viewer.lang)
            return JSONResponse({"headline": refusal.headline, "reasons": list(refusal.reasons)},
                                status_code=refusal.status)
        raise
    if request.headers.get("x-csrf-token"):  # the page's script: the live stream shows the effect
        return JSONResponse({"ok": True})
    posted = await request.form()
    back = safe_next(str(posted.get("back") or ""))
    return done(viewer, back, "sim_done", action=viewer.t(views.SIM_ACTIONS[action]))


# -- the live stream ----------------------------------------------------------------------------------

def _fragments(request: Request, viewer: Viewer, job_id: int | None, outlet: str | None) -> dict[str, str]:
    """The live parts of the page, rendered as the page renders them."""
    templates = state_of(request).templates
    base = {"t": viewer.t, "lang": viewer.lang, "csrf": viewer.session.csrf, "prefix": "/console", "me": viewer,
            "sim_actions": views.SIM_ACTIONS}
    names: tuple[str, ...]
    if job_id is not None:
        context = {**base, **_job_context(request, viewer, job_id)}
        names = ("_job_live.html", "_journal.html", "_printers.html", "_simulator.html")
    else:
        if outlet is None:
            return {}
        lines, printers = views.outlet_snapshot(state_of(request).desk, viewer.actor, outlet, viewer.lang)
        context = {**base, "lines": lines, "printers": printers, "outlet": outlet, "back": "/console/issuance",
                   "simulators": _simulators(request, viewer, outlet)}
        names = ("_queue.html", "_printers.html", "_simulator.html")
    return {name.strip("_").removesuffix(".html"): templates.get_template(name).render(context) for name in names}


@router.get("/events")
async def events(request: Request, viewer: SignedIn) -> Response:
    state = state_of(request)
    chosen = request.query_params.get("job")
    job_id = int(chosen) if chosen and chosen.isdigit() else None
    outlet = request.query_params.get("outlet") or None
    queries.check_outlet_choice(viewer.actor, outlet)
    outlet = viewer.outlet(outlet)
    first = await run_in_threadpool(_fragments, request, viewer, job_id, outlet)  # refusals before streaming

    async def stream() -> AsyncIterator[str]:
        last, idle = None, 0.0
        fragments = first
        while True:
            body = json.dumps(fragments, ensure_ascii=False)
            if body != last:
                yield f"event: update\ndata: {body}\n\n"
                last, idle = body, 0.0
            elif idle >= HEARTBEAT:
                yield ": keep-alive\n\n"
                idle = 0.0
            await asyncio.sleep(state.poll_interval)
            idle += state.poll_interval
            if not state.sessions.alive(viewer.session):
                yield "event: expired\ndata: {}\n\n"
                return
            fragments = await run_in_threadpool(_fragments, request, viewer, job_id, outlet)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

