"""make_card: a personalised card image, keyed as the development key set derives it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sscard_issuer.apdu import Atr
from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys import SSSE_CARD_KEYS
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.make_card import make_card
from tests.unit.cards import SERIAL, applicant, card_id, keys, new_image


def test_the_image_is_written_where_asked_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "cards" / "card.json"
    image = new_image(path)
    assert image.path == path
    loaded = CardImage.load(path)
    assert loaded.atr == image.atr
    assert loaded.applets == image.applets


def test_without_out_nothing_is_written(tmp_path: Path) -> None:
    image = new_image(None)
    assert image.path is None
    assert list(tmp_path.iterdir()) == []


def test_the_atr_and_card_id_carry_the_area_and_the_serial() -> None:
    image = new_image(None)
    atr = Atr.parse(image.atr)
    assert atr.historical.hex().upper().endswith("450100" + SERIAL.hex().upper())
    assert atr.card_factor == SERIAL
    assert card_id(image).hex == "450100D156000005" + SERIAL.hex().upper()


def test_two_cards_without_a_serial_get_different_ones() -> None:
    one = make_card(applicant(), keys=keys())
    two = make_card(applicant(), keys=keys())
    assert one.atr != two.atr


@pytest.mark.parametrize("algorithm", [Algorithm.SM4, Algorithm.DES3])
def test_the_card_holds_the_keys_a_terminal_derives(algorithm: Algorithm) -> None:
    image = new_image(None, algorithm=algorithm)
    atr = Atr.parse(image.atr)
    held = image.applets["ssse"]["keys"]
    assert set(held) == {k.value for k in SSSE_CARD_KEYS}
    for key_class in SSSE_CARD_KEYS:
        derived = keys().export_card_key_for_simulator(
            key_class, algorithm, area_code="450100", card_factor=atr.card_factor
        )
        assert bytes.fromhex(held[key_class.value]["key"]) == derived


def test_a_counterfeit_card_differs_only_in_its_internal_authentication_key() -> None:
    genuine = new_image(None)
    fake = new_image(None, counterfeit=True)
    assert fake.atr == genuine.atr
    genuine_keys, fake_keys = genuine.applets["ssse"]["keys"], fake.applets["ssse"]["keys"]
    assert fake_keys["IRK"]["key"] != genuine_keys["IRK"]["key"]
    assert {k: v for k, v in fake_keys.items() if k != "IRK"} == {
        k: v for k, v in genuine_keys.items() if k != "IRK"
    }
    assert fake.applets["ssse"]["records"] == genuine.applets["ssse"]["records"]


def test_aes_is_not_a_card_algorithm(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="3DES or SM4"):
        new_image(tmp_path / "card.json", algorithm=Algorithm.AES)
    assert list(tmp_path.iterdir()) == []
