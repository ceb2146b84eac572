"""Reading cards through the real stack: pyscard -> pcscd -> vpcd -> the simulator."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from softhsm_token import SoftHsmToken

from sscard_issuer.apdu import select_by_name
from sscard_issuer.card import Applicant, ssc
from sscard_issuer.card.reader import read_card
from sscard_issuer.cli.demo import sample_applicant
from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys import DevKeyStore, Pkcs11KeyStore
from sscard_issuer.sim.make_card import make_card
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.sim.vpcd import Faults, VpcdLink
from sscard_issuer.transport.errors import CardMute, CardRemoved, NoCard, ReaderNotFound, TransportError
from sscard_issuer.transport.pcsc import PcscTransport, list_readers, wait_for_reader_state
from sscard_issuer.transport.pcscd import Pcscd

Attach = Callable[..., VpcdLink]

READER_0, READER_1 = "Virtual PCD 00 00", "Virtual PCD 00 01"


@pytest.fixture(scope="module")
def keys() -> DevKeyStore:
    return DevKeyStore.default()


@pytest.fixture(scope="module")
def applicant() -> Applicant:
    return sample_applicant()


def card_for(applicant: Applicant, algorithm: Algorithm, **kwargs: object) -> SimulatedCard:
    return SimulatedCard(make_card(applicant, algorithm=algorithm, **kwargs))  # type: ignore[arg-type]


def test_readers_are_the_two_vpcd_readers(pcscd: Pcscd) -> None:
    assert {READER_0, READER_1} <= set(list_readers())


def test_sm4_and_3des_cards_read_in_both_readers(attach: Attach, applicant: Applicant, keys: DevKeyStore) -> None:
    sm4 = card_for(applicant, Algorithm.SM4)
    des = card_for(applicant, Algorithm.DES3)
    attach(sm4, READER_0)
    attach(des, READER_1)
    for reader, algorithm, card in ((READER_0, Algorithm.SM4, sm4), (READER_1, Algorithm.DES3, des)):
        with PcscTransport(reader) as transport:
            reading = read_card(transport, keys)
        assert reading.genuine is True
        assert reading.algorithm is algorithm
        assert reading.atr.raw == card.atr
        assert reading.data is not None
        card_id = reading.data.card_id
        assert reading.data == applicant.basic_data(card_id)
        assert card_id.card_specific == card.atr[-8:]  # the serial is the card factor


def test_counterfeit_card_is_not_genuine_and_nothing_else_is_read(
    attach: Attach, applicant: Applicant, keys: DevKeyStore
) -> None:
    attach(card_for(applicant, Algorithm.SM4, counterfeit=True), READER_0)
    with PcscTransport(READER_0) as transport:
        reading = read_card(transport, keys)
    doc = reading.to_json()
    assert doc["genuine"] is False
    assert reading.data is None
    assert all(doc[k] is None for k in doc if k not in {"genuine", "algorithm", "atr_historical"})


def test_card_removed_mid_session_is_a_clear_error(attach: Attach, applicant: Applicant, keys: DevKeyStore) -> None:
    # the card leaves after answering SELECT (2 APDUs: SELECT, GET RESPONSE) and one record
    attach(card_for(applicant, Algorithm.SM4), READER_0, Faults(remove_after=3))
    with PcscTransport(READER_0, transmit_timeout=3) as transport:
        started = time.monotonic()
        with pytest.raises(CardRemoved):
            read_card(transport, keys)
    assert time.monotonic() - started < 3


def test_mute_card_times_out_then_recovers_after_reinsertion(
    attach: Attach, applicant: Applicant, keys: DevKeyStore
) -> None:
    card = card_for(applicant, Algorithm.SM4)
    link = attach(card, READER_0, Faults(mute=True))
    transport = PcscTransport(READER_0, transmit_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(CardMute, match="did not answer within 1 s"):
        transport.send(select_by_name(ssc.SSSE_AID))
    assert time.monotonic() - started < 3, "a mute card must not hang the caller"
    with pytest.raises(TransportError):
        transport.send(select_by_name(ssc.SSSE_AID))  # broken until reconnect
    link.remove()  # pulling the card unblocks pcscd
    wait_for_reader_state(READER_0, present=False)
    link.insert(Faults())
    wait_for_reader_state(READER_0, present=True)
    transport.reconnect()
    with transport:
        assert read_card(transport, keys).genuine


def test_reinserted_card_reads_after_reconnect(attach: Attach, applicant: Applicant, keys: DevKeyStore) -> None:
    link = attach(card_for(applicant, Algorithm.DES3), READER_1)
    with PcscTransport(READER_1) as transport:
        assert read_card(transport, keys).genuine
        link.remove()
        wait_for_reader_state(READER_1, present=False)
        with pytest.raises(CardRemoved):
            read_card(transport, keys)
        link.insert()
        wait_for_reader_state(READER_1, present=True)
        transport.reconnect()
        assert read_card(transport, keys).data is not None


def test_no_card_and_unknown_reader(pcscd: Pcscd) -> None:
    with pytest.raises(NoCard, match=READER_1):
        PcscTransport(READER_1, card_timeout=0.3)
    with pytest.raises(ReaderNotFound, match="Virtual PCD 00 00"):
        PcscTransport("No Such Reader 99")


def test_pcscd_restart_then_reconnect(pcscd: Pcscd, attach: Attach, applicant: Applicant, keys: DevKeyStore) -> None:
    attach(card_for(applicant, Algorithm.SM4), READER_0)
    transport = PcscTransport(READER_0, card_timeout=10)
    assert read_card(transport, keys).genuine
    pcscd.restart()
    with pytest.raises(TransportError):
        read_card(transport, keys)
    transport.reconnect()  # the simulator's vpcd link re-attaches by itself
    with transport:
        assert read_card(transport, keys).genuine


def test_card_image_survives_between_sessions(
    attach: Attach, applicant: Applicant, keys: DevKeyStore, tmp_path: Path
) -> None:
    from sscard_issuer.sim.image import CardImage

    path = tmp_path / "card.json"
    make_card(applicant, algorithm=Algorithm.SM4, out=path)
    link = attach(SimulatedCard(CardImage.load(path)), READER_0)
    with PcscTransport(READER_0) as transport:
        first = read_card(transport, keys)
    link.close()
    attach(SimulatedCard(CardImage.load(path)), READER_0)
    with PcscTransport(READER_0) as transport:
        assert read_card(transport, keys) == first
    assert json.loads(path.read_text())["format"] == "sscard-sim-card/1"


def test_3des_card_reads_with_keys_in_a_pkcs11_token(
    softhsm: SoftHsmToken, attach: Attach, applicant: Applicant
) -> None:
    """The terminal's keys in SoftHSM2: derivation and cryptograms inside the token."""
    attach(card_for(applicant, Algorithm.DES3), READER_1)
    with (
        Pkcs11KeyStore(softhsm.module, softhsm.label, softhsm.user_pin) as token_keys,
        PcscTransport(READER_1) as transport,
    ):
        reading = read_card(transport, token_keys)
    assert reading.genuine and reading.data is not None
    assert reading.data.name == applicant.name
