"""The outlet console through its HTTP interface (FastAPI's in-process client), on both databases:
signing in and out (each audited; failures throttled per username), sessions that expire, forms refused
without their token, roles and outlets as the Office enforces them, every counter operation and a refusal explained, the photo judged on the spot,
batches with their report, instant issuance with the simulated printer, the audit log's filters."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from sscard_issuer.api.console import create_console
from sscard_issuer.api.console.throttle import SignInThrottle, TooManySignIns
from sscard_issuer.applications.requests import Applicant
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.lifecycle.states import CardState
from sscard_issuer.outlet.desk import IssuanceDesk
from sscard_issuer.outlet.job import JobState
from sscard_issuer.outlet.station import SimulatedPrinters, simulated_printers
from sscard_issuer.outlet.worker import WorkerSettings
from sscard_issuer.registry import AuditEntry, Registry, Role
from sscard_issuer.sim.printer_machine import Fault
from tests.unit.offices import PHOTO, applicant, enrolled, open_office
from tests.unit.test_batch_import import CODE, ORG, cells, write_form

PASSWORD = "counter-password-1"
TTL = 600.0


class SessionClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Outlet:
    office: Office
    desk: IssuanceDesk
    app: FastAPI
    clock: SessionClock
    reports: Path

    def client(self, username: str | None = None, *, lang: str | None = None) -> Browser:
        browser = Browser(TestClient(self.app, follow_redirects=True))
        if lang:
            browser.client.get(f"/console/lang/{lang}")
        if username:
            browser.sign_in(username)
        return browser


@dataclass
class Browser:
    """A member of staff's browser: its cookies, and the session's form token read from a page."""

    client: TestClient
    csrf: str = ""

    def sign_in(self, username: str, password: str = PASSWORD) -> Any:
        page = self.client.get("/console/sign-in")
        token = _token(page.text)
        response = self.client.post("/console/sign-in", data={"username": username, "password": password,
                                                              "csrf": token, "next": "/console/"})
        if response.status_code == 200 and "sign-out" in response.text:
            self.csrf = _token(response.text)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, files: Any = None, *, token: bool = True) -> Any:
        fields = {**(data or {}), **({"csrf": self.csrf} if token else {})}
        return self.client.post(path, data=fields, files=files)


def _token(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def add_staff(office: Office) -> None:
    admin = office.add_operator(None, username="admin", display_name="管理员", role=Role.ADMINISTRATOR,
                                password=PASSWORD)
    for username, name, role, outlet in (("wang.li", "王丽", Role.OPERATOR, "NN01"),
                                         ("zhao.min", "赵敏", Role.SUPERVISOR, "NN01"),
                                         ("chen.gang", "陈刚", Role.OPERATOR, "NN09"),
                                         ("audit", "审计", Role.AUDITOR, None)):
        office.add_operator(admin, username=username, display_name=name, role=role, outlet_code=outlet,
                            password=PASSWORD)


def make_outlet(registry: Registry, tmp_path: Path, simulated: SimulatedPrinters | None = None,
                office: Office | None = None) -> Outlet:
    office = office or open_office(registry)
    desk = IssuanceDesk(office)
    clock = SessionClock()
    app = create_console(office, desk=desk, simulated=simulated, session_ttl=TTL, secret="test secret",
                         reports=tmp_path, poll_interval=0.05, clock=clock)
    return Outlet(office, desk, app, clock, tmp_path)


@pytest.fixture
def outlet(registry: Registry, tmp_path: Path) -> Outlet:
    made = make_outlet(registry, tmp_path)
    add_staff(made.office)
    return made


def form_of(who: Applicant, **extra: str) -> dict[str, str]:
    return {"kind": "individual", "name": who.name, "sex": who.sex, "document_type": who.document.type.value,
            "document_number": who.document.number, "delivery": "collect", **extra}


def photo_file(data: bytes = PHOTO, name: str = "photo.jpg") -> dict[str, tuple[str, bytes, str]]:
    return {"photo": (name, data, "image/jpeg")}


def apply(browser: Browser, outlet: Outlet, serial: int, **extra: str) -> str:
    """Enrol a person through the console, file their application; the new card's reference."""
    who = applicant(serial)
    enrolment = browser.post("/console/enrol", {**form_of(who), "insured_since": "2020-01-01"})
    assert enrolment.status_code == 200 and "参保登记已记录" in enrolment.text
    filed = browser.post("/console/apply", form_of(who, **extra), files=photo_file())
    assert filed.status_code == 200, filed.text
    found = re.search(r'id="card-ref">([0-9a-f-]{36})<', filed.text)
    assert found
    return found.group(1)


