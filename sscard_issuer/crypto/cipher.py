"""ECB and CBC over 3DES, SM4 and AES, with the key and alignment checks done once, here.

Everything above (MACs, diversification, key stores) goes through these functions, so a key of
the wrong length or data off a block boundary fails the same way everywhere, and 3DES keys are
always expanded to 24 bytes before they reach ``cryptography`` (its shorter forms are deprecated).
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import (
    BlockCipherAlgorithm,
    Cipher,
    CipherContext,
    algorithms,
    modes,
)

from sscard_issuer.crypto.algorithm import Algorithm
from sscard_issuer.crypto.errors import CryptoError

_KEY_LENGTHS: dict[Algorithm, tuple[int, ...]] = {
    Algorithm.DES3: (16, 24),
    Algorithm.SM4: (16,),
    Algorithm.AES: (16, 24, 32),
}


def _check_alg(alg: Algorithm) -> None:
    if not isinstance(alg, Algorithm):
        raise CryptoError(f"algorithm must be an Algorithm, got {type(alg).__name__}")


def check_key(alg: Algorithm, key: bytes, *, allow_single_des: bool = False) -> None:
    """Refuse a key whose type or length does not fit ``alg``; the message names only the length."""
    _check_alg(alg)
    if not isinstance(key, (bytes, bytearray)):
        raise CryptoError(f"{alg.value} key must be bytes, got {type(key).__name__}")
    allowed = _KEY_LENGTHS[alg]
    if alg is Algorithm.DES3 and allow_single_des:
        allowed = (8, *allowed)
    if len(key) not in allowed:
        expected = " or ".join(str(n) for n in allowed)
        raise CryptoError(f"{alg.value} key must be {expected} bytes, got {len(key)}")


def _cipher_algorithm(alg: Algorithm, key: bytes, allow_single_des: bool) -> BlockCipherAlgorithm:
    check_key(alg, key, allow_single_des=allow_single_des)
    key = bytes(key)
    if alg is Algorithm.DES3:
        # Single DES is K|K|K and 2-key 3DES is K1|K2|K1: always hand cryptography 24 bytes.
        if len(key) == 8:
            key = key * 3
        elif len(key) == 16:
            key = key + key[:8]
        return TripleDES(key)
    if alg is Algorithm.SM4:
        return algorithms.SM4(key)
    return algorithms.AES(key)


def _check_aligned(alg: Algorithm, data: bytes, what: str = "data") -> bytes:
    _check_alg(alg)
    if not isinstance(data, (bytes, bytearray)):
        raise CryptoError(f"{what} must be bytes, got {type(data).__name__}")
    if len(data) % alg.block_size:
        raise CryptoError(
            f"{what} must be a multiple of the {alg.value} block size ({alg.block_size} bytes), "
            f"got {len(data)} bytes; pad it first"
        )
    return bytes(data)


def _check_iv(alg: Algorithm, iv: bytes | None) -> bytes:
    _check_alg(alg)
    if iv is None:
        return bytes(alg.block_size)
    if not isinstance(iv, (bytes, bytearray)) or len(iv) != alg.block_size:
        raise CryptoError(f"{alg.value} IV must be {alg.block_size} bytes")
    return bytes(iv)


def _run(
    alg: Algorithm,
    key: bytes,
    data: bytes,
    mode: modes.ECB | modes.CBC,
    encrypt: bool,
    single: bool = False,
) -> bytes:
    algorithm = _cipher_algorithm(alg, key, single)
    data = _check_aligned(alg, data)
    cipher = Cipher(algorithm, mode)
    ctx: CipherContext = cipher.encryptor() if encrypt else cipher.decryptor()
    return ctx.update(data) + ctx.finalize()


def ecb_encrypt(alg: Algorithm, key: bytes, data: bytes) -> bytes:
    """Encrypt block-aligned ``data`` in ECB mode (each block on its own, as cards do)."""
    return _run(alg, key, data, modes.ECB(), True)


def ecb_decrypt(alg: Algorithm, key: bytes, data: bytes) -> bytes:
    """Decrypt block-aligned ``data`` in ECB mode."""
    return _run(alg, key, data, modes.ECB(), False)


def cbc_encrypt(alg: Algorithm, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    """Encrypt block-aligned ``data`` in CBC mode; ``iv`` None means a zero block, as cards use."""
    return _run(alg, key, data, modes.CBC(_check_iv(alg, iv)), True)


def cbc_decrypt(alg: Algorithm, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    """Decrypt block-aligned ``data`` in CBC mode; ``iv`` None means a zero block."""
    return _run(alg, key, data, modes.CBC(_check_iv(alg, iv)), False)


def des_cbc_encrypt(key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    """CBC under a 3DES key that may also be a single-DES 8-byte key (K|K|K).

    Only the ISO 9797-1 MAC algorithms need single DES; the public cipher functions refuse 8-byte
    keys so nobody encrypts data under single DES by accident. Not exported from the package.
    """
    alg = Algorithm.DES3
    return _run(alg, key, data, modes.CBC(_check_iv(alg, iv)), True, single=True)


def block_encryptor(alg: Algorithm, key: bytes) -> Callable[[bytes], bytes]:
    """Return a function encrypting block-aligned data in ECB under one reused cipher context.

    For loops of many small encryptions (the million-fold SM4 vector, bulk KCVs) where building a
    cipher per call would dominate. The context holds the key; do not keep the function around.
    """
    ctx = Cipher(_cipher_algorithm(alg, key, False), modes.ECB()).encryptor()

    def encrypt(data: bytes) -> bytes:
        return ctx.update(_check_aligned(alg, data))

    return encrypt


def xor(a: bytes, b: bytes) -> bytes:
    """XOR two byte strings of equal length (a programming error otherwise, so it asserts)."""
    if len(a) != len(b):
        raise CryptoError(f"cannot XOR {len(a)} bytes with {len(b)} bytes")
    return bytes(x ^ y for x, y in zip(a, b, strict=False))
