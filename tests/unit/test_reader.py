"""The terminal reader against simulated cards: what it reads, when it stops, what it trusts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from applets import BankApplet, PkiApplet, SsseApplet
from sscard_issuer.apdu import RecordNotFound, Tlv, WrongPinOrCryptogram, encode_ber
from sscard_issuer.card import Applicant, ssc
from sscard_issuer.card.reader import (
    CardDataError,
    CardReading,
    PinError,
    PinLocked,
    SsseSession,
    WrongPin,
    pin_to_bcd,
    read_card,
)
from sscard_issuer.crypto import Algorithm
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.transport.inprocess import InProcessTransport
from sscard_issuer.transport.trace import ApduTrace
from tests.unit.cards import PIN, SERIAL, applicant, keys, new_image, sample_json

JSON_KEYS = [
    "area_code", "ssn", "card_number", "card_id", "name", "sex", "birth_date", "atr_historical",
    "version", "issue_date", "expiry_date", "algorithm", "genuine",
]
INS_INTERNAL_AUTHENTICATE = 0x88
INS_EXTERNAL_AUTHENTICATE = 0x82
INS_GET_CHALLENGE = 0x84
INS_VERIFY = 0x20

LONG_NAMES = [
    "买买提江·阿不都热合曼·吐尔逊江",  # 32 GBK bytes
    "艾合买提江·阿不都克热木·买买提吐尔逊",  # 38
    "艾合买提江·阿不都克热木·买买提吐尔逊·热合曼江阿",  # 50, the most a card holds
]


def read(
    image: CardImage,
    *,
    pin: str | None = None,
    applets: tuple[type, ...] | None = None,
) -> tuple[CardReading, ApduTrace]:
    trace = ApduTrace()
    card = SimulatedCard(image, applets) if applets else SimulatedCard(image)
    with InProcessTransport(card, trace=trace) as transport:
        return read_card(transport, keys(), pin=pin), trace


def sent(trace: ApduTrace) -> list[int]:
    return [entry.command.ins for entry in trace.entries]


def expected_json(who: Applicant, algorithm: Algorithm, image: CardImage) -> dict[str, object]:
    doc = who.to_json()
    card_id = doc["area_code"] + "D156000005" + SERIAL.hex().upper()
    return {
        "area_code": doc["area_code"],
        "ssn": doc["ssn"],
        "card_number": doc["card_number"],
        "card_id": card_id,
        "name": doc["name"],
        "sex": doc["sex"],
        "birth_date": doc["birth_date"],
        "atr_historical": image.atr[-13:].hex().upper(),
        "version": "3.00",
        "issue_date": doc["issue_date"],
        "expiry_date": doc["expiry_date"],
        "algorithm": algorithm.value,
        "genuine": True,
    }


@pytest.mark.parametrize("algorithm", [Algorithm.SM4, Algorithm.DES3])
def test_a_genuine_card_reads_back_exactly_the_applicants_data(algorithm: Algorithm) -> None:
    image = new_image(None, algorithm=algorithm)
    reading, _ = read(image)
    assert reading.genuine
    assert reading.algorithm is algorithm
    doc = reading.to_json()
    assert list(doc) == JSON_KEYS
    assert doc == expected_json(applicant(), algorithm, image)
    assert doc["name"] == sample_json()["name"]


def test_the_card_historical_bytes_carry_the_area_and_serial() -> None:
    reading, _ = read(new_image(None))
    historical = reading.to_json()["atr_historical"]
    assert isinstance(historical, str)
    assert historical.endswith("450100" + SERIAL.hex().upper())


@pytest.mark.parametrize("name", LONG_NAMES)
@pytest.mark.parametrize("algorithm", [Algorithm.SM4, Algorithm.DES3])
def test_a_name_longer_than_30_bytes_reads_back_whole(name: str, algorithm: Algorithm) -> None:
    assert 30 < len(name.encode("gbk")) <= 50
    who = applicant(name=name)
    image = new_image(None, algorithm=algorithm, who=who)
    assert image.applets["ssse"]["records"]["6"].get("4E")  # the card needed record 4E
    reading, trace = read(image)
    assert reading.to_json()["name"] == name
    assert reading.to_json() == expected_json(who, algorithm, image)
    assert any(e.command.ins == 0xB2 and e.command.p1 == 0x4E for e in trace.entries)


def test_a_name_of_exactly_30_bytes_needs_no_extension() -> None:
    name = "阿卜杜热合曼·买买提·艾尔肯江"
    assert len(name.encode("gbk")) == 30
    image = new_image(None, who=applicant(name=name))
    assert "4E" not in image.applets["ssse"]["records"]["6"]
    reading, _ = read(image)
    assert reading.to_json()["name"] == name


@pytest.mark.parametrize("algorithm", [Algorithm.SM4, Algorithm.DES3])
def test_a_counterfeit_card_is_not_genuine_and_nothing_else_is_trusted(algorithm: Algorithm) -> None:
    image = new_image(None, algorithm=algorithm, counterfeit=True)
    reading, trace = read(image)
    assert reading.genuine is False
    assert reading.data is None
    doc = reading.to_json()
    assert list(doc) == JSON_KEYS
    assert {k: v for k, v in doc.items() if v is not None} == {
        "atr_historical": image.atr[-13:].hex().upper(),
        "algorithm": algorithm.value,
        "genuine": False,
    }
    # The reader stopped right after internal authentication: no challenge, no key, no PIN.
    assert sent(trace)[-1] == INS_INTERNAL_AUTHENTICATE
    assert INS_EXTERNAL_AUTHENTICATE not in sent(trace)
    assert INS_GET_CHALLENGE not in sent(trace)


def test_a_counterfeit_card_is_never_given_the_pin() -> None:
    reading, trace = read(new_image(None, counterfeit=True), pin=PIN)
    assert not reading.genuine
    assert INS_VERIFY not in sent(trace)


def test_a_card_that_refuses_internal_authentication_is_not_genuine() -> None:
    image = new_image(None)
    del image.applets["ssse"]["keys"]["IRK"]  # the card answers 6A88
    reading, trace = read(image)
    assert not reading.genuine
    assert reading.data is None
    assert trace.entries[-1].response is not None and trace.entries[-1].response.sw == 0x6A88


def fci_applet(fci: bytes) -> type[SsseApplet]:
    class OtherFciSsse(SsseApplet):
        def select(self, name: bytes) -> bytes:
            super().select(name)
            return fci

    return OtherFciSsse


AID = Tlv(0x84, ssc.SSSE_AID)
FCIS_WITHOUT_86 = {
    "9F0C empty": Tlv(0x6F, encode_ber([AID, Tlv(0xA5, encode_ber([Tlv(0x88, b"\x1e"), Tlv(0x9F0C, b"")]))])),
    "no 9F0C": Tlv(0x6F, encode_ber([AID, Tlv(0xA5, Tlv(0x88, b"\x1e").encode())])),
    "no A5": Tlv(0x6F, AID.encode()),
    "86 empty": Tlv(0x6F, encode_ber([AID, Tlv(0xA5, Tlv(0x9F0C, Tlv(0x86, b"").encode()).encode())])),
}


@pytest.mark.parametrize("variant", list(FCIS_WITHOUT_86))
def test_a_card_whose_fci_lacks_tag_86_is_read_as_3des(variant: str) -> None:
    image = new_image(None, algorithm=Algorithm.DES3)
    applets = (fci_applet(FCIS_WITHOUT_86[variant].encode()), PkiApplet, BankApplet)
    reading, _ = read(image, applets=applets)
    assert reading.algorithm is Algorithm.DES3
    assert reading.to_json() == expected_json(applicant(), Algorithm.DES3, image)


def test_a_card_with_no_fci_at_all_is_read_as_3des() -> None:
    image = new_image(None, algorithm=Algorithm.DES3)
    reading, _ = read(image, applets=(fci_applet(b""), PkiApplet, BankApplet))
    assert reading.algorithm is Algorithm.DES3
    assert reading.genuine


def test_a_malformed_fci_is_a_card_data_error() -> None:
    image = new_image(None)
    with pytest.raises(CardDataError, match="FCI"):
        read(image, applets=(fci_applet(bytes.fromhex("6F10840F")), PkiApplet, BankApplet))


def test_the_right_pin_is_verified_before_the_protected_records() -> None:
    reading, trace = read(new_image(None), pin=PIN)
    assert reading.genuine
    assert reading.to_json()["name"] == sample_json()["name"]
    ins = sent(trace)
    assert ins.index(INS_INTERNAL_AUTHENTICATE) < ins.index(INS_VERIFY) < ins.index(
        INS_EXTERNAL_AUTHENTICATE
    )


def test_a_wrong_pin_stops_the_reading_and_says_the_tries_left() -> None:
    image = new_image(None)
    trace = ApduTrace()
    with InProcessTransport(SimulatedCard(image), trace=trace) as transport, pytest.raises(WrongPinOrCryptogram) as caught:
        read_card(transport, keys(), pin="000000")
    assert caught.value.tries_left == 2
    assert sent(trace)[-1] == INS_VERIFY
    assert INS_EXTERNAL_AUTHENTICATE not in sent(trace)


def test_a_locked_pin_is_told_apart_from_a_wrong_one() -> None:
    image = new_image(None)
    for tries_left in (2, 1, 0):
        with InProcessTransport(SimulatedCard(image)) as transport, pytest.raises(WrongPin) as wrong:
            read_card(transport, keys(), pin="000000")
        assert wrong.value.tries_left == tries_left
    with InProcessTransport(SimulatedCard(image)) as transport, pytest.raises(PinLocked):
        read_card(transport, keys(), pin=PIN)


def test_a_refused_cryptogram_is_not_a_wrong_pin() -> None:
    image = new_image(None)
    image.applets["ssse"]["keys"]["RKSSSE"]["key"] = "00" * 16
    with InProcessTransport(SimulatedCard(image)) as transport, pytest.raises(WrongPinOrCryptogram) as caught:
        read_card(transport, keys(), pin=PIN)
    assert not isinstance(caught.value, WrongPin)
    assert caught.value.tries_left == 14


@pytest.mark.parametrize("pin", ["123", "12345678901234567", "12a456", "１２３４５６", ""])
def test_a_pin_that_is_not_4_to_16_digits_never_reaches_the_card(pin: str) -> None:
    image = new_image(None)
    trace = ApduTrace()
    with InProcessTransport(SimulatedCard(image), trace=trace) as transport, pytest.raises(PinError) as caught:
        read_card(transport, keys(), pin=pin)
    assert INS_VERIFY not in sent(trace)
    if pin:
        assert pin not in str(caught.value)


@pytest.mark.parametrize("pin, bcd", [("123456", "123456"), ("12345", "12345F"), ("0000", "0000")])
def test_pin_to_bcd_pads_with_f(pin: str, bcd: str) -> None:
    assert pin_to_bcd(pin) == bytes.fromhex(bcd)


def damaged(change: Callable[[dict[str, dict[str, str]]], object]) -> CardImage:
    image = new_image(None)
    change(image.applets["ssse"]["records"])
    return image


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r["6"].update({"08": b"450103198506151232".hex()}),  # SSN check character
        lambda r: r["6"].update({"0D": "19851315"}),  # no such date
        lambda r: r["5"].update({"01": "00" * 16}),  # card id of no area
        lambda r: r["6"].update({"09": "00" * 30}),  # empty name
        lambda r: r["6"].update({"0A": b"1".hex() * 2}),  # record longer than the model says
    ],
    ids=["ssn", "birth_date", "card_id", "name", "length"],
)
def test_a_card_holding_invalid_data_is_a_card_data_error(
    change: Callable[[dict[str, dict[str, str]]], object],
) -> None:
    with pytest.raises(CardDataError):
        read(damaged(change))


def test_a_card_missing_a_mandatory_record_says_which_was_not_found() -> None:
    with pytest.raises(RecordNotFound):
        read(damaged(lambda r: r["6"].pop("08")))


def test_a_session_reads_a_free_record_before_any_authentication() -> None:
    image = new_image(None)
    with InProcessTransport(SimulatedCard(image)) as transport:
        session = SsseSession(transport, keys())
        assert session.select() is Algorithm.SM4
        card_id = session.identify()
        assert card_id.hex == "450100D156000005" + SERIAL.hex().upper()
        assert session.is_genuine()