# -- signing in, sessions, forgery -----------------------------------------------------------------------

def test_pages_ask_for_sign_in_and_a_wrong_password_is_refused_in_plain_words(outlet: Outlet) -> None:
    browser = outlet.client()
    page = browser.get("/console/stock")
    assert page.url.path == "/console/sign-in" and "next=%2Fconsole%2Fstock" in str(page.url)
    refused = browser.sign_in("wang.li", "not the password")
    assert refused.status_code == 403 and "用户名或密码错误" in refused.text
    landed = browser.sign_in("wang.li")
    assert landed.status_code == 200 and landed.url.path == "/console/"
    assert "王丽" in landed.text and "经办员" in landed.text and "NN01" in landed.text


def test_a_session_expires_when_idle_and_ends_at_sign_out(outlet: Outlet) -> None:
    browser = outlet.client("wang.li")
    outlet.clock.now += TTL - 1
    assert browser.get("/console/stock").url.path == "/console/stock"  # activity keeps it alive
    outlet.clock.now += TTL + 1
    expired = browser.get("/console/stock")
    assert expired.url.path == "/console/sign-in" and "登录已过期" in expired.text
    browser.sign_in("wang.li")
    cookie = browser.client.cookies.get("sscard_console")
    signed_out = browser.post("/console/sign-out")
    assert signed_out.url.path == "/console/sign-in" and "已退出登录" in signed_out.text
    replay = outlet.client()
    replay.client.cookies.set("sscard_console", cookie or "", path="/console")
    assert replay.get("/console/stock").url.path == "/console/sign-in"  # the old cookie is dead


def test_forms_without_the_session_token_are_refused_and_change_nothing(outlet: Outlet) -> None:
    browser = outlet.client("wang.li")
    for token in (None, "forged"):
        data = {"quantity": "10"} | ({"csrf": token} if token else {})
        refused = browser.client.post("/console/stock/receive", data=data)
        assert refused.status_code == 403 and "表单已失效" in refused.text
    assert outlet.office.stock(outlet.office.actor("wang.li")).received == 0
    done = browser.post("/console/stock/receive", {"quantity": "10", "reference": "D-1"})
    assert done.status_code == 200 and "已入库 10 张" in done.text
    # the sign-in form has its own token: a post from another site cannot sign anyone in
    stranger = outlet.client()
    answer = stranger.client.post("/console/sign-in", data={"username": "wang.li", "password": PASSWORD})
    assert answer.status_code == 403 and stranger.client.cookies.get("sscard_console") is None


def console_entries(outlet: Outlet) -> list[AuditEntry]:
    """The sign-in entries of the audit log, oldest first (read as an auditor would)."""
    from sscard_issuer.api.console import queries

    entries, _, _ = queries.audit_entries(outlet.office, outlet.office.actor("audit"),
                                          queries.AuditFilter(action="console."))
    return entries[::-1]


