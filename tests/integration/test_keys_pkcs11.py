"""Pkcs11KeyStore against a real SoftHSM2 token: same answers as DevKeyStore, keys never out.

The token is made here, in a temp dir, by softhsm2-util. If softhsm2 is not installed the tests
FAIL (CI installs it): a skipped key-store test would hide exactly the part that matters.
"""

from __future__ import annotations

from collections.abc import Iterator

import pkcs11
import pytest
from pkcs11 import Attribute, ObjectClass
from softhsm_token import SOFTHSM_LABEL, SOFTHSM_MODULE, SOFTHSM_SO_PIN, SOFTHSM_USER_PIN, SoftHsmToken

from sscard_issuer.crypto import Algorithm, UnsupportedAlgorithm
from sscard_issuer.keys import (
    DevKeyStore,
    KeyClass,
    KeyNotFound,
    KeyStoreError,
    Pkcs11KeyStore,
    provision_token,
)
from sscard_issuer.keys.dev import DevCardKey

pytestmark = pytest.mark.integration

MODULE, LABEL, SO_PIN, USER_PIN = SOFTHSM_MODULE, SOFTHSM_LABEL, SOFTHSM_SO_PIN, SOFTHSM_USER_PIN
CARDS = [
    ("371700", bytes.fromhex("8655000012345678")),
    ("110100", bytes.fromhex("0102030405060708")),
    ("440300", bytes.fromhex("FFFFFFFF00000000")),
]
MESSAGES = [b"", b"\x04\xd6\x85\x00", bytes(8), bytes(range(21)), bytes(range(64))]


@pytest.fixture(scope="module")
def token(softhsm: SoftHsmToken) -> str:
    """A fresh SoftHSM2 token with the 3DES development masters (tests/integration/conftest.py)."""
    return softhsm.label


@pytest.fixture
def dev() -> DevKeyStore:
    return DevKeyStore.default()


@pytest.fixture
def p11(token: str, dev: DevKeyStore) -> Iterator[Pkcs11KeyStore]:
    with Pkcs11KeyStore(MODULE, token, USER_PIN, fallback=dev) as store:
        yield store


def test_provisioning_is_idempotent_and_kcvs_match(
    token: str, dev: DevKeyStore, p11: Pkcs11KeyStore
) -> None:
    assert provision_token(dev, MODULE, token, SO_PIN, USER_PIN) == 0
    for key_class in KeyClass:
        assert p11.has(key_class, Algorithm.DES3)
        expected = dev.check_value(key_class, Algorithm.DES3)
        assert p11.check_value(key_class, Algorithm.DES3) == expected
    assert p11.algorithms() == {Algorithm.DES3, Algorithm.SM4}


@pytest.mark.parametrize(("area", "factor"), CARDS)
def test_same_answers_as_dev_store(
    dev: DevKeyStore, p11: Pkcs11KeyStore, area: str, factor: bytes
) -> None:
    challenge = bytes.fromhex("A1A2A3A4A5A6A7A8")
    for key_class in KeyClass:
        with p11.card_key(key_class, Algorithm.DES3, area_code=area, card_factor=factor) as hsm:
            soft = dev.card_key(key_class, Algorithm.DES3, area_code=area, card_factor=factor)
            assert hsm.check_value() == soft.check_value()
            assert hsm.cryptogram(challenge) == soft.cryptogram(challenge)
            for message in MESSAGES:
                assert hsm.mac(message) == soft.mac(message)
                assert hsm.mac(message, iv=challenge) == soft.mac(message, iv=challenge)
            assert hsm.encrypt_block(bytes(range(16))) == soft.encrypt_block(bytes(range(16)))
            assert hsm.encrypt(bytes(range(24)), iv=challenge) == soft.encrypt(
                bytes(range(24)), iv=challenge
            )
            if key_class is KeyClass.IRK:
                for process in (bytes(8), bytes.fromhex("2024010100000001")):
                    assert hsm.internal_auth_response(process, challenge) == (
                        soft.internal_auth_response(process, challenge)
                    )
            else:
                with pytest.raises(KeyStoreError, match="IRK"):
                    hsm.internal_auth_response(bytes(8), challenge)


