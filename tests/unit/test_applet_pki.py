"""The PKI application: selection, certificate files, and the personalisation commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from applets import PkiApplet
from sscard_issuer.apdu import Atr, CommandApdu, ResponseApdu, find_path
from sscard_issuer.card import AreaCode, ssc
from sscard_issuer.card.historical import SIMULATOR_VENDOR, SscHistoricalBytes
from sscard_issuer.crypto import Algorithm, InvalidSignature, Sm2PrivateKey, Sm2PublicKey
from sscard_issuer.keys import DevKeyStore, KeyClass
from sscard_issuer.pki import commands as pki_commands
from sscard_issuer.pki import seal_key_envelope
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.transport import InProcessTransport
from tests.unit.cards import Terminal, new_image


def pki_terminal(files: dict[str, str] | None = None) -> Terminal:
    image = new_image(None)
    if files is not None:
        image.applets["pki"]["files"] = files
    t = Terminal.open(SimulatedCard(image))
    assert t.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_AID).sw == 0x9000
    return t


def test_the_adf_is_selected_by_name_after_the_application() -> None:
    t = pki_terminal()
    response = t.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_ADF_AID)
    assert response.sw == 0x9000
    assert ssc.PKI_ADF_AID in response.data


def test_the_adf_alone_is_not_an_application() -> None:
    t = Terminal.open(SimulatedCard(new_image(None)))
    assert t.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_ADF_AID).sw == 0x6A82


def test_files_are_found_only_inside_the_adf() -> None:
    t = pki_terminal()
    assert t.send(0x00, 0xA4, 0x02, 0x00, b"\x00\x18").sw == 0x6A82
    t.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_ADF_AID)
    assert t.send(0x00, 0xA4, 0x02, 0x00, b"\x00\x18").sw == 0x9000
    assert t.send(0x00, 0xA4, 0x02, 0x00, b"\x00\x99").sw == 0x6A82


def test_a_certificate_reads_back_with_offsets() -> None:
    certificate = bytes(range(256)) + bytes(range(44))
    t = pki_terminal({"0018": certificate.hex()})
    t.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_ADF_AID)
    t.send(0x00, 0xA4, 0x02, 0x00, b"\x00\x18")
    head = t.send(0x00, 0xB0, 0x00, 0x00, le=256)
    tail = t.send(0x00, 0xB0, 0x01, 0x00, le=256)
    assert (head.data + tail.data, head.sw, tail.sw) == (certificate, 0x9000, 0x9000)
    assert t.send(0x00, 0xB0, 0x02, 0x00, le=256).sw == 0x6B00  # past the end


def test_read_binary_needs_a_selected_file() -> None:
    t = pki_terminal()
    t.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_ADF_AID)
    assert t.send(0x00, 0xB0, 0x00, 0x00, le=256).sw == 0x6986


def test_an_unknown_instruction_or_class_is_refused() -> None:
    t = pki_terminal()
    assert t.send(0x00, 0xDC, 0x01, 0x00, b"\x00").sw == 0x6D00
    assert t.send(0xA0, 0xB0, 0x00, 0x00, le=256).sw == 0x6E00


# -- personalisation commands on a blank card (this simulator's card OS, inferred) ---------------

AREA = "450100"
BLANK_SERIAL = bytes.fromhex("1122334455667788")
SW_OK = 0x9000


def blank_atr() -> Atr:
    return Atr.for_t0(SscHistoricalBytes(SIMULATOR_VENDOR, AreaCode(AREA), BLANK_SERIAL).encode())


def blank_image(path: Path | None = None, algorithm: Algorithm = Algorithm.SM4) -> CardImage:
    """A blank card holding only its PKI application, with this card's TK (TEST ONLY keys)."""
    atr = blank_atr()
    tk = DevKeyStore.default().export_card_key_for_simulator(
        KeyClass.TK, algorithm, area_code=AREA, card_factor=atr.card_factor
    )
    image = CardImage(atr.raw, {"pki": PkiApplet.blank_state(tk, algorithm)})
    if path is not None:
        image.save(path)
    return image