def test_signing_in_and_out_is_audited_in_the_hash_chain_without_the_password(outlet: Outlet) -> None:
    browser = outlet.client()
    assert browser.sign_in("wang.li", "not the password").status_code == 403
    assert browser.sign_in("wang.li").url.path == "/console/"
    assert browser.post("/console/sign-out").url.path == "/console/sign-in"
    assert outlet.client().sign_in("no.such.person", "not the password").status_code == 403
    assert outlet.client().sign_in("x" * 300, "not the password").status_code == 403  # cut short, still logged
    stale = outlet.client().client.post("/console/sign-in", data={"username": "wang.li", "password": "guess"})
    assert stale.status_code == 403  # a form without its token tries no password, and is not logged

    entries = console_entries(outlet)
    assert [(e.action, e.actor, e.outlet_code, e.subject) for e in entries] == [
        ("console.sign_in_failed", "anonymous", "NN01", "operator:wang.li"),  # wang.li's supervisor reads it
        ("console.sign_in", "wang.li", "NN01", "operator:wang.li"),
        ("console.sign_out", "wang.li", "NN01", "operator:wang.li"),
        ("console.sign_in_failed", "anonymous", None, "operator:no.such.person"),
        ("console.sign_in_failed", "anonymous", None, "operator:" + "x" * 64),
    ]
    assert json.loads(entries[0].detail) == {"reason": "wrong_username_or_password", "client": "testclient"}
    for entry in entries:  # the passwords tried are nowhere
        assert not any(p in entry.subject + entry.detail for p in ("not the password", PASSWORD, "guess"))
    report = outlet.office.verify_audit(outlet.office.actor("audit"))
    assert report.intact and report.entries >= len(entries)

    supervisor = outlet.client("zhao.min")
    page = supervisor.get("/console/audit?action=console.sign_in_failed")
    assert "operator:wang.li" in page.text and "no.such.person" not in page.text  # another outlet's, or none


