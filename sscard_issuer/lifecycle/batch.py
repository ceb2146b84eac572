"""Employer and school batch applications (单位批量申请): a spreadsheet form in, applications and a report out.

:func:`import_batch` streams the form (:mod:`.batch_form`), checks each row as
:func:`~sscard_issuer.applications.requests.check_request` checks a single application (every
problem of the row at once, each naming its column, in Chinese and English), adds the problems
only a file has (a person twice in it, a photo file missing), then asks the registry what it
alone knows (insured, a pending application, a usable card). Valid rows are filed as
applications of kind ``employer_batch`` or ``student`` with their batch and row number.

Rows are read as a stream and decided a chunk at a time (``chunk_size`` rows per transaction;
the people of a chunk are locked together); each row is filed inside its own savepoint, so a row
that fails while being filed is rolled back alone, its events unlogged. The per-row checks (the
photo decoding above all) run a chunk or two ahead in a forked worker process when the file has
more than one chunk and the caller is single-threaded; the checks across rows stay in file order.

Re-importing a file files no one twice: the registry refuses a second application while one is
pending, and the report then names the earlier application, its batch and row. Batches are taken
only at outlets with the ``batch_applications`` setting (the city's district halls: "单位批量申请
仅南宁市各城区人力资源社会保障服务大厅办理"). The batch is recorded in ``application_batch`` (its
counts kept up to date chunk by chunk) and, when the whole file is done, in one audit entry.
Should the import stop midway, the chunks committed stay filed and running it again reports them
as already filed.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import threading
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from sscard_issuer.applications.codes import check_unified_credit_code
from sscard_issuer.applications.document_numbers import normalise
from sscard_issuer.applications.documents import IdentityDocument
from sscard_issuer.applications.requests import ApplicationKind
from sscard_issuer.lifecycle import filing, staff
from sscard_issuer.lifecycle.access import Actor, Forbidden, Permission
from sscard_issuer.lifecycle.batch_files import PhotoSource, ReportWriter
from sscard_issuer.lifecycle.batch_form import (
    BATCH_KINDS,
    EMPLOYER,
    BatchFormError,
    FormReader,
    FormRow,
    write_template,
)
from sscard_issuer.lifecycle.batch_rows import (
    CheckSettings,
    Row,
    RowChecker,
    RowProblem,
    check_in_worker,
    reason_name,
    start_worker,
)
from sscard_issuer.lifecycle.errors import NotEligible
from sscard_issuer.lifecycle.ledger import LOGGED_EVENTS
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry import audit
from sscard_issuer.registry.holders import Application, ApplicationBatch, Card, IdentityDocumentRow, Person
from sscard_issuer.registry.office import Outlet

__all__ = ["BatchFormError", "BatchResult", "RowProblem", "import_batch", "write_template"]

CHUNK_SIZE = 200
# the registry's refusals onto the form's columns (the others are about the document)
_REFUSAL_COLUMNS = {"details_differ": "name"}


@dataclass(frozen=True)
class BatchResult:
    batch_id: int
    file_sha256: str
    rows_total: int
    rows_accepted: int
    report_path: Path
    refused: Mapping[int, tuple[str, ...]]  # sheet row number -> the codes of its problems
    reasons: Mapping[str, int]  # problem code -> rows with it

    @property
    def rows_refused(self) -> int:
        return self.rows_total - self.rows_accepted

    def to_json(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "file_sha256": self.file_sha256, "rows_total": self.rows_total,
                "rows_accepted": self.rows_accepted, "rows_refused": self.rows_refused,
                "report": str(self.report_path), "reasons": dict(self.reasons),
                "refused_rows": {str(k): list(v) for k, v in self.refused.items()}}


def _refusal(session: Session, refusal: NotEligible, person_id: int | None) -> RowProblem:
    zh, en = refusal.message_zh, str(refusal)
    if refusal.code == "pending_application" and person_id is not None:
        earlier = session.execute(select(Application.id, Application.batch_id, Application.batch_row)
                                  .join(Card, Card.application_id == Application.id)
                                  .where(Card.person_id == person_id, Card.live)).first()
        if earlier is not None:
            zh += f"（申请编号 {earlier.id}" + (f"，批次 {earlier.batch_id} 第 {earlier.batch_row} 行）"
                                               if earlier.batch_id else "）")
            en += f" (application {earlier.id}" + (f", batch {earlier.batch_id} row {earlier.batch_row})"
                                                   if earlier.batch_id else ")")
    return RowProblem(refusal.code, _REFUSAL_COLUMNS.get(refusal.code, "document_number"), zh, en)


def _key(document: IdentityDocument) -> tuple[str, str, str]:
    return document.type.value, document.number, document.country or "CHN"


def _lock_people(session: Session, rows: list[Row]) -> dict[tuple[str, str, str], Person]:
    """:func:`filing.lock_person` for a chunk in three statements: the people holding the rows'
    documents, row-locked in id order (two importers never deadlock), their versions bumped. A
    document no one holds is left out: ``lock_person`` then refuses that row in its own words."""
    keys = {_key(r.document) for r in rows if r.document is not None and r.probe}
    if not keys:
        return {}
    doc = IdentityDocumentRow
    found = session.execute(select(doc.type, doc.number, doc.country, doc.person_id)
                            .where(tuple_(doc.type, doc.number, doc.country).in_(sorted(keys)))).all()
    ids = sorted({f.person_id for f in found})
    people = {p.id: p for p in session.execute(
        select(Person).where(Person.id.in_(ids)).order_by(Person.id).with_for_update()
        .execution_options(populate_existing=True)).scalars()}
    session.execute(update(Person).where(Person.id.in_(ids)).values(version=Person.version + 1))
    return {(f.type, f.number, f.country): people[f.person_id] for f in found}


def _file_row(office: Office, session: Session, row: Row, person: Person | None, *, outlet: Outlet, actor: Actor,
              batch: tuple[int, int], kind: ApplicationKind, at: datetime) -> None:
    """Decide ``row``: filed, or refused with the registry's reasons.

    The registry's checks only read, so a refused row writes nothing; filing takes a savepoint,
    and whatever goes wrong inside it rolls back this row alone (its events unlogged too).
    """
    assert row.document is not None
    refusals: list[NotEligible] = []
    try:
        person = person or filing.lock_person(session, row.document)
    except NotEligible as refusal:
        row.problems.append(_refusal(session, refusal, None))
        return
    if row.checked is not None:
        try:
            filing.check_person_matches(person, row.checked)
        except NotEligible as refusal:
            refusals.append(refusal)
    try:
        filing.check_eligible(session, person)
    except NotEligible as refusal:
        refusals.append(refusal)
    row.problems.extend(_refusal(session, r, person.id) for r in refusals)
    if row.problems or row.checked is None:
        return
    logged: list[Any] = session.info.setdefault(LOGGED_EVENTS, [])
    mark = len(logged)
    savepoint = session.begin_nested()
    try:
        row.filed = filing.insert_application(session, row.checked, person, outlet=outlet, actor=actor, at=at,
                                              kind=kind, batch=batch, hooks=tuple(office.hooks))
        savepoint.commit()
    except NotEligible as refusal:  # someone filed for this person meanwhile
        savepoint.rollback()
        del logged[mark:]
        row.problems.append(_refusal(session, refusal, person.id))
    except (IntegrityError, DataError) as error:  # a value the registry cannot store: this row only
        savepoint.rollback()
        del logged[mark:]
        row.filed = None
        row.problems.append(RowProblem("registry_refused", None, "登记库拒绝保存该行，请核对各栏内容",
                                       f"the registry could not store this row: {type(error.orig).__name__}"))


def _worker_pool(settings: CheckSettings) -> ProcessPoolExecutor | None:
    """A worker process for the per-row checks, or None. It is forked, not spawned (a spawned one
    would run the caller's main module again), so only from a single-threaded process."""
    if threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                               initializer=start_worker, initargs=(settings,))


