"""Build a personalised simulated card image directly, without APDUs (test fixtures, demos).

The keys are the development key set's, diversified for this card exactly as a terminal will
derive them: so a card made here reads as genuine with the same key store. ``counterfeit=True``
gives the card an internal-authentication key of its own, the way a cloned card would look;
``locked=True`` a social security application locked for good (SELECT answers 9303).
"""

from __future__ import annotations

import os
from pathlib import Path

from applets import BankApplet, GpApplet, PkiApplet, SsseApplet
from sscard_issuer.apdu import Atr
from sscard_issuer.card import Applicant, CardIdentificationCode
from sscard_issuer.card.historical import SIMULATOR_VENDOR, SscHistoricalBytes
from sscard_issuer.card.identifiers import AreaCode
from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys import SSSE_CARD_KEYS, DevKeyStore, KeyClass
from sscard_issuer.sim.image import CardImage

# Every class of card key the SSSE holds (card.md section 4).
SSSE_KEY_CLASSES = SSSE_CARD_KEYS
INITIAL_PIN = "123456"  # the usual initial PIN; a profile setting in personalisation


def make_card(
    applicant: Applicant,
    *,
    algorithm: Algorithm = Algorithm.SM4,
    keys: DevKeyStore | None = None,
    serial: bytes | None = None,
    vendor: bytes = SIMULATOR_VENDOR,
    pin: str = INITIAL_PIN,
    pin_limit: int = 3,
    counterfeit: bool = False,
    locked: bool = False,
    bank_pan: str | None = None,
    out: Path | None = None,
) -> CardImage:
    if algorithm not in (Algorithm.DES3, Algorithm.SM4):
        raise ValueError(f"a social security card uses 3DES or SM4, not {algorithm.value}")
    keys = keys or DevKeyStore.default()
    serial = serial if serial is not None else os.urandom(8)
    historical = SscHistoricalBytes(vendor, applicant.area_code, serial)
    atr = Atr.for_t0(historical.encode())
    card_id = CardIdentificationCode.build(applicant.area_code, serial)
    card_keys = {
        key_class.value: keys.export_card_key_for_simulator(
            key_class, algorithm, area_code=str(applicant.area_code), card_factor=atr.card_factor
        )
        for key_class in SSSE_KEY_CLASSES
    }
    if counterfeit:
        card_keys[KeyClass.IRK.value] = os.urandom(16)
    applets = {
        SsseApplet.name: SsseApplet.personalised_state(
            algorithm=algorithm,
            records=applicant.records(card_id),
            keys=card_keys,
            pin=pin,
            pin_limit=pin_limit,
            locked=locked,
        ),
        PkiApplet.name: PkiApplet.empty_state(),
        BankApplet.name: (
            BankApplet.personalised_state(bank_pan, applicant.expiry_date.strftime("%y%m"))
            if bank_pan
            else {}
        ),
    }
    image = CardImage(atr.raw, applets)
    if out is not None:
        image.save(Path(out))
    return image


DEFAULT_BLANK_AREA = "450100"  # the seed page's city (Nanning): blank stock is ordered per city


def make_blank_card(
    *,
    algorithm: Algorithm = Algorithm.SM4,
    area_code: str = DEFAULT_BLANK_AREA,
    keys: DevKeyStore | None = None,
    serial: bytes | None = None,
    vendor: bytes = SIMULATOR_VENDOR,
    out: Path | None = None,
) -> CardImage:
    """A blank card as the factory delivers it to a city: its applications present but empty,
    each holding only the card's transport key TK (diversified for this card, like any card key).
    """
    if algorithm not in (Algorithm.DES3, Algorithm.SM4):
        raise ValueError(f"a social security card uses 3DES or SM4, not {algorithm.value}")
    keys = keys or DevKeyStore.default()
    serial = serial if serial is not None else os.urandom(8)
    area = AreaCode(area_code)
    atr = Atr.for_t0(SscHistoricalBytes(vendor, area, serial).encode())
    tk = keys.export_card_key_for_simulator(KeyClass.TK, algorithm, area_code=str(area), card_factor=atr.card_factor)
    applets = {
        SsseApplet.name: SsseApplet.blank_state(algorithm=algorithm, tk=tk),
        # second-generation (3DES) cards have no PKI application to personalise
        PkiApplet.name: PkiApplet.blank_state(tk, algorithm) if algorithm is Algorithm.SM4 else PkiApplet.empty_state(),
        BankApplet.name: {},
        GpApplet.name: _blank_isd(keys, algorithm, atr.raw),
    }
    image = CardImage(atr.raw, applets)
    if out is not None:
        image.save(Path(out))
    return image


def _blank_isd(keys: DevKeyStore, algorithm: Algorithm, atr: bytes) -> dict[str, object]:
    """The card manager of a blank card: SCP03 with KDF3-diversified AES keys on a third-generation
    chip, SCP02 with EMV-diversified 3DES keys on a second-generation one (what the profiles use)."""
    kdd = GpApplet.key_diversification_data(atr)
    if algorithm is Algorithm.SM4:
        return GpApplet.blank_state(3, keys.gp_static_keys(Algorithm.AES, "kdf3", kdd))
    return GpApplet.blank_state(2, keys.gp_static_keys(Algorithm.DES3, "emv", kdd))