def test_sign_in_pauses_after_five_failures_for_that_username_without_checking_the_password(
        outlet: Outlet, monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []
    authenticate = outlet.office.authenticate

    def counted(username: str, password: str) -> Any:
        checked.append(username)
        return authenticate(username, password)

    monkeypatch.setattr(outlet.office, "authenticate", counted)
    browser = outlet.client()
    for _ in range(4):
        assert browser.sign_in("wang.li", "wrong").status_code == 403
        outlet.clock.now += 60
    assert browser.sign_in("wang.li").url.path == "/console/"  # the fifth try, right: the count starts again
    started = outlet.clock.now
    for _ in range(5):
        assert outlet.client().sign_in("wang.li", "wrong").status_code == 403
        outlet.clock.now += 60
    assert len(checked) == 10

    paused = outlet.client().sign_in("wang.li")  # the right password, but no attempt is left
    retry = datetime.fromtimestamp(started + 15 * 60).astimezone().strftime("%H:%M:%S")
    assert paused.status_code == 429 and len(checked) == 10
    assert "登录失败次数过多" in paused.text and f"请于 {retry} 之后（约 10 分钟后）再试" in paused.text
    assert paused.headers["retry-after"] == str(10 * 60)
    assert 'value="wang.li"' in paused.text  # the form comes back filled, the password field empty
    english = outlet.client(lang="en").sign_in("wang.li")
    assert english.status_code == 429 and f"Try again after {retry} (in about 10 min)" in english.text
    assert outlet.client().sign_in("zhao.min").url.path == "/console/"  # other usernames are not held up
    assert len(checked) == 11

    outlet.clock.now = started + 15 * 60 - 1
    assert outlet.client().sign_in("wang.li").status_code == 429
    outlet.clock.now = started + 15 * 60  # the first of the five left the window
    assert outlet.client().sign_in("wang.li").url.path == "/console/"
    reasons = [json.loads(e.detail)["reason"] for e in console_entries(outlet) if e.action == "console.sign_in_failed"]
    assert reasons == ["wrong_username_or_password"] * 9 + ["throttled"] * 3
    assert outlet.office.verify_audit(outlet.office.actor("audit")).intact


def test_the_throttle_counts_failures_in_a_sliding_window() -> None:
    clock = SessionClock()
    throttle = SignInThrottle(attempts=2, window=60.0, clock=clock)
    throttle.attempt("a")
    clock.now += 30
    throttle.attempt("a")
    clock.now += 10
    with pytest.raises(TooManySignIns) as refused:
        throttle.attempt("a")
    assert (refused.value.retry_at, refused.value.wait) == (clock.now - 40 + 60, 20.0)
    throttle.attempt("b")  # one username's failures do not hold up another's
    clock.now += 20  # the first failure left the window: one attempt more
    throttle.attempt("a")
    with pytest.raises(TooManySignIns):
        throttle.attempt("a")
    throttle.succeeded("a")
    throttle.attempt("a")
    clock.now += 1000
    throttle.attempt("c")  # a sweep forgets the usernames whose failures all left the window
    assert set(throttle._failures) == {"c"}
    with pytest.raises(ValueError):
        SignInThrottle(attempts=0)


# -- roles ---------------------------------------------------------------------------------------------

def test_each_role_gets_what_the_registry_grants_it(outlet: Outlet) -> None:
    operator = outlet.client("wang.li")
    for path in ("/console/audit", "/console/staff"):
        page = operator.get(path)
        assert page.status_code == 403 and "无权办理此项业务" in page.text
    assert "/console/audit" not in operator.get("/console/").text  # not offered either

    auditor = outlet.client("audit")
    assert auditor.get("/console/audit").status_code == 200
    receive = auditor.post("/console/stock/receive", {"quantity": "5"})
    assert receive.status_code == 403 and "审计员" in receive.text
    assert auditor.get("/console/stock?outlet=NN09").status_code == 200  # auditors read every outlet

    admin = outlet.client("admin")
    added = admin.post("/console/staff", {"username": "li.na", "display_name": "李娜", "role": "operator",
                                         "outlet": "NN02", "password": "another-password"})
    assert added.status_code == 200 and "已添加 li.na" in added.text
    assert outlet.client().sign_in("li.na", "another-password").url.path == "/console/"
    wrong = admin.post("/console/staff", {"username": "x.y", "display_name": "X", "role": "operator",
                                         "outlet": "", "password": "another-password"})
    assert wrong.status_code == 422 and "网点" in wrong.text


def test_an_operator_cannot_look_at_another_outlet(outlet: Outlet) -> None:
    browser = outlet.client("chen.gang")
    for path in ("/console/stock?outlet=NN01", "/console/issuance?outlet=NN01", "/console/?outlet=NN01"):
        page = browser.get(path)
        assert page.status_code == 403 and "只能查看本网点（NN09）" in page.text, path


# -- applications -------------------------------------------------------------------------------------------

def test_an_application_is_filed_once_the_applicant_is_insured(outlet: Outlet) -> None:
    browser = outlet.client("wang.li")
    who = applicant(101)
    uninsured = browser.post("/console/apply", form_of(who), files=photo_file())
    assert uninsured.status_code == 409 and "未查询到该证件的参保信息" in uninsured.text
    assert who.document.number in uninsured.text  # the form comes back as it was filled
    card_ref = apply(browser, outlet, 102, instant="on")
    status = outlet.office.status(outlet.office.actor("wang.li"), card_ref)
    assert status.state is CardState.APPLIED and status.holder_name == who.name


def test_every_field_problem_is_listed_at_once_in_the_operators_language(outlet: Outlet) -> None:
    browser = outlet.client("wang.li")
    bad = {"kind": "proxy", "name": "Li 2", "sex": "1", "document_type": "resident_id_card",
           "document_number": "450103198506151234", "delivery": "ems", "instant": "on"}
    page = browser.post("/console/apply", bad, files=photo_file())
    assert page.status_code == 422
    for words in ("姓名须为汉字或拉丁字母", "证件号码", "代办人", "即时制卡须现场领取，不能邮寄", "邮寄须填写收件人姓名"):
        assert words in page.text, words
    english = outlet.client("wang.li", lang="en").post("/console/apply", bad, files=photo_file())
    assert "an instant card is handed over on the spot" in english.text


def test_a_birth_date_the_document_does_not_carry_is_asked_for_in_the_forms_words(outlet: Outlet) -> None:
    passport = {"kind": "individual", "name": "Anna Schmidt", "sex": "2", "document_type": "foreign_passport",
                "document_number": "C01X00T47", "country": "DEU", "delivery": "collect"}
    page = outlet.client("wang.li").post("/console/apply", passport, files=photo_file())
    assert page.status_code == 422
    assert "请填写出生日期：该证件号码中不含出生日期" in page.text
    assert "--birth-date" not in page.text  # the command line's option means nothing on a form


def test_a_photo_is_judged_on_the_spot_with_every_reason_said_plainly(outlet: Outlet) -> None:
    browser = outlet.client("wang.li")
    grey = io.BytesIO()
    Image.new("L", (300, 400), 128).save(grey, format="PNG")
    answer = browser.client.post("/console/apply/photo-check", files=photo_file(grey.getvalue(), "photo.png"),
                                 headers={"X-CSRF-Token": browser.csrf})
    body = answer.json()
    assert body["ok"] is False and body["headline"] == "照片不合格"
    assert any("JPEG" in r for r in body["reasons"]) and any("358" in r for r in body["reasons"])
    assert any("彩色" in r for r in body["reasons"])
    assert browser.client.post("/console/apply/photo-check", files=photo_file(),
                               headers={"X-CSRF-Token": browser.csrf}).json() == {
        "ok": True, "headline": "照片合格", "reasons": []}
    forged = browser.client.post("/console/apply/photo-check", files=photo_file(), headers={"X-CSRF-Token": "x"})
    assert forged.status_code == 403
    who = enrolled(outlet.office, outlet.office.actor("wang.li"), applicant(103))
    refused = browser.post("/console/apply", form_of(who), files=photo_file(grey.getvalue(), "photo.png"))
    assert refused.status_code == 422 and "照片须为 JPEG 格式" in refused.text


def test_a_batch_form_is_imported_and_its_report_downloaded_by_its_outlet_only(outlet: Outlet,
                                                                             tmp_path: Path) -> None:
    office, operator = outlet.office, outlet.office.actor("wang.li")
    good, uninsured = enrolled(office, operator, applicant(201)), applicant(202)
    form = write_form(tmp_path / "form.xlsx", [cells(good), cells(uninsured)])
    photos = io.BytesIO()
    with zipfile.ZipFile(photos, "w") as archive:
        for who in (good, uninsured):
            archive.writestr(f"{who.document.number}.jpg", PHOTO)
    browser = outlet.client("wang.li")
    page = browser.post("/console/batch", {"kind": "employer", "organisation_name": ORG, "organisation_code": CODE},
                        files={"form_file": ("form.xlsx", form.read_bytes(), "application/octet-stream"),
                               "photos": ("photos.zip", photos.getvalue(), "application/zip")})
    assert page.status_code == 200 and "共 2 行，受理 1 行，退回 1 行" in page.text
    link = re.search(r'href="(/console/batch/(\d+)/report.xlsx)"', page.text)
    assert link
    report = browser.get(link.group(1))
    assert report.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(report.content), read_only=True)
    assert book.sheetnames == ["汇总 Summary", "明细 Rows"]
    assert outlet.client("chen.gang").get(link.group(1)).status_code == 403
    template = browser.get("/console/batch/template.xlsx?kind=student")
    assert template.status_code == 200 and template.content[:2] == b"PK"


