"""Block ciphers, padding and MACs: round trips, raw-cryptography cross-checks, bad input."""

from __future__ import annotations

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from sscard_issuer.crypto import (
    Algorithm,
    CryptoError,
    InvalidMac,
    UnsupportedAlgorithm,
    adjust_odd_parity,
    cbc_decrypt,
    cbc_encrypt,
    des3_cbc_mac,
    ecb_decrypt,
    ecb_encrypt,
    iso9797_mac1,
    iso9797_mac3,
    key_check_value,
    pad,
    sm4_cbc_mac,
    unpad_method2,
    verify_mac,
)

KEY16 = bytes.fromhex("404142434445464748494A4B4C4D4E4F")
KEYS = {
    Algorithm.DES3: KEY16,
    Algorithm.SM4: bytes.fromhex("0123456789abcdeffedcba9876543210"),
    Algorithm.AES: bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c"),
}


def test_algorithm_properties() -> None:
    assert [a.block_size for a in Algorithm] == [8, 16, 16]
    assert Algorithm.from_card_id(0x01) is Algorithm.DES3
    assert Algorithm.from_card_id(0x03) is Algorithm.SM4
    with pytest.raises(UnsupportedAlgorithm, match="SSF33"):
        Algorithm.from_card_id(0x02)
    with pytest.raises(UnsupportedAlgorithm):
        Algorithm.from_card_id(0x7F)


@pytest.mark.parametrize("alg", list(Algorithm))
@given(blocks=st.integers(0, 6), seed=st.binary(min_size=16, max_size=16))
def test_round_trips(alg: Algorithm, blocks: int, seed: bytes) -> None:
    data = (seed * 7)[: blocks * alg.block_size]
    key = KEYS[alg]
    iv = seed[: alg.block_size]
    assert ecb_decrypt(alg, key, ecb_encrypt(alg, key, data)) == data
    assert cbc_decrypt(alg, key, cbc_encrypt(alg, key, data, iv), iv) == data


def test_3des_key_forms_match_raw_cryptography() -> None:
    data = bytes(range(16))
    raw = Cipher(TripleDES(KEY16 + KEY16[:8]), modes.ECB()).encryptor().update(data)
    assert ecb_encrypt(Algorithm.DES3, KEY16, data) == raw
    assert ecb_encrypt(Algorithm.DES3, KEY16 + KEY16[:8], data) == raw


def test_sm4_and_aes_cbc_match_raw_cryptography() -> None:
    iv, data = bytes(range(16)), bytes(range(32))
    for alg, raw_alg in ((Algorithm.SM4, algorithms.SM4), (Algorithm.AES, algorithms.AES)):
        key = KEYS[alg]
        raw = Cipher(raw_alg(key), modes.CBC(iv)).encryptor().update(data)
        assert cbc_encrypt(alg, key, data, iv) == raw


@pytest.mark.parametrize(
    ("alg", "length"),
    [(Algorithm.DES3, 8), (Algorithm.DES3, 15), (Algorithm.SM4, 24), (Algorithm.AES, 20)],
)
def test_wrong_key_length(alg: Algorithm, length: int) -> None:
    with pytest.raises(CryptoError, match=f"got {length}"):
        ecb_encrypt(alg, bytes(length), bytes(alg.block_size))


def test_unaligned_data_and_bad_iv() -> None:
    with pytest.raises(CryptoError, match="multiple of the 3DES block size"):
        ecb_encrypt(Algorithm.DES3, KEY16, b"1234567")
    with pytest.raises(CryptoError, match="multiple of the SM4 block size"):
        cbc_encrypt(Algorithm.SM4, KEYS[Algorithm.SM4], bytes(8))
    with pytest.raises(CryptoError, match="IV must be 16 bytes"):
        cbc_encrypt(Algorithm.SM4, KEYS[Algorithm.SM4], bytes(16), bytes(8))
    with pytest.raises(CryptoError, match="must be an Algorithm"):
        ecb_encrypt("3DES", KEY16, bytes(8))  # type: ignore[arg-type]


def test_errors_never_show_the_key() -> None:
    with pytest.raises(CryptoError) as info:
        ecb_encrypt(Algorithm.DES3, KEY16[:15], bytes(8))
    assert KEY16[:15].hex() not in str(info.value).lower()