def _checked_chunks(rows: Iterator[FormRow], size: int, settings: CheckSettings, parallel: bool) -> Iterator[list[Row]]:
    """The form's rows checked, ``size`` at a time. When there is more than one chunk (and
    ``parallel``), the per-row checks (the photo decoding above all) run a chunk or two ahead in a
    worker process while the caller files; the file-wide checks stay here, in file order."""
    chunks = iter(lambda: list(islice(rows, size)), [])
    first, second = next(chunks, []), next(chunks, [])
    with PhotoSource(settings.photos) as photos:  # here too: a bad folder is refused before any worker starts
        checker = RowChecker(settings, photos)
        pool = _worker_pool(settings) if parallel and second else None
        ahead: deque[Future[list[Row]]] = deque()
        if pool is not None:
            try:
                ahead.extend(pool.submit(check_in_worker, chunk) for chunk in (first, second))
            except OSError:  # no process to be had (a resource limit): check here instead
                pool.shutdown(cancel_futures=True)
                pool = None
        if pool is None:
            for chunk in chain([first, second], chunks):
                if chunk:
                    yield [checker.repeated(checker.check(form)) for form in chunk]
            return
        try:
            for more in chain(chunks, [None]):  # None: the end, every chunk submitted
                if more is not None:
                    ahead.append(pool.submit(check_in_worker, more))
                while ahead and (more is None or len(ahead) > 2):
                    yield [checker.repeated(row) for row in ahead.popleft().result()]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            while block := stream.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise BatchFormError("file", f"a readable file ({exc.strerror})", "无法读取批量申领表文件", path.name) from None
    return digest.hexdigest()