# -- the counter's operations on a card ------------------------------------------------------------------

def test_each_counter_operation_and_a_refusal_with_its_rule(outlet: Outlet) -> None:
    browser = outlet.client("wang.li")
    ref = apply(browser, outlet, 301)
    office, operator = outlet.office, office_actor(outlet)

    def act(action: str, key: str = ref, **extra: str) -> Any:
        version = office.status(operator, key).version
        return browser.post(f"/console/cards/{key}/act", {"action": action, "version": str(version), **extra})

    early = act("activate")
    assert early.status_code == 409
    assert "卡片当前状态为“已申请”，不能办理“启用”；可办理：制卡、注销" in early.text
    office.produce(operator, ref)
    office.ship_to_outlet(operator, ref)
    steps = [("collect", CardState.COLLECTED), ("activate", CardState.ACTIVATED),
             ("report_temporary_loss", CardState.TEMPORARILY_LOST), ("cancel_loss", CardState.ACTIVATED),
             ("pin_reset", CardState.ACTIVATED), ("report_formal_loss", CardState.FORMALLY_LOST)]
    for action, state in steps:
        page = act(action)
        assert page.status_code == 200 and "已办理" in page.text, (action, page.text[:300])
        assert office.status(operator, ref).state is state
    undo = act("cancel_loss")
    assert undo.status_code == 409 and "不能办理“解挂”" in undo.text and "补换" in undo.text
    english = outlet.client("wang.li", lang="en")
    english_refusal = english.post(f"/console/cards/{ref}/act", {"action": "cancel_loss"})
    assert "The card is formally lost: cannot cancel the loss report." in english_refusal.text
    version = office.status(operator, ref).version
    replaced = browser.post(f"/console/cards/{ref}/replace", {"version": str(version)}, files=photo_file())
    assert replaced.status_code == 200 and "补换卡申请已受理" in replaced.text
    new_ref = office.status(operator, ref).replaced_by
    assert new_ref is not None and office.status(operator, ref).state is CardState.REPLACED
    cancelled = act("cancel", new_ref)
    assert cancelled.status_code == 200 and office.status(operator, new_ref).state is CardState.CANCELLED


