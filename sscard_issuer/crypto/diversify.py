"""Per-card key derivation and authentication cryptograms of the social security card.

Card keys are never stored (card.md section 4): a terminal derives them from the master through
two levels, the city (area code) and the card (last 8 ATR bytes). Each level encrypts the factor
and its complement under the parent, which for 3DES and SM4 alike is one ECB encryption of the
16-byte block ``factor | ~factor``; a PKCS#11 token computes the same with its
``*_ECB_ENCRYPT_DATA`` derivation, so the key never has to leave the token.
"""

from __future__ import annotations

import re

from sscard_issuer.crypto.algorithm import Algorithm
from sscard_issuer.crypto.cipher import check_key, ecb_encrypt, xor
from sscard_issuer.crypto.errors import CryptoError, UnsupportedAlgorithm

_AREA_CODE = re.compile(r"[0-9]{6}")
_CITY_SUFFIX = b"sx"


def _check_card_algorithm(alg: Algorithm) -> None:
    if alg not in (Algorithm.DES3, Algorithm.SM4):
        name = alg.value if isinstance(alg, Algorithm) else repr(alg)
        raise UnsupportedAlgorithm(
            f"social security card key derivation is defined for 3DES and SM4, not {name}"
        )


def _check_8(name: str, value: bytes) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != 8:
        got = len(value) if isinstance(value, (bytes, bytearray)) else type(value).__name__
        raise CryptoError(f"{name} must be 8 bytes, got {got}")
    return bytes(value)


def complement(data: bytes) -> bytes:
    """Bitwise complement, the second half of every diversification input."""
    return bytes(b ^ 0xFF for b in data)


def diversification_data(factor: bytes) -> bytes:
    """The 16-byte block ``factor | ~factor`` that each derivation level encrypts."""
    factor = _check_8("diversification factor", factor)
    return factor + complement(factor)


def diversify(alg: Algorithm, parent_key: bytes, factor: bytes) -> bytes:
    """Derive a 16-byte child key: E(parent, f) | E(parent, ~f).

    3DES (2- or 3-key parent) encrypts the two 8-byte halves separately, which is what ECB does
    over the 16-byte block; SM4 encrypts the 16-byte block once. Both are one ECB call.
    """
    _check_card_algorithm(alg)
    check_key(alg, parent_key)
    return ecb_encrypt(alg, parent_key, diversification_data(factor))


def city_factor(area_code: str) -> bytes:
    """The city-level factor: the ASCII of the 6-digit area code followed by ``sx``.

    ``"371700"`` gives ``3337313730307378``.
    """
    if not isinstance(area_code, str) or not _AREA_CODE.fullmatch(area_code):
        raise CryptoError(f"area_code: expected 6 ASCII digits, got {area_code!r}")
    return area_code.encode("ascii") + _CITY_SUFFIX


def derive_card_key(alg: Algorithm, master: bytes, area_code: str, card_factor8: bytes) -> bytes:
    """Two-level derivation: master -> city (area code factor) -> card (last 8 ATR bytes)."""
    city_key = diversify(alg, master, city_factor(area_code))
    return diversify(alg, city_key, _check_8("card factor", card_factor8))


def session_cryptogram(alg: Algorithm, key: bytes, challenge8: bytes) -> bytes:
    """The 8-byte authentication cryptogram over a card's challenge.

    3DES: E(key, challenge). SM4: E(key, challenge | 00*8) with the two halves XORed, the single
    published reading of card.md section 4 (keep it a profile setting if a card disagrees).
    """
    _check_card_algorithm(alg)
    challenge = _check_8("challenge", challenge8)
    if alg is Algorithm.DES3:
        return ecb_encrypt(alg, key, challenge)
    block = ecb_encrypt(alg, key, challenge + bytes(8))
    return xor(block[:8], block[8:])


def internal_auth_response(
    alg: Algorithm, irk_card_key: bytes, process_factor8: bytes, challenge8: bytes
) -> bytes:
    """The card's INTERNAL AUTHENTICATE answer, as a terminal recomputes it to check the card.

    (inferred) The card's IRK is diversified once more with the 8-byte process factor the
    terminal sends, and the session cryptogram of the challenge is computed under that process
    key. This is our documented reading of the PSAM-driven flow; it is not quoted from a standard.
    """
    process_key = diversify(alg, irk_card_key, _check_8("process factor", process_factor8))
    return session_cryptogram(alg, process_key, challenge8)