def test_padding_methods() -> None:
    assert pad(b"", 8, 1) == bytes(8)
    assert pad(b"\x01", 8, 1) == b"\x01" + bytes(7)
    assert pad(bytes(8), 8, 1) == bytes(8)
    assert pad(bytes(8), 8, 2) == bytes(8) + b"\x80" + bytes(7)
    assert pad(b"ab", 8, 3) == (16).to_bytes(8, "big") + b"ab" + bytes(6)
    assert pad(b"", 16, 3) == bytes(16)
    with pytest.raises(CryptoError, match="padding method"):
        pad(b"", 8, 4)
    with pytest.raises(CryptoError, match="block size"):
        pad(b"", 12, 2)


@given(data=st.binary(max_size=70), block=st.sampled_from([8, 16]))
def test_method2_round_trip(data: bytes, block: int) -> None:
    padded = pad(data, block, 2)
    assert len(padded) % block == 0 and len(padded) > len(data)
    assert unpad_method2(padded, block) == data


@pytest.mark.parametrize("bad", [b"", bytes(8), b"1234567\x01", b"\x80" + bytes(8) + bytes(7)])
def test_unpad_method2_refuses(bad: bytes) -> None:
    with pytest.raises(CryptoError):
        unpad_method2(bad, 8)


def test_mac1_is_last_block_of_raw_cbc() -> None:
    data = b"social security card MAC1 check"
    iv = bytes.fromhex("0102030405060708")
    padded = data + b"\x80" + bytes(-(len(data) + 1) % 8)
    raw = Cipher(TripleDES(KEY16 + KEY16[:8]), modes.CBC(iv)).encryptor().update(padded)
    assert iso9797_mac1(KEY16, data, iv=iv) == raw[-8:]
    assert des3_cbc_mac(KEY16, padded, iv) == raw[-8:]


@given(key8=st.binary(min_size=8, max_size=8), data=st.binary(max_size=40))
def test_mac3_with_equal_halves_is_single_des_mac1(key8: bytes, data: bytes) -> None:
    # With K1 = K2 the final decrypt/encrypt cancels: the retail MAC is the single-DES CBC-MAC.
    assert iso9797_mac3(key8 + key8, data) == iso9797_mac1(key8, data)


def test_mac3_iv_and_key_checks() -> None:
    data = b"0123456789"
    assert iso9797_mac3(KEY16, data, iv=bytes(8)) == iso9797_mac3(KEY16, data)
    assert iso9797_mac3(KEY16, data, iv=b"\x01" * 8) != iso9797_mac3(KEY16, data)
    with pytest.raises(CryptoError, match="16 bytes"):
        iso9797_mac3(KEY16 + KEY16[:8], data)
    with pytest.raises(CryptoError, match="IV must be 8 bytes"):
        iso9797_mac3(KEY16, data, iv=bytes(16))


def test_sm4_cbc_mac_is_padded_cbc_last_block() -> None:
    key, iv = KEYS[Algorithm.SM4], bytes(range(16))
    data = b"04D6820008" + bytes(5)
    padded = data + b"\x80" + bytes(-(len(data) + 1) % 16)
    raw = Cipher(algorithms.SM4(key), modes.CBC(iv)).encryptor().update(padded)
    mac = sm4_cbc_mac(key, data, iv=iv)
    assert mac == raw[-16:] and len(mac) == 16


def test_verify_mac() -> None:
    verify_mac(b"\x01\x02\x03\x04", b"\x01\x02\x03\x04")
    for computed in (b"\x01\x02\x03\x05", b"\x01\x02\x03", b""):
        with pytest.raises(InvalidMac):
            verify_mac(b"\x01\x02\x03\x04", computed)


def test_parity_and_kcv() -> None:
    adjusted = adjust_odd_parity(bytes(range(16)))
    assert all(bin(b).count("1") % 2 == 1 for b in adjusted)
    assert adjust_odd_parity(adjusted) == adjusted
    # Parity bits are ignored by DES: the KCV does not change.
    assert key_check_value(Algorithm.DES3, adjusted) == key_check_value(
        Algorithm.DES3, bytes(range(16))
    )
    assert len(key_check_value(Algorithm.AES, KEYS[Algorithm.AES])) == 3