def office_actor(outlet: Outlet) -> Any:
    return outlet.office.actor("wang.li")


def test_a_stale_form_is_refused_as_changed_meanwhile(outlet: Outlet) -> None:
    browser = outlet.client("wang.li")
    ref = apply(browser, outlet, 302)
    stale = outlet.office.status(office_actor(outlet), ref).version
    outlet.office.produce(office_actor(outlet), ref)
    page = browser.post(f"/console/cards/{ref}/act", {"action": "cancel", "version": str(stale)})
    assert page.status_code == 409 and "已被他人修改" in page.text
    assert outlet.office.status(office_actor(outlet), ref).state is CardState.IN_PRODUCTION
    missing = browser.get("/console/cards?key=450103198506150000")
    assert missing.status_code == 404 and "找不到卡片" in missing.text


# -- stock and dual control ----------------------------------------------------------------------------------

def test_stock_requests_need_another_supervisor(outlet: Outlet) -> None:
    operator, supervisor = outlet.client("wang.li"), outlet.client("zhao.min")
    operator.post("/console/stock/receive", {"quantity": "20"})
    nothing_spoiled = operator.post("/console/stock/request", {"kind": "destroy_spoiled", "quantity": "2",
                                                               "reason": "counted"})
    assert nothing_spoiled.status_code == 422 and "spoiled cards on hand" in nothing_spoiled.text
    asked = operator.post("/console/stock/request", {"kind": "adjust_stock", "quantity": "-3", "reason": "count"})
    assert asked.status_code == 200 and "已提交复核申请" in asked.text
    request_id = int(re.search(r"已提交复核申请 (\d+)", asked.text).group(1))  # type: ignore[union-attr]
    assert f'id="approve-{request_id}"' not in asked.text  # an operator does not approve
    own = supervisor.post("/console/stock/request", {"kind": "adjust_stock", "quantity": "1", "reason": "found"})
    own_id = int(re.search(r"已提交复核申请 (\d+)", own.text).group(1))  # type: ignore[union-attr]
    self_approval = supervisor.post(f"/console/stock/approvals/{own_id}", {"approve": "1"})
    assert self_approval.status_code == 403 and "复核人不能是申请人本人" in self_approval.text
    approved = supervisor.post(f"/console/stock/approvals/{request_id}", {"approve": "1"})
    assert approved.status_code == 200 and f"复核申请 {request_id}：已批准" in approved.text
    summary = outlet.office.stock(office_actor(outlet))
    assert (summary.received, summary.adjusted, summary.blanks_on_hand) == (20, -3, 17)
    assert "账实相符" in approved.text


