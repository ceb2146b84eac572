"""Personalising a blank card's PKI application through the real stack: pyscard -> pcscd -> vpcd."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from applets import PkiApplet
from sscard_issuer.apdu import Atr
from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys import DevKeyStore
from sscard_issuer.pki import (
    TestCa,
    activate_pki,
    check_card_key,
    personalise_pki,
    read_certificates,
    verify_certificate,
)
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.sim.vpcd import VpcdLink
from sscard_issuer.transport.pcsc import PcscTransport
from tests.unit.test_applet_pki import AREA, blank_image
from tests.unit.test_pki_personalise import SUBJECT

Attach = Callable[..., VpcdLink]
READER = "Virtual PCD 00 00"


def test_a_blank_card_gets_its_pki_application_through_pcsc(attach: Attach, tmp_path: Path) -> None:
    path = tmp_path / "blank.json"
    attach(SimulatedCard(blank_image(path), [PkiApplet]), READER)
    keys = DevKeyStore.default()
    ca = TestCa.default()
    with PcscTransport(READER) as transport:
        factor = Atr.parse(transport.atr).card_factor
        issued = personalise_pki(
            transport, keys, ca, SUBJECT, valid_from=date(2026, 11, 29), valid_until=date(2036, 11, 29),
            area_code=AREA, card_factor=factor, algorithm=Algorithm.SM4,
        )
        check_card_key(transport, issued.sign_certificate)
        activate_pki(transport, keys, area_code=AREA, card_factor=factor, algorithm=Algorithm.SM4)
    with PcscTransport(READER) as transport:
        sign, enc = read_certificates(transport)
        check_card_key(transport, sign)
    assert (sign, enc) == (issued.sign_certificate, issued.encryption_certificate)
    for der in (sign, enc):
        verify_certificate(der, ca.certificate, at=datetime(2030, 1, 1, tzinfo=UTC))
    on_disk = CardImage.load(path).applets["pki"]  # every step was committed to the card image
    assert on_disk["lifecycle"] == "active" and "keys" not in on_disk