def _check_where(office: Office, actor: Actor, outlet_code: str | None) -> str:
    where = actor.where(outlet_code)
    actor.require(Permission.FILE_APPLICATION, outlet_code=where)
    if actor.operator_id is None:
        raise Forbidden("a batch is imported by a member of staff", "批量申领须由工作人员导入")
    with office.registry.transaction() as session:
        outlet = staff.outlet(session, where)
        if not outlet.batch_applications:
            raise NotEligible("no_batch_applications", f"outlet {where} does not take batch applications: "
                              "they are accepted at the city's district service halls only",
                              f"{outlet.name_zh} 不受理单位批量申请（仅南宁市各城区人力资源社会保障服务大厅办理）")
    return where


class _Batch:
    """The import's running state: the batch row (made with the first chunk), counts, reasons."""

    def __init__(self, office: Office, actor: Actor, where: str, kind: ApplicationKind, row: ApplicationBatch) -> None:
        self.office, self.actor, self.where, self.kind, self.row = office, actor, where, kind, row
        self.id, self.total, self.accepted = 0, 0, 0
        self.reasons: Counter[str] = Counter()
        self.refused: dict[int, tuple[str, ...]] = {}

    def file(self, rows: list[Row]) -> None:
        """Decide a chunk of rows in one transaction (each filed row in its own savepoint)."""
        at = self.office.clock()
        with self.office.transaction() as session:
            outlet = staff.outlet(session, self.where)
            if not self.id:
                session.add(self.row)
                session.flush()
                self.id = self.row.id
            people = _lock_people(session, rows)
            for row in rows:
                if row.document is not None and row.probe:
                    _file_row(self.office, session, row, people.get(_key(row.document)), outlet=outlet,
                              actor=self.actor, batch=(self.id, row.form.number), kind=self.kind, at=at)
            filed = sum(r.filed is not None for r in rows)
            session.execute(update(ApplicationBatch).where(ApplicationBatch.id == self.id).values(
                rows_total=ApplicationBatch.rows_total + len(rows), rows_accepted=ApplicationBatch.rows_accepted + filed))
        self.total, self.accepted = self.total + len(rows), self.accepted + filed

    def report(self, rows: list[Row], report: ReportWriter) -> None:
        for row in rows:
            codes = tuple(dict.fromkeys(p.code for p in row.problems))
            if row.filed is None:
                self.refused[row.form.number] = codes
                self.reasons.update(codes)
            report.row(row.form.number, row.filed is not None, row.filed.application_id if row.filed else None,
                       row.filed.card_ref if row.filed else None, "；".join(p.text("zh") for p in row.problems),
                       "; ".join(p.text("en") for p in row.problems), row.form.values)