# -- the audit log --------------------------------------------------------------------------------------------

def test_the_audit_log_filters_and_exports_within_what_each_role_may_read(outlet: Outlet) -> None:
    operator = outlet.client("wang.li")
    apply(operator, outlet, 401)
    operator.post("/console/stock/receive", {"quantity": "7"})
    elsewhere = outlet.client("chen.gang")
    elsewhere.post("/console/stock/receive", {"quantity": "3"})

    supervisor = outlet.client("zhao.min")
    page = supervisor.get("/console/audit?action=stock.")
    assert page.status_code == 200
    rows = re.findall(r"<td class=\"mono\">(stock\.[a-z_.]+)</td>", page.text)
    assert rows == ["stock.received"]  # NN09's delivery is not the supervisor's to read
    assert supervisor.get("/console/audit?outlet=NN09").status_code == 403
    exported = supervisor.get("/console/audit.csv?action=card.submit")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "seq,at,actor,outlet,action,subject,detail,hash"
    assert len(lines) == 2 and ",wang.li,NN01,card.submit," in lines[1]

    auditor = outlet.client("audit")
    everywhere = auditor.get("/console/audit.csv?action=stock.received").text.splitlines()
    assert len(everywhere) == 3
    only_nn09 = auditor.get("/console/audit.csv?action=stock.&outlet=NN09").text.splitlines()
    assert len(only_nn09) == 2 and ",chen.gang,NN09," in only_nn09[1]
    by_actor = auditor.get("/console/audit.csv?actor=chen.gang").text.splitlines()
    assert all(",chen.gang," in line for line in by_actor[1:])
    assert [line.split(",")[4] for line in by_actor[1:]] == ["console.sign_in", "stock.received"]
    day = date(2026, 3, 2).isoformat()
    assert len(auditor.get(f"/console/audit.csv?since={day}&until={day}").text.splitlines()) > 3
    assert len(auditor.get("/console/audit.csv?since=2026-03-03").text.splitlines()) == 1
    bad_date = auditor.get("/console/audit?since=yesterday")
    assert bad_date.status_code == 422 and "YYYY-MM-DD" in bad_date.text
    verified = auditor.get("/console/audit?verify=1")
    assert 'id="audit-intact"' in verified.text


# -- instant issuance ------------------------------------------------------------------------------------------

@pytest.fixture
def printing(registry: Registry, tmp_path: Path) -> Iterator[Outlet]:
    office = open_office(registry)
    add_staff(office)
    office.receive_stock(office.actor("wang.li"), 10, reference="delivery 1")
    desk = IssuanceDesk(office)
    fast = WorkerSettings(card_timeout=2.0, poll_interval=0.02, idle_interval=0.02)
    printers = simulated_printers(desk, "NN01", count=1, blanks=10, settings=fast)
    try:
        yield make_outlet(registry, tmp_path, printers, office=office)
    finally:
        printers.close()


