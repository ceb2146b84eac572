"""The holder's photo goes to EF08 in MAC-protected chunks and reads back whole."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from sscard_issuer.apdu import CommandApdu, select_by_fid
from sscard_issuer.card import ssc
from sscard_issuer.card.reader import SsseSession
from sscard_issuer.crypto import Algorithm
from sscard_issuer.errors import ValidationError
from sscard_issuer.keys import DevKeyStore
from sscard_issuer.perso import Personaliser, load_profile
from sscard_issuer.registry import Registry
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.make_card import make_blank_card
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.transport import InProcessTransport

APPLICATION = {"name": "李秀英", "ssn": "450103198506151231", "sex": "1", "ethnicity": "01",
               "birthplace": "450103", "birth_date": "1985-06-15", "area_code": "450100"}


def jpeg(size: int) -> bytes:
    return b"\xff\xd8" + os.urandom(size - 4) + b"\xff\xd9"


def test_the_photo_is_written_in_chunks_and_reads_back(tmp_path: Path, registry: Registry) -> None:
    photo = jpeg(1000)  # four UPDATE BINARY chunks of 251 bytes
    keys = DevKeyStore.default()
    card = SimulatedCard(make_blank_card(algorithm=Algorithm.DES3, out=tmp_path / "card.json"))
    transport = InProcessTransport(card)
    outcome = Personaliser(registry, keys, today=date(2026, 11, 29)).personalise(
        transport, APPLICATION, load_profile("ssc2-3des"), photo=photo)
    assert [s for s in outcome.steps_run if s.startswith("photo:")] == ["photo:0", "photo:251", "photo:502", "photo:753"]
    assert bytes.fromhex(CardImage.load(tmp_path / "card.json").applets["ssse"]["binary"]["EF08"]) == photo
    # and a terminal reads it back after authenticating with RKSSSE
    session = SsseSession(transport, keys)
    session.select()
    session.identify()
    session.authenticate()
    transport.send_checked(select_by_fid(ssc.EF08.fid.to_bytes(2, "big")))
    read = b""
    while len(read) < len(photo):
        read += transport.send_checked(CommandApdu(0x00, 0xB0, len(read) >> 8, len(read) & 0xFF, le=256)).data
    assert read == photo


@pytest.mark.parametrize("bad", [b"GIF89a" + bytes(100), jpeg(ssc.PHOTO_WRITABLE + 1)])
def test_a_photo_that_is_not_a_jpeg_or_too_large_is_refused_before_any_apdu(registry: Registry, bad: bytes) -> None:
    card = SimulatedCard(make_blank_card(algorithm=Algorithm.DES3))
    transport = InProcessTransport(card)
    with pytest.raises(ValidationError, match="photo"):
        Personaliser(registry, DevKeyStore.default()).personalise(
            transport, APPLICATION, load_profile("ssc2-3des"), photo=bad)
    assert transport.apdu_count == 0
