"""``sscard gp list`` and ``sscard gp apdu`` on card images, in-process (typer's CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from applets import GpApplet
from sscard_issuer.card import ssc
from sscard_issuer.channel import StaticKeys
from sscard_issuer.cli import app
from sscard_issuer.crypto import Algorithm
from sscard_issuer.sim.image import CardImage
from tests.unit.cards import keys, new_image

GP_TEST_KEY = bytes.fromhex("404142434445464748494A4B4C4D4E4F")


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SSCARD_LANG", "en")
    monkeypatch.delenv("SSCARD_KEYSET", raising=False)
    return CliRunner()


def image_with_isd(tmp_path: Path, scp: int, *, dev_kmc: str | None = None) -> Path:
    image = new_image(None)
    key: StaticKeys | bytes = GP_TEST_KEY
    if dev_kmc is not None:
        alg = Algorithm.DES3 if scp == 2 else Algorithm.AES
        key = keys().gp_static_keys(alg, dev_kmc, GpApplet.key_diversification_data(image.atr))
    image.applets[GpApplet.name] = GpApplet.blank_state(scp, key)
    path = tmp_path / "card.json"
    image.save(path)
    return path


def test_list_with_the_default_test_key(runner: CliRunner, tmp_path: Path) -> None:
    path = image_with_isd(tmp_path, 3)
    result = runner.invoke(app, ["gp", "list", "--image", str(path), "--level", "33"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "ISD: A000000151000000 (INITIALIZED) privileges 9EFE80"
    assert lines[3] == f"APP: {ssc.BANK_AID.hex().upper()} (SELECTABLE) privileges 000000 BANK"
    assert len(lines) == 4


@pytest.mark.parametrize(("scp", "template", "extra"), [
    ("02", "emv", []), ("03", "kdf3", []), ("02", "visa2", ["--diversify", "visa2"]),
])
def test_list_with_the_development_kmc(runner: CliRunner, tmp_path: Path, scp: str, template: str,
                                       extra: list[str]) -> None:
    path = image_with_isd(tmp_path, int(scp), dev_kmc=template)
    result = runner.invoke(app, ["gp", "list", "--image", str(path), "--scp", scp, "--dev-kmc", "--level", "13", *extra])
    assert result.exit_code == 0, result.output
    assert "SSSE" in result.stdout


def test_apdu_prints_each_unwrapped_answer(runner: CliRunner, tmp_path: Path) -> None:
    path = image_with_isd(tmp_path, 2)
    result = runner.invoke(app, ["gp", "apdu", "80CA00E000", "80F24002024F0000", "80CA006600",
                                 "--image", str(path), "--scp", "02", "--level", "11"])
    assert result.exit_code == 0, result.output
    first, second, third = result.stdout.splitlines()
    assert first == "E012C00401208010C00402208010C00403208010 9000 success"
    assert second.startswith("E31A4F0F7378312E") and second.endswith(" 9000 success")
    assert third == "6A88 key or referenced data not found"


def test_apdu_store_data_through_the_channel_persists(runner: CliRunner, tmp_path: Path) -> None:
    path = image_with_isd(tmp_path, 3)
    install = "80E62000" + "0D" + "0000" + "08" + ssc.BANK_AID.hex() + "000000"
    store = "80E28000" + "11" + "0201" + "0E" + "700C5A0A6217000000000000004F"
    result = runner.invoke(app, ["gp", "apdu", install, store, "--image", str(path), "--level", "3"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["00 9000 success", "9000 success"]
    bank = CardImage.load(path).applets["bank"]
    assert bank["records"] == {"0201": "700C5A0A6217000000000000004F"} and bank["personalised"]


def test_key_file_with_separate_keys_or_a_kmc(runner: CliRunner, tmp_path: Path) -> None:
    path = image_with_isd(tmp_path, 3)
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps({"enc": GP_TEST_KEY.hex(), "mac": GP_TEST_KEY.hex(), "dek": GP_TEST_KEY.hex()}))
    assert runner.invoke(app, ["gp", "list", "--image", str(path), "--key-file", str(key_file)]).exit_code == 0
    key_file.write_text(json.dumps({"kmc": GP_TEST_KEY.hex()}))
    assert runner.invoke(app, ["gp", "list", "--image", str(path), "--key-file", str(key_file)]).exit_code == 0
    wrong = runner.invoke(app, ["gp", "list", "--image", str(path), "--key-file", str(key_file),
                                "--diversify", "kdf3"])
    assert wrong.exit_code == 4
    assert "secure channel failed" in wrong.stderr and "card cryptogram" in wrong.stderr


def test_wrong_keys_say_so_and_exit_4(runner: CliRunner, tmp_path: Path) -> None:
    path = image_with_isd(tmp_path, 3)
    result = runner.invoke(app, ["gp", "list", "--image", str(path), "--dev-kmc"])
    assert result.exit_code == 4
    assert "card cryptogram does not verify" in result.stderr
    assert GP_TEST_KEY.hex() not in result.output.lower()


@pytest.mark.parametrize(("args", "field"), [
    (["--level", "2"], "level"),
    (["--scp", "01"], "scp"),
    (["--diversify", "visa"], "diversification"),
    (["--level", "33", "--scp", "02"], "R-ENCRYPTION"),
    (["--key-version", "zz"], "key_version"),
    (["--dev-kmc", "--key-file", "x.json"], "--dev-kmc or --key-file"),
])
def test_bad_options_are_named_and_exit_6(runner: CliRunner, tmp_path: Path, args: list[str], field: str) -> None:
    path = image_with_isd(tmp_path, 3)
    result = runner.invoke(app, ["gp", "list", "--image", str(path), *args])
    assert result.exit_code == 6, result.output
    assert field in result.stderr


def test_bad_apdu_hex_and_bad_key_files(runner: CliRunner, tmp_path: Path) -> None:
    path = image_with_isd(tmp_path, 3)
    result = runner.invoke(app, ["gp", "apdu", "80CA00E000", "80F2", "--image", str(path)])
    assert result.exit_code == 6 and "apdu 2" in result.stderr
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps({"enc": "00112233445566778899AABBCCDDEEXX", "mac": "", "dek": ""}))
    result = runner.invoke(app, ["gp", "list", "--image", str(path), "--key-file", str(key_file)])
    assert result.exit_code == 6 and "key_file" in result.stderr
    assert "00112233" not in result.output


def test_a_card_without_a_card_manager(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "plain.json"
    new_image(path)
    result = runner.invoke(app, ["gp", "list", "--image", str(path)])
    assert result.exit_code == 4 and "6A82" in result.stderr


def test_help_names_the_default_key(runner: CliRunner) -> None:
    result = runner.invoke(app, ["gp", "list", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "404142...4F" in result.stdout