def blank_card(path: Path | None = None, algorithm: Algorithm = Algorithm.SM4) -> SimulatedCard:
    return SimulatedCard(blank_image(path, algorithm), [PkiApplet])


@dataclass
class PkiTerminal:
    """Raw APDUs to the PKI application; cryptograms from the development key store."""

    card: SimulatedCard
    transport: InProcessTransport
    algorithm: Algorithm = Algorithm.SM4

    @classmethod
    def open(cls, card: SimulatedCard, algorithm: Algorithm = Algorithm.SM4) -> PkiTerminal:
        t = cls(card, InProcessTransport(card), algorithm)
        assert t.select_adf() == SW_OK
        return t

    def send(self, cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None) -> ResponseApdu:
        return self.transport.send(CommandApdu(cla, ins, p1, p2, data, le))

    def select_adf(self) -> int:
        self.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_AID)
        return self.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_ADF_AID).sw

    def lifecycle(self) -> int:
        self.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_AID)
        fci = self.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_ADF_AID).data
        found = find_path(fci, 0x6F, 0x8A)
        assert found is not None
        return found.value[0]

    def authenticate(self, *, wrong: bool = False) -> int:
        challenge = self.send(0x00, 0x84, 0x00, 0x00, le=8).data
        factor = blank_atr().card_factor
        with DevKeyStore.default().card_key(KeyClass.TK, self.algorithm, area_code=AREA,
                                            card_factor=factor) as tk:
            cryptogram = tk.cryptogram(challenge)
        if wrong:
            cryptogram = bytes([cryptogram[0] ^ 1]) + cryptogram[1:]
        return self.send(0x00, 0x82, 0x00, 0x01, cryptogram + bytes(8)).sw

    def generate(self) -> int:
        return self.send(0x80, 0x46, 0x00, 0x00).sw

    def select_file(self, fid: int) -> int:
        return self.send(0x00, 0xA4, 0x02, 0x00, fid.to_bytes(2, "big")).sw

    def read(self, fid: int) -> bytes:
        assert self.select_file(fid) == SW_OK
        out = b""
        while True:
            r = self.send(0x00, 0xB0, len(out) >> 8, len(out) & 0xFF, le=256)
            assert r.sw == SW_OK, f"{r.sw:04X}"
            if not r.data:
                return out
            out += r.data

    def update(self, offset: int, data: bytes) -> int:
        return self.send(0x00, 0xD6, offset >> 8, offset & 0xFF, data).sw

    def write(self, fid: int, content: bytes) -> None:
        assert self.select_file(fid) == SW_OK
        for offset in range(0, len(content), 255):
            assert self.update(offset, content[offset : offset + 255]) == SW_OK

    def public_key(self) -> Sm2PublicKey:
        return Sm2PublicKey.from_xy(self.read(0x0012))

    def import_key(self, envelope: bytes, *, part: int = 255) -> int:
        parts = [envelope[i : i + part] for i in range(0, len(envelope), part)]
        sw = SW_OK
        for n, chunk in enumerate(parts):
            sw = self.send(0x90 if n < len(parts) - 1 else 0x80, 0xD8, 0x00, 0x00, chunk).sw
            if sw != SW_OK:
                return sw
        return sw

    def sign(self, challenge: bytes) -> ResponseApdu:
        return self.send(0x80, 0x2A, 0x9E, 0x9A, challenge, le=256)

    def activate(self) -> int:
        return self.send(0x00, 0x44, 0x00, 0x00).sw


def state(card: SimulatedCard) -> dict[str, Any]:
    pki: dict[str, Any] = card.image.applets["pki"]
    return pki


def generated(card: SimulatedCard | None = None) -> PkiTerminal:
    t = PkiTerminal.open(card or blank_card())
    assert t.authenticate() == SW_OK
    assert t.generate() == SW_OK
    return t


