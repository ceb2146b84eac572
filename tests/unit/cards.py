"""Shared helpers for the simulator, applet, reader and CLI unit tests: cards and terminal steps.

The terminal side here computes cryptograms and MACs with the development key store, the way a
terminal does, never with the keys stored in the card image.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sscard_issuer.apdu import Atr, CommandApdu, ResponseApdu
from sscard_issuer.card import Applicant, CardIdentificationCode, ssc
from sscard_issuer.card.cos import SecureMessaging
from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys import CardKey, DevKeyStore, KeyClass
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.make_card import make_card
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.transport.inprocess import InProcessTransport
from sscard_issuer.transport.trace import ApduTrace

SERIAL = bytes.fromhex("0123456789ABCDEF")
PIN = "123456"
KEY_ID_UK = 0x04
KEY_ID_RKSSSE = 0x0A

_KEYS: DevKeyStore | None = None


def keys() -> DevKeyStore:
    global _KEYS
    if _KEYS is None:
        _KEYS = DevKeyStore.default()
    return _KEYS


def sample_json() -> dict[str, str]:
    text = resources.files("sscard_issuer.data").joinpath("sample_applicant.json").read_text("utf-8")
    doc: dict[str, str] = json.loads(text)
    return doc


def applicant(**changes: str) -> Applicant:
    return Applicant.from_json({**sample_json(), **changes})


def new_image(
    path: Path | None,
    *,
    algorithm: Algorithm = Algorithm.SM4,
    who: Applicant | None = None,
    **kwargs: Any,
) -> CardImage:
    """A personalised card image for the sample applicant, saved at ``path`` when given."""
    return make_card(
        who or applicant(), algorithm=algorithm, keys=keys(), serial=SERIAL, out=path, **kwargs
    )


def card_id(image: CardImage) -> CardIdentificationCode:
    raw = bytes.fromhex(image.applets["ssse"]["records"]["5"]["01"])
    return CardIdentificationCode(raw)


def card_key(image: CardImage, key_class: KeyClass) -> CardKey:
    """The card key a terminal derives for this card (from the ATR and the card's area)."""
    algorithm = Algorithm(image.applets["ssse"]["algorithm"])
    return keys().card_key(
        key_class,
        algorithm,
        area_code=str(card_id(image).area_code),
        card_factor=Atr.parse(image.atr).card_factor,
    )


def reload(image: CardImage) -> SimulatedCard:
    """A new card object from what the image file holds on disk (a power cycle of the EEPROM)."""
    assert image.path is not None
    return SimulatedCard(CardImage.load(image.path))


@dataclass
class Terminal:
    """A terminal talking to one card in-process; each method is one step of card.md section 3."""

    card: SimulatedCard
    transport: InProcessTransport
    trace: ApduTrace
    sm: SecureMessaging | None = None

    @classmethod
    def open(cls, card: SimulatedCard) -> Terminal:
        trace = ApduTrace()
        return cls(card, InProcessTransport(card, trace=trace), trace)

    @property
    def image(self) -> CardImage:
        return self.card.image

    @property
    def algorithm(self) -> Algorithm:
        return Algorithm(self.image.applets["ssse"]["algorithm"])

    def send(self, cla: int, ins: int, p1: int, p2: int, data: bytes = b"",
             le: int | None = None, *, sensitive: bool = False) -> ResponseApdu:
        return self.transport.send(CommandApdu(cla, ins, p1, p2, data, le, sensitive=sensitive))

    def select_ssse(self) -> ResponseApdu:
        return self.send(0x00, 0xA4, 0x04, 0x00, ssc.SSSE_AID)

    def read(self, sfi: int, tag: int) -> ResponseApdu:
        return self.send(0x00, 0xB2, tag, sfi << 3, le=256)

    def challenge(self, length: int = 8) -> bytes:
        response = self.send(0x00, 0x84, 0x00, 0x00, le=length)
        assert response.sw == 0x9000, f"{response.sw:04X}"
        return response.data

    def cryptogram(self, key_class: KeyClass, challenge: bytes) -> bytes:
        with card_key(self.image, key_class) as key:
            return key.cryptogram(challenge[:8])

    def external_auth(self, key_class: KeyClass, key_id: int,
                      cryptogram: bytes | None = None) -> ResponseApdu:
        challenge = self.challenge()
        if cryptogram is None:
            cryptogram = self.cryptogram(key_class, challenge)
        response = self.send(0x00, 0x82, 0x00, key_id, cryptogram + bytes(8))
        if response.sw == 0x9000:
            self.sm = self.session(key_class, challenge)
        return response

    def session(self, key_class: KeyClass, challenge: bytes) -> SecureMessaging:
        """The terminal side of the secure-messaging session a successful authentication opens."""
        def mac(data: bytes, icv: bytes) -> bytes:
            with card_key(self.image, key_class) as key:
                return key.mac(data, iv=icv)
        return SecureMessaging(mac, challenge, self.algorithm.block_size)

    def auth_read(self) -> None:
        assert self.external_auth(KeyClass.RKSSSE, KEY_ID_RKSSSE).sw == 0x9000

    def auth_update(self) -> None:
        assert self.external_auth(KeyClass.UK, KEY_ID_UK).sw == 0x9000

    def update(self, sfi: int, tag: int, value: bytes) -> ResponseApdu:
        return self.send(0x00, 0xDC, tag, sfi << 3, bytes((tag, len(value))) + value)

    def mac_update_command(self, sfi: int, tag: int, value: bytes) -> CommandApdu:
        """``04 DC``: the record, then the session's 4-byte MAC (card.cos chaining). Without an
        open session, a MAC under UK from a fresh challenge: well formed, yet not entitled."""
        sm = self.sm or self.session(KeyClass.UK, self.challenge())
        body = bytes((tag, len(value))) + value
        return sm.wrap(CommandApdu(0x04, 0xDC, tag, sfi << 3, body))

    def verify_pin(self, pin: str) -> ResponseApdu:
        return self.send(0x00, 0x20, 0x00, 0x00, bcd(pin), sensitive=True)

    def change_pin(self, old: str, new: str) -> ResponseApdu:
        return self.send(0x80, 0x5E, 0x01, 0x00, bcd(old) + b"\xff" + bcd(new), sensitive=True)

    def close(self) -> None:
        self.transport.close()


def bcd(pin: str) -> bytes:
    return bytes.fromhex(pin + ("F" if len(pin) % 2 else ""))


def stored(image: CardImage, sfi: int, tag: int) -> bytes | None:
    value = image.applets["ssse"]["records"].get(str(sfi), {}).get(f"{tag:02X}")
    return None if value is None else bytes.fromhex(value)


def on_disk(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc
