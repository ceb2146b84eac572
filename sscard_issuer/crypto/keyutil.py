"""Small key utilities: DES parity, key check values and EMV option A master key derivation."""

from __future__ import annotations

import re

from sscard_issuer.crypto.algorithm import Algorithm
from sscard_issuer.crypto.cipher import check_key, ecb_encrypt
from sscard_issuer.crypto.diversify import complement
from sscard_issuer.crypto.errors import CryptoError

_PAN = re.compile(r"[0-9]{1,19}")
_PSN = re.compile(r"[0-9]{2}")


def adjust_odd_parity(key: bytes) -> bytes:
    """Set the low bit of each byte so every byte has an odd number of one bits (DES parity).

    DES ignores these bits, but key ceremonies, HSM imports and check tools expect them set.
    """
    out = bytearray()
    for b in bytes(key):
        high = b & 0xFE
        out.append(high | ((bin(high).count("1") + 1) & 1))
    return bytes(out)


def key_check_value(alg: Algorithm, key: bytes) -> bytes:
    """The 3-byte key check value: the first 3 bytes of one zero block encrypted under the key.

    The same rule for 3DES, SM4 and AES, so a KCV from any key holder can be compared with ours.
    """
    check_key(alg, key)
    return ecb_encrypt(alg, key, bytes(alg.block_size))[:3]


def emv_option_a(imk16: bytes, pan: str, psn: str) -> bytes:
    """EMV Book 2 Annex A1.4.1 option A: the ICC master key from the issuer master key.

    Y is the rightmost 16 digits of PAN | PSN (left-padded with zeros if shorter); the key is
    3DES(IMK, Y) | 3DES(IMK, ~Y) with odd parity applied. ``psn`` is two digits ("00" if the card
    has no PAN sequence number), because guessing that default silently derives a wrong key.
    """
    check_key(Algorithm.DES3, imk16)
    if len(imk16) != 16:
        raise CryptoError(f"EMV issuer master key must be 16 bytes, got {len(imk16)}")
    if not isinstance(pan, str) or not _PAN.fullmatch(pan):
        raise CryptoError("pan: expected 1 to 19 ASCII digits")
    if not isinstance(psn, str) or not _PSN.fullmatch(psn):
        raise CryptoError(f"psn: expected 2 ASCII digits, got {psn!r}")
    y = bytes.fromhex((pan + psn)[-16:].rjust(16, "0"))
    return adjust_odd_parity(ecb_encrypt(Algorithm.DES3, imk16, y + complement(y)))
