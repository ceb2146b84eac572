"""What the personaliser refuses before it touches a card, and what it does with a card that
refuses it: a bad application sends no APDU, a card that is not blank allocates nothing, an
unfinished job resumes only for its own applicant, a spoiled card voids its numbers."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from sscard_issuer.apdu import CardError, select_by_name
from sscard_issuer.crypto import Algorithm
from sscard_issuer.errors import ValidationError
from sscard_issuer.perso import (
    CardSpoiled,
    PersoError,
    PersoInterrupted,
    Personaliser,
    PersoRecord,
    load_profile,
)
from sscard_issuer.perso.profile import Profile
from sscard_issuer.registry import (
    AllocationState,
    AreaSequence,
    CardAllocation,
    JobState,
    PersoJob,
    PersoStep,
    Registry,
)
from sscard_issuer.sim.make_card import make_blank_card
from sscard_issuer.sim.runtime import PlannedPowerCut, SimulatedCard
from sscard_issuer.transport import Transport
from sscard_issuer.transport.inprocess import InProcessTransport
from tests.unit.cards import keys, new_image

TODAY = date(2026, 3, 2)
BLANK_SERIAL = bytes.fromhex("A1A2A3A4A5A6A7A8")
APPLICATION: dict[str, str] = {
    "name": "李秀英", "ssn": "450103198506151231", "sex": "1", "ethnicity": "01",
    "birthplace": "450103", "birth_date": "1985-06-15", "area_code": "450100",
}
ANOTHER: dict[str, str] = {
    "name": "王芳", "ssn": "450103199001010024", "sex": "2", "ethnicity": "01",
    "birthplace": "450103", "birth_date": "1990-01-01", "area_code": "450100",
}
PAN = "6217000000000000004"  # Luhn-valid
NO_SUCH_BANK_AID = bytes.fromhex("A0000003330101FF")


def blank_card(tmp_path: Path, algorithm: Algorithm = Algorithm.DES3) -> SimulatedCard:
    image = make_blank_card(algorithm=algorithm, keys=keys(), serial=BLANK_SERIAL, out=tmp_path / "card.json")
    return SimulatedCard(image)


def counts(registry: Registry) -> dict[str, int]:
    with registry.transaction() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in (AreaSequence, CardAllocation, PersoJob, PersoStep)
        }


NOTHING = {"area_sequence": 0, "card_allocation": 0, "perso_job": 0, "perso_step": 0}


def the_job(registry: Registry) -> tuple[JobState, AllocationState, str | None, str]:
    with registry.transaction() as session:
        job = session.execute(select(PersoJob)).scalar_one()
        return job.state, job.allocation.state, job.reason, job.allocation.card_number


# -- refused before any APDU -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("application", "photo", "fields"),
    [
        ({**APPLICATION, "ssn": "450103198506151232", "sex": "9"}, None, {"ssn", "sex"}),
        ({**APPLICATION, "card_number": "A12345678"}, None, {"card_number"}),
        ({**APPLICATION, "bank_pan": "6217000000000000005"}, None, {"bank_pan"}),
        (APPLICATION, b"not a jpeg", {"photo"}),
        ({"name": "李秀英"}, None, {"ssn", "sex", "ethnicity", "birthplace", "birth_date", "area_code"}),
    ],
)
def test_a_bad_application_is_refused_before_any_apdu_and_allocates_nothing(
    tmp_path: Path, registry: Registry, application: dict[str, Any], photo: bytes | None, fields: set[str]
) -> None:
    card = blank_card(tmp_path)
    transport = InProcessTransport(card)
    personaliser = Personaliser(registry, keys(), today=TODAY)
    with pytest.raises(ValidationError) as exc:
        personaliser.personalise(transport, application, load_profile("ssc2-3des"), photo=photo)
    assert {e.field for e in exc.value.errors} == fields
    assert transport.apdu_count == 0
    assert card.apdu_count == 0
    assert counts(registry) == NOTHING


def test_a_card_that_is_not_blank_is_refused_without_allocating(tmp_path: Path, registry: Registry) -> None:
    image = new_image(tmp_path / "issued.json", algorithm=Algorithm.DES3)
    card = SimulatedCard(image)
    before = image.snapshot()
    transport = InProcessTransport(card)
    with pytest.raises(PersoError) as exc:
        Personaliser(registry, keys(), today=TODAY).personalise(transport, APPLICATION, load_profile("ssc2-3des"))
    assert "not blank" in str(exc.value)
    assert not isinstance(exc.value, CardSpoiled)
    assert counts(registry) == NOTHING
    assert image.snapshot() == before  # nothing written to the issued card


def test_without_an_application_a_card_with_no_job_is_refused(tmp_path: Path, registry: Registry) -> None:
    transport = InProcessTransport(blank_card(tmp_path))
    with pytest.raises(PersoError) as exc:
        Personaliser(registry, keys(), today=TODAY).personalise(transport, None, load_profile("ssc2-3des"))
    assert BLANK_SERIAL.hex().upper() in str(exc.value)
    assert transport.apdu_count == 0
    assert counts(registry) == NOTHING


# -- an unfinished job ---------------------------------------------------------------------------------


def interrupted(tmp_path: Path, registry: Registry, profile: Profile) -> SimulatedCard:
    """A blank card whose personalisation lost power part-way (during APDU 12, a key write)."""
    card = blank_card(tmp_path)
    transport = InProcessTransport(card)
    card.planned_cut = PlannedPowerCut(at_apdu=12)
    with pytest.raises(PersoInterrupted):
        Personaliser(registry, keys(), today=TODAY).personalise(transport, APPLICATION, profile)
    assert the_job(registry)[:2] == (JobState.WRITING, AllocationState.ALLOCATED)
    return card


def test_an_unfinished_job_is_not_taken_over_by_another_applicant(tmp_path: Path, registry: Registry) -> None:
    profile = load_profile("ssc2-3des")
    card = interrupted(tmp_path, registry, profile)
    before = counts(registry)
    transport = InProcessTransport(card)
    with pytest.raises(PersoError) as exc:
        Personaliser(registry, keys(), today=TODAY).personalise(transport, ANOTHER, profile)
    assert BLANK_SERIAL.hex().upper() in str(exc.value)
    assert "another applicant" in str(exc.value)
    assert transport.apdu_count == 0
    assert counts(registry) == before  # no second allocation, no journal line
    assert the_job(registry)[:2] == (JobState.WRITING, AllocationState.ALLOCATED)


def test_an_unfinished_job_resumes_for_the_same_applicant_with_the_same_numbers(
    tmp_path: Path, registry: Registry
) -> None:
    profile = load_profile("ssc2-3des")
    card = interrupted(tmp_path, registry, profile)
    card_number = the_job(registry)[3]
    outcome = Personaliser(registry, keys(), today=TODAY).personalise(InProcessTransport(card), APPLICATION, profile)
    assert outcome.resumed is True
    assert str(outcome.record.applicant.card_number) == card_number == "A00000001"
    assert outcome.reading.genuine
    assert the_job(registry)[:2] == (JobState.DONE, AllocationState.USED)
    assert counts(registry)["card_allocation"] == 1


def test_an_unfinished_job_resumes_without_an_application(tmp_path: Path, registry: Registry) -> None:
    profile = load_profile("ssc2-3des")
    card = interrupted(tmp_path, registry, profile)
    outcome = Personaliser(registry, keys(), today=TODAY).personalise(InProcessTransport(card), None, profile)
    assert outcome.resumed is True
    assert the_job(registry)[:2] == (JobState.DONE, AllocationState.USED)


def test_an_unfinished_job_is_not_resumed_under_another_profile(tmp_path: Path, registry: Registry) -> None:
    card = interrupted(tmp_path, registry, load_profile("ssc2-3des"))
    transport = InProcessTransport(card)
    other = load_profile("ssc3-sm4")
    with pytest.raises(PersoError) as exc:
        Personaliser(registry, keys(), today=TODAY, pki=select_a_missing_application).personalise(
            transport, APPLICATION, other)
    assert "ssc2-3des" in str(exc.value)
    assert transport.apdu_count == 0
    assert the_job(registry)[:2] == (JobState.WRITING, AllocationState.ALLOCATED)


# -- a card that refuses: spoiled ----------------------------------------------------------------------


def select_a_missing_application(transport: Transport, record: PersoRecord, profile: Profile) -> None:
    """A PKI or bank issuer whose AID the card does not have: the card answers 6A82."""
    transport.send_checked(select_by_name(NO_SUCH_BANK_AID))


@pytest.mark.parametrize(
    ("profile_name", "algorithm", "hook", "extra"),
    [
        ("ssc2-3des", Algorithm.DES3, "bank", {"bank_pan": PAN}),
        ("ssc3-sm4", Algorithm.SM4, "pki", {}),
    ],
)
def test_a_card_refusing_an_application_is_spoiled_and_its_numbers_void(
    tmp_path: Path, registry: Registry, profile_name: str, algorithm: Algorithm, hook: str, extra: dict[str, str]
) -> None:
    card = blank_card(tmp_path, algorithm)
    hooks: dict[str, Any] = {hook: select_a_missing_application}
    personaliser = Personaliser(registry, keys(), today=TODAY, **hooks)
    with pytest.raises(CardSpoiled) as exc:
        personaliser.personalise(InProcessTransport(card), {**APPLICATION, **extra}, load_profile(profile_name))
    assert isinstance(exc.value.__cause__, CardError)
    assert exc.value.__cause__.sw == 0x6A82
    state, allocation, reason, _ = the_job(registry)
    assert (state, allocation) == (JobState.SPOILED, AllocationState.VOID)
    assert reason == exc.value.reason
    assert "6A82" in reason
    # a spoiled card is over: neither resumed nor personalised afresh with new numbers
    for application in (None, {**APPLICATION, **extra}):
        again = InProcessTransport(card)
        with pytest.raises(CardSpoiled, match="spoiled before"):
            personaliser.personalise(again, application, load_profile(profile_name))
        assert again.apdu_count == 0


def test_the_spoil_reason_names_the_step_that_failed(tmp_path: Path, registry: Registry) -> None:
    card = blank_card(tmp_path)
    personaliser = Personaliser(registry, keys(), today=TODAY, bank=select_a_missing_application)
    with pytest.raises(CardSpoiled) as exc:
        personaliser.personalise(InProcessTransport(card), {**APPLICATION, "bank_pan": PAN}, load_profile("ssc2-3des"))
    assert exc.value.reason.startswith("bank:")