def test_sm4_goes_to_the_fallback(token: str, dev: DevKeyStore, p11: Pkcs11KeyStore) -> None:
    area, factor = CARDS[0]
    key = p11.card_key(KeyClass.RKSSSE, Algorithm.SM4, area_code=area, card_factor=factor)
    assert isinstance(key, DevCardKey)
    expected = dev.card_key(KeyClass.RKSSSE, Algorithm.SM4, area_code=area, card_factor=factor)
    assert key.cryptogram(bytes(8)) == expected.cryptogram(bytes(8))
    assert p11.check_value(KeyClass.RKSSSE, Algorithm.SM4) == dev.check_value(
        KeyClass.RKSSSE, Algorithm.SM4
    )
    with Pkcs11KeyStore(MODULE, token, USER_PIN) as alone:
        assert not alone.has(KeyClass.RKSSSE, Algorithm.SM4)
        assert alone.algorithms() == {Algorithm.DES3}
        with pytest.raises(UnsupportedAlgorithm, match=r"no SM4.*fallback"):
            alone.card_key(KeyClass.RKSSSE, Algorithm.SM4, area_code=area, card_factor=factor)
        with pytest.raises(UnsupportedAlgorithm):
            alone.import_master(KeyClass.RKSSSE, Algorithm.SM4, bytes(16))


def test_missing_3des_master_never_falls_back(p11: Pkcs11KeyStore) -> None:
    with pytest.raises(KeyNotFound, match="sscard:UK:3DES:v2"):
        p11.card_key(
            KeyClass.UK, Algorithm.DES3, area_code="371700", card_factor=bytes(8), version=2
        )


def test_no_key_object_is_extractable(token: str, p11: Pkcs11KeyStore) -> None:
    area, factor = CARDS[1]
    irk = p11.card_key(KeyClass.IRK, Algorithm.DES3, area_code=area, card_factor=factor)
    irk.mac(bytes(40))
    irk.internal_auth_response(bytes(8), bytes(8))
    uk = p11.card_key(KeyClass.UK, Algorithm.DES3, area_code=area, card_factor=factor)
    with pytest.raises(KeyStoreError, match="CKM_DES3_ECB"):
        irk.wrap(uk)  # SoftHSM2 has no DES3 wrapping; the momentary copy must be gone after

    session = p11._session  # the store's own session sees its session objects
    objects = list(session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY}))
    derived = [o for o in objects if not o[Attribute.TOKEN]]
    masters = [o for o in objects if o[Attribute.TOKEN]]
    des3_classes = sum(Algorithm.DES3 in key_class.algorithms for key_class in KeyClass)
    assert len(masters) == des3_classes and len(derived) >= 5  # 2 cities, 2 card keys, K1|K1
    for obj in objects:
        assert obj[Attribute.EXTRACTABLE] is False, obj[Attribute.LABEL]
        assert obj[Attribute.SENSITIVE] is True
        with pytest.raises(pkcs11.AttributeSensitive):
            obj[Attribute.VALUE]
    for master in masters:
        assert master[Attribute.ENCRYPT] is False  # else E(master, f|~f) would reveal children
    irk.close()
    uk.close()
    remaining = list(
        session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.TOKEN: False})
    )
    assert len(remaining) == len(derived) - 5


def test_repr_and_errors_leak_nothing(token: str, dev: DevKeyStore, p11: Pkcs11KeyStore) -> None:
    area, factor = CARDS[2]
    key = p11.card_key(KeyClass.PUK, Algorithm.DES3, area_code=area, card_factor=factor)
    raw = dev.export_card_key_for_simulator(
        KeyClass.PUK, Algorithm.DES3, area_code=area, card_factor=factor
    )
    for text in (repr(key), str(key), repr(p11)):
        assert raw.hex() not in text.lower()
    assert repr(key).startswith("<Pkcs11CardKey PUK 3DES kcv=")


def test_open_errors(token: str) -> None:
    # No other session is open here (PKCS#11 login is shared by a process's sessions).
    with pytest.raises(KeyStoreError, match="PIN") as info:
        Pkcs11KeyStore(MODULE, token, "9999")
    assert "9999" not in str(info.value)
    with pytest.raises(KeyStoreError, match="no token labelled"):
        Pkcs11KeyStore(MODULE, "no-such-token", USER_PIN)


def test_closed_store_refuses(token: str) -> None:
    store = Pkcs11KeyStore(MODULE, token, USER_PIN)
    store.close()
    store.close()
    with pytest.raises(KeyStoreError, match="closed"):
        store.card_key(KeyClass.UK, Algorithm.DES3, area_code="371700", card_factor=bytes(8))
