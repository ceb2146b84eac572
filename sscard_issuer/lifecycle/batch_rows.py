"""One row of a batch form checked without the registry: every problem at once, each on its column.

:class:`RowChecker` reads the cells (:mod:`.batch_form`), builds the application request and runs
:func:`~sscard_issuer.applications.requests.check_request` on it, keeping each of its errors on
the form's column. The request's own check judges the photo only once the fields are right; here
the photo is judged in any case, so that a row comes back with all of its problems. What only a
file can get wrong is checked too: a cell under no header, a person or a photo file twice, a
photo file named but not handed in. A cell that could not be read is reported once, by the
reader, not again by the request's check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sscard_issuer.applications.document_numbers import DocumentError, DocumentType
from sscard_issuer.applications.documents import IdentityDocument, age_on, social_security_number_for
from sscard_issuer.applications.photo import PhotoProblemCode, PhotoRejected, PhotoRules, check_photo
from sscard_issuer.applications.requests import (
    Applicant,
    ApplicationKind,
    ApplicationRequest,
    CheckedRequest,
    Delivery,
    DeliveryMethod,
    check_request,
)
from sscard_issuer.errors import FieldError, ValidationError
from sscard_issuer.lifecycle.batch_files import PhotoMissing, PhotoSource, PhotoTooLarge
from sscard_issuer.lifecycle.batch_form import (
    BY_KEY,
    REQUIRED,
    STUDENT,
    FormRow,
    cell_text,
    parse_date,
    parse_delivery,
    parse_document_type,
    parse_ethnicity,
    parse_sex,
)
from sscard_issuer.lifecycle.filing import Filed

# the request's field names onto the form's columns
_FIELD_COLUMNS = {"school_name": "school", "document": "document_number", "instant": "delivery",
                  "outlet_code": "delivery", "photo": "photo_file", "agent": None, "kind": None}
_LIMITS = {"school": 128, "student_number": 32}  # the registry's column sizes
_DOCUMENT_NAMES = {t.value: t.name_zh for t in DocumentType}


@dataclass(frozen=True)
class RowProblem:
    """Why a row is refused: a stable ``code``, the column (a key of the form), the words for the clerk."""

    code: str
    column: str | None
    zh: str
    en: str

    def text(self, lang: str = "zh") -> str:
        column = BY_KEY.get(self.column or "")
        if lang == "en":
            return f"[{column.en}] {self.en}" if column else self.en
        return f"【{column.zh}】{self.zh}" if column else self.zh


@dataclass(frozen=True)
class CheckSettings:
    """What a row's checks depend on (picklable, for a worker process)."""

    kind: ApplicationKind
    organisation_name: str
    photos: Path
    on: date
    rules: PhotoRules


@dataclass
class Row:
    """One form row on its way: its problems so far, what it becomes if none (``checked``), the outcome."""

    form: FormRow
    problems: list[RowProblem] = field(default_factory=list)
    document: IdentityDocument | None = None
    checked: CheckedRequest | None = None
    probe: bool = True  # ask the registry even if refused already (not for a repeated person)
    photo_name: str | None = None
    filed: Filed | None = None


_REASONS = {
    "not_insured": ("未参保", "not insured"), "pending_application": ("已有在办申请", "an application in progress"),
    "has_usable_card": ("已持有可用的社保卡", "holds a usable card"), "replace_instead": ("应办理补换卡", "replace instead"),
    "details_differ": ("与参保登记信息不一致", "details differ from the record"),
    "document_of_another_person": ("证件登记在他人名下", "document of another person"),
    "duplicate_in_file": ("表内重复", "repeated in the file"), "duplicate_photo": ("照片重复", "photo repeated"),
    "photo_file_not_found": ("照片文件未找到", "photo file not found"),
    "photo_file_ambiguous": ("照片文件重名", "photo file name ambiguous"), "unlabelled_cell": ("无表头的内容", "data under no header"),
    "registry_refused": ("登记库拒绝保存", "the registry refused it"),
    "photo_missing": ("缺少照片", "no photo"), "photo_not_jpeg": ("照片不是 JPEG", "photo not JPEG"),
    "photo_undecodable": ("照片损坏", "photo damaged"), "photo_wrong_size": ("照片尺寸不符", "photo size wrong"),
    "photo_not_colour": ("照片不是彩色", "photo not colour"), "photo_too_small": ("照片文件过小", "photo file too small"),
    "photo_too_large": ("照片文件过大", "photo file too large"),
    "photo_background_not_white": ("照片背景不是白色", "photo background not white"),
}


