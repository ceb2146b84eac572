"""Message authentication codes used by cards and secure channels, and their constant-time check.

Each function returns the untruncated MAC; truncation (to 4 bytes for card secure messaging) is
the caller's protocol decision, made visibly where the protocol says so.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import algorithms

from sscard_issuer.crypto.algorithm import Algorithm
from sscard_issuer.crypto.cipher import cbc_encrypt, check_key, des_cbc_encrypt, ecb_encrypt, xor
from sscard_issuer.crypto.errors import CryptoError, InvalidMac, UnsupportedAlgorithm
from sscard_issuer.crypto.padding import pad


def iso9797_mac1(key: bytes, data: bytes, *, padding: int = 2, iv: bytes | None = None) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 1: CBC-MAC, the whole chain under one (3)DES key.

    ``key`` is 8 bytes (single DES), 16 or 24 (3DES). Returns the full 8-byte last block.
    """
    check_key(Algorithm.DES3, key, allow_single_des=True)
    return des_cbc_encrypt(key, pad(data, 8, padding), iv)[-8:]


def des3_cbc_mac(key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    """Full 3DES CBC-MAC over data the caller has already padded to whole blocks.

    For protocols that pad themselves (GlobalPlatform computes some cryptograms this way).
    """
    check_key(Algorithm.DES3, key)
    return cbc_encrypt(Algorithm.DES3, key, data, iv)[-8:]


def iso9797_mac3(key16: bytes, data: bytes, *, padding: int = 2, iv: bytes | None = None) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 (the retail MAC, ANSI X9.19): the 3DES card MAC.

    Single-DES CBC under K1 over every block, then the last output is decrypted under K2 and
    encrypted under K1. Computed here as single-DES CBC over all blocks but the last, then one
    2-key 3DES encryption of (chain XOR last block), which is the same value; the PKCS#11 store
    computes it the same way from in-token operations, so both paths share one definition.
    """
    check_key(Algorithm.DES3, key16)
    if len(key16) != 16:
        raise CryptoError(f"MAC algorithm 3 key must be 16 bytes (K1|K2), got {len(key16)}")
    padded = pad(data, 8, padding)
    if iv is not None and (not isinstance(iv, (bytes, bytearray)) or len(iv) != 8):
        raise CryptoError("3DES IV must be 8 bytes")
    chain = bytes(8) if iv is None else bytes(iv)
    if len(padded) > 8:
        chain = des_cbc_encrypt(key16[:8], padded[:-8], chain)[-8:]
    return ecb_encrypt(Algorithm.DES3, key16, xor(chain, padded[-8:]))


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (NIST SP 800-38B, RFC 4493), the MAC of GlobalPlatform SCP03; 16 bytes."""
    check_key(Algorithm.AES, key)
    c = cmac.CMAC(algorithms.AES(bytes(key)))
    c.update(bytes(data))
    return c.finalize()


def sm4_cbc_mac(key: bytes, data: bytes, *, iv: bytes | None = None) -> bytes:
    """The secure-messaging MAC of SM4 social security cards: padding 2, SM4 CBC-MAC.

    ``iv`` is the 16-byte initial value (the card's challenge as the protocol lays it out, or None
    for zeros). Returns the whole 16-byte last block; the card protocol keeps its first 4 bytes.
    """
    check_key(Algorithm.SM4, key)
    return cbc_encrypt(Algorithm.SM4, key, pad(data, 16, 2), iv)[-16:]


def secure_messaging_mac(alg: Algorithm, key: bytes, data: bytes, *, iv: bytes | None = None) -> bytes:
    """The card's command MAC, untruncated: retail MAC for 3DES cards, SM4 CBC-MAC for SM4 cards.

    One definition for both ends: the simulated card checks with it, the key stores compute with
    it (the PKCS#11 store builds the same value from in-token operations). ``iv`` is the card's
    challenge laid out to the block size, or None for zeros.
    """
    if alg is Algorithm.DES3:
        return iso9797_mac3(key, data, padding=2, iv=iv)
    if alg is Algorithm.SM4:
        return sm4_cbc_mac(key, data, iv=iv)
    raise UnsupportedAlgorithm(f"no secure-messaging MAC is defined for {alg.value} cards")


def verify_mac(expected: bytes, computed: bytes) -> None:
    """Raise :class:`InvalidMac` unless the two MACs are equal, compared in constant time.

    Raising rather than returning a boolean means a forgotten check cannot pass silently.
    """
    if not expected or not computed:
        raise InvalidMac("MAC is empty")
    if not hmac.compare_digest(bytes(expected), bytes(computed)):
        raise InvalidMac("MAC does not verify")
