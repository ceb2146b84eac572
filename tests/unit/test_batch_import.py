"""Employer and school batch applications: the form, every kind of bad row, the report, on both databases."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from typer.testing import CliRunner

from sscard_issuer.applications import DocumentType
from sscard_issuer.applications.codes import unified_credit_check_character
from sscard_issuer.applications.photo import PhotoRules
from sscard_issuer.applications.requests import Applicant, DeliveryMethod
from sscard_issuer.cli import batch as batch_cli
from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle import batch as batch_module
from sscard_issuer.lifecycle import batch_form
from sscard_issuer.lifecycle.access import Forbidden
from sscard_issuer.lifecycle.batch import BatchResult, import_batch
from sscard_issuer.lifecycle.batch_form import (
    EMPLOYER,
    STUDENT,
    BatchFormError,
    FormReader,
    cell_text,
    columns_for,
    parse_date,
    parse_delivery,
    parse_document_type,
    parse_ethnicity,
    parse_sex,
    write_template,
)
from sscard_issuer.lifecycle.batch_rows import CheckSettings
from sscard_issuer.lifecycle.errors import NotEligible
from sscard_issuer.lifecycle.events import CardApplied
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry import Application, ApplicationBatch, AuditEntry, Card, Registry
from tests.unit.offices import PHOTO, Staff, applicant, enrolled, hire, individual, open_office, ssn
from tests.unit.test_photo import portrait

ORG = "南宁市示例科技有限公司"
CODE = "91450100MA5K7Q3B2" + unified_credit_check_character("91450100MA5K7Q3B2")
FIRST = 5  # the template's first applicant row: title, organisation, note, header above it


@pytest.fixture
def office(registry: Registry) -> Office:
    return open_office(registry)


@pytest.fixture
def crew(office: Office) -> Staff:
    return hire(office)


def cells(who: Applicant, **changes: Any) -> dict[str, Any]:
    row = {"name": who.name, "sex": "男" if who.sex == "1" else "女", "birth_date": who.birth_date,
           "document_type": who.document.type.name_zh, "document_number": who.document.number,
           "phone": "13877112233"}
    return {**row, **changes}


def write_form(path: Path, rows: Sequence[dict[str, Any] | None], kind: Any = EMPLOYER, **organisation: Any) -> Path:
    """The blank form, filled in as a clerk would: one dict of cells per row (None: a blank row)."""
    write_template(path, kind, organisation_name=organisation.get("name", ORG),
                   organisation_code=organisation.get("code", CODE))
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    keys = [c.key for c in columns_for(kind)]
    for number, row in enumerate(rows, FIRST):
        for column, key in enumerate(keys, 1):
            if row and key in row:
                cell = sheet.cell(number, column, row[key])
                if isinstance(row[key], str) and row[key].startswith("="):
                    cell.data_type = "s"  # text that looks like a formula, as a clerk may type it
    book.save(path)
    return path


def photo_folder(folder: Path, *people: Applicant, data: bytes = PHOTO) -> Path:
    folder.mkdir(exist_ok=True)
    for who in people:
        (folder / f"{who.document.number}.jpg").write_bytes(data)
    return folder


def run(office: Office, actor: Any, form: Path, photos: Path, **options: Any) -> BatchResult:
    options.setdefault("report_path", form.with_name("report.xlsx"))
    return import_batch(office, actor, form, photos=photos, organisation_name=options.pop("name", ORG),
                        organisation_code=options.pop("code", CODE), **options)


def read_report(path: Path) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """The summary (label -> value) and the detail rows (sheet row -> header -> value)."""
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["汇总 Summary", "明细 Rows"]
    summary = {line[0]: line[1] for line in book["汇总 Summary"].iter_rows(values_only=True) if line}
    lines = book["明细 Rows"].iter_rows(values_only=True)
    header = next(lines)
    detail = {line[0]: dict(zip(header, line, strict=False)) for line in lines}
    book.close()
    return summary, detail


def flat(text: str) -> str:
    """Command output without the line breaks a terminal width adds."""
    return "".join(text.split())


def batch_applications(office: Office) -> list[Application]:
    with office.registry.transaction() as session:
        return list(session.execute(select(Application).where(Application.batch_id.is_not(None))
                                    .options(selectinload(Application.person)).order_by(Application.id)).scalars())


# -- a good file ----------------------------------------------------------------------------------------

def test_a_good_file_is_filed_row_by_row_with_the_batch_recorded_and_reported(
        office: Office, crew: Staff, tmp_path: Path) -> None:
    people = [enrolled(office, crew.operator, applicant(s)) for s in (101, 102, 103)]
    applied: list[CardApplied] = []
    office.bus.subscribe(CardApplied, applied.append)
    form = write_form(tmp_path / "form.xlsx", [
        cells(people[0], ethnicity="壮族", seq=1),
        cells(people[1], birth_date="1985年6月15日", delivery="邮寄", recipient_name="王丽",
              recipient_phone="0771-5512345", address="南宁市青秀区民族大道100号", postcode=530022),
        cells(people[2], sex="F" if people[2].sex == "2" else "M", document_type="resident_id_card"),
    ])
    result = run(office, crew.operator, form, photo_folder(tmp_path / "photos", *people))

    assert (result.rows_total, result.rows_accepted, result.rows_refused, dict(result.refused)) == (3, 3, 0, {})
    filed = batch_applications(office)
    assert [(a.batch_id, a.batch_row, a.kind, a.outlet_code) for a in filed] == [
        (result.batch_id, row, "employer_batch", "NN01") for row in (5, 6, 7)]
    assert (filed[1].delivery, filed[1].postcode, filed[0].delivery) == ("ems", "530022", "collect")
    assert len(applied) == 3  # published after the commit
    with office.registry.transaction() as session:
        batch = session.get(ApplicationBatch, result.batch_id)
        assert batch is not None
        assert (batch.organisation_name, batch.organisation_code, batch.rows_total, batch.rows_accepted,
                batch.operator_id) == (ORG, CODE, 3, 3, crew.operator.operator_id)
        assert batch.file_sha256 == hashlib.sha256(form.read_bytes()).hexdigest() == result.file_sha256
        entries = session.execute(select(AuditEntry).where(AuditEntry.action == "application.batch")).scalars().all()
        assert [(e.subject, json.loads(e.detail)["rows_accepted"]) for e in entries] == [(f"batch:{result.batch_id}", 3)]
    assert office.verify_audit(crew.auditor).intact

    summary, detail = read_report(result.report_path)
    assert (summary["总行数 / Rows"], summary["受理 / Accepted"], summary["退回 / Refused"]) == (3, 3, 0)
    assert summary["统一社会信用代码 / Credit code"] == CODE
    assert [(r["状态"], r["Status"], r["申请编号 / Application no."]) for r in detail.values()] == [
        ("受理", "accepted", a.id) for a in filed]
    with office.registry.transaction() as session:
        refs = {app: ref for app, ref in session.execute(select(Card.application_id, Card.card_ref))}
    assert [r["卡片编号 / Card reference"] for r in detail.values()] == [refs[a.id] for a in filed]
    assert detail[5]["*姓名 / Name"] == people[0].name  # the cells as given come back


# -- every kind of bad row ------------------------------------------------------------------------------

def test_every_bad_row_is_refused_with_its_reasons_and_the_good_rows_are_still_filed(
        office: Office, crew: Staff, tmp_path: Path) -> None:
    op = crew.operator
    good, bad_digit, adult_register, no_photo, not_insured, pending, details, grey, usable, rounded, odd = (
        applicant(s) for s in (201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211))
    child = applicant(212, birth=date(2022, 5, 1), name="小明", doc_type=DocumentType.HOUSEHOLD_REGISTER)
    for who in (good, bad_digit, adult_register, no_photo, pending, grey, usable, rounded, odd, child):
        enrolled(office, op, who)
    enrolled(office, op, Applicant(name="王五", sex=details.sex, birth_date=details.birth_date, document=details.document))
    office.apply(op, individual(pending))
    card = office.apply(op, individual(usable, instant=True))
    for step in (office.produce, office.collect):
        step(op, card.card_ref)
    wrong_digit = bad_digit.document.number[:17] + ("1" if bad_digit.document.number[17] != "1" else "2")
    rows: list[dict[str, Any] | None] = [
        cells(good),  # 5: filed
        cells(bad_digit, document_number=wrong_digit),  # 6
        cells(adult_register, document_type="户口簿"),  # 7: over 16
        cells(no_photo),  # 8: no photo file
        cells(child, ethnicity="08"),  # 9: under 7, no photo needed: filed
        cells(not_insured),  # 10
        cells(good),  # 11: the same person again
        cells(pending),  # 12: an application in progress
        cells(odd, sex="未知", phone="12345", delivery="邮寄", recipient_name="王丽", recipient_phone="13877112233",
              address="南宁市青秀区民族大道100号", postcode="5300"),  # 13: three problems at once
        {"seq": 14, "name": "李四"},  # 14: half filled
        cells(details, name="王六"),  # 15: not the enrolled person's name
        cells(grey),  # 16: a grey background
        cells(usable),  # 17: holds a usable card
        cells(rounded, document_number=float(rounded.document.number)),  # 18: a number Excel rounded
        cells(odd, name='=HYPERLINK("http://x")', document_number=ssn(date(1985, 6, 15), 299)),  # 19
        None, {"seq": 21}, None,  # blank rows and a row with only its number: nothing to report
    ]
    form = write_form(tmp_path / "form.xlsx", rows)
    photos = photo_folder(tmp_path / "photos", good, bad_digit, adult_register, not_insured, pending, details,
                          usable, rounded, odd)
    (photos / f"{grey.document.number}.jpg").write_bytes(portrait((200, 200, 200)))
    result = run(office, op, form, photos)

    expected = {6: "invalid_document_number", 7: "invalid_document_type", 8: "photo_missing",
                10: "not_insured", 11: "duplicate_in_file", 12: "pending_application", 14: "missing_sex",
                15: "details_differ", 16: "photo_background_not_white", 17: "has_usable_card",
                18: "invalid_document_number", 19: "invalid_name"}
    assert (result.rows_total, result.rows_accepted) == (15, 2)
    assert set(result.refused) == {*expected, 13}
    for row, code in expected.items():
        assert code in result.refused[row], (row, result.refused[row])
    assert {"invalid_sex", "invalid_phone", "invalid_postcode"} <= set(result.refused[13])
    assert {"missing_birth_date", "missing_document_type", "missing_document_number"} <= set(result.refused[14])
    assert result.refused[11] == ("duplicate_in_file",)  # not also "pending": the first row is the one filed
    assert [(a.batch_row, a.person.name) for a in batch_applications(office)] == [(5, good.name), (9, "小明")]

    _, detail = read_report(result.report_path)
    assert sorted(detail) == list(range(5, 20))  # every row given, none of the blank ones
    assert (detail[5]["状态"], detail[9]["Status"], detail[6]["状态"], detail[6]["Status"]) == (
        "受理", "accepted", "退回", "refused")
    assert detail[6]["退回原因"].startswith("【证件号码】居民身份证号码校验码不正确")
    assert detail[6]["Reasons"].startswith("[Document number] resident identity card number: a valid GB 11643")
    assert "【性别】" in detail[13]["退回原因"] and "【联系电话】" in detail[13]["退回原因"]
    assert "[Postcode] a 6-digit postcode" in detail[13]["Reasons"]
    assert "16周岁" in detail[7]["退回原因"] and "未找到照片文件" in detail[8]["退回原因"]
    assert "第 5 行" in detail[11]["退回原因"] and "row 5" in detail[11]["Reasons"]
    assert "Excel" in detail[18]["Reasons"] and detail[18]["申请编号 / Application no."] is None
    assert "未参保" in read_report(result.report_path)[0]  # the summary names the reasons in words
    book = openpyxl.load_workbook(result.report_path)  # a formula typed in a name stays text in the report
    typed = [c for line in book["明细 Rows"].iter_rows() for c in line if str(c.value).startswith("=HYPERLINK")]
    assert [c.data_type for c in typed] == ["s"]


# -- where and by whom ---------------------------------------------------------------------------------

def test_only_the_city_halls_take_batches(office: Office, crew: Staff, tmp_path: Path) -> None:
    who = enrolled(office, crew.operator, applicant(301))
    form = write_form(tmp_path / "form.xlsx", [cells(who)])
    photos = photo_folder(tmp_path / "photos", who)
    with pytest.raises(NotEligible) as refused:
        run(office, crew.elsewhere, form, photos)  # an operator of NN09, a county hall
    assert refused.value.code == "no_batch_applications"
    assert "仅南宁市各城区人力资源社会保障服务大厅办理" in refused.value.message("zh")
    assert "district service halls" in refused.value.message("en")
    office.set_outlet(crew.admin, "NN01", batch_applications=False)
    with pytest.raises(NotEligible):
        run(office, crew.operator, form, photos)
    assert not (tmp_path / "report.xlsx").exists() and batch_applications(office) == []
    with office.registry.transaction() as session:
        assert session.execute(select(func.count()).select_from(ApplicationBatch)).scalar_one() == 0


def test_an_operator_imports_only_at_their_own_outlet(office: Office, crew: Staff, tmp_path: Path) -> None:
    who = enrolled(office, crew.operator, applicant(302))
    form = write_form(tmp_path / "form.xlsx", [cells(who)])
    photos = photo_folder(tmp_path / "photos", who)
    with pytest.raises(Forbidden) as elsewhere:
        run(office, crew.operator, form, photos, outlet_code="NN02")
    assert "NN01" in elsewhere.value.message("zh")
    with pytest.raises(Forbidden):
        run(office, crew.auditor, form, photos, outlet_code="NN01")
    assert batch_applications(office) == []


def test_the_organisation_code_is_checked_and_must_match_the_form(office: Office, crew: Staff, tmp_path: Path) -> None:
    who = enrolled(office, crew.operator, applicant(303))
    form = write_form(tmp_path / "form.xlsx", [cells(who)])
    photos = photo_folder(tmp_path / "photos", who)
    with pytest.raises(FieldError) as bad:
        run(office, crew.operator, form, photos, code=CODE[:17] + ("0" if CODE[17] != "0" else "1"))
    assert bad.value.field == "organisation_code"
    other = "91450100MA5K7Q3B3" + unified_credit_check_character("91450100MA5K7Q3B3")
    with pytest.raises(BatchFormError) as differs:
        run(office, crew.operator, form, photos, code=other)
    assert CODE in differs.value.message("zh")
    assert batch_applications(office) == []


# -- students, re-imports, photos in a zip ----------------------------------------------------------------

def test_students_are_filed_as_students_with_school_and_student_number(
        office: Office, crew: Staff, tmp_path: Path) -> None:
    pupils = [enrolled(office, crew.operator, applicant(s, birth=date(2012, 9, 1))) for s in (401, 402, 403)]
    form = write_form(tmp_path / "form.xlsx", [
        cells(pupils[0], student_number="G450103201209010011"),  # the school: the organisation
        cells(pupils[1], student_number="G450103201209010029", school="南宁市第二中学"),
        cells(pupils[2]),  # no student number
    ], kind=STUDENT, name="南宁市第一中学")
    result = run(office, crew.operator, form, photo_folder(tmp_path / "photos", *pupils), kind=STUDENT,
                 name="南宁市第一中学")
    assert result.refused == {7: ("invalid_student_number",)}
    assert [(a.kind, a.school_name, a.student_number) for a in batch_applications(office)] == [
        ("student", "南宁市第一中学", "G450103201209010011"), ("student", "南宁市第二中学", "G450103201209010029")]
    employer_form = write_form(tmp_path / "employer.xlsx", [cells(pupils[2])])
    with pytest.raises(BatchFormError) as wrong_form:
        run(office, crew.operator, employer_form, tmp_path / "photos", kind=STUDENT)
    assert "学籍号" in wrong_form.value.message("zh")


def test_importing_the_same_file_again_files_no_one_twice(office: Office, crew: Staff, tmp_path: Path) -> None:
    people = [enrolled(office, crew.operator, applicant(s)) for s in (501, 502)]
    form = write_form(tmp_path / "form.xlsx", [cells(p) for p in people])
    photos = photo_folder(tmp_path / "photos", *people)
    first = run(office, crew.operator, form, photos)
    again = run(office, crew.operator, form, photos, report_path=tmp_path / "again.xlsx")
    assert (first.rows_accepted, again.rows_accepted) == (2, 0)
    assert again.refused == {5: ("pending_application",), 6: ("pending_application",)}
    filed = batch_applications(office)
    assert [a.batch_id for a in filed] == [first.batch_id] * 2
    _, detail = read_report(again.report_path)
    assert f"申请编号 {filed[0].id}，批次 {first.batch_id} 第 5 行" in detail[5]["退回原因"]
    assert f"batch {first.batch_id} row 6" in detail[6]["Reasons"]
    with office.registry.transaction() as session:
        batches = session.execute(select(ApplicationBatch).order_by(ApplicationBatch.id)).scalars().all()
        assert [(b.rows_total, b.rows_accepted) for b in batches] == [(2, 2), (2, 0)]


def test_photos_may_come_in_a_zip_named_by_the_photo_file_column(office: Office, crew: Staff, tmp_path: Path) -> None:
    people = [enrolled(office, crew.operator, applicant(s)) for s in (601, 602, 603)]
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("照片/张三.jpg", PHOTO)
        bundle.writestr(f"{people[1].document.number.lower()}.JPG", PHOTO)
    form = write_form(tmp_path / "form.xlsx", [
        cells(people[0], photo_file="张三.jpg"), cells(people[1]), cells(people[2], photo_file="李四.jpg")])
    result = run(office, crew.operator, form, archive)
    assert result.refused == {7: ("photo_file_not_found",)}
    with pytest.raises(BatchFormError):
        run(office, crew.operator, form, tmp_path / "no-such-folder")


# -- streaming --------------------------------------------------------------------------------------------

def test_the_form_is_streamed_and_filed_as_it_is_read(
        office: Office, crew: Staff, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    people = [enrolled(office, crew.operator, applicant(700 + s)) for s in range(12)]
    form = write_form(tmp_path / "form.xlsx", [cells(p) for p in people])
    published: list[CardApplied] = []
    office.bus.subscribe(CardApplied, published.append)
    opened: list[dict[str, Any]] = []
    pulled: list[int] = []  # for each row read from the sheet: applications published by then
    load, iter_rows = openpyxl.load_workbook, ReadOnlyWorksheet.iter_rows

    def spy_load(*args: Any, **kwargs: Any) -> Any:
        opened.append(kwargs)
        return load(*args, **kwargs)

    def spy_rows(sheet: ReadOnlyWorksheet, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for row in iter_rows(sheet, *args, **kwargs):
            pulled.append(len(published))
            yield row

    monkeypatch.setattr(openpyxl, "load_workbook", spy_load)
    monkeypatch.setattr(ReadOnlyWorksheet, "iter_rows", spy_rows)
    result = run(office, crew.operator, form, photo_folder(tmp_path / "photos", *people), chunk_size=2)
    assert result.rows_accepted == 12
    assert opened and all(o.get("read_only") is True for o in opened)
    assert pulled[FIRST - 1] == 0 and pulled[-1] > 0  # the first chunk filed before the last row was read


def test_a_row_that_fails_while_being_filed_is_rolled_back_alone(office: Office, crew: Staff, tmp_path: Path) -> None:
    people = [enrolled(office, crew.operator, applicant(s)) for s in (751, 752, 753)]
    published: list[CardApplied] = []
    office.bus.subscribe(CardApplied, published.append)
    calls: list[str] = []

    def refuse_the_second(session: Any, events: Any) -> None:  # a hook inside the filing transaction
        calls.append(events[0].card_ref)
        if len(calls) == 2:
            raise NotEligible("test_refusal", "refused by a hook", "测试拒绝")

    office.hooks.append(refuse_the_second)
    form = write_form(tmp_path / "form.xlsx", [cells(p) for p in people])
    result = run(office, crew.operator, form, photo_folder(tmp_path / "photos", *people))
    assert (result.rows_accepted, result.refused) == (2, {6: ("test_refusal",)})
    assert [a.batch_row for a in batch_applications(office)] == [5, 7]
    assert {e.card_ref for e in published} == {calls[0], calls[2]}  # the refused row's event never went out
    with office.registry.transaction() as session:
        assert session.execute(select(Card).where(Card.card_ref == calls[1])).first() is None
    assert office.verify_audit(crew.auditor).intact  # its audit entry went with it, the chain unbroken


def test_checking_in_a_worker_process_gives_what_checking_here_gives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    people = [applicant(900 + s) for s in range(7)]
    rows = [cells(p) for p in people] + [cells(people[0]), cells(people[3], phone="1"), cells(applicant(950), phone="1")]
    photos = photo_folder(tmp_path / "photos", *people, applicant(950))
    (photos / f"{people[5].document.number}.jpg").write_bytes(portrait((200, 200, 200)))
    form = write_form(tmp_path / "form.xlsx", rows)
    settings = CheckSettings(EMPLOYER, ORG, photos, date(2026, 3, 2), PhotoRules())
    pools: list[object] = []
    make_pool = batch_module._worker_pool

    def spy_pool(settings: CheckSettings) -> Any:
        pools.append(make_pool(settings))
        return pools[-1]

    monkeypatch.setattr(batch_module, "_worker_pool", spy_pool)

    def outcome(parallel: bool) -> list[list[tuple[Any, ...]]]:
        with FormReader(form, EMPLOYER) as reader:
            return [[(r.form.number, tuple(p.code for p in r.problems), r.document, r.checked is not None, r.probe)
                     for r in chunk] for chunk in batch_module._checked_chunks(reader.rows(), 3, settings, parallel)]

    here = outcome(parallel=False)
    assert pools == []
    there = outcome(parallel=True)
    assert len(pools) == 1 and pools[0] is not None  # a worker process did check these rows
    assert there == here and [len(chunk) for chunk in here] == [3, 3, 3, 1]
    codes = {number: problems for chunk in here for number, problems, *_ in chunk if problems}
    assert codes == {10: ("photo_background_not_white",), 12: ("duplicate_in_file",),
                     13: ("invalid_phone", "duplicate_in_file"), 14: ("invalid_phone",)}


# -- the form itself ---------------------------------------------------------------------------------------

def test_the_blank_form_reads_back_and_refuses_what_it_does_not_know(tmp_path: Path) -> None:
    path = write_template(tmp_path / "blank.xlsx", EMPLOYER, organisation_name=ORG, organisation_code=CODE)
    with FormReader(path, EMPLOYER) as form:
        assert (form.organisation_name, form.organisation_code, form.header_row) == (ORG, CODE, 4)
        assert "school" not in form.keys and form.keys[:3] == ("seq", "name", "sex")
        assert list(form.rows()) == []
    with FormReader(write_template(tmp_path / "students.xlsx", STUDENT), STUDENT) as form:
        assert {"school", "student_number"} <= set(form.keys)
        assert (form.organisation_name, form.organisation_code) == (None, None)  # left blank, not the next label

    def sheet(header: list[str], *rows: list[Any]) -> Path:
        book = openpyxl.Workbook()
        active = book.active
        assert active is not None
        for line in (header, *rows):
            active.append(line)
        book.save(tmp_path / "custom.xlsx")
        return tmp_path / "custom.xlsx"

    english = sheet(["Document number", "Name", "Sex", "Date of birth", "Document type"],
                    ["450103198506151231", "李秀英", "女", date(1985, 6, 15), "身份证"], [None, None, None, None, None, "x"])
    with FormReader(english, EMPLOYER) as form:
        assert [(r.number, r.cells.get("name"), r.stray) for r in form.rows()] == [
            (2, "李秀英", []), (3, None, [(6, "x")])]  # a cell under no header is not dropped
    for header, words in ((["姓名", "性别", "出生日期", "证件类型", "证件号码", "备注"], "备注"),
                          (["姓名", "性别", "出生日期", "证件号码"], "证件类型")):
        with pytest.raises(BatchFormError) as refused, FormReader(sheet(header), EMPLOYER):
            pass
        assert words in refused.value.message("zh")
    (tmp_path / "not.xlsx").write_text("姓名,性别\n")
    with pytest.raises(BatchFormError) as not_a_workbook:
        FormReader(tmp_path / "not.xlsx", EMPLOYER)
    assert not_a_workbook.value.field == "file"


def test_cells_are_read_as_clerks_type_them() -> None:
    assert {parse_date(v) for v in ("1985-06-15", "1985/6/15", "1985.06.15", "19850615", "1985年6月15日",
                                    date(1985, 6, 15), 19850615)} == {date(1985, 6, 15)}
    for wrong in ("1985-02-30", "85-6-15", 31213):
        with pytest.raises(FieldError):
            parse_date(wrong)
    assert [parse_sex(v) for v in ("男", "女", "1", "2", "M", "f", "Female")] == ["1", "2", "1", "2", "1", "2", "2"]
    assert parse_document_type("身份证") is parse_document_type("居民身份证") is DocumentType.RESIDENT_ID_CARD
    assert parse_document_type("foreign_passport") is DocumentType.FOREIGN_PASSPORT
    assert parse_document_type("外国人永久居留身份证") is DocumentType.FOREIGN_PERMANENT_RESIDENCE_ID
    assert [parse_ethnicity(v) for v in ("壮族", "壮", "8", "08", "汉族", "土族", "土家族", "98")] == [
        "08", "08", "08", "08", "01", "30", "15", "98"]
    assert (parse_delivery(None), parse_delivery("EMS"), parse_delivery("到网点领取")) == (
        DeliveryMethod.COLLECT, DeliveryMethod.EMS, DeliveryMethod.COLLECT)
    for parser, wrong in ((parse_sex, "未知"), (parse_document_type, "驾驶证"), (parse_ethnicity, "57"),
                          (parse_delivery, "快递")):
        with pytest.raises(FieldError):
            parser(wrong)
    assert (cell_text(530022, "postcode"), cell_text(10000, "postcode"), cell_text(12345678, "document_number")) == (
        "530022", "010000", "12345678")
    assert cell_text("  １３８７７１１２２３３ ", "phone") == "13877112233"
    with pytest.raises(FieldError, match="Excel"):
        cell_text(4.50103198506151e17, "document_number")
    assert batch_form.header_key("*证件号码 / Document number") == "document_number"
    assert batch_form.header_key("Photo file") == "photo_file" and batch_form.header_key("备注") is None


# -- the command line -----------------------------------------------------------------------------------

def test_the_command_imports_a_file_and_exits_non_zero_only_when_it_cannot(
        office: Office, crew: Staff, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSCARD_LANG", raising=False)
    people = [enrolled(office, crew.operator, applicant(s)) for s in (801, 802)]
    form = write_form(tmp_path / "form.xlsx", [cells(people[0]), cells(people[1], phone="123")])
    photos = photo_folder(tmp_path / "photos", *people)
    runner = CliRunner()
    common = ["import", str(form), "--organisation-name", ORG, "--photos", str(photos),
              "--database", office.registry.url]
    done = runner.invoke(batch_cli.app, [*common, "--organisation-code", CODE], env={"SSCARD_OPERATOR": "wang.li"})
    assert done.exit_code == 0, done.output
    assert "受理1行，退回1行" in flat(done.output) and flat(str(tmp_path / "form.report.xlsx")) in flat(done.output)
    assert (tmp_path / "form.report.xlsx").exists()
    as_json = runner.invoke(batch_cli.app, [*common, "--organisation-code", CODE, "--operator", "wang.li", "--json",
                                            "--report", str(tmp_path / "r2.xlsx")], env={"SSCARD_LANG": "en"})
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["refused_rows"] == {"5": ["pending_application"],
                                                          "6": ["invalid_phone"]}
    county = runner.invoke(batch_cli.app, [*common, "--organisation-code", CODE, "--operator", "chen.gang"])
    assert county.exit_code == 9 and "仅南宁市各城区" in flat(county.output)  # refused by a rule, as elsewhere
    stranger = runner.invoke(batch_cli.app, [*common, "--organisation-code", CODE, "--operator", "nobody"])
    assert stranger.exit_code == 10
    wrong = CODE[:17] + ("0" if CODE[17] != "0" else "1")
    bad_code = runner.invoke(batch_cli.app, [*common, "--organisation-code", wrong,
                                             "--operator", "wang.li"], env={"SSCARD_LANG": "en"})
    assert bad_code.exit_code == 6 and "(check)characterisright" in flat(bad_code.output)
    blank = runner.invoke(batch_cli.app, ["template", str(tmp_path / "blank.xlsx"), "--kind", "student"])
    assert blank.exit_code == 0 and (tmp_path / "blank.xlsx").exists()