def personalised(card: SimulatedCard | None = None) -> tuple[PkiTerminal, Sm2PrivateKey]:
    """Generated, both files written (placeholder bytes), encryption key imported."""
    t = generated(card)
    t.write(0x0018, b"\x30\x03sig")
    t.write(0x0019, b"\x30\x03enc")
    encryption_key = Sm2PrivateKey.generate()
    assert t.import_key(seal_key_envelope(t.public_key(), encryption_key)) == SW_OK
    return t, encryption_key


def test_a_blank_card_is_in_personalisation_and_an_old_card_is_active() -> None:
    assert PkiTerminal.open(blank_card()).lifecycle() == 0x03
    assert PkiTerminal.open(SimulatedCard(new_image(None))).lifecycle() == 0x05


def test_blank_state_checks_its_input() -> None:
    with pytest.raises(ValueError):
        PkiApplet.blank_state(bytes(8), Algorithm.SM4)
    with pytest.raises(ValueError):
        PkiApplet.blank_state(bytes(16), Algorithm.AES)
    assert PkiApplet.blank_state(bytes(16), Algorithm.DES3)["algorithm"] == "3DES"


@pytest.mark.parametrize("algorithm", [Algorithm.SM4, Algorithm.DES3])
def test_generate_needs_tk_then_writes_the_public_key(algorithm: Algorithm) -> None:
    t = PkiTerminal.open(blank_card(algorithm=algorithm), algorithm)
    assert t.generate() == 0x6982
    assert t.authenticate() == SW_OK
    assert t.generate() == SW_OK
    public = t.public_key()
    assert Sm2PrivateKey.from_raw(bytes.fromhex(state(t.card)["sign_key"])).public_key() == public


def test_a_wrong_cryptogram_counts_down_and_blocks_tk() -> None:
    t = PkiTerminal.open(blank_card())
    assert t.authenticate(wrong=True) == 0x63CE
    assert state(t.card)["keys"]["TK"]["tries"] == 14
    assert t.generate() == 0x6982
    assert t.authenticate() == SW_OK
    assert state(t.card)["keys"]["TK"]["tries"] == 15  # a good one restores the counter
    state(t.card)["keys"]["TK"]["tries"] = 1
    assert t.authenticate(wrong=True) == 0x63C0
    assert t.authenticate() == 0x6983


def test_external_authenticate_needs_a_fresh_challenge_and_the_tk_id() -> None:
    t = PkiTerminal.open(blank_card())
    assert t.send(0x00, 0x82, 0x00, 0x01, bytes(16)).sw == 0x6984
    t.send(0x00, 0x84, 0x00, 0x00, le=8)
    assert t.send(0x00, 0x82, 0x00, 0x0A, bytes(16)).sw == 0x6A88
    assert t.send(0x00, 0x82, 0x00, 0x01, bytes(8)).sw == 0x6700


def test_selecting_again_forgets_the_authentication() -> None:
    t = PkiTerminal.open(blank_card())
    assert t.authenticate() == SW_OK
    t.select_adf()
    assert t.generate() == 0x6982


def test_commands_outside_the_adf_are_refused() -> None:
    t = Terminal.open(blank_card())
    t.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_AID)
    assert t.send(0x00, 0x84, 0x00, 0x00, le=8).sw == 0x6985


def test_generate_again_starts_personalisation_over() -> None:
    t, _ = personalised()
    first = t.public_key()
    assert {"encryption_key", "sign_key"} <= set(state(t.card))
    assert t.generate() == SW_OK
    assert t.public_key() != first
    assert "encryption_key" not in state(t.card)
    assert set(state(t.card)["files"]) == {"0012"}


