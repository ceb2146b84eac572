"""Applications at the counter: the form for each kind and document, the photo checked on the spot,
social insurance enrolment, and employers' and schools' batch forms with their per-row report."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from sscard_issuer.api.console import forms, queries
from sscard_issuer.api.console.forms import MAX_PHOTO, upload
from sscard_issuer.api.console.refusals import explain
from sscard_issuer.api.console.web import Posted, SignedIn, Viewer, done, refused, render, state_of
from sscard_issuer.applications.photo import PhotoRejected, check_photo
from sscard_issuer.applications.requests import ApplicationKind, DeliveryMethod
from sscard_issuer.cli.apply import file_application
from sscard_issuer.errors import FieldError, SscardError
from sscard_issuer.outlet.job import OnFailure

router = APIRouter()
MAX_UPLOAD = 64 * 1024 * 1024


def _fields(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _apply_context(viewer: Viewer, fields: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"form": fields or {"kind": "individual", "document_type": "resident_id_card", "delivery": "collect"},
            "kinds": [(k.value, k.display(viewer.lang)) for k in forms.FORM_KINDS],
            "documents": [(d.value, d.name_en if viewer.lang == "en" else d.name_zh) for d in forms.DOCUMENT_TYPES],
            "policies": [(p.value, viewer.t(f"on_failure_{p.value}")) for p in OnFailure], **extra}


@router.get("/apply")
def apply_form(request: Request, viewer: SignedIn) -> Response:
    return render(request, viewer, "apply.html", _apply_context(viewer))


@router.post("/apply")
async def apply(request: Request, viewer: Posted) -> Response:
    state = state_of(request)
    posted = await request.form()
    fields = _fields(posted)
    try:
        photo = await upload(posted, "photo", MAX_PHOTO)
        application, form = forms.application(fields, photo)
        filed = await run_in_threadpool(file_application, state.office, viewer.actor, application, form, None)
    except SscardError as error:
        return refused(request, viewer, error, "apply.html", _apply_context(viewer, fields))
    return render(request, viewer, "filed.html", _apply_context(
        viewer, filed=filed, instant=application.instant, holder=application.applicant.name,
        collect=application.delivery.method is DeliveryMethod.COLLECT))


@router.post("/apply/photo-check")
async def photo_check(request: Request, viewer: Posted) -> Response:
    """The photo judged on the spot, as the application will judge it: every reason in plain words."""
    state = state_of(request)
    posted = await request.form()
    try:
        data = await upload(posted, "photo", MAX_PHOTO)
        check_photo(data, state.office.settings.photo, applicant_age=None)
    except PhotoRejected as error:
        return JSONResponse({"ok": False, "headline": explain(error, viewer.lang).headline,
                             "reasons": error.messages(viewer.lang)})
    except FieldError as error:
        refusal = explain(error, viewer.lang)
        return JSONResponse({"ok": False, "headline": refusal.headline, "reasons": list(refusal.reasons)})
    return JSONResponse({"ok": True, "headline": viewer.t("photo_ok"), "reasons": []})


# -- enrolment ------------------------------------------------------------------------------------------

def _enrol_context(viewer: Viewer, fields: dict[str, str] | None = None) -> dict[str, Any]:
    context = _apply_context(viewer, fields)
    context["form"].setdefault("insured_since", "")
    return context


@router.get("/enrol")
def enrol_form(request: Request, viewer: SignedIn) -> Response:
    return render(request, viewer, "enrol.html", _enrol_context(viewer))


@router.post("/enrol")
async def enrol(request: Request, viewer: Posted) -> Response:
    state = state_of(request)
    fields = _fields(await request.form())
    try:
        person, since = forms.enrolment(fields)
        await run_in_threadpool(state.office.enrol, viewer.actor, person, insured_since=since)
    except SscardError as error:
        return refused(request, viewer, error, "enrol.html", _enrol_context(viewer, fields))
    return done(viewer, "/apply", "enrolled_ok", name=person.name)


# -- batches ----------------------------------------------------------------------------------------------

BATCH_KINDS = {"employer": ApplicationKind.EMPLOYER_BATCH, "student": ApplicationKind.STUDENT}


@router.get("/batch")
def batch_form(request: Request, viewer: SignedIn) -> Response:
    return render(request, viewer, "batch.html", {"form": {"kind": "employer"}})


@router.post("/batch")
async def batch(request: Request, viewer: Posted) -> Response:
    from sscard_issuer.lifecycle.batch import import_batch
    from sscard_issuer.lifecycle.batch_rows import reason_name

    state = state_of(request)
    posted = await request.form()
    fields = _fields(posted)
    work = Path(tempfile.mkdtemp(prefix="batch-", dir=state.reports))
    try:
        sheet, photos = await upload(posted, "form_file", MAX_UPLOAD), await upload(posted, "photos", MAX_UPLOAD)
        if sheet is None:
            raise FieldError("form_file", "the filled batch form (.xlsx)")
        if photos is None:
            raise FieldError("photos", "a .zip of the applicants' photos")
        (work / "form.xlsx").write_bytes(sheet)
        (work / "photos.zip").write_bytes(photos)
        result = await run_in_threadpool(
            import_batch, state.office, viewer.actor, work / "form.xlsx", photos=work / "photos.zip",
            organisation_name=fields.get("organisation_name", ""), organisation_code=fields.get("organisation_code", ""),
            kind=BATCH_KINDS.get(fields.get("kind", ""), ApplicationKind.EMPLOYER_BATCH),
            report_path=work / "report.xlsx", parallel=False)
    except SscardError as error:
        shutil.rmtree(work, ignore_errors=True)
        return refused(request, viewer, error, "batch.html", {"form": fields})
    state.batch_reports[result.batch_id] = result.report_path
    reasons = [(reason_name(code)[1 if viewer.lang == "en" else 0], count)
               for code, count in sorted(result.reasons.items(), key=lambda item: -item[1])]
    return render(request, viewer, "batch.html", {"form": fields, "result": result, "reasons": reasons})


@router.get("/batch/{batch_id}/report.xlsx")
def batch_report(request: Request, viewer: SignedIn, batch_id: int) -> Response:
    state = state_of(request)
    queries.batch_outlet(state.office, viewer.actor, batch_id)  # refuses another outlet's batch
    path = state.batch_reports.get(batch_id)
    if path is None or not path.exists():
        raise FieldError("batch", viewer.t("batch_report_missing"), batch_id)
    return FileResponse(path, filename=f"batch-{batch_id}-report.xlsx",
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.get("/batch/template.xlsx")
def batch_template(request: Request, viewer: SignedIn) -> Response:
    from sscard_issuer.lifecycle.batch_form import write_template

    kind = BATCH_KINDS.get(request.query_params.get("kind", ""), ApplicationKind.EMPLOYER_BATCH)
    folder = Path(tempfile.mkdtemp(prefix="template-", dir=state_of(request).reports))
    path = write_template(folder / "form.xlsx", kind)
    return FileResponse(path, filename=f"{kind.value}-form.xlsx",
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