def reason_name(code: str) -> tuple[str, str]:
    """A problem code in words for the report's summary (Chinese, English)."""
    if code in _REASONS:
        return _REASONS[code]
    kind, _, key = code.partition("_")
    column = BY_KEY.get(key)
    if column is not None and kind in ("missing", "invalid"):
        return ((f"{column.zh}未填写", f"{column.en} missing") if kind == "missing"
                else (f"{column.zh}有误", f"{column.en} invalid"))
    return code, code


def _field_problem(error: FieldError, column: str | None = None) -> RowProblem:
    column = column or _FIELD_COLUMNS.get(error.field, error.field if error.field in BY_KEY else None)
    zh = error.message("zh") if isinstance(error, DocumentError) else getattr(error, "message_zh", error.expected)
    got = error.got if error.got is None or len(str(error.got)) <= 40 else str(error.got)[:40] + "…"
    got_zh = _DOCUMENT_NAMES.get(str(got), got)  # a document type code, in the clerk's words
    zh, en = (zh, error.expected) if got is None else (f"{zh}（有误内容：{got_zh}）", f"{error.expected} (got {got})")
    return RowProblem(f"invalid_{column or error.field}", column, zh, en)


def _photo_problems(rejected: PhotoRejected, looked_for: str) -> list[RowProblem]:
    problems = []
    for p in rejected.problems:
        zh, en = p.message_zh, p.message_en
        if p.code is PhotoProblemCode.MISSING:
            zh = f"未找到照片文件 {looked_for}（按“照片文件”栏，未填时按证件号码查找）；未满7周岁可不提供照片"
            en = (f"no photo file {looked_for} (the Photo file column, else the document number); "
                  "only applicants under 7 may go without one")
        problems.append(RowProblem(f"photo_{p.code.value}", "photo_file", zh, en))
    return problems


