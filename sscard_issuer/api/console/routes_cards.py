"""A card found by its holder's number, identification code or reference; the counter's operations on it.

Every operation is offered; the Office decides. One the card's state does not allow comes back with
the rule explained (the state, and what is possible instead), in the operator's language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from sscard_issuer.api.console import queries
from sscard_issuer.api.console.forms import MAX_PHOTO, upload
from sscard_issuer.api.console.web import Posted, SignedIn, Viewer, done, redirect, refused, render, state_of
from sscard_issuer.errors import FieldError, SscardError
from sscard_issuer.lifecycle.actions import LossKind
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.lifecycle.states import ActionKind
from sscard_issuer.lifecycle.status_view import CardStatus

router = APIRouter()

Operation = Callable[[Office, Any, str, int | None], CardStatus]
# the counter's operations, in the order they are offered
OPERATIONS: dict[ActionKind, Operation] = {
    ActionKind.COLLECT: lambda o, a, k, v: o.collect(a, k, expected_version=v),
    ActionKind.ACTIVATE: lambda o, a, k, v: o.activate(a, k, expected_version=v),
    ActionKind.REPORT_TEMPORARY_LOSS: lambda o, a, k, v: o.report_loss(a, k, LossKind.TEMPORARY, expected_version=v),
    ActionKind.REPORT_FORMAL_LOSS: lambda o, a, k, v: o.report_loss(a, k, LossKind.FORMAL, expected_version=v),
    ActionKind.CANCEL_LOSS: lambda o, a, k, v: o.cancel_loss(a, k, expected_version=v),
    ActionKind.PIN_RESET: lambda o, a, k, v: o.reset_pin(a, k, expected_version=v),
    ActionKind.CANCEL: lambda o, a, k, v: o.cancel(a, k, expected_version=v),
}


def _card_context(viewer: Viewer, status: CardStatus) -> dict[str, Any]:
    allowed = set(status.allowed)
    return {"card": status, "state": status.state.display(viewer.lang),
            "operations": [(kind.value, kind.display(viewer.lang), kind.value in allowed) for kind in OPERATIONS],
            "replace_allowed": ActionKind.REPLACE.value in allowed,
            "history": [(h.at, ActionKind(h.action).display(viewer.lang) if h.action in _KINDS else h.action,
                         h.operator, h.outlet_code) for h in status.history]}


_KINDS = {kind.value for kind in ActionKind}


@router.get("/cards")
def find_card(request: Request, viewer: SignedIn) -> Response:
    state = state_of(request)
    key = (request.query_params.get("key") or "").strip()
    recent = (queries.recent_cards(state.office, viewer.actor, viewer.actor.outlet_code)
              if viewer.actor.outlet_code else [])
    if not key:
        return render(request, viewer, "cards.html", {"key": "", "recent": recent})
    try:
        status = state.office.status(viewer.actor, key)
    except SscardError as error:
        return refused(request, viewer, error, "cards.html", {"key": key, "recent": recent})
    return redirect(f"/cards/{status.card_ref}")


@router.get("/cards/{card_ref}")
def card(request: Request, viewer: SignedIn, card_ref: str) -> Response:
    status = state_of(request).office.status(viewer.actor, card_ref)
    return render(request, viewer, "card.html", _card_context(viewer, status))


def _version(value: object) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


@router.post("/cards/{card_ref}/act")
async def act(request: Request, viewer: Posted, card_ref: str) -> Response:
    state = state_of(request)
    posted = await request.form()
    chosen = posted.get("action")
    try:
        kind = next((k for k in OPERATIONS if k.value == chosen), None)
        if kind is None:
            raise FieldError("action", "one of " + ", ".join(k.value for k in OPERATIONS), chosen)
        operation = OPERATIONS[kind]
        await run_in_threadpool(operation, state.office, viewer.actor, card_ref, _version(posted.get("version")))
    except SscardError as error:
        status = await run_in_threadpool(state.office.status, viewer.actor, card_ref)
        return refused(request, viewer, error, "card.html", _card_context(viewer, status))
    return done(viewer, f"/cards/{card_ref}", "action_done", action=kind.display(viewer.lang))


@router.post("/cards/{card_ref}/replace")
async def replace(request: Request, viewer: Posted, card_ref: str) -> Response:
    state = state_of(request)
    posted = await request.form()
    try:
        photo = await upload(posted, "photo", MAX_PHOTO)
        filed = await run_in_threadpool(lambda: state.office.replace(
            viewer.actor, card_ref, photo=photo, instant=posted.get("instant") == "on",
            expected_version=_version(posted.get("version"))))
    except SscardError as error:
        status = await run_in_threadpool(state.office.status, viewer.actor, card_ref)
        return refused(request, viewer, error, "card.html", _card_context(viewer, status))
    return done(viewer, f"/cards/{filed.card_ref}", "replacement_ok", card_ref=filed.card_ref)
