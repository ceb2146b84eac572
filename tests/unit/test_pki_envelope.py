"""The key envelope (our reading of GM/T 0009 SM2EnvelopedKey): sealed by the CA, opened by the card."""

from __future__ import annotations

import pytest
from asn1crypto import core

from sscard_issuer.crypto import Algorithm, Sm2PrivateKey, ecb_encrypt
from sscard_issuer.pki import EnvelopeError, envelope_public_key, open_key_envelope, seal_key_envelope
from sscard_issuer.pki.envelope import SM4_ECB_OID, Sm2Cipher, Sm2EnvelopedKey


@pytest.fixture(scope="module")
def card() -> Sm2PrivateKey:
    return Sm2PrivateKey.generate()


@pytest.fixture(scope="module")
def inner() -> Sm2PrivateKey:
    return Sm2PrivateKey.generate()


@pytest.fixture(scope="module")
def envelope(card: Sm2PrivateKey, inner: Sm2PrivateKey) -> bytes:
    return seal_key_envelope(card.public_key(), inner)


def test_the_card_opens_it(card: Sm2PrivateKey, inner: Sm2PrivateKey, envelope: bytes) -> None:
    opened = open_key_envelope(envelope, card)
    assert opened.private_bytes_raw() == inner.private_bytes_raw()
    assert envelope_public_key(envelope) == inner.public_key()


def test_the_layout(card: Sm2PrivateKey, inner: Sm2PrivateKey, envelope: bytes) -> None:
    parsed = Sm2EnvelopedKey.load(envelope, strict=True)
    assert parsed["sym_alg_id"]["algorithm"].dotted == SM4_ECB_OID == "1.2.156.10197.1.104.1"
    assert parsed["sm2_public_key"].native == b"\x04" + inner.public_key().xy
    assert len(parsed["sm2_encrypted_private_key"].native) == 32
    assert parsed["sm2_encrypted_private_key"].native != inner.private_bytes_raw()
    sym_key = card.decrypt(parsed["sym_encrypted_key"].dump())  # an SM2Cipher to the card's key
    assert len(sym_key) == 16
    assert ecb_encrypt(Algorithm.SM4, sym_key, inner.private_bytes_raw()) == parsed[
        "sm2_encrypted_private_key"
    ].native
    assert inner.private_bytes_raw().hex() not in envelope.hex()


def test_each_envelope_is_fresh(card: Sm2PrivateKey, inner: Sm2PrivateKey, envelope: bytes) -> None:
    assert seal_key_envelope(card.public_key(), inner) != envelope


def test_only_the_recipient_opens_it(envelope: bytes) -> None:
    with pytest.raises(EnvelopeError, match="does not open"):
        open_key_envelope(envelope, Sm2PrivateKey.generate())


def test_every_flipped_byte_is_refused(card: Sm2PrivateKey, envelope: bytes) -> None:
    for i in range(len(envelope)):
        bad = bytearray(envelope)
        bad[i] ^= 0x01
        with pytest.raises(EnvelopeError):
            open_key_envelope(bytes(bad), card)


def rebuilt(envelope: bytes, **changes: object) -> bytes:
    parsed = Sm2EnvelopedKey.load(envelope)
    fields = {
        "sym_alg_id": {"algorithm": parsed["sym_alg_id"]["algorithm"].dotted},
        "sym_encrypted_key": Sm2Cipher.load(parsed["sym_encrypted_key"].dump()),
        "sm2_public_key": parsed["sm2_public_key"].native,
        "sm2_encrypted_private_key": parsed["sm2_encrypted_private_key"].native,
    }
    fields.update(changes)
    return bytes(Sm2EnvelopedKey(fields).dump())


def test_a_swapped_public_key_is_caught(card: Sm2PrivateKey, envelope: bytes) -> None:
    other = b"\x04" + Sm2PrivateKey.generate().public_key().xy
    with pytest.raises(EnvelopeError, match="does not open"):
        open_key_envelope(rebuilt(envelope, sm2_public_key=other), card)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sym_alg_id": {"algorithm": "1.2.156.10197.1.104.2"}}, "sm4-ecb"),
        ({"sm2_public_key": b"\x04" + bytes(63)}, "uncompressed"),
        ({"sm2_public_key": b"\x04" + bytes(64)}, "public key is invalid"),
        ({"sm2_encrypted_private_key": bytes(48)}, "32 bytes"),
    ],
    ids=["algorithm", "short point", "bad point", "long scalar"],
)
def test_malformed_fields_are_named(card: Sm2PrivateKey, envelope: bytes, change: dict[str, object], message: str) -> None:
    with pytest.raises(EnvelopeError, match=message):
        open_key_envelope(rebuilt(envelope, **change), card)


@pytest.mark.parametrize("bad", [b"", b"\x30\x00", b"junk", core.Integer(5).dump()])
def test_garbage_is_not_an_envelope(card: Sm2PrivateKey, bad: bytes) -> None:
    with pytest.raises(EnvelopeError, match="not a DER"):
        open_key_envelope(bad, card)


def test_seal_takes_keys_not_bytes(card: Sm2PrivateKey, inner: Sm2PrivateKey) -> None:
    with pytest.raises(TypeError):
        seal_key_envelope(card.public_key().xy, inner)  # type: ignore[arg-type]