class RowChecker:
    """The checks of one row that need no registry (:meth:`check`, any row in any order, so in a
    worker process too), and the file-wide ones (:meth:`repeated`, every row in file order)."""

    def __init__(self, settings: CheckSettings, photos: PhotoSource) -> None:
        self.kind, self.organisation_name = settings.kind, settings.organisation_name
        self.on, self.rules, self.photos = settings.on, settings.rules, photos
        self.seen: dict[object, int] = {}  # document key, social security number, photo name -> first row

    def check(self, form: FormRow) -> Row:
        row = Row(form)
        add = row.problems.append
        for place, value in form.stray:
            add(RowProblem("unlabelled_cell", None, f"第 {place} 列有内容但没有表头：{value}",
                           f"column {place} has data but no header: {value}"))
        text: dict[str, str | None] = {}
        for key in BY_KEY:
            try:
                text[key] = cell_text(form.cells.get(key), key) if key != "birth_date" else None
            except DocumentError as error:
                add(_field_problem(error, key))
                text[key] = None
        for key in REQUIRED:
            if key not in form.cells:
                column = BY_KEY[key]
                add(RowProblem(f"missing_{key}", key, "必须填写", f"required: the {column.en.lower()}"))
        for key, limit in _LIMITS.items():
            value = text[key]
            if value is not None and len(value) > limit:
                add(RowProblem(f"invalid_{key}", key, f"不能超过 {limit} 个字符", f"at most {limit} characters"))
                text[key] = None

        def parse(key: str, parser: Any, value: object) -> Any:
            if value is None:
                return None
            try:
                return parser(value)
            except DocumentError as error:
                add(_field_problem(error, key))
                return None

        sex = parse("sex", parse_sex, text["sex"])
        birth = parse("birth_date", parse_date, form.cells.get("birth_date"))
        ethnicity = parse("ethnicity", parse_ethnicity, text["ethnicity"])
        doc_type = parse("document_type", parse_document_type, text["document_type"])
        mailing = ("recipient_name", "recipient_phone", "address", "postcode")
        delivery = parse("delivery", parse_delivery, text["delivery"]) if text["delivery"] else DeliveryMethod.COLLECT
        if delivery is None:  # unreadable: judge the address columns as the clerk seems to mean them
            delivery = DeliveryMethod.EMS if any(text[k] for k in mailing) else DeliveryMethod.COLLECT
        if doc_type is not None and text["document_number"] is not None:
            try:
                row.document = IdentityDocument(doc_type, text["document_number"], text["country"])
            except DocumentError as error:
                add(_field_problem(error))
        school = text["school"] or (self.organisation_name if self.kind is STUDENT else None)
        number = row.document.number if row.document else text["document_number"]
        photo, looked_for = self._photo(row, text["photo_file"], number)
        # Unreadable cells go in as None: check_request then reports the rest of the row and its
        # complaints about those cells are dropped below (each was reported once already).
        applicant = Applicant(name=text["name"] or "", sex=sex or "", birth_date=birth,
                              document=row.document, ethnicity=ethnicity, phone=text["phone"])  # type: ignore[arg-type]
        request = ApplicationRequest(
            kind=self.kind, photo=photo, school_name=school, student_number=text["student_number"],
            applicant=applicant, delivery=Delivery(method=delivery, **{k: text[k] for k in mailing}))
        try:
            row.checked = check_request(request, on=self.on, photo_rules=self.rules)
        except PhotoRejected as rejected:  # (unless the photo file named could not be found: said already)
            if not any(p.column == "photo_file" for p in row.problems):
                row.problems.extend(_photo_problems(rejected, looked_for or ""))
        except ValidationError as invalid:
            flagged = {p.column for p in row.problems}
            for wrong in invalid.errors:
                problem = _field_problem(wrong)
                if problem.column not in flagged and not (wrong.field == "document" and row.document is None):
                    add(problem)
            # the request's check judges the photo last: judge it now (if there is anything to look for)
            if "photo_file" not in flagged and looked_for is not None:
                self._check_photo(row, photo, birth, looked_for)
        return row

    def _photo(self, row: Row, photo_file: str | None, number: str | None) -> tuple[bytes | None, str | None]:
        if not (photo_file or number):
            return None, None  # nothing to look for: the missing number is the row's problem
        looked_for = photo_file or f"{number}.jpg"
        try:
            found = self.photos.find(photo_file, number)
        except PhotoMissing as missing:
            if missing.ambiguous:
                row.problems.append(RowProblem("photo_file_ambiguous", "photo_file",
                                               f"有多个名为 {missing.name} 的照片文件，无法确定使用哪一个",
                                               f"several photo files are named {missing.name}"))
            else:
                row.problems.append(RowProblem("photo_file_not_found", "photo_file", f"未找到照片文件 {missing.name}",
                                               f"no photo file {missing.name} was handed in"))
            return None, looked_for
        except PhotoTooLarge as large:
            row.problems.append(RowProblem("photo_too_large", "photo_file", f"照片文件 {large.name} 过大，请压缩后重新提供",
                                           f"the photo file {large.name} is far too large ({large.size} bytes)"))
            return None, looked_for
        if found is None:
            return None, looked_for
        row.photo_name, data = found
        return data, looked_for

    def _check_photo(self, row: Row, photo: bytes | None, birth: date | None, looked_for: str) -> None:
        try:
            age = age_on(birth, self.on) if birth is not None else None
        except DocumentError:
            age = None
        try:
            check_photo(photo, self.rules, applicant_age=age)
        except PhotoRejected as rejected:
            row.problems.extend(_photo_problems(rejected, looked_for))

    def repeated(self, row: Row) -> Row:
        """Add what makes ``row`` a repeat of an earlier one: the same person, the same photo file."""
        document = row.document
        keys: list[object] = []
        if document is not None:
            keys.append((document.type, document.number, document.country))
            ssn = social_security_number_for(document)
            if ssn is not None:
                keys.append(("ssn", str(ssn)))
        for key in keys:
            first = self.seen.setdefault(key, row.form.number)
            if first != row.form.number:
                row.problems.append(RowProblem("duplicate_in_file", "document_number",
                                               f"与第 {first} 行是同一人（证件号码重复），每人只能申领一次",
                                               f"the same person as row {first}: one application per person"))
                row.probe = False
                return row  # (a repeated person repeats their photo: said already)
        if row.photo_name is not None:
            first = self.seen.setdefault(("photo", row.photo_name.lower()), row.form.number)
            if first != row.form.number:
                row.problems.append(RowProblem("duplicate_photo", "photo_file",
                                               f"与第 {first} 行使用同一照片文件 {row.photo_name}",
                                               f"the same photo file as row {first} ({row.photo_name})"))
        return row


# -- checking in a worker process ---------------------------------------------------------------------

_worker: RowChecker | None = None


def start_worker(settings: CheckSettings) -> None:
    """Initialise a worker process: its own checker, its own view of the photos."""
    global _worker
    _worker = RowChecker(settings, PhotoSource(settings.photos))


def check_in_worker(chunk: list[FormRow]) -> list[Row]:
    assert _worker is not None, "start_worker first"
    return [_worker.check(form) for form in chunk]
