"""The digital envelope that carries a CA-generated encryption key pair to the card.

Our reading of GM/T 0009-2012 section 7.4 ("key pair protection data", the ``SM2EnvelopedKey``
that GM/T 0016 SKF ``ImportECCKeyPair`` and GM/T 0010 envelopes are built around):

.. code-block:: text

    SM2EnvelopedKey ::= SEQUENCE {
        symAlgID               AlgorithmIdentifier, -- sm4-ecb 1.2.156.10197.1.104.1, no parameters
        symEncryptedKey        SM2Cipher,           -- a fresh 16-byte SM4 key, SM2-encrypted to
                                                    -- the card's *signing* public key (C1 C3 C2)
        sm2PublicKey           BIT STRING,          -- 04 || X || Y of the encryption key pair
        sm2EncryptedPrivateKey BIT STRING           -- the 32-byte scalar d, SM4-ECB under that key
    }

The SM4 key is used once, on 32 random bytes (two blocks), so ECB leaks nothing; the opener
checks that the decrypted scalar gives the enclosed public key, which catches a tampered or
mismatched envelope. The card-side opener is :func:`open_key_envelope`; the CA-side sealer is
:func:`seal_key_envelope`. Whether the real card OS wants exactly this DER (or GM/T 0016's binary
``ENVELOPEDKEYBLOB``) is not public: (inferred), and one module to change.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from asn1crypto import core

from sscard_issuer.crypto import Algorithm, CryptoError, Sm2PrivateKey, Sm2PublicKey, ecb_decrypt, ecb_encrypt
from sscard_issuer.pki.errors import EnvelopeError

__all__ = ["SM4_ECB_OID", "envelope_public_key", "open_key_envelope", "seal_key_envelope"]

SM4_ECB_OID = "1.2.156.10197.1.104.1"
_SM4_KEY_LENGTH = 16
_SCALAR_LENGTH = 32


class _AlgorithmIdentifier(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class Sm2Cipher(core.Sequence):  # type: ignore[misc]
    """GM/T 0009 SM2Cipher: C1 (x, y), C3 (the SM3 hash), C2 (the ciphertext)."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("x", core.Integer),
        ("y", core.Integer),
        ("hash", core.OctetString),
        ("ciphertext", core.OctetString),
    ]


class Sm2EnvelopedKey(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("sym_alg_id", _AlgorithmIdentifier),
        ("sym_encrypted_key", Sm2Cipher),
        ("sm2_public_key", core.OctetBitString),
        ("sm2_encrypted_private_key", core.OctetBitString),
    ]


def seal_key_envelope(recipient: Sm2PublicKey, key: Sm2PrivateKey) -> bytes:
    """Wrap ``key`` (the encryption key pair) for the holder of ``recipient`` (the card)."""
    if not isinstance(recipient, Sm2PublicKey) or not isinstance(key, Sm2PrivateKey):
        raise TypeError("seal_key_envelope(recipient: Sm2PublicKey, key: Sm2PrivateKey)")
    sym_key = os.urandom(_SM4_KEY_LENGTH)
    wrapped_scalar = ecb_encrypt(Algorithm.SM4, sym_key, key.private_bytes_raw())
    envelope = Sm2EnvelopedKey({
        "sym_alg_id": {"algorithm": SM4_ECB_OID},
        "sym_encrypted_key": Sm2Cipher.load(recipient.encrypt(sym_key)),
        "sm2_public_key": b"\x04" + key.public_key().xy,
        "sm2_encrypted_private_key": wrapped_scalar,
    })
    return bytes(envelope.dump())


def _parse(envelope: bytes) -> Sm2EnvelopedKey:
    if not isinstance(envelope, (bytes, bytearray)):
        raise EnvelopeError(f"the key envelope must be bytes, got {type(envelope).__name__}")
    try:
        parsed: Sm2EnvelopedKey = Sm2EnvelopedKey.load(bytes(envelope), strict=True)
        fields: dict[str, Any] = {
            "alg": parsed["sym_alg_id"]["algorithm"].dotted,
            "public": parsed["sm2_public_key"].native,
            "private": parsed["sm2_encrypted_private_key"].native,
        }
        _ = parsed["sym_encrypted_key"].native  # parse the nested cipher now: asn1crypto is lazy
    except (ValueError, TypeError, KeyError) as exc:
        raise EnvelopeError(f"the key envelope is not a DER SM2EnvelopedKey ({exc})") from None
    if any(parsed[name].contents[:1] != b"\x00" for name in ("sm2_public_key", "sm2_encrypted_private_key")):
        raise EnvelopeError("the key envelope's bit strings must have no unused bits")
    if fields["alg"] != SM4_ECB_OID:
        raise EnvelopeError(f"the key envelope uses {fields['alg']}, expected sm4-ecb {SM4_ECB_OID}")
    public, private = fields["public"], fields["private"]
    if not isinstance(public, bytes) or len(public) != 65 or public[0] != 0x04:
        raise EnvelopeError("the key envelope's public key is not an uncompressed SM2 point")
    if not isinstance(private, bytes) or len(private) != _SCALAR_LENGTH:
        raise EnvelopeError("the key envelope's private key is not 32 bytes")
    return parsed


def envelope_public_key(envelope: bytes) -> Sm2PublicKey:
    """The encryption public key an envelope carries in clear (to compare with its certificate)."""
    parsed = _parse(envelope)
    try:
        return Sm2PublicKey.from_xy(parsed["sm2_public_key"].native[1:])
    except CryptoError as exc:
        raise EnvelopeError(f"the key envelope's public key is invalid: {exc}") from None


def open_key_envelope(envelope: bytes, recipient: Sm2PrivateKey) -> Sm2PrivateKey:
    """Open an envelope with the recipient's private key; the enclosed key pair is checked."""
    public = envelope_public_key(envelope)
    parsed = _parse(envelope)
    try:
        sym_key = recipient.decrypt(parsed["sym_encrypted_key"].dump())
        if len(sym_key) != _SM4_KEY_LENGTH:
            raise CryptoError("wrong symmetric key length")
        scalar = ecb_decrypt(Algorithm.SM4, sym_key, parsed["sm2_encrypted_private_key"].native)
        key = Sm2PrivateKey.from_raw(scalar)
    except CryptoError:
        raise EnvelopeError("the key envelope does not open with this key") from None
    if key.public_key() != public:
        raise EnvelopeError("the key envelope does not open with this key")
    return key