def import_batch(office: Office, actor: Actor, path: Path, *, photos: Path, organisation_name: str,
                 organisation_code: str, kind: ApplicationKind = EMPLOYER, report_path: Path,
                 outlet_code: str | None = None, chunk_size: int = CHUNK_SIZE, parallel: bool = True) -> BatchResult:
    """Import the batch form at ``path``; write the per-row report to ``report_path``.

    ``photos`` is a folder or a .zip; ``organisation_code`` the unified social credit code (if the
    form's top row carries one, it must be the same). ``chunk_size`` rows are filed per
    transaction; ``parallel=False`` keeps the row checks in this process. Raises :class:`Forbidden` or :class:`NotEligible` (this actor or outlet may not take batches)
    and :class:`BatchFormError` (or another :class:`FieldError`) for a file or argument that cannot
    be used at all; nothing is filed then. Row problems never raise: they are in the report.
    """
    path, report_path, photos = Path(path), Path(report_path), Path(photos)
    if kind not in BATCH_KINDS:
        raise BatchFormError("kind", "employer_batch or student", "批量申领类型须为单位或学生", kind)
    where = _check_where(office, actor, outlet_code)
    name = organisation_name.strip() if isinstance(organisation_name, str) else ""
    if not 2 <= len(name) <= 128:
        raise BatchFormError("organisation_name", "the organisation's name (2 to 128 characters)",
                             "须填写单位名称（2 至 128 个字符）", organisation_name)
    code = check_unified_credit_code(organisation_code)
    if report_path.resolve() == path.resolve():
        raise BatchFormError("report", "a report file other than the form", "结果文件不能覆盖申领表本身", report_path.name)
    digest, started = _sha256(path), office.clock()
    if not photos.exists():
        raise BatchFormError("photos", "a folder or a .zip of the applicants' JPEG photos",
                             "找不到照片文件夹或压缩包", photos.name)
    with ExitStack() as stack:
        form = stack.enter_context(FormReader(path, kind))
        if form.organisation_code and normalise(form.organisation_code, "organisation_code") != code:
            raise BatchFormError("organisation_code", f"the code on the form ({form.organisation_code}) to be {code}",
                                 f"表中的统一社会信用代码（{form.organisation_code}）与所填的 {code} 不一致",
                                 form.organisation_code)
        report = stack.enter_context(ReportWriter(report_path, form.labels))
        settings = CheckSettings(kind, name, photos, started.date(), office.settings.photo)
        batch = _Batch(office, actor, where, kind, ApplicationBatch(
            outlet_code=where, operator_id=actor.operator_id, organisation_name=name, organisation_code=code,
            file_name=path.name[:256], file_sha256=digest, rows_total=0, rows_accepted=0, imported_at=started))
        for rows in _checked_chunks(form.rows(), max(1, chunk_size), settings, parallel):
            batch.file(rows)
            batch.report(rows, report)  # after the commit: the report says only what the registry holds
        batch_id, total, accepted, reasons, refused = batch.id, batch.total, batch.accepted, batch.reasons, batch.refused
        if not total:
            raise BatchFormError("rows", "at least one applicant row under the header", "申领表中没有申请人信息",
                                 path.name)
        with office.transaction() as session:
            audit.append(session, at=office.clock(), actor=actor.username, outlet_code=where,
                         action="application.batch", subject=f"batch:{batch_id}",
                         detail={"organisation_code": code, "kind": kind.value, "file_name": path.name,
                                 "file_sha256": digest, "rows_total": total, "rows_accepted": accepted,
                                 "reasons": dict(reasons)})
        report.summary(_summary_lines(name, code, kind, path.name, digest, batch_id, where, actor, started,
                                      total, accepted, reasons))
        report.save()
    return BatchResult(batch_id, digest, total, accepted, report_path, refused, dict(reasons))


def _summary_lines(name: str, code: str, kind: ApplicationKind, file_name: str, digest: str, batch_id: int,
                   where: str, actor: Actor, started: datetime, total: int, accepted: int,
                   reasons: Counter[str]) -> list[tuple[object, ...]]:
    lines: list[tuple[object, ...]] = [
        ("单位名称 / Organisation", name), ("统一社会信用代码 / Credit code", code),
        ("申领类型 / Kind", f"{kind.display('zh')} / {kind.display('en')}"), ("文件 / File", file_name),
        ("SHA-256", digest), ("批次编号 / Batch no.", batch_id), ("受理网点 / Outlet", where),
        ("经办人 / Operator", actor.username), ("导入时间 / Imported at", started.isoformat()),
        ("总行数 / Rows", total), ("受理 / Accepted", accepted), ("退回 / Refused", total - accepted), (),
        ("退回原因 / Reason", "行数 / Rows", "Reason", "代码 / Code"),
    ]
    lines.extend((reason_name(code)[0], count, reason_name(code)[1], code) for code, count in reasons.most_common())
    return lines
