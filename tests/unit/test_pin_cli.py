"""``sscard card pin ...`` on card images in-process: messages, exit codes, PINs never shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sscard_issuer.cli import app
from sscard_issuer.crypto import Algorithm
from tests.unit.cards import PIN, new_image

NEW_PIN = "80246"
WRONG_PIN = "97531864"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("SSCARD_LANG", raising=False)
    monkeypatch.delenv("SSCARD_KEYSET", raising=False)
    return CliRunner()


@pytest.fixture(params=[Algorithm.SM4, Algorithm.DES3], ids=lambda a: a.value)
def image(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / "card.json"
    new_image(path, algorithm=request.param)
    return path


def flat(text: str) -> str:
    return "".join(text.split())


def pin(runner: CliRunner, image: Path, command: str, *lines: str, lang: str | None = None,
        extra: tuple[str, ...] = ()) -> Any:
    env = {"SSCARD_LANG": lang} if lang else None
    stdin = "".join(line + "\n" for line in lines)
    return runner.invoke(app, ["card", "pin", command, "--image", str(image), *extra], input=stdin, env=env)


def assert_absent(result: Any, *pins: str) -> None:
    for text in (result.stdout, result.stderr, flat(result.stdout), flat(result.stderr)):
        for secret in pins:
            assert secret not in text
            assert secret + ("F" if len(secret) % 2 else "") not in text.upper()


def tries_in_chinese(result: Any, n: int) -> bool:
    return f"还可尝试{n}次" in flat(result.stdout + result.stderr)


# -- verify --------------------------------------------------------------------------------------


def test_verify_the_right_pin_says_so_with_the_tries_left(runner: CliRunner, image: Path) -> None:
    result = pin(runner, image, "verify", PIN)
    assert result.exit_code == 0, result.output
    assert "密码正确" in result.stdout and tries_in_chinese(result, 3)
    english = pin(runner, image, "verify", PIN, lang="en")
    assert english.exit_code == 0 and "PIN verified" in english.stdout and "3 tries left" in english.stdout


def test_verify_a_wrong_pin_exits_4_with_the_tries_left_and_never_shows_it(
    runner: CliRunner, image: Path
) -> None:
    result = pin(runner, image, "verify", WRONG_PIN, extra=("--trace",))
    assert result.exit_code == 4
    assert "密码错误，还可尝试2次" in flat(result.stderr)
    assert "<redacted>" in result.stderr
    assert_absent(result, WRONG_PIN)


def test_three_wrong_pins_lock_it_then_unblock_restores_the_counter(runner: CliRunner, image: Path) -> None:
    for _ in range(3):
        pin(runner, image, "verify", WRONG_PIN)
    locked = pin(runner, image, "verify", PIN, lang="en")
    assert locked.exit_code == 4 and "the PIN is locked" in locked.stderr
    unblocked = pin(runner, image, "unblock", extra=("--trace",))
    assert unblocked.exit_code == 0, unblocked.output
    assert "密码已解锁" in unblocked.stdout and tries_in_chinese(unblocked, 3)
    assert "84240000 Lc=4" in unblocked.stderr
    assert pin(runner, image, "verify", PIN).exit_code == 0


@pytest.mark.parametrize("typed", ["123", "12345678901234567", "12ab56", ""])
def test_a_malformed_pin_exits_6_and_the_card_is_not_touched(
    runner: CliRunner, image: Path, typed: str
) -> None:
    result = pin(runner, image, "verify", typed, extra=("--trace",))
    assert result.exit_code == 6
    assert "输入有误" in flat(result.stderr)
    assert ">>" not in result.stderr
    if typed:
        assert_absent(result, typed)
    assert tries_in_chinese(pin(runner, image, "verify", PIN), 3)


def test_a_pin_is_never_taken_from_the_command_line(runner: CliRunner, image: Path) -> None:
    result = runner.invoke(app, ["card", "pin", "verify", "--image", str(image), PIN])
    assert result.exit_code == 2  # usage: no such argument


# -- change --------------------------------------------------------------------------------------


def test_change_then_the_new_pin_verifies_and_the_old_one_fails(runner: CliRunner, image: Path) -> None:
    result = pin(runner, image, "change", PIN, NEW_PIN, NEW_PIN, extra=("--trace",))
    assert result.exit_code == 0, result.output
    assert "密码已修改" in result.stdout and tries_in_chinese(result, 3)
    assert_absent(result, NEW_PIN)
    assert pin(runner, image, "verify", NEW_PIN).exit_code == 0
    assert pin(runner, image, "verify", PIN).exit_code == 4


@pytest.mark.parametrize("lines, detail", [
    ((PIN, NEW_PIN, "80247"), "new PIN: the two entries differ"),
    ((NEW_PIN, PIN, PIN), "new PIN: the initial PIN cannot be chosen again"),
    ((PIN, "123", "123"), "new PIN: a PIN is 4 to 16 digits"),
    ((PIN, "12345678901234567", "12345678901234567"), "new PIN: a PIN is 4 to 16 digits"),
    ((PIN, NEW_PIN), "new PIN again: missing on standard input"),
])
def test_change_refusals_exit_6_before_the_card_is_touched(
    runner: CliRunner, image: Path, lines: tuple[str, ...], detail: str
) -> None:
    result = pin(runner, image, "change", *lines, lang="en", extra=("--trace",))
    assert result.exit_code == 6
    assert "invalid input" in result.stderr and detail in " ".join(result.stderr.split())
    assert ">>" not in result.stderr
    assert_absent(result, NEW_PIN, "80247")
    assert pin(runner, image, "verify", PIN).exit_code == 0


def test_change_with_a_wrong_current_pin_exits_4_and_costs_a_try(runner: CliRunner, image: Path) -> None:
    result = pin(runner, image, "change", WRONG_PIN, NEW_PIN, NEW_PIN)
    assert result.exit_code == 4 and "密码错误，还可尝试2次" in flat(result.stderr)
    assert_absent(result, WRONG_PIN, NEW_PIN)


def test_change_to_the_current_pin_is_refused(runner: CliRunner, image: Path) -> None:
    assert pin(runner, image, "change", PIN, NEW_PIN, NEW_PIN).exit_code == 0
    same = pin(runner, image, "change", NEW_PIN, NEW_PIN, NEW_PIN, lang="en", extra=("--trace",))
    assert same.exit_code == 6 and "must differ from the current PIN" in same.stderr
    assert ">>" not in same.stderr


# -- reset ---------------------------------------------------------------------------------------


def test_reset_a_locked_pin_then_the_old_one_fails(runner: CliRunner, image: Path) -> None:
    for _ in range(3):
        pin(runner, image, "verify", WRONG_PIN)
    result = pin(runner, image, "reset", NEW_PIN, NEW_PIN, extra=("--trace",))
    assert result.exit_code == 0, result.output
    assert "密码已重置" in result.stdout and tries_in_chinese(result, 3)
    assert "84240001 Lc=20 <redacted>" in result.stderr
    assert_absent(result, NEW_PIN)
    assert pin(runner, image, "verify", PIN).exit_code == 4
    assert pin(runner, image, "verify", NEW_PIN).exit_code == 0


def test_reset_with_two_different_entries_exits_6_and_changes_nothing(runner: CliRunner, image: Path) -> None:
    result = pin(runner, image, "reset", NEW_PIN, "80247", extra=("--trace",))
    assert result.exit_code == 6 and "输入有误" in flat(result.stderr)
    assert ">>" not in result.stderr
    assert pin(runner, image, "verify", PIN).exit_code == 0


def test_a_counterfeit_card_exits_3_and_gets_no_pin(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    new_image(path, counterfeit=True)
    result = pin(runner, path, "verify", PIN, extra=("--trace",))
    assert result.exit_code == 3
    assert "不是真卡" in result.stderr
    assert "00200000" not in result.stderr
