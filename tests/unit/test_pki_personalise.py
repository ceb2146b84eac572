"""Personalising the PKI application in-process: the whole exchange, checks, power cuts, reruns."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from applets import PkiApplet
from sscard_issuer.apdu import (
    Atr,
    CommandApdu,
    ConditionsNotSatisfied,
    SecurityStatusNotSatisfied,
    WrongPinOrCryptogram,
)
from sscard_issuer.card import CardIdentificationCode, SocialSecurityNumber
from sscard_issuer.crypto import Algorithm, Sm2PrivateKey
from sscard_issuer.keys import DevKeyStore, KeyStore
from sscard_issuer.pki import (
    CardKeyMismatch,
    CertificateAuthority,
    CertificateMissing,
    CertificateRequest,
    CertificateSubject,
    InvalidCertificate,
    IssuedCredentials,
    PkiAlreadyActive,
    PkiError,
    TestCa,
    activate_pki,
    certificate_public_key,
    check_card_key,
    personalise_pki,
    read_certificates,
    seal_key_envelope,
    verify_certificate,
)
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.runtime import PlannedPowerCut, PowerCut, SimulatedCard
from sscard_issuer.transport import ApduTrace, InProcessTransport, Transport
from tests.unit.test_applet_pki import AREA, BLANK_SERIAL, blank_atr, blank_card, blank_image

KEYS = DevKeyStore.default()
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
SUBJECT = CertificateSubject(
    "李秀英",
    SocialSecurityNumber("450103198506151231"),
    CardIdentificationCode(bytes.fromhex(AREA) + bytes.fromhex("D156000005") + BLANK_SERIAL),
)
VALID_FROM, VALID_UNTIL = date(2026, 11, 29), date(2036, 11, 29)


@pytest.fixture(scope="module")
def ca() -> TestCa:
    return TestCa.create(now=NOW)


def personalise(transport: Transport, ca: CertificateAuthority, *, keys: KeyStore = KEYS,
                algorithm: Algorithm = Algorithm.SM4, card_factor: bytes | None = None) -> IssuedCredentials:
    return personalise_pki(
        transport, keys, ca, SUBJECT, valid_from=VALID_FROM, valid_until=VALID_UNTIL, area_code=AREA,
        card_factor=card_factor or Atr.parse(transport.atr).card_factor, algorithm=algorithm,
    )


def activate(transport: Transport, algorithm: Algorithm = Algorithm.SM4) -> None:
    activate_pki(transport, KEYS, area_code=AREA, card_factor=Atr.parse(transport.atr).card_factor,
                 algorithm=algorithm)


def assert_personalised(card: SimulatedCard, ca: TestCa, issued: IssuedCredentials | None = None) -> None:
    """The card holds the certificates of its own keys, chained to the CA."""
    transport = InProcessTransport(card)
    sign, enc = read_certificates(transport)
    if issued is not None:
        assert (sign, enc) == (issued.sign_certificate, issued.encryption_certificate)
    for der in (sign, enc):
        verify_certificate(der, ca.certificate, at=datetime(2030, 1, 1, tzinfo=UTC))
    check_card_key(transport, sign)
    state = card.image.applets["pki"]
    encryption_key = Sm2PrivateKey.from_raw(bytes.fromhex(state["encryption_key"]))
    assert certificate_public_key(enc) == encryption_key.public_key()
    transport.close()


@pytest.mark.parametrize("algorithm", [Algorithm.SM4, Algorithm.DES3])
def test_a_blank_card_is_personalised_and_proves_its_key(ca: TestCa, algorithm: Algorithm) -> None:
    card = blank_card(algorithm=algorithm)
    trace = ApduTrace()
    transport = InProcessTransport(card, trace=trace)
    issued = personalise(transport, ca, algorithm=algorithm)
    assert_personalised(card, ca, issued)
    # the envelope is marked sensitive, so the trace does not keep it
    assert issued.encryption_key_envelope.hex().upper() not in str(trace.entries)


def test_the_exchange_uses_maximal_chunks(ca: TestCa) -> None:
    card = blank_card()
    trace = ApduTrace()
    issued = personalise(InProcessTransport(card, trace=trace), ca)
    updates = [e.command for e in trace.entries if e.command.ins == 0xD6]
    sizes = [len(c.data) for c in updates]
    expected = []
    for der in (issued.sign_certificate, issued.encryption_certificate):
        expected += [min(255, len(der) - off) for off in range(0, len(der), 255)]
    assert sizes == expected
    assert [c.p1 << 8 | c.p2 for c in updates[:3]] == [0, 255, 510]


def test_check_card_key_refuses_another_cards_certificate(ca: TestCa) -> None:
    transport = InProcessTransport(blank_card())
    personalise(transport, ca)
    stranger = ca.issue(CertificateRequest(SUBJECT, Sm2PrivateKey.generate().public_key(), VALID_FROM, VALID_UNTIL))
    with pytest.raises(CardKeyMismatch, match="does not verify"):
        check_card_key(transport, stranger.sign_certificate)


def test_check_card_key_on_a_card_without_a_key() -> None:
    with pytest.raises(CardKeyMismatch, match="would not sign"):
        check_card_key(InProcessTransport(blank_card()), TestCa.default().certificate)


def test_activation_ends_personalisation_and_is_idempotent(ca: TestCa) -> None:
    card = blank_card()
    transport = InProcessTransport(card)
    issued = personalise(transport, ca)
    activate(transport)
    activate(transport)  # nothing to do, no error: a journal may repeat it
    with pytest.raises(PkiAlreadyActive):
        personalise(transport, ca)
    assert_personalised(card, ca, issued)


def test_activating_too_early_is_refused() -> None:
    with pytest.raises(ConditionsNotSatisfied):
        activate(InProcessTransport(blank_card()))


def test_a_wrong_transport_key_writes_nothing(ca: TestCa) -> None:
    card = blank_card()
    with pytest.raises(WrongPinOrCryptogram):
        personalise(InProcessTransport(card), ca, card_factor=bytes(8))
    assert card.image.applets["pki"]["files"] == {}


def test_the_area_code_must_be_the_cards(ca: TestCa) -> None:
    transport = InProcessTransport(blank_card())
    with pytest.raises(PkiError, match="issuing area"):
        personalise_pki(transport, KEYS, ca, SUBJECT, valid_from=VALID_FROM, valid_until=VALID_UNTIL,
                        area_code="110100", card_factor=blank_atr().card_factor, algorithm=Algorithm.SM4)
    assert transport.apdu_count == 0


class LyingCa(CertificateAuthority):
    """A CA whose answers are subtly wrong, one way per test."""

    def __init__(self, ca: TestCa, fault: str) -> None:
        self.ca, self.fault = ca, fault

    @property
    def certificate(self) -> bytes:
        return self.ca.certificate

    def issue(self, request: CertificateRequest) -> IssuedCredentials:
        if self.fault == "other key":
            request = replace(request, sign_public_key=Sm2PrivateKey.generate().public_key())
        if self.fault == "other card":
            subject = replace(request.subject, card_id=CardIdentificationCode(bytes.fromhex("450100D156000005") + bytes(8)))
            request = replace(request, subject=subject)
        issued = (TestCa.create(now=NOW) if self.fault == "other root" else self.ca).issue(request)
        if self.fault == "other envelope":
            envelope = seal_key_envelope(request.sign_public_key, Sm2PrivateKey.generate())
            issued = replace(issued, encryption_key_envelope=envelope)
        return issued


@pytest.mark.parametrize(
    "fault, message",
    [
        ("other key", "does not certify the card's key"),
        ("other card", "names card"),
        ("other root", "signature does not verify"),
        ("other envelope", "different keys"),
    ],
)
def test_bad_ca_output_never_reaches_the_card(ca: TestCa, fault: str, message: str) -> None:
    card = blank_card()
    with pytest.raises(InvalidCertificate, match=message):
        personalise(InProcessTransport(card), LyingCa(ca, fault))
    files = card.image.applets["pki"]["files"]
    assert set(files) == {"0012"} and "encryption_key" not in card.image.applets["pki"]


def test_reading_a_card_without_certificates() -> None:
    with pytest.raises(CertificateMissing, match="signing"):
        read_certificates(InProcessTransport(blank_card()))


def test_a_half_written_certificate_reads_as_incomplete(ca: TestCa) -> None:
    card = blank_card()
    transport = InProcessTransport(card)
    personalise(transport, ca)
    files = card.image.applets["pki"]["files"]
    files["0018"] = files["0018"][:600]
    with pytest.raises(PkiError, match="incomplete"):
        read_certificates(transport)


# -- power cuts ------------------------------------------------------------------------------


def count_apdus(ca: TestCa) -> int:
    card = blank_card()
    personalise(InProcessTransport(card), ca)
    return card.apdu_count


@pytest.mark.parametrize("after_commit", [False, True], ids=["lost", "kept"])
def test_a_power_cut_at_any_apdu_then_a_rerun_from_the_start(
    tmp_path: Path, ca: TestCa, after_commit: bool
) -> None:
    total = count_apdus(ca)
    assert total >= 15
    for at in range(1, total + 1):
        path = tmp_path / f"card-{at}.json"
        card = SimulatedCard(blank_image(path), [PkiApplet])
        card.planned_cut = PlannedPowerCut(at, after_commit=after_commit)
        with pytest.raises(PowerCut):
            personalise(InProcessTransport(card), ca)
        reloaded = SimulatedCard(CardImage.load(path), [PkiApplet])  # what the EEPROM kept
        issued = personalise(InProcessTransport(reloaded), ca)
        assert_personalised(reloaded, ca, issued)
        again = SimulatedCard(CardImage.load(path), [PkiApplet])
        assert_personalised(again, ca, issued)
        activate(InProcessTransport(again))


def test_a_cut_while_activating_is_finished_by_repeating_it(tmp_path: Path, ca: TestCa) -> None:
    path = tmp_path / "card.json"
    card = SimulatedCard(blank_image(path), [PkiApplet])
    issued = personalise(InProcessTransport(card), ca)
    card.power_off()
    card.planned_cut = PlannedPowerCut(5, after_commit=True)  # SELECT x2 (with Le), challenge, auth, ACTIVATE
    with pytest.raises(PowerCut):
        activate(InProcessTransport(card))
    assert CardImage.load(path).applets["pki"]["lifecycle"] == "active"  # done, answer lost
    reloaded = SimulatedCard(CardImage.load(path), [PkiApplet])
    activate(InProcessTransport(reloaded))
    assert reloaded.image.applets["pki"]["lifecycle"] == "active"
    assert_personalised(reloaded, ca, issued)


def test_a_generate_without_authentication_is_refused_by_the_card() -> None:
    transport = InProcessTransport(blank_card())
    transport.send_checked(CommandApdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("504B492EC9E7BBE1B1A3D5CF")))
    transport.send_checked(CommandApdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("53532E434552542E41444631")))
    with pytest.raises(SecurityStatusNotSatisfied):
        transport.send_checked(CommandApdu(0x80, 0x46, 0x00, 0x00))
