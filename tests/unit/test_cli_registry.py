"""``sscard`` on the registry: staff, enrolment, applications, a card's life, stock, the audit log.

The commands run in-process (typer's runner) against a fresh database per test; the main story and
the audit log's tamper check run on SQLite and on PostgreSQL. What a clerk reads is checked in
Chinese by default and in English with SSCARD_LANG=en; every ``--json`` output is parsed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import text
from typer.testing import CliRunner

import sscard_issuer
from sscard_issuer.cli import app
from sscard_issuer.lifecycle.access import Actor
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry import Registry
from tests.pg import NewDatabaseUrl

PHOTO = Path(sscard_issuer.__file__).parent / "data" / "sample_photo.jpg"
HOLDER = ["--name", "李秀英", "--sex", "1", "--birth-date", "1985-06-15", "--document-number", "450103198506151231"]
HOLDER_SSN = "450103198506151231"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def flat(output: str) -> str:
    """The output without the line breaks and padding a terminal width adds."""
    return "".join(output.split())


class Sscard:
    """``sscard ...`` on one database, acting as ``operator`` unless told otherwise."""

    def __init__(self, runner: CliRunner, url: str) -> None:
        self.runner = runner
        self.url = url

    def __call__(self, *args: str, operator: str | None = "wang", lang: str | None = None,
                 stdin: str | None = None) -> Result:
        full = [*args, "--database", self.url, *(["--operator", operator] if operator else [])]
        return self.runner.invoke(app, full, env={"SSCARD_LANG": lang} if lang else None, input=stdin)

    def ok(self, *args: str, operator: str | None = "wang") -> Any:
        """Run with --json; exit 0 expected; the parsed output."""
        result = self(*args, "--json", operator=operator)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def refused(self, code: int, *args: str, operator: str | None = "wang", lang: str | None = None) -> str:
        """Run; exit ``code`` expected, no traceback; the error output without line breaks."""
        result = self(*args, operator=operator, lang=lang)
        assert result.exit_code == code, (result.exit_code, result.output, result.exception)
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        return flat(result.stderr)

    def office(self, act: str, card_ref: str) -> None:
        """The production side (not a counter command): e.g. ``produce`` through the Python API."""
        registry = Registry(self.url)
        try:
            getattr(Office(registry), act)(Actor.system(), card_ref)
        finally:
            registry.close()


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("SSCARD_LANG", "SSCARD_OPERATOR", "SSCARD_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def staffed(sscard: Sscard) -> Sscard:
    """An administrator, operators at NN01 and NN02, a supervisor at NN01, an auditor; one person enrolled."""
    assert sscard.ok("staff", "add", "--username", "admin", "--name", "管理员", "--role", "administrator",
                     operator=None) == {"username": "admin", "operator_id": 1, "role": "administrator", "outlet": None}
    for username, role, outlet in (("wang", "operator", "NN01"), ("zhao", "supervisor", "NN01"),
                                   ("liu", "operator", "NN02"), ("sun", "auditor", None)):
        added = sscard.ok("staff", "add", "--username", username, "--name", username, "--role", role,
                          *(["--outlet", outlet] if outlet else []), operator="admin")
        assert (added["username"], added["role"], added["outlet"]) == (username, role, outlet)
    enrolled = sscard.ok("person", "enrol", *HOLDER, "--insured-since", "2020-01-01")
    assert isinstance(enrolled["person_id"], int)
    assert enrolled["insured_since"] == "2020-01-01"
    return sscard


@pytest.fixture
def sscard(runner: CliRunner, new_database_url: NewDatabaseUrl) -> Sscard:
    """A staffed registry on SQLite (the checks that do not depend on the database)."""
    return staffed(Sscard(runner, new_database_url("sqlite")))


def file_card(sscard: Sscard) -> str:
    filed = sscard.ok("apply", *HOLDER, "--photo", str(PHOTO))
    assert set(filed) == {"application_id", "card_ref", "person_id"}
    assert UUID.fullmatch(filed["card_ref"])
    return str(filed["card_ref"])


def usable_card(sscard: Sscard) -> str:
    """A card filed, made, collected and activated."""
    ref = file_card(sscard)
    sscard.office("produce", ref)
    assert sscard.ok("card", "collect", ref)["state"] == "collected"
    assert sscard.ok("card", "activate", ref)["state"] == "activated"
    return ref


# -- the main story, on both databases ----------------------------------------------------------------


def test_a_card_from_application_through_losses_to_replacement(runner: CliRunner, database_url: str) -> None:
    sscard = staffed(Sscard(runner, database_url))
    assert "只有管理员" in sscard.refused(10, "staff", "add", "--username", "admin2", "--name", "x",
                                        "--role", "administrator", operator=None)
    ref = file_card(sscard)

    status = sscard.ok("card", "status", HOLDER_SSN)
    assert list(status) == ["card_ref", "state", "state_display", "version", "holder", "application", "card_number",
                            "card_id", "loss", "replaces", "replaced_by", "allowed_actions", "history"]
    assert status["card_ref"] == ref
    assert status["state"] == "applied"
    assert status["state_display"] == "已申请"
    assert status["version"] == 1
    assert status["holder"] == {"name": "李秀英", "social_security_number": HOLDER_SSN}
    assert status["application"] == {"id": 1, "kind": "individual", "delivery": "collect", "tracking_number": None}
    assert (status["card_number"], status["card_id"], status["loss"]) == (None, None, None)
    assert (status["replaces"], status["replaced_by"]) == (None, None)
    assert status["allowed_actions"] == ["produce", "cancel"]
    [submitted] = status["history"]
    assert {k: v for k, v in submitted.items() if k != "at"} == {
        "action": "submit", "from": None, "to": "applied", "operator": "wang", "outlet": "NN01"}
    assert submitted["at"].endswith("+00:00")

    sscard.office("produce", ref)
    assert sscard.ok("card", "collect", ref)["state"] == "collected"
    activated = sscard.ok("card", "activate", ref)
    assert (activated["state"], activated["version"]) == ("activated", 4)

    lost = sscard.ok("card", "report-loss", HOLDER_SSN, "--temporary")
    assert lost["state"] == "temporarily_lost"
    assert lost["state_display"] == "临时挂失"
    assert lost["loss"]["reported_at"] < lost["loss"]["expires_at"]
    assert "cancel_loss" in lost["allowed_actions"]
    found = sscard.ok("card", "cancel-loss", ref)
    assert (found["state"], found["loss"]) == ("activated", None)
    assert sscard.ok("card", "report-loss", ref, "--formal")["state"] == "formally_lost"

    said = sscard.refused(9, "card", "cancel-loss", ref)
    assert "当前状态不能办理" in said
    assert "卡片当前状态为“正式挂失”，不能办理“解挂”" in said
    assert "可办理：补换、注销" in said

    replaced = sscard.ok("card", "replace", HOLDER_SSN, "--photo", str(PHOTO))
    assert replaced["replaces"] == ref
    assert replaced["card_ref"] != ref
    assert replaced["card"]["state"] == "applied"
    assert replaced["card"]["application"]["kind"] == "replacement"
    old = sscard.ok("card", "status", ref)
    assert (old["state"], old["replaced_by"], old["allowed_actions"]) == ("replaced", replaced["card_ref"], [])
    actions = [h["action"] for h in old["history"]]  # the replacement logs two events (replaced, successor asked)
    assert [a for i, a in enumerate(actions) if i == 0 or a != actions[i - 1]] == [
        "submit", "produce", "collect", "activate", "report_temporary_loss", "cancel_loss", "report_formal_loss",
        "replace"]
    assert [h["operator"] for h in old["history"]][1] == "system"
    assert sscard.ok("card", "status", HOLDER_SSN)["card_ref"] == replaced["card_ref"]

    report = sscard.ok("audit", "verify", operator="sun")
    assert report["intact"] is True
    assert report["problems"] == []
    assert report["entries"] >= 13
    assert re.fullmatch(r"[0-9a-f]{64}", report["head_hash"])


def _tamper(url: str) -> None:
    registry = Registry(url)
    try:
        with registry.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
            else:
                connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
    finally:
        registry.close()


def test_audit_verify_says_intact_then_lists_what_was_tampered_with(runner: CliRunner, database_url: str) -> None:
    sscard = staffed(Sscard(runner, database_url))
    intact = sscard("audit", "verify", operator="admin")
    assert intact.exit_code == 0, intact.output
    assert "审计日志完整" in flat(intact.stdout)
    head = sscard.ok("audit", "verify", operator="zhao")["head_hash"]
    assert head in flat(intact.stdout)
    assert sscard("audit", "verify", "--expect-head", head, operator="sun").exit_code == 0

    _tamper(database_url)
    said = sscard.refused(12, "audit", "verify", operator="sun")
    assert "审计日志已被篡改" in said
    assert "第2条记录写入后被修改" in said
    result = sscard("audit", "verify", "--json", operator="sun")
    assert result.exit_code == 12
    doc = json.loads(result.stdout)
    assert doc["intact"] is False
    assert [(p["seq"], p["what"]) for p in doc["problems"]] == [(2, "changed")]
    assert "changed after it was written" in doc["problems"][0]["message"]
    assert "wasmodified" not in flat(result.stderr)
    english = sscard.refused(12, "audit", "verify", operator="sun", lang="en")
    assert "theauditloghasbeentamperedwith" in english
    assert "entry2waschangedafteritwaswritten" in english


# -- refusals: exit codes and what they say -----------------------------------------------------------


def test_a_refused_action_names_the_state_and_what_is_possible_in_english(sscard: Sscard) -> None:
    ref = usable_card(sscard)
    said = sscard.refused(9, "card", "cancel-loss", ref, lang="en")
    assert "notpossibleinthecard'scurrentstate" in said
    assert "Thecardisactivated:cannotcancelthelossreport.Possible:" in said
    assert "reportatemporaryloss" in said


def test_a_stale_expected_version_is_refused_and_nothing_changes(sscard: Sscard) -> None:
    ref = usable_card(sscard)
    version = sscard.ok("card", "status", ref)["version"]
    said = sscard.refused(11, "card", "report-loss", ref, "--temporary", "--expected-version", str(version - 1))
    assert "已被他人修改" in said
    assert f"版本{version - 1}→{version}" in said
    assert sscard.ok("card", "status", ref)["state"] == "activated"
    english = sscard.refused(11, "card", "cancel", ref, "--expected-version", "1", lang="en")
    assert "changedmeanwhile" in english
    done = sscard.ok("card", "report-loss", ref, "--temporary", "--expected-version", str(version))
    assert (done["state"], done["version"]) == ("temporarily_lost", version + 1)
    assert sscard.refused(11, "card", "replace", ref, "--photo", str(PHOTO), "--expected-version", str(version))


def test_staff_act_only_where_they_work_and_as_their_role_allows(sscard: Sscard) -> None:
    said = sscard.refused(10, "apply", *HOLDER, "--photo", str(PHOTO), "--outlet", "NN02")
    assert "无权办理" in said
    assert "只能在本网点（NN01）办理业务" in said
    assert "NN01" in sscard.refused(10, "stock", "show", "--outlet", "NN02")
    assert "worksatoutletNN01" in sscard.refused(10, "apply", *HOLDER, "--photo", str(PHOTO), "--outlet", "NN02",
                                                 lang="en")
    assert "无权办理此项业务" in sscard.refused(10, "outlet", "set", "NN09", "--instant")
    assert "无权办理此项业务" in sscard.refused(10, "audit", "verify")  # an operator does not read the log
    assert "sun（审计员）无权办理此项业务" in sscard.refused(10, "apply", *HOLDER, "--photo", str(PHOTO), "--outlet",
                                                       "NN01", operator="sun")
    assert "sun" in sscard.refused(10, "apply", *HOLDER, "--photo", str(PHOTO), operator="sun")
    assert "没有名为nobody的在岗工作人员" in sscard.refused(10, "card", "status", HOLDER_SSN, operator="nobody")
    # liu works at NN02: loss reports are taken at any outlet, the card's status is read anywhere
    ref = usable_card(sscard)
    assert sscard.ok("card", "report-loss", ref, "--temporary", operator="liu")["history"][-1]["outlet"] == "NN02"


def test_commands_that_act_need_an_operator(sscard: Sscard) -> None:
    result = sscard("card", "status", HOLDER_SSN, operator=None)
    assert result.exit_code == 2
    assert "--operator" in result.output
    assert "SSCARD_OPERATOR" in flat(result.output)
    env = sscard.runner.invoke(app, ["card", "status", HOLDER_SSN, "--database", sscard.url],
                               env={"SSCARD_OPERATOR": "wang"})
    assert env.exit_code == 13  # acting as wang: the card is not found (none filed)
    assert sscard("card", "report-loss", HOLDER_SSN).exit_code == 2  # neither --temporary nor --formal


def test_an_unknown_card_exits_13(sscard: Sscard) -> None:
    said = sscard.refused(13, "card", "status", "00000000-0000-4000-8000-000000000000")
    assert "找不到卡片:00000000-0000-4000-8000-000000000000" in said
    assert "cardnotfound" in sscard.refused(13, "card", "activate", "no-such-card", lang="en")


def test_every_field_error_is_listed_in_chinese_or_english(sscard: Sscard) -> None:
    bad = ["apply", "--name", "X1", "--sex", "3", "--document-number", "450103198506151232", "--ethnicity", "123",
           "--phone", "123", "--kind", "proxy", "--agent-name", "张三", "--agent-document-number", "11",
           "--delivery", "ems", "--postcode", "1"]
    said = sscard.refused(6, *bad)
    assert "输入有误" in said
    fields = ["name", "document_number", "sex", "ethnicity", "phone", "agent_document_number", "commitment_signed",
              "commitment_reference", "recipient_name", "recipient_phone", "address", "postcode"]
    assert f"{len(fields)}处需要改正" in said
    for field in fields:
        assert f"-{field}:" in said, field
    assert "居民身份证号码校验码不正确" in said
    assert "性别须为1（男）或2（女）" in said
    assert "承诺书须由代办人签字" in said
    english = sscard.refused(6, *bad, lang="en")
    assert "invalidinput" in english
    assert "document_number:expectedresidentidentitycardnumber" in english
    assert "sex:expected1ormale,2orfemale" in english


def test_an_enrolment_with_a_wrong_birth_date_and_date_format_lists_both(sscard: Sscard) -> None:
    said = sscard.refused(6, "person", "enrol", "--name", "李秀英", "--sex", "female", "--birth-date", "1985-06-16",
                          "--document-number", HOLDER_SSN, "--insured-since", "2020/01/01")
    assert "birth_date:出生日期须与证件号码中的一致（1985-06-15）" in said
    assert "insured_since:日期格式须为YYYY-MM-DD" in said


def test_a_birth_date_the_document_does_not_carry_is_asked_for_by_its_option(sscard: Sscard) -> None:
    said = sscard.refused(6, "person", "enrol", "--name", "Anna Schmidt", "--sex", "2", "--document-type",
                          "foreign_passport", "--document-number", "C01X00T47", "--country", "DEU",
                          "--insured-since", "2020-01-01")
    assert "birth_date:请填写出生日期（--birth-dateYYYY-MM-DD）：该证件号码不含出生日期" in said  # flat: no spaces


def test_a_refused_photo_gives_every_reason(sscard: Sscard, tmp_path: Path) -> None:
    not_jpeg = tmp_path / "photo.png"
    not_jpeg.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    said = sscard.refused(6, "apply", *HOLDER, "--photo", str(not_jpeg))
    assert "照片不合格:发现2处问题" in said
    assert "-照片须为JPEG格式" in said
    assert "-照片文件太小" in said
    missing = sscard.refused(6, "apply", *HOLDER)  # an adult brings a photo
    assert "照片不合格" in missing
    assert "thephotocannotbeused" in sscard.refused(6, "apply", *HOLDER, lang="en")
    unreadable = sscard.refused(6, "apply", *HOLDER, "--photo", str(tmp_path / "none.jpg"))
    assert "photo:无法读取文件" in unreadable


def test_the_registry_refuses_a_second_application_and_instant_cards_where_none_are_made(sscard: Sscard) -> None:
    file_card(sscard)
    said = sscard.refused(9, "apply", *HOLDER, "--photo", str(PHOTO))
    assert "不符合办理条件" in said
    assert "申请人已有在办的制卡申请" in said
    assert "alreadyhasanapplicationinprogress" in sscard.refused(9, "apply", *HOLDER, "--photo", str(PHOTO),
                                                                 lang="en")
    sscard.ok("staff", "add", "--username", "zhou", "--name", "周", "--role", "operator", "--outlet", "NN09",
              operator="admin")
    sscard.ok("person", "enrol", "--name", "王小明", "--sex", "1", "--document-number", "450103199001011238",
              "--insured-since", "2021-03-01")
    said = sscard.refused(9, "apply", "--name", "王小明", "--sex", "1", "--document-number", "450103199001011238",
                          "--photo", str(PHOTO), "--instant", operator="zhou")
    assert "未开通即时制卡业务" in said
    assert "not_insured" not in said


def test_proxy_and_student_applications_and_mail_delivery(sscard: Sscard) -> None:
    sscard.ok("person", "enrol", "--name", "王小明", "--sex", "male", "--document-number", "450103199001011238",
              "--insured-since", "2021-03-01")
    proxy = sscard.ok("apply", "--kind", "proxy", "--name", "王小明", "--sex", "1", "--document-number",
                      "450103199001011238", "--photo", str(PHOTO), "--agent-name", "李秀英", "--agent-document-number",
                      HOLDER_SSN, "--commitment-ref", "SCAN-2024-0001", "--commitment-signed", "--delivery", "ems",
                      "--recipient", "王小明", "--recipient-phone", "13800138000", "--address", "南宁市青秀区民族大道100号",
                      "--postcode", "530022")
    status = sscard.ok("card", "status", proxy["card_ref"])
    assert status["application"]["kind"] == "proxy"
    assert status["application"]["delivery"] == "ems"
    sscard.ok("person", "enrol", "--name", "王小红", "--sex", "2", "--document-number", "450103202001011232",
              "--insured-since", "2021-03-01")
    student = sscard.ok("apply", "--kind", "student", "--name", "王小红", "--sex", "2", "--document-number",
                        "450103202001011232", "--school", "南宁市民主路小学", "--student-number", "G450103202001011232")
    assert sscard.ok("card", "status", student["card_ref"])["application"]["kind"] == "student"  # under 7: no photo


def test_stock_under_dual_control(sscard: Sscard) -> None:
    shown = sscard.ok("stock", "receive", "100", "--reference", "DN-1")
    assert (shown["outlet"], shown["received"], shown["blanks_on_hand"], shown["pending"]) == ("NN01", 100, 100, [])
    asked = sscard.ok("stock", "request", "adjust", "-3", "--reason", "counted 97")
    assert (asked["kind"], asked["quantity"], asked["state"], asked["requested_by"]) == (
        "adjust_stock", -3, "pending", "wang")
    pending = sscard.ok("stock", "show")["pending"]
    assert [p["id"] for p in pending] == [asked["id"]]
    assert "wang（经办员）无权办理此项业务" in sscard.refused(10, "stock", "approve", str(asked["id"]))
    approved = sscard.ok("stock", "approve", str(asked["id"]), operator="zhao")
    assert (approved["state"], approved["stock"]["blanks_on_hand"]) == ("approved", 97)
    mine = sscard.ok("stock", "request", "adjust", "2", "--reason", "found two", operator="zhao")
    assert "复核人不能是申请人本人" in sscard.refused(10, "stock", "approve", str(mine["id"]), operator="zhao")
    sscard.ok("staff", "add", "--username", "qian", "--name", "钱", "--role", "supervisor", "--outlet", "NN01",
              operator="admin")
    rejected = sscard.ok("stock", "reject", str(mine["id"]), operator="qian")
    assert (rejected["state"], rejected["stock"]["blanks_on_hand"], rejected["stock"]["pending_approvals"]) == (
        "rejected", 97, 0)
    assert "spoiled" in sscard.refused(6, "stock", "request", "destroy", "1", "--reason", "x", lang="en")
    table = sscard("stock", "show")
    assert table.exit_code == 0
    assert "空白卡结存" in flat(table.stdout)


def test_staff_and_outlets_are_listed_and_outlets_set(sscard: Sscard) -> None:
    staff = sscard.ok("staff", "list", operator="admin")
    assert [s["username"] for s in staff] == ["admin", "liu", "sun", "wang", "zhao"]
    wang = next(s for s in staff if s["username"] == "wang")
    assert (wang["role"], wang["role_display"], wang["outlet"], wang["active"]) == ("operator", "经办员", "NN01", True)
    assert [s["username"] for s in sscard.ok("staff", "list", "--outlet", "NN01")] == ["wang", "zhao"]
    outlets = sscard.ok("outlet", "list", operator=None)
    nn09 = next(o for o in outlets if o["code"] == "NN09")
    assert (nn09["instant_issuance"], nn09["active"]) == (False, True)
    changed = sscard.ok("outlet", "set", "NN09", "--instant", "--no-batch", operator="admin")
    assert (changed["code"], changed["instant_issuance"], changed["batch_applications"]) == ("NN09", True, False)
    english = sscard("outlet", "list", operator=None, lang="en")
    assert "Hengzhou" in english.stdout
    assert "UnknownOutlet" not in sscard.refused(6, "outlet", "set", "XX99", "--active", operator="admin")


def test_a_password_for_the_console_comes_from_standard_input(sscard: Sscard) -> None:
    added = sscard("staff", "add", "--username", "qian", "--name", "钱", "--role", "auditor", "--password-stdin",
                   operator="admin", stdin="correct horse battery\n")
    assert added.exit_code == 0, added.output
    registry = Registry(sscard.url)
    try:
        assert Office(registry).authenticate("qian", "correct horse battery").username == "qian"
    finally:
        registry.close()
    assert "password:" in sscard.refused(6, "staff", "add", "--username", "zhu", "--name", "朱", "--role",
                                         "auditor", "--password-stdin", operator="admin")


def test_the_status_table_reads_in_chinese_or_english(sscard: Sscard) -> None:
    ref = file_card(sscard)
    zh = sscard("card", "status", ref)
    assert zh.exit_code == 0
    for word in ("卡片状态", "已申请", "李秀英", "制卡、注销", "办理记录", "申领", "wang"):
        assert word in flat(zh.stdout), word
    en = sscard("card", "status", ref, lang="en")
    for word in ("Cardstatus", "applied", "startproduction;cancelthecard", "History", "applyforacard"):
        assert word in flat(en.stdout), word


def test_a_database_that_cannot_be_opened_exits_14(runner: CliRunner, tmp_path: Path) -> None:
    sscard = Sscard(runner, "not a url")
    said = sscard.refused(14, "outlet", "list", operator=None)
    assert "无法打开登记库" in said
    assert "notadatabaseURL" in said
    secret = "postgresql://user:s3cret@/sscard?host=" + str(tmp_path / "nowhere")
    said = Sscard(runner, secret).refused(14, "outlet", "list", operator=None)
    assert "s3cret" not in said


def test_the_cli_starts_without_the_registry_stack() -> None:
    code = ("import sys; import sscard_issuer.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic', 'PIL')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_a_key_rotation_on_the_command_line_keeps_the_old_key_published(sscard: Sscard) -> None:
    from sscard_issuer.api.platform import (
        Platform,
        PlatformSettings,
        development_signer,
        development_sm2_signer,
    )

    registry = Registry(sscard.url)
    try:  # a platform served with the development key: it is recorded, codes under c1
        assert Platform(registry, settings=PlatformSettings(shards=1, shard_size=16)).code_signer.kid == "c1"
    finally:
        registry.close()
    rotated = sscard.ok("ecard", "rotate-key", "--signer", "dev-sm2", operator=None)
    dev_kid = development_signer().kid
    assert (rotated["alg"], rotated["code_kid"], set(rotated["retired"])) == ("SM2", "c2", {dev_kid, "c1"})
    again = sscard.ok("ecard", "rotate-key", "--signer", "dev-sm2", operator=None)
    assert (again["kid"], again["code_kid"], again["retired"]) == (rotated["kid"], "c2", [])
    refused = sscard.refused(9, "ecard", "rotate-key", "--signer", "dev", operator=None)
    assert "已停用" in refused
    registry = Registry(sscard.url)
    try:
        platform = Platform(registry, signer=development_sm2_signer(), settings=PlatformSettings(shards=1, shard_size=16))
        published = {key.kid for key in platform.keys()}  # noqa: SIM118 (a key set, not a dict)
    finally:
        registry.close()
    assert {dev_kid, "c1", rotated["kid"], "c2"} <= published


def test_instant_issuance_at_the_counter_and_the_stock_reconciled(sscard: Sscard) -> None:
    filed = sscard.ok("apply", *HOLDER, "--photo", str(PHOTO), "--instant")
    job = sscard.ok("instant", "mark", filed["card_ref"], "--on-failure", "requeue")
    assert (job["state"], job["on_failure"], job["attempt"]) == ("marked", "requeue", 1)
    assert sscard("instant", "jobs").exit_code == 0
    listed = sscard.ok("instant", "jobs")
    assert [(j["id"], j["state_zh"]) for j in listed["jobs"]] == [(job["id"], "排队等待制卡")]
    assert listed["printers"] == []
    shown = sscard.ok("instant", "show", str(job["id"]))
    assert [(line["step"], line["phase"]) for line in shown["journal"]] == [("mark", "done")]
    assert "onlyafailedjob" in sscard.refused(9, "instant", "decide", str(job["id"]), "--withdraw", lang="en")
    assert "already" in sscard.refused(9, "instant", "mark", filed["card_ref"], lang="en")
    assert sscard.ok("instant", "jobs", operator="liu")["jobs"] == []  # another outlet's operator
    report = sscard.ok("stock", "reconcile")
    assert report["balanced"] is True and report["spoiled"] == [] and report["stock"]["fed"] == 0
