"""``sscard card pin ...`` as processes through pcscd and vpcd: PINs typed on stdin, never shown.

Each process is started before its PINs are written, so its argv (what ``ps`` shows to every user)
is read from /proc while it waits for them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from softhsm_token import SoftHsmToken

from sscard_issuer.cli.demo import sample_applicant
from sscard_issuer.crypto import Algorithm
from sscard_issuer.sim.make_card import make_card
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.sim.vpcd import VpcdLink

Attach = Callable[..., VpcdLink]
SSCARD = [sys.executable, "-m", "sscard_issuer"]
READER = "Virtual PCD 00 00"
PIN, NEW_PIN, WRONG_PIN = "123456", "80246", "97531864"


def bcd(pin: str) -> str:
    return pin + ("F" if len(pin) % 2 else "")


def sscard_pin(*args: str, lines: tuple[str, ...] = (), lang: str = "zh",
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``sscard card pin <args> --reader READER --trace``; check argv while it waits for stdin."""
    argv = [*SSCARD, "card", "pin", *args, "--reader", READER, "--trace"]
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "SSCARD_LANG": lang, **(env or {})},
    )
    try:
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode()
        stdout, stderr = process.communicate("".join(line + "\n" for line in lines), timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    result = subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
    for secret in {*lines, *(bcd(line) for line in lines)} - {""}:
        assert secret not in cmdline, "a PIN is in the process's argv"
        for shown in (result.stdout, result.stderr.upper(), "".join(result.stderr.split()).upper()):
            assert secret not in shown, f"a PIN is in the output:\n{result.stdout}\n{result.stderr}"
    return result


def flat(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(params=[Algorithm.SM4, Algorithm.DES3], ids=lambda a: a.value)
def card(request: pytest.FixtureRequest, attach: Attach, tmp_path: Path) -> Path:
    """A card whose serial holds no PIN digits, so the trace can be searched for PINs."""
    image = tmp_path / "card.json"
    serial = bytes.fromhex("FEDCBAFEDCBAFEDC")
    made = make_card(sample_applicant(), algorithm=request.param, serial=serial, out=image)
    attach(SimulatedCard(made), READER)
    return image


def test_verify_lock_unblock_through_pcsc(card: Path) -> None:
    right = sscard_pin("verify", lines=(PIN,))
    assert right.returncode == 0, right.stderr
    assert "密码正确" in right.stdout and "还可尝试3次" in flat(right.stdout)
    assert "00200000 Lc=3 <redacted>" in right.stderr
    for left in (2, 1):
        wrong = sscard_pin("verify", lines=(WRONG_PIN,), lang="en")
        assert wrong.returncode == 4 and f"wrong PIN, {left} tries left" in wrong.stderr
    sscard_pin("verify", lines=(WRONG_PIN,))
    locked = sscard_pin("verify", lines=(PIN,))
    assert locked.returncode == 4 and "密码已锁定" in locked.stderr
    unblocked = sscard_pin("unblock", lang="en")
    assert unblocked.returncode == 0, unblocked.stderr
    assert "PIN unblocked" in unblocked.stdout and "3 tries left" in unblocked.stdout
    assert sscard_pin("verify", lines=(PIN,)).returncode == 0


def test_change_and_reset_through_pcsc(card: Path) -> None:
    initial = sscard_pin("change", lines=(PIN, PIN, PIN), lang="en")
    assert initial.returncode == 6 and "the initial PIN cannot be chosen again" in initial.stderr
    assert ">>" not in initial.stderr  # refused before the card was touched
    changed = sscard_pin("change", lines=(PIN, NEW_PIN, NEW_PIN))
    assert changed.returncode == 0, changed.stderr
    assert "密码已修改" in changed.stdout and "805E0100 Lc=7 <redacted>" in changed.stderr
    assert sscard_pin("verify", lines=(PIN,)).returncode == 4
    mismatch = sscard_pin("reset", lines=("2468", "2469"))
    assert mismatch.returncode == 6 and ">>" not in mismatch.stderr
    reset = sscard_pin("reset", lines=("2468", "2468"))
    assert reset.returncode == 0, reset.stderr
    assert "密码已重置" in reset.stdout and "还可尝试3次" in flat(reset.stdout)
    assert "84240001 Lc=20 <redacted>" in reset.stderr
    assert sscard_pin("verify", lines=(NEW_PIN,)).returncode == 4
    assert sscard_pin("verify", lines=("2468",)).returncode == 0


def test_reset_and_unblock_with_the_keys_in_a_pkcs11_token(
    softhsm: SoftHsmToken, attach: Attach, tmp_path: Path
) -> None:
    made = make_card(sample_applicant(), algorithm=Algorithm.DES3, serial=bytes.fromhex("FEDCBAFEDCBAFEDC"),
                     out=tmp_path / "card.json")
    attach(SimulatedCard(made), READER)
    token = ("--pkcs11-module", softhsm.module, "--token-label", softhsm.label)
    env = {"SSCARD_TOKEN_PIN": softhsm.user_pin}
    reset = sscard_pin("reset", *token, lines=(NEW_PIN, NEW_PIN), env=env)
    assert reset.returncode == 0, reset.stderr
    assert softhsm.user_pin not in reset.stdout + reset.stderr
    for _ in range(3):
        sscard_pin("verify", lines=(WRONG_PIN,))
    unblocked = sscard_pin("unblock", *token, env=env)
    assert unblocked.returncode == 0, unblocked.stderr
    assert sscard_pin("verify", lines=(NEW_PIN,)).returncode == 0
