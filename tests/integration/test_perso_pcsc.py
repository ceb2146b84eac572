"""Personalising blank simulated cards through pyscard -> pcscd -> vpcd, as an encoder would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys import DevKeyStore
from sscard_issuer.perso import PersoInterrupted, Personaliser, load_profile
from sscard_issuer.perso.wiring import application_hooks
from sscard_issuer.registry import CardAllocation, JobState, PersoJob, Registry
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.make_card import make_blank_card
from sscard_issuer.sim.runtime import PlannedPowerCut, SimulatedCard
from sscard_issuer.sim.vpcd import VpcdLink
from sscard_issuer.transport import PcscTransport, wait_for_reader_state

Attach = Callable[..., VpcdLink]
READER_0, READER_1 = "Virtual PCD 00 00", "Virtual PCD 00 01"
APPLICATION = {"name": "阿卜杜热合曼·买买提明·艾山江·托合提", "ssn": "650102199003070013", "sex": "1", "ethnicity": "05",
               "birthplace": "650102", "birth_date": "1990-03-07", "area_code": "450100"}
PAN = "6217000000000000004"
PROFILES = [("ssc3-sm4", Algorithm.SM4, READER_0), ("ssc2-3des", Algorithm.DES3, READER_1)]


def personaliser(registry: Registry, tmp_path: Path) -> Personaliser:
    keys = DevKeyStore.default()
    pki, bank = application_hooks(keys, ca_dir=tmp_path / "ca")
    return Personaliser(registry, keys, pki=pki, bank=bank, today=date(2026, 11, 29))


@pytest.mark.parametrize(("profile_name", "algorithm", "reader"), PROFILES)
def test_blank_cards_personalise_through_pcsc_and_read_back(
    attach: Attach, tmp_path: Path, registry: Registry, profile_name: str, algorithm: Algorithm, reader: str
) -> None:
    attach(SimulatedCard(make_blank_card(algorithm=algorithm, out=tmp_path / "card.json")), reader)
    application = {**APPLICATION, "bank_pan": PAN}
    with PcscTransport(reader) as transport:
        outcome = personaliser(registry, tmp_path).personalise(transport, application, load_profile(profile_name))
    assert outcome.reading.genuine and not outcome.resumed
    assert outcome.reading.data is not None and outcome.reading.data.name == APPLICATION["name"]
    # the name needs the extension record 4E: 20 bytes of GBK do not hold it
    assert "record:EF06:4E" in outcome.steps_run


def test_power_cuts_over_vpcd_resume(attach: Attach, tmp_path: Path, registry: Registry) -> None:
    """A few cut positions through the real stack (the full matrix runs in-process)."""
    for k in (3, 17, 40):
        path = tmp_path / f"card{k}.json"
        card = SimulatedCard(make_blank_card(algorithm=Algorithm.DES3, out=path))
        card.planned_cut = PlannedPowerCut(at_apdu=k)
        link = attach(card, READER_1)  # the link puts the card back after the cut
        with PcscTransport(READER_1) as transport, pytest.raises(PersoInterrupted):
            personaliser(registry, tmp_path).personalise(transport, APPLICATION, load_profile("ssc2-3des"))
        wait_for_reader_state(READER_1, present=False)
        wait_for_reader_state(READER_1, present=True)
        with PcscTransport(READER_1) as transport:
            outcome = personaliser(registry, tmp_path).personalise(transport, APPLICATION, load_profile("ssc2-3des"))
        assert outcome.reading.genuine, k
        assert CardImage.load(path).applets["ssse"]["lifecycle"] == 0x05
        link.close()
    with registry.transaction() as session:
        jobs = session.execute(select(PersoJob)).scalars().all()
        numbers = session.execute(select(CardAllocation.card_number)).scalars().all()
    assert [j.state for j in jobs] == [JobState.DONE] * 3
    assert len(set(numbers)) == len(numbers) == 3  # no number given to two cards


def test_personalise_command_then_read_command(attach: Attach, tmp_path: Path, database_url: str) -> None:
    (tmp_path / "app.json").write_text(json.dumps(APPLICATION, ensure_ascii=False), encoding="utf-8")
    attach(SimulatedCard(make_blank_card(algorithm=Algorithm.DES3, out=tmp_path / "card.json")), READER_1)
    env = {**os.environ, "SSCARD_LANG": "en"}
    sscard = [sys.executable, "-m", "sscard_issuer"]
    perso = subprocess.run(
        [*sscard, "card", "personalise", "--applicant", str(tmp_path / "app.json"), "--profile", "ssc2-3des",
         "--reader", READER_1, "--database", database_url, "--json"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert perso.returncode == 0, perso.stderr
    assert "record:EF06:08" in perso.stderr and "finish" in perso.stderr  # progress, step by step
    assert json.loads(perso.stdout)["card_number"] == "A00000001"
    read = subprocess.run([*sscard, "card", "read", "--reader", READER_1, "--json"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout) == json.loads(perso.stdout)
    again = subprocess.run(
        [*sscard, "card", "personalise", "--applicant", str(tmp_path / "app.json"), "--profile", "ssc2-3des",
         "--reader", READER_1, "--database", database_url],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert again.returncode == 6 and "not blank" in again.stderr
