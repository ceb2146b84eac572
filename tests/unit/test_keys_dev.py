"""DevKeyStore: loading, KCV checks, derivation equal to the crypto functions, no key leaks."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from sscard_issuer.crypto import (
    Algorithm,
    CryptoError,
    cbc_encrypt,
    derive_card_key,
    ecb_decrypt,
    ecb_encrypt,
    internal_auth_response,
    iso9797_mac3,
    key_check_value,
    session_cryptogram,
    sm4_cbc_mac,
    verify_mac,
)
from sscard_issuer.keys import SSSE_CARD_KEYS, CardKey, DevKeyStore, KeyClass, KeyNotFound, KeyStoreError
from sscard_issuer.keys.dev import DEFAULT_KEYSET

CARDS = [
    ("371700", bytes.fromhex("8655000012345678")),
    ("110100", bytes.fromhex("0102030405060708")),
]
ALGS = [Algorithm.DES3, Algorithm.SM4]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_KEYSET.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def store() -> DevKeyStore:
    return DevKeyStore(DEFAULT_KEYSET)


def _master(document: dict[str, Any], key_class: KeyClass, alg: Algorithm) -> bytes:
    for entry in document["keys"]:
        if (entry["key_class"], entry["algorithm"], entry["version"]) == (
            key_class.value,
            alg.value,
            1,
        ):
            return bytes.fromhex(entry["key"])
    raise AssertionError(f"{key_class} {alg} missing from the dev key set")


def _write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "keyset.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_default_key_set_is_complete_and_marked(
    store: DevKeyStore, document: dict[str, Any]
) -> None:
    assert document["warning"].startswith("TEST KEYS ONLY - NEVER USE FOR REAL CARDS")
    assert store.algorithms() == {Algorithm.DES3, Algorithm.SM4, Algorithm.AES}
    for key_class in KeyClass:
        for alg in key_class.algorithms:
            assert store.has(key_class, alg)
            assert not store.has(key_class, alg, version=2)
            assert store.check_value(key_class, alg) == key_check_value(
                alg, _master(document, key_class, alg)
            )
    assert "TEST ONLY" in repr(store)


def test_default_honours_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, document: dict[str, Any]
) -> None:
    small = dict(document, keys=document["keys"][:1])
    monkeypatch.setenv("SSCARD_KEYSET", str(_write(tmp_path, small)))
    assert len(DevKeyStore.default().algorithms()) == 1


def test_tampered_kcv_is_refused_naming_the_entry(tmp_path: Path, document: dict[str, Any]) -> None:
    bad = copy.deepcopy(document)
    bad["keys"][3]["kcv"] = "000000"
    with pytest.raises(KeyStoreError, match=r"entry 3 \(sscard:") as info:
        DevKeyStore(_write(tmp_path, bad))
    assert bad["keys"][3]["key"].lower() not in str(info.value).lower()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("key", "ZZ", "hex"),
        ("key", "0011", "16 or 24 bytes"),
        ("algorithm", "SSF33", "unknown"),
        ("version", 0, "version"),
    ],
)
def test_malformed_entries(
    tmp_path: Path, document: dict[str, Any], field: str, value: object, message: str
) -> None:
    bad = copy.deepcopy(document)
    bad["keys"][0][field] = value
    with pytest.raises(KeyStoreError, match=message):
        DevKeyStore(_write(tmp_path, bad))


def test_duplicates_and_missing_files(tmp_path: Path, document: dict[str, Any]) -> None:
    bad = copy.deepcopy(document)
    bad["keys"].append(bad["keys"][0])
    with pytest.raises(KeyStoreError, match="duplicate"):
        DevKeyStore(_write(tmp_path, bad))
    with pytest.raises(KeyStoreError, match="cannot read"):
        DevKeyStore(tmp_path / "absent.json")


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize(("area", "factor"), CARDS)
def test_card_keys_match_crypto_derivation(
    store: DevKeyStore, document: dict[str, Any], alg: Algorithm, area: str, factor: bytes
) -> None:
    for key_class in (*SSSE_CARD_KEYS, KeyClass.TK):
        exported = store.export_card_key_for_simulator(
            key_class, alg, area_code=area, card_factor=factor
        )
        assert exported == derive_card_key(alg, _master(document, key_class, alg), area, factor)
        key = store.card_key(key_class, alg, area_code=area, card_factor=factor)
        assert key.algorithm is alg and key.key_class is key_class
        assert key.check_value() == key_check_value(alg, exported)


@pytest.mark.parametrize("alg", ALGS)
def test_card_key_operations(store: DevKeyStore, alg: Algorithm) -> None:
    area, factor = CARDS[0]
    challenge = bytes.fromhex("A1A2A3A4A5A6A7A8")
    raw = store.export_card_key_for_simulator(
        KeyClass.RKSSSE, alg, area_code=area, card_factor=factor
    )
    key = store.card_key(KeyClass.RKSSSE, alg, area_code=area, card_factor=factor)

    # The card (holding the raw key) recomputes the terminal's cryptogram and accepts it.
    cryptogram = key.cryptogram(challenge)
    verify_mac(session_cryptogram(alg, raw, challenge), cryptogram)
    if alg is Algorithm.DES3:
        assert ecb_decrypt(alg, raw, cryptogram) == challenge

    data = b"\x04\xd6\x85\x00\x08" + bytes(8)
    iv = bytes(alg.block_size)
    expected_mac = iso9797_mac3(raw, data) if alg is Algorithm.DES3 else sm4_cbc_mac(raw, data)
    assert key.mac(data, iv=iv) == key.mac(data) == expected_mac
    assert len(expected_mac) == (8 if alg is Algorithm.DES3 else 16)

    block = bytes(range(32))
    assert key.encrypt_block(block) == ecb_encrypt(alg, raw, block)
    assert key.encrypt(block) == cbc_encrypt(alg, raw, block)
    with pytest.raises(CryptoError, match="multiple"):
        key.encrypt_block(b"abc")

    other = store.card_key(KeyClass.UK, alg, area_code=area, card_factor=factor)
    other_raw = store.export_card_key_for_simulator(
        KeyClass.UK, alg, area_code=area, card_factor=factor
    )
    assert key.wrap(other) == ecb_encrypt(alg, raw, other_raw)


@pytest.mark.parametrize("alg", ALGS)
def test_internal_auth_only_with_irk(store: DevKeyStore, alg: Algorithm) -> None:
    area, factor = CARDS[1]
    process, challenge = bytes.fromhex("2024010100000001"), bytes.fromhex("0011223344556677")
    irk = store.card_key(KeyClass.IRK, alg, area_code=area, card_factor=factor)
    raw = store.export_card_key_for_simulator(KeyClass.IRK, alg, area_code=area, card_factor=factor)
    assert irk.internal_auth_response(process, challenge) == internal_auth_response(
        alg, raw, process, challenge
    )
    rk = store.card_key(KeyClass.RKSSSE, alg, area_code=area, card_factor=factor)
    with pytest.raises(KeyStoreError, match="IRK"):
        rk.internal_auth_response(process, challenge)


def test_no_key_bytes_in_repr_or_str(store: DevKeyStore, document: dict[str, Any]) -> None:
    texts = [repr(store), str(store)]
    secrets = [entry["key"].lower() for entry in document["keys"]]
    for alg in ALGS:
        for key_class in SSSE_CARD_KEYS:
            for area, factor in CARDS:
                key = store.card_key(key_class, alg, area_code=area, card_factor=factor)
                texts += [repr(key), str(key), f"{key}"]
                secrets.append(
                    store.export_card_key_for_simulator(
                        key_class, alg, area_code=area, card_factor=factor
                    ).hex()
                )
    assert texts[2].startswith("<DevCardKey IRK 3DES kcv=")
    for text in texts:
        for secret in secrets:
            assert secret not in text.lower()
            assert secret[:16] not in text.lower() and secret[16:] not in text.lower()


def test_keys_cannot_be_pickled(store: DevKeyStore) -> None:
    key = store.card_key(KeyClass.UK, Algorithm.SM4, area_code="371700", card_factor=bytes(8))
    for thing in (key, store):
        with pytest.raises(TypeError):
            pickle.dumps(thing)
        with pytest.raises(TypeError):
            copy.copy(thing)


def test_lookups_and_input_errors(store: DevKeyStore) -> None:
    with pytest.raises(KeyNotFound, match="sscard:UK:SM4:v2"):
        store.card_key(
            KeyClass.UK, Algorithm.SM4, area_code="371700", card_factor=bytes(8), version=2
        )
    with pytest.raises(KeyNotFound):
        store.check_value(KeyClass.UK, Algorithm.AES)
    with pytest.raises(CryptoError, match="area_code"):
        store.card_key(KeyClass.UK, Algorithm.SM4, area_code="3717", card_factor=bytes(8))
    with pytest.raises(CryptoError, match="card factor"):
        store.card_key(KeyClass.UK, Algorithm.SM4, area_code="371700", card_factor=bytes(9))
    with pytest.raises(KeyStoreError, match="KeyClass"):
        store.has("UK", Algorithm.SM4)  # type: ignore[arg-type]


def test_wrap_refuses_foreign_keys(store: DevKeyStore) -> None:
    class Foreign(CardKey):
        """A key from some other holder: a DevCardKey must not be able to read it."""

        algorithm = Algorithm.SM4
        key_class = KeyClass.UK

        def encrypt_block(self, data: bytes) -> bytes:
            return data

        def cryptogram(self, challenge8: bytes) -> bytes:
            return challenge8

        def internal_auth_response(self, process_factor8: bytes, challenge8: bytes) -> bytes:
            return challenge8

        def mac(self, data: bytes, *, iv: bytes | None = None) -> bytes:
            return data

        def encrypt(self, data: bytes, *, iv: bytes | None = None) -> bytes:
            return data

        def wrap(self, other: CardKey) -> bytes:
            return b""

        def check_value(self) -> bytes:
            return bytes(3)

    key = store.card_key(KeyClass.UK, Algorithm.SM4, area_code="371700", card_factor=bytes(8))
    with pytest.raises(KeyStoreError, match="cannot wrap"):
        key.wrap(Foreign())


def test_export_refuses_unmarked_key_sets(tmp_path: Path, document: dict[str, Any]) -> None:
    unmarked = {k: v for k, v in document.items() if k != "warning"}
    store = DevKeyStore(_write(tmp_path, unmarked))
    store.card_key(KeyClass.UK, Algorithm.DES3, area_code="371700", card_factor=bytes(8))
    with pytest.raises(KeyStoreError, match="refusing to export"):
        store.export_card_key_for_simulator(
            KeyClass.UK, Algorithm.DES3, area_code="371700", card_factor=bytes(8)
        )
