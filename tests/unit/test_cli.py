"""The ``sscard`` command as a tester or an operator uses it: exit codes, messages, no secrets."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from sscard_issuer.cli import app
from sscard_issuer.keys.dev import DEFAULT_KEYSET
from sscard_issuer.perso import expiry_after
from sscard_issuer.sim.image import CardImage
from tests.unit.cards import PIN, new_image, sample_json

JSON_KEYS = [
    "area_code", "ssn", "card_number", "card_id", "name", "sex", "birth_date", "atr_historical",
    "version", "issue_date", "expiry_date", "algorithm", "genuine",
]
WRONG_PIN = "97531864"
WRONG_PIN_ZH = "密码错误，还可尝试{n}次"
WRONG_PIN_EN = "wrongPIN,{n}triesleft"
LOCKED_ZH = "密码已锁定"
LOCKED_EN = "thePINislocked"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("SSCARD_LANG", raising=False)
    monkeypatch.delenv("SSCARD_KEYSET", raising=False)
    return CliRunner()


def flat(text: str) -> str:
    """The output without the line breaks and padding a terminal width adds."""
    return "".join(text.split())


def write_applicant(tmp_path: Path, **changes: Any) -> Path:
    doc: dict[str, Any] = {**sample_json(), **changes}
    for key in [k for k, v in changes.items() if v is None]:
        del doc[key]
    path = tmp_path / "applicant.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def make(runner: CliRunner, tmp_path: Path, *extra: str, name: str = "card.json") -> Path:
    out = tmp_path / name
    result = runner.invoke(
        app, ["sim", "make-card", "--applicant", str(write_applicant(tmp_path)), "--out", str(out), *extra]
    )
    assert result.exit_code == 0, result.output
    return out


def read(runner: CliRunner, image: Path, *extra: str, pin: str | None = None,
         env: dict[str, str] | None = None) -> Any:
    args = ["card", "read", "--image", str(image), *extra]
    if pin is not None:
        args.append("--verify-pin")
    return runner.invoke(app, args, input=None if pin is None else pin + "\n", env=env)


# -- make-card and read ------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["SM4", "3DES", "sm4"])
def test_a_card_made_reads_back_as_json_with_exactly_the_terminal_keys(
    runner: CliRunner, tmp_path: Path, algorithm: str
) -> None:
    image = make(runner, tmp_path, "--algorithm", algorithm)
    result = read(runner, image, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc) == JSON_KEYS
    applicant = sample_json()
    for key in ("area_code", "ssn", "card_number", "name", "sex", "birth_date",
                "issue_date", "expiry_date"):
        assert doc[key] == applicant[key], key
    assert doc["algorithm"] == algorithm.upper()
    assert doc["genuine"] is True
    assert doc["version"] == "3.00"


def test_make_card_with_a_serial_gives_that_card_identification_code(
    runner: CliRunner, tmp_path: Path
) -> None:
    image = make(runner, tmp_path, "--serial", "00112233445566AA")
    doc = json.loads(read(runner, image, "--json").stdout)
    assert doc["card_id"] == "450100D15600000500112233445566AA"


def test_the_table_shows_the_card_in_chinese_by_default(runner: CliRunner, tmp_path: Path) -> None:
    result = read(runner, make(runner, tmp_path))
    assert result.exit_code == 0
    assert "社会保障号码" in result.stdout
    assert sample_json()["name"] in result.stdout
    assert sample_json()["ssn"] in result.stdout


def test_the_table_shows_the_card_in_english_on_request(runner: CliRunner, tmp_path: Path) -> None:
    result = read(runner, make(runner, tmp_path), env={"SSCARD_LANG": "en"})
    assert result.exit_code == 0
    assert "social security number" in result.stdout
    assert sample_json()["ssn"] in result.stdout


@pytest.mark.parametrize("name", ["张[/]三", "[bold]李[/bold]四"])
def test_a_name_that_looks_like_console_markup_is_shown_as_it_is(
    runner: CliRunner, tmp_path: Path, name: str
) -> None:
    out = tmp_path / "card.json"
    made = runner.invoke(app, ["sim", "make-card", "--applicant",
                               str(write_applicant(tmp_path, name=name)), "--out", str(out)])
    assert made.exit_code == 0, made.output
    result = read(runner, out)
    assert result.exit_code == 0, result.output
    assert name in result.stdout


def test_a_counterfeit_card_exits_3_with_every_value_but_the_atr_null(
    runner: CliRunner, tmp_path: Path
) -> None:
    image = make(runner, tmp_path, "--counterfeit")
    result = read(runner, image, "--json")
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert list(doc) == JSON_KEYS
    assert doc["genuine"] is False
    assert {k for k, v in doc.items() if v is not None} == {"atr_historical", "algorithm", "genuine"}
    assert "不是真卡" in flat(result.stderr)


def test_a_counterfeit_card_says_so_in_english_on_request(runner: CliRunner, tmp_path: Path) -> None:
    image = make(runner, tmp_path, "--counterfeit")
    result = read(runner, image, env={"SSCARD_LANG": "en"})
    assert result.exit_code == 3
    assert "notgenuine" in flat(result.stderr)
    assert sample_json()["name"] not in result.stdout


BAD_FIELDS = {
    "name": "李" * 26,  # 52 GBK bytes
    "ssn": "450103198506151232",  # wrong check character
    "sex": "3",
    "ethnicity": "99",
    "birthplace": "45010",
    "birth_date": "1985-02-30",
    "area_code": "ABCDEF",
    "card_number": "[/]",  # looks like console markup
    "issue_date": "2026/11/29",
    "expiry_date": "2020-01-01",  # before the issue date
}


@pytest.mark.parametrize("field", list(BAD_FIELDS))
def test_make_card_with_a_bad_field_names_it_exits_6_and_writes_nothing(
    runner: CliRunner, tmp_path: Path, field: str
) -> None:
    out = tmp_path / "card.json"
    applicant = write_applicant(tmp_path, **{field: BAD_FIELDS[field]})
    result = runner.invoke(app, ["sim", "make-card", "--applicant", str(applicant), "--out", str(out)])
    assert result.exit_code == 6, result.output
    assert f"{field}:" in flat(result.stderr)
    assert "bank_pan" not in result.stderr  # no other field is blamed
    assert "输入有误" in flat(result.stderr)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["applicant.json"]


def test_make_card_with_a_missing_field_names_it(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "card.json"
    applicant = write_applicant(tmp_path, ssn=None)
    result = runner.invoke(app, ["sim", "make-card", "--applicant", str(applicant), "--out", str(out)])
    assert result.exit_code == 6
    assert "ssn:" in flat(result.stderr)
    assert not out.exists()


def test_make_card_with_a_field_that_is_not_a_string_names_it(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "card.json"
    applicant = write_applicant(tmp_path, sex=1)
    result = runner.invoke(app, ["sim", "make-card", "--applicant", str(applicant), "--out", str(out)])
    assert result.exit_code == 6
    assert "sex:" in flat(result.stderr)
    assert not out.exists()


@pytest.mark.parametrize(
    "option, value, field",
    [
        ("--algorithm", "AES", "algorithm"),
        ("--serial", "0011", "serial"),
        ("--serial", "zz112233445566AA", "serial"),
        ("--bank-pan", "6217000000000000001", "bank_pan"),  # Luhn check fails
    ],
)
def test_make_card_with_a_bad_option_names_it_exits_6_and_writes_nothing(
    runner: CliRunner, tmp_path: Path, option: str, value: str, field: str
) -> None:
    out = tmp_path / "card.json"
    applicant = write_applicant(tmp_path)
    result = runner.invoke(
        app, ["sim", "make-card", "--applicant", str(applicant), "--out", str(out), option, value]
    )
    assert result.exit_code == 6, result.output
    assert f"{field}:" in flat(result.stderr)
    assert not out.exists()


@pytest.mark.parametrize("content", [None, "{not json"])
def test_make_card_with_an_unreadable_applicant_file_exits_6(
    runner: CliRunner, tmp_path: Path, content: str | None
) -> None:
    applicant = tmp_path / "applicant.json"
    if content is not None:
        applicant.write_text(content, encoding="utf-8")
    out = tmp_path / "card.json"
    result = runner.invoke(app, ["sim", "make-card", "--applicant", str(applicant), "--out", str(out)])
    assert result.exit_code == 6
    assert "applicant:" in flat(result.stderr)
    assert not out.exists()


def test_reading_a_missing_image_exits_6(runner: CliRunner, tmp_path: Path) -> None:
    result = read(runner, tmp_path / "nothing.json")
    assert result.exit_code == 6
    assert "卡片镜像文件有误" in flat(result.stderr)


# -- the PIN -----------------------------------------------------------------------------------


def assert_pin_absent(pin: str, result: Any) -> None:
    bcd = pin + ("F" if len(pin) % 2 else "")
    for text in (result.stdout, result.stderr, flat(result.stdout), flat(result.stderr)):
        assert pin not in text
        assert bcd not in text.upper()


def test_the_right_pin_reads_the_card(runner: CliRunner, tmp_path: Path) -> None:
    result = read(runner, make(runner, tmp_path), "--json", pin=PIN)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["genuine"] is True


@pytest.mark.parametrize("trace", [False, True])
def test_a_wrong_pin_exits_4_and_says_the_tries_left_in_chinese(
    runner: CliRunner, tmp_path: Path, trace: bool
) -> None:
    image = make(runner, tmp_path)
    options = ["--trace"] if trace else []
    result = read(runner, image, *options, pin=WRONG_PIN)
    assert result.exit_code == 4
    assert WRONG_PIN_ZH.format(n=2) in flat(result.stderr)
    assert result.stdout == ""
    assert_pin_absent(WRONG_PIN, result)
    if trace:
        assert "<redacted>" in result.stderr
        assert "63C2" in result.stderr


@pytest.mark.parametrize("pin", [WRONG_PIN, "9753186"])
def test_a_wrong_pin_says_the_tries_left_in_english_on_request(
    runner: CliRunner, tmp_path: Path, pin: str
) -> None:
    image = make(runner, tmp_path)
    result = read(runner, image, "--trace", pin=pin, env={"SSCARD_LANG": "en"})
    assert result.exit_code == 4
    assert WRONG_PIN_EN.format(n=2) in flat(result.stderr)
    assert_pin_absent(pin, result)


@pytest.mark.parametrize("lang, wrong, locked", [(None, WRONG_PIN_ZH, LOCKED_ZH),
                                                  ("en", WRONG_PIN_EN, LOCKED_EN)])
def test_three_wrong_pins_lock_it_and_the_message_says_so(
    runner: CliRunner, tmp_path: Path, lang: str | None, wrong: str, locked: str
) -> None:
    image = make(runner, tmp_path)
    env = {"SSCARD_LANG": lang} if lang else None
    first, second, third, fourth = (read(runner, image, pin=WRONG_PIN, env=env) for _ in range(4))
    assert wrong.format(n=2) in flat(first.stderr)
    assert wrong.format(n=1) in flat(second.stderr)
    for result in (third, fourth):
        assert result.exit_code == 4
        assert locked in flat(result.stderr)
        assert wrong.format(n=0) not in flat(result.stderr)
    # The right PIN no longer helps: the lock is on the card image.
    last = read(runner, image, pin=PIN, env=env)
    assert last.exit_code == 4
    assert locked in flat(last.stderr)


@pytest.mark.parametrize("pin", ["12ab56", "123", ""])
def test_a_pin_that_is_not_digits_exits_6_and_is_not_echoed(
    runner: CliRunner, tmp_path: Path, pin: str
) -> None:
    image = make(runner, tmp_path)
    result = read(runner, image, pin=pin)
    assert result.exit_code == 6
    assert "输入有误" in flat(result.stderr)
    if pin:
        assert pin not in result.stderr and pin not in result.stdout
    # Nothing reached the card: the PIN still has all its tries.
    wrong = read(runner, image, pin=WRONG_PIN)
    assert wrong.exit_code == 4
    assert WRONG_PIN_ZH.format(n=2) in flat(wrong.stderr)


def test_a_refused_external_authentication_is_not_called_a_wrong_pin(
    runner: CliRunner, tmp_path: Path
) -> None:
    image = make(runner, tmp_path)
    card = CardImage.load(image)
    card.applets["ssse"]["keys"]["RKSSSE"]["key"] = "00" * 16  # a card keyed by someone else
    card.save()
    result = read(runner, image, pin=PIN)
    assert result.exit_code == 4
    assert "密码" not in result.stderr
    assert "卡片拒绝了指令" in flat(result.stderr)


@pytest.mark.parametrize("pin", ["90817263", "908172635"])
def test_the_trace_goes_to_stderr_and_the_json_stays_clean(
    runner: CliRunner, tmp_path: Path, pin: str
) -> None:
    image = tmp_path / "card.json"
    new_image(image, pin=pin)
    result = read(runner, image, "--json", "--trace", pin=pin)
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)) == JSON_KEYS
    assert ">> 00A40400" in result.stderr
    assert ">> 00200000" in result.stderr
    assert_pin_absent(pin, result)


# -- demo and keys -----------------------------------------------------------------------------


def test_demo_in_process_makes_a_card_and_saves_its_reading(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--in-process", "--out", str(out)])
    assert result.exit_code == 0, result.output
    CardImage.load(out / "card.json")
    reading = json.loads((out / "reading.json").read_text(encoding="utf-8"))
    assert list(reading) == JSON_KEYS
    assert reading["genuine"] is True
    for key in ("name", "ssn", "birth_date", "area_code"):
        assert reading[key] == sample_json()[key]
    # a blank card personalised: numbers allocated by data preparation, issued today for ten years
    assert reading["card_number"] == "A00000001"
    assert reading["issue_date"] == date.today().isoformat()
    assert reading["expiry_date"] == expiry_after(date.today(), 10).isoformat()
    # issued on the simulated printer: the face as printed and the presentation code, as images
    with Image.open(out / "card-face.png") as face, Image.open(out / "code.png") as code:
        assert face.size == (1016, 648) and code.format == "PNG"
    story = flat(result.stderr)
    for said in ("e-cardissued:done", "thee-cardissuspended", "thee-cardisvalid", "theolde-cardisrevoked",
                 "auditlogintact:True"):
        assert said in story, said


def test_demo_with_3des(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--in-process", "--out", str(out), "--algorithm", "3DES"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "reading.json").read_text(encoding="utf-8"))["algorithm"] == "3DES"


def test_demo_with_an_unknown_algorithm_names_the_option(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--in-process", "--out", str(out), "--algorithm", "AES"])
    assert result.exit_code == 6
    assert "algorithm:" in flat(result.stderr)
    assert not (out / "card.json").exists()


def test_keys_list_shows_check_values_and_never_a_key(runner: CliRunner) -> None:
    result = runner.invoke(app, ["keys", "list"])
    assert result.exit_code == 0, result.output
    shown = flat(result.stdout + result.stderr).upper()
    entries = json.loads(DEFAULT_KEYSET.read_text(encoding="utf-8"))["keys"]
    assert entries
    for entry in entries:
        assert entry["kcv"].upper() in shown
        key = entry["key"].upper()
        for i in range(0, len(key) - 8 + 1, 2):  # not even a part of a key, however wrapped
            assert key[i : i + 8] not in shown, entry["key_class"]
