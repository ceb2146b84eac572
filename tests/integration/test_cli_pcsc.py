"""The commands a person types, run as processes against pcscd and vpcd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from softhsm_token import SoftHsmToken

from sscard_issuer.cli.demo import sample_applicant
from sscard_issuer.crypto import Algorithm
from sscard_issuer.sim.make_card import make_card
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.sim.vpcd import VpcdLink
from sscard_issuer.transport.pcsc import wait_for_reader_state
from sscard_issuer.transport.pcscd import Pcscd

Attach = Callable[..., VpcdLink]
SSCARD = [sys.executable, "-m", "sscard_issuer"]
READER_0, READER_1 = "Virtual PCD 00 00", "Virtual PCD 00 01"
KEYS = ["area_code", "ssn", "card_number", "card_id", "name", "sex", "birth_date", "atr_historical",
        "version", "issue_date", "expiry_date", "algorithm", "genuine"]


def sscard(*args: str, stdin: str = "", lang: str = "zh", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SSCARD_LANG": lang}
    return subprocess.run([*SSCARD, *args], input=stdin, capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture
def sim_card_process(pcscd: Pcscd, tmp_path: Path) -> Iterator[Path]:
    """`sscard sim make-card` then `sscard sim card` in reader 00 01, as a tester would run them."""
    applicant = tmp_path / "applicant.json"
    applicant.write_text(json.dumps(sample_applicant().to_json(), ensure_ascii=False), encoding="utf-8")
    image = tmp_path / "card.json"
    made = sscard("sim", "make-card", "--applicant", str(applicant), "--out", str(image), "--algorithm", "3DES")
    assert made.returncode == 0, made.stderr
    wait_for_reader_state(READER_1, present=False)
    server = subprocess.Popen([*SSCARD, "sim", "card", "--image", str(image), "--port", "35964"],
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for_reader_state(READER_1, present=True, timeout=15)
        yield image
    finally:
        server.terminate()
        server.wait(10)
        wait_for_reader_state(READER_1, present=False)


def test_card_read_json_through_pcsc(sim_card_process: Path) -> None:
    result = sscard("card", "read", "--reader", READER_1, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert list(doc) == KEYS
    applicant = sample_applicant()
    assert doc["name"] == applicant.name and doc["ssn"] == str(applicant.ssn)
    assert doc["algorithm"] == "3DES" and doc["genuine"] is True
    assert doc["card_id"].startswith("450100D156000005") and len(doc["card_id"]) == 32
    assert doc["birth_date"] == "1985-06-15" and doc["version"] == "3.00"


def test_wrong_pin_through_pcsc_says_tries_left_and_never_shows_the_pin(sim_card_process: Path) -> None:
    result = sscard("card", "read", "--reader", READER_1, "--verify-pin", "--trace", stdin="987650\n")
    assert result.returncode == 4
    assert "密码错误，还可尝试 2 次" in result.stderr
    for shown in (result.stdout, result.stderr):
        assert "987650" not in shown and "98 76 50" not in shown
    english = sscard("card", "read", "--reader", READER_1, "--verify-pin", stdin="987650\n", lang="en")
    assert english.returncode == 4 and "wrong PIN, 1 tries left" in english.stderr
    right = sscard("card", "read", "--reader", READER_1, "--verify-pin", "--json", stdin="123456\n")
    assert right.returncode == 0, right.stderr
    assert json.loads(right.stdout)["genuine"] is True


def test_counterfeit_card_exits_3(attach: Attach) -> None:
    attach(SimulatedCard(make_card(sample_applicant(), algorithm=Algorithm.SM4, counterfeit=True)), READER_0)
    result = sscard("card", "read", "--reader", READER_0, "--json")
    assert result.returncode == 3
    assert json.loads(result.stdout)["genuine"] is False
    assert "不是真卡" in result.stderr


def test_no_card_and_mute_card_exit_5_with_a_plain_message(attach: Attach) -> None:
    from sscard_issuer.sim.vpcd import Faults

    result = sscard("card", "read", "--reader", READER_0, "--card-timeout", "0.3")
    assert result.returncode == 5 and "读卡器中没有卡片" in result.stderr
    attach(SimulatedCard(make_card(sample_applicant())), READER_0, Faults(mute=True))
    result = sscard("card", "read", "--reader", READER_0, "--transmit-timeout", "1", lang="en")
    assert result.returncode == 5
    assert "the card does not answer" in result.stderr and "1 s" in result.stderr


def test_card_read_with_the_pkcs11_key_store(softhsm: SoftHsmToken, sim_card_process: Path) -> None:
    env_pin = {"SSCARD_TOKEN_PIN": softhsm.user_pin}
    result = subprocess.run(
        [*SSCARD, "card", "read", "--reader", READER_1, "--json",
         "--pkcs11-module", softhsm.module, "--token-label", softhsm.label],
        capture_output=True, text=True, timeout=60, env={**os.environ, **env_pin},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["genuine"] is True
    assert softhsm.user_pin not in result.stdout + result.stderr


def test_locked_card_removed_card_and_slow_card(attach: Attach) -> None:
    from sscard_issuer.sim.vpcd import Faults

    link = attach(SimulatedCard(make_card(sample_applicant(), locked=True)), READER_0)
    locked = sscard("card", "read", "--reader", READER_0)
    assert locked.returncode == 4 and "卡片社保应用已锁定" in locked.stderr and "9303" in locked.stderr
    link.close()

    attach(SimulatedCard(make_card(sample_applicant())), READER_0, Faults(remove_after=5))
    removed = sscard("card", "read", "--reader", READER_0, lang="en")
    assert removed.returncode == 5 and "the card was removed" in removed.stderr

    attach(SimulatedCard(make_card(sample_applicant())), READER_1, Faults(delay=0.05))
    slow = sscard("card", "read", "--reader", READER_1, "--json")
    assert slow.returncode == 0, slow.stderr  # slow but within the limit: read whole
    assert json.loads(slow.stdout)["genuine"] is True
    too_slow = sscard("card", "read", "--reader", READER_1, "--transmit-timeout", "0.02", lang="en")
    assert too_slow.returncode == 5 and "the card does not answer" in too_slow.stderr
