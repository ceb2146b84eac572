"""Power cut at every APDU of a personalisation, then resume: the card ends as if never cut.

For each position k of the uncut run's APDUs, a fresh blank card (same serial) and a fresh
registry: the card loses power during APDU k (before its update commits, or after it commits but
before the answer), the image is reloaded from disk like an EEPROM after power-up, and the same
application is personalised again. The job must resume (no second allocation) and end with a card
whose persistent state equals the uncut card's, the journal saying DONE.

Every profile's full matrix runs on SQLite; ssc2-3des's full matrix also runs on PostgreSQL (a
fresh database per position), which keeps the whole suite within a few minutes.
"""

from __future__ import annotations

import hmac
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys import DevKeyStore
from sscard_issuer.perso import PersoInterrupted, Personaliser, load_profile
from sscard_issuer.perso.wiring import application_hooks
from sscard_issuer.registry import AllocationState, CardAllocation, JobState, PersoJob, Registry
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.make_card import make_blank_card
from sscard_issuer.sim.runtime import PlannedPowerCut, SimulatedCard
from sscard_issuer.transport import InProcessTransport
from tests.pg import NewDatabaseUrl

TODAY = date(2026, 11, 29)
SERIAL = bytes.fromhex("0102030405060708")
APPLICATION = {"name": "欧阳娜娜", "ssn": "450103198506151231", "sex": "1", "ethnicity": "01",
               "birthplace": "450103", "birth_date": "1985-06-15", "area_code": "450100"}
CASES = [
    pytest.param("ssc2-3des", Algorithm.DES3, None, "sqlite", id="ssc2-3des-sqlite"),
    pytest.param("ssc3-sm4", Algorithm.SM4, "6217000000000000000", "sqlite", id="ssc3-sm4-sqlite"),
    # the same journal on the production database: one profile's matrix (about 17 s; both cost 45 s)
    pytest.param("ssc2-3des", Algorithm.DES3, None, "postgresql", id="ssc2-3des-postgresql"),
]


def luhn_pan(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (1 if i % 2 else 2)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def run(folder: Path, database_url: str, profile_name: str, algorithm: Algorithm, pan: str | None,
        cut: PlannedPowerCut | None) -> tuple[Registry, CardImage, Any]:
    keys = DevKeyStore.default()
    registry = Registry(database_url)
    image_path = folder / "card.json"
    if not image_path.exists():
        make_blank_card(algorithm=algorithm, serial=SERIAL, out=image_path)
    card = SimulatedCard(CardImage.load(image_path))
    card.planned_cut = cut
    application = {**APPLICATION, **({"bank_pan": pan} if pan else {})}
    pki, bank = application_hooks(keys, ca_dir=folder.parent / "ca")
    personaliser = Personaliser(registry, keys, pki=pki, bank=bank, today=TODAY)
    try:
        outcome = personaliser.personalise(InProcessTransport(card), application, load_profile(profile_name))
    except BaseException:
        registry.close()  # a crashed process's connections go with it
        raise
    return registry, CardImage.load(image_path), outcome


def persistent_state(image: CardImage, initial_pin: str) -> dict[str, Any]:
    """What must equal an uncut card's; random parts (PIN salt, SM2 keys) are checked, not compared."""
    from applets.ssse_pin import pin_hash

    ssse = dict(image.applets["ssse"])
    pin = ssse.pop("pin")
    assert hmac.compare_digest(pin_hash(bytes.fromhex(pin["salt"]), initial_pin), bytes.fromhex(pin["hash"]))
    assert pin["tries"] == pin["limit"]
    bank = image.applets.get("bank", {})
    return {"atr": image.atr, "ssse": ssse, "bank": bank}


@pytest.mark.parametrize(("profile_name", "algorithm", "pan_body", "backend"), CASES)
def test_power_cut_at_every_apdu_then_resume(
    tmp_path: Path, new_database_url: NewDatabaseUrl, profile_name: str, algorithm: Algorithm,
    pan_body: str | None, backend: str
) -> None:
    pan = luhn_pan(pan_body[:-1]) if pan_body else None
    profile = load_profile(profile_name)
    reference_registry, reference_image, reference = run(
        tmp_path / "reference", new_database_url(backend, tmp_path / "reference"), profile_name, algorithm, pan, None)
    reference_registry.close()
    expected = persistent_state(reference_image, profile.pin.initial)
    total = reference.apdus
    assert total > 30
    for k in range(1, total + 1):
        folder = tmp_path / f"cut{k}"
        database_url = new_database_url(backend, folder)
        cut = PlannedPowerCut(at_apdu=k, after_commit=k % 2 == 0)
        with pytest.raises(PersoInterrupted):
            run(folder, database_url, profile_name, algorithm, pan, cut)
        registry, image, outcome = run(folder, database_url, profile_name, algorithm, pan, None)
        assert outcome.reading.genuine, k
        assert persistent_state(image, profile.pin.initial) == expected, f"cut at APDU {k}"
        with registry.transaction() as session:
            jobs = session.execute(select(PersoJob)).scalars().all()
            allocations = session.execute(select(CardAllocation)).scalars().all()
            assert [j.state for j in jobs] == [JobState.DONE], k  # one job: resumed, not restarted
            assert [a.state for a in allocations] == [AllocationState.USED], k
            assert allocations[0].card_number == str(reference.record.applicant.card_number)
        registry.close()