def wait_for(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_card_is_issued_on_the_simulated_printer_through_a_fault_and_another_outlet_sees_none_of_it(
        printing: Outlet) -> None:
    outlet = printing
    browser = outlet.client("wang.li")
    sim = outlet.client("wang.li")
    opened = sim.client.post("/console/issuance/simulator/1/open_cover", data={"csrf": sim.csrf},
                             headers={"X-CSRF-Token": sim.csrf})
    assert opened.json() == {"ok": True}
    paused = wait_for(lambda: "请关闭打印机上盖" in (page := browser.get("/console/issuance")).text and page)
    assert "模拟器" in paused.text and "上盖打开" in paused.text
    ref = apply(browser, outlet, 501, instant="on")
    marked = browser.post("/console/issuance/mark", {"key": ref, "on_failure": "ask"})
    assert marked.status_code == 200 and marked.url.path.startswith("/console/issuance/jobs/")
    job_path = marked.url.path
    assert "所有打印机均已暂停" in marked.text and "请关闭打印机上盖" in marked.text
    with browser.client.stream("GET", "/console/events?job=" + job_path.rsplit("/", 1)[1]) as stream:
        first = next(line for line in stream.iter_lines() if line.startswith("data: "))
    parts = json.loads(first.removeprefix("data: "))
    assert set(parts) == {"job_live", "journal", "printers", "simulator"} and "排队等待制卡" in parts["job_live"]
    closed = sim.post("/console/issuance/simulator/1/close_cover", {"back": job_path})
    assert closed.url.path == job_path and "模拟器：关闭上盖" in closed.text
    job_id = int(job_path.rsplit("/", 1)[1])
    wait_for(lambda: outlet.desk.job(outlet.office.actor("wang.li"), job_id)[0].state is JobState.ECARD_ISSUED)
    done = browser.get(job_path)
    assert "电子社保卡已签发，制卡完成" in done.text and 'id="face-preview"' in done.text
    face = browser.get(job_path + "/face.png")
    assert face.status_code == 200 and face.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(face.content)).size == (1016, 648)
    assert outlet.office.status(office_actor(outlet), ref).state is CardState.ACTIVATED
    undecidable = browser.post(job_path + "/decide", {"requeue": "1"})
    assert undecidable.status_code == 409 and "只有制卡失败的任务需要处理" in undecidable.text

    other = outlet.client("chen.gang")
    for path in (job_path, job_path + "/face.png"):
        page = other.get(path)
        assert page.status_code == 403 and "只能在本网点（NN09）办理业务" in page.text
    assert other.get("/console/events?job=" + str(job_id)).status_code == 403
    assert other.post(job_path + "/decide", {"requeue": "1"}).status_code == 403
    assert "#" + str(job_id) not in other.get("/console/issuance?all=1").text
    assert "模拟器" not in other.get("/console/issuance").text
    refused = other.post("/console/issuance/simulator/1/jam")
    assert refused.status_code == 403
    assert Fault.JAM not in outlet_faults(outlet)


def outlet_faults(outlet: Outlet) -> set[Fault]:
    app_state = outlet.app.state.console
    faults: set[Fault] = app_state.simulated.simulators[0].operate(lambda machine: set(machine.faults))
    return faults


def test_marking_a_card_not_applied_for_instant_issuance_is_explained(outlet: Outlet) -> None:
    browser = outlet.client("wang.li")
    ref = apply(browser, outlet, 601)
    page = browser.post("/console/issuance/mark", {"key": ref})
    assert page.status_code == 409 and "该申请未选择即时制卡" in page.text


def test_the_live_stream_sends_the_page_parts_and_ends_with_the_session(outlet: Outlet) -> None:
    browser = outlet.client("wang.li")
    events: list[str] = []
    with browser.client.stream("GET", "/console/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event: "):
                events.append(line.removeprefix("event: "))
                if events == ["update"]:
                    outlet.clock.now += TTL + 1  # the session runs out while the page is open
                elif len(events) > 1:
                    break
    assert events == ["update", "expired"]
    assert outlet.client().get("/console/events").status_code == 401


def test_demo_staff_are_added_once_on_a_fresh_registry(registry: Registry) -> None:
    from sscard_issuer.api.console.serve import add_demo_staff

    office = open_office(registry)
    made = add_demo_staff(office, "NN01", password="demo-password-1")
    assert [username for username, _ in made] == ["admin", "wang.li", "zhao.min", "chen.gang", "audit"]
    assert office.authenticate("chen.gang", "demo-password-1").outlet_code == "NN09"
    assert add_demo_staff(office, "NN01") == []  # someone can sign in already: nothing added
