"""Card key diversification, cryptograms and internal authentication (card.md section 4)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from sscard_issuer.crypto import (
    Algorithm,
    CryptoError,
    UnsupportedAlgorithm,
    city_factor,
    derive_card_key,
    diversify,
    ecb_encrypt,
    emv_option_a,
    internal_auth_response,
    session_cryptogram,
)

MASTER_3DES = bytes.fromhex("404142434445464748494A4B4C4D4E4F")
MASTER_SM4 = bytes.fromhex("0123456789abcdeffedcba9876543210")
ATR_TAIL = bytes.fromhex("8655000012345678")
CHALLENGE = bytes.fromhex("1122334455667788")


def _raw_des3(key16: bytes, block: bytes) -> bytes:
    return Cipher(TripleDES(key16 + key16[:8]), modes.ECB()).encryptor().update(block)


def _raw_sm4(key: bytes, block: bytes) -> bytes:
    return Cipher(algorithms.SM4(key), modes.ECB()).encryptor().update(block)


def _not(data: bytes) -> bytes:
    return bytes(255 - b for b in data)


def test_city_factor_example_from_card_md() -> None:
    assert city_factor("371700") == bytes.fromhex("3337313730307378")


@pytest.mark.parametrize("bad", ["37170", "3717000", "37170A", "３７１７００", "", 371700])
def test_bad_area_code(bad: object) -> None:
    with pytest.raises(CryptoError, match="area_code"):
        city_factor(bad)  # type: ignore[arg-type]


def test_two_level_derivation_against_independent_computation() -> None:
    city = b"371700sx"
    # 3DES: each level is E(parent, f) | E(parent, ~f), written out with raw cryptography calls.
    city_key = _raw_des3(MASTER_3DES, city) + _raw_des3(MASTER_3DES, _not(city))
    card_key = _raw_des3(city_key, ATR_TAIL) + _raw_des3(city_key, _not(ATR_TAIL))
    assert derive_card_key(Algorithm.DES3, MASTER_3DES, "371700", ATR_TAIL) == card_key
    # SM4: the 16-byte block f | ~f is encrypted once per level.
    city_key = _raw_sm4(MASTER_SM4, city + _not(city))
    card_key = _raw_sm4(city_key, ATR_TAIL + _not(ATR_TAIL))
    assert derive_card_key(Algorithm.SM4, MASTER_SM4, "371700", ATR_TAIL) == card_key


@given(
    factor=st.binary(min_size=8, max_size=8),
    alg=st.sampled_from([Algorithm.DES3, Algorithm.SM4]),
)
def test_diversify_is_deterministic_and_factor_sensitive(factor: bytes, alg: Algorithm) -> None:
    parent = MASTER_3DES if alg is Algorithm.DES3 else MASTER_SM4
    child = diversify(alg, parent, factor)
    assert len(child) == 16
    assert child == diversify(alg, parent, factor)
    # A block cipher is a permutation: a different factor always gives a different child.
    flipped = factor[:7] + bytes([factor[7] ^ 1])
    assert child != diversify(alg, parent, flipped)


def test_3des_24_byte_parent_is_accepted() -> None:
    three_key = MASTER_3DES + MASTER_3DES[:8]
    assert diversify(Algorithm.DES3, three_key, ATR_TAIL) == diversify(
        Algorithm.DES3, MASTER_3DES, ATR_TAIL
    )


def test_diversify_refuses_bad_input() -> None:
    with pytest.raises(CryptoError, match="8 bytes"):
        diversify(Algorithm.DES3, MASTER_3DES, bytes(7))
    with pytest.raises(CryptoError, match="got 8"):
        diversify(Algorithm.DES3, bytes(8), ATR_TAIL)
    with pytest.raises(UnsupportedAlgorithm, match="AES"):
        diversify(Algorithm.AES, MASTER_SM4, ATR_TAIL)
    with pytest.raises(CryptoError, match="card factor"):
        derive_card_key(Algorithm.SM4, MASTER_SM4, "371700", bytes(16))


def test_cryptogram_shapes() -> None:
    des = session_cryptogram(Algorithm.DES3, MASTER_3DES, CHALLENGE)
    assert des == _raw_des3(MASTER_3DES, CHALLENGE)
    sm4 = session_cryptogram(Algorithm.SM4, MASTER_SM4, CHALLENGE)
    block = _raw_sm4(MASTER_SM4, CHALLENGE + bytes(8))
    assert sm4 == bytes(a ^ b for a, b in zip(block[:8], block[8:], strict=False))
    assert len(des) == len(sm4) == 8
    with pytest.raises(CryptoError, match="challenge"):
        session_cryptogram(Algorithm.SM4, MASTER_SM4, bytes(4))


@pytest.mark.parametrize("alg", [Algorithm.DES3, Algorithm.SM4])
def test_internal_auth_is_cryptogram_under_process_key(alg: Algorithm) -> None:
    master = MASTER_3DES if alg is Algorithm.DES3 else MASTER_SM4
    irk = derive_card_key(alg, master, "110100", ATR_TAIL)
    process_factor = bytes.fromhex("0000000000000001")
    process_key = ecb_encrypt(alg, irk, process_factor + _not(process_factor))
    expected = session_cryptogram(alg, process_key, CHALLENGE)
    assert internal_auth_response(alg, irk, process_factor, CHALLENGE) == expected
    assert internal_auth_response(alg, irk, bytes(8), CHALLENGE) != expected


def test_emv_option_a_input_checks() -> None:
    imk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    # A short PAN is left-padded with zeros to 16 digits.
    assert emv_option_a(imk, "12345678", "01") == emv_option_a(imk, "0000000012345678", "01")
    with pytest.raises(CryptoError, match="psn"):
        emv_option_a(imk, "12345678", "1")
    with pytest.raises(CryptoError, match="pan"):
        emv_option_a(imk, "1234 5678", "01")