def test_update_binary_rules() -> None:
    t = PkiTerminal.open(blank_card())
    assert t.authenticate() == SW_OK
    t.select_file(0x0018)
    assert t.update(0, b"\x30") == 0x6985  # no key yet: nothing to certify
    assert t.generate() == SW_OK
    t.select_file(0x0012)
    assert t.update(0, bytes(64)) == 0x6985  # the public key is the card's own doing
    t.select_file(0x0018)
    assert t.update(0, b"abc") == SW_OK
    assert t.update(3, b"def") == SW_OK
    assert t.update(1, b"B") == SW_OK
    assert t.update(10, b"hole") == 0x6B00
    assert t.send(0x00, 0xD6, 0x80, 0x00, b"x").sw == 0x6A86  # P1 b8 is an SFI: not here
    assert t.read(0x0018) == b"aBcdef"
    filler = bytes(2040)
    for offset in range(0, len(filler), 255):
        assert t.update(6 + offset, filler[offset : offset + 255]) == SW_OK
    assert t.update(2046, b"xyz") == 0x6A84  # the file holds 2048 bytes
    assert t.update(2046, b"xy") == SW_OK
    assert len(t.read(0x0018)) == 2048


def test_update_binary_needs_tk() -> None:
    t = generated()
    t.select_adf()
    t.select_file(0x0019)
    assert t.update(0, b"x") == 0x6982


def test_the_envelope_arrives_whole_or_in_parts() -> None:
    t = generated()
    encryption_key = Sm2PrivateKey.generate()
    envelope = seal_key_envelope(t.public_key(), encryption_key)
    assert t.import_key(envelope, part=100) == SW_OK
    assert state(t.card)["encryption_key"] == encryption_key.private_bytes_raw().hex()


def test_a_broken_chain_or_a_foreign_envelope_is_wrong_data() -> None:
    t = generated()
    envelope = seal_key_envelope(t.public_key(), Sm2PrivateKey.generate())
    assert t.send(0x90, 0xD8, 0x00, 0x00, envelope[:100]).sw == SW_OK
    t.select_file(0x0018)  # any other command drops the parts received so far
    assert t.send(0x80, 0xD8, 0x00, 0x00, envelope[100:]).sw == 0x6A80
    other = seal_key_envelope(Sm2PrivateKey.generate().public_key(), Sm2PrivateKey.generate())
    assert t.import_key(other) == 0x6A80
    assert t.import_key(b"\x30\x00") == 0x6A80
    assert t.send(0x80, 0xD8, 0x01, 0x00, envelope[:10]).sw == 0x6A86
    assert t.import_key(bytes(1100), part=255) == 0x6700
    assert "encryption_key" not in state(t.card)


def test_sign_challenge_proves_the_key_of_ef_0012() -> None:
    t = PkiTerminal.open(blank_card())
    assert t.sign(bytes(32)).sw == 0x6A88  # no key yet
    t = generated(t.card)
    challenge = bytes(range(32))
    response = t.sign(challenge)
    assert response.sw == SW_OK
    t.public_key().verify(response.data, pki_commands.CARD_AUTH_CONTEXT + challenge)
    with pytest.raises(InvalidSignature):
        t.public_key().verify(response.data, challenge)  # never a signature over the bare data
    assert t.sign(bytes(15)).sw == 0x6700
    assert t.sign(bytes(65)).sw == 0x6700
    assert t.send(0x80, 0x2A, 0x9E, 0x9B, bytes(32), le=256).sw == 0x6A86


def test_activate_needs_everything_then_closes_personalisation() -> None:
    t = generated()
    assert t.activate() == 0x6985  # no certificates, no encryption key
    t, _ = personalised()
    assert t.activate() == SW_OK
    assert "keys" not in state(t.card)  # TK retired
    assert t.lifecycle() == 0x05
    assert t.authenticate() == 0x6A88
    assert t.generate() == 0x6985
    t.select_file(0x0018)
    assert t.update(0, b"x") == 0x6985
    assert t.import_key(b"\x30\x00") == 0x6985
    assert t.read(0x0018) == b"\x30\x03sig"
    assert t.sign(bytes(16)).sw == SW_OK  # the card can still prove its key


def test_the_state_survives_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    t, encryption_key = personalised(SimulatedCard(blank_image(path), [PkiApplet]))
    reloaded = PkiTerminal.open(SimulatedCard(CardImage.load(path), [PkiApplet]))
    assert reloaded.read(0x0019) == b"\x30\x03enc"
    assert reloaded.public_key() == t.public_key()
    assert state(reloaded.card)["encryption_key"] == encryption_key.private_bytes_raw().hex()
