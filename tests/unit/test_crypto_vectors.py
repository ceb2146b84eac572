"""Published test vectors (sources named in each tests/unit/vectors/*.json file)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from sscard_issuer.crypto import (
    Algorithm,
    aes_cmac,
    ecb_decrypt,
    ecb_encrypt,
    emv_option_a,
    iso9797_mac3,
    key_check_value,
)
from sscard_issuer.crypto.cipher import block_encryptor

VECTORS = Path(__file__).parent / "vectors"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    assert data["source"], f"{name} must name its source"
    return data


AES_CMAC = load("aes_cmac.json")
SM4 = load("sm4.json")
MAC3 = load("iso9797_mac3.json")
EMV_KCV = load("emv_kcv.json")


@pytest.mark.parametrize("case", AES_CMAC["cases"], ids=lambda c: f"len{c['length']}")
def test_aes_cmac_rfc4493(case: dict[str, Any]) -> None:
    message = bytes.fromhex(AES_CMAC["message"])[: case["length"]]
    assert aes_cmac(bytes.fromhex(AES_CMAC["key"]), message) == bytes.fromhex(case["mac"])


def test_sm4_single_block() -> None:
    key, plain = bytes.fromhex(SM4["key"]), bytes.fromhex(SM4["plaintext"])
    cipher = ecb_encrypt(Algorithm.SM4, key, plain)
    assert cipher == bytes.fromhex(SM4["once"])
    assert ecb_decrypt(Algorithm.SM4, key, cipher) == plain


def test_sm4_million_iterations() -> None:
    # One ECB update per iteration on a reused context: about a second on one core.
    encrypt = block_encryptor(Algorithm.SM4, bytes.fromhex(SM4["key"]))
    block = bytes.fromhex(SM4["plaintext"])
    started = time.perf_counter()
    for _ in range(SM4["iterations"]):
        block = encrypt(block)
    assert block == bytes.fromhex(SM4["iterated"])
    assert time.perf_counter() - started < 5, "the loop must stay fast enough for the unit suite"


@pytest.mark.parametrize(
    "case", MAC3["cases"], ids=lambda c: f"{c['message_ascii']}-p{c['padding']}"
)
def test_iso9797_mac3(case: dict[str, Any]) -> None:
    key = bytes.fromhex(case["k1"] + case["k2"])
    message = case["message_ascii"].encode("ascii")
    assert iso9797_mac3(key, message, padding=case["padding"]) == bytes.fromhex(case["mac"])


@pytest.mark.parametrize("case", EMV_KCV["emv_option_a"])
def test_emv_option_a(case: dict[str, Any]) -> None:
    derived = emv_option_a(bytes.fromhex(case["imk"]), case["pan"], case["psn"])
    assert derived == bytes.fromhex(case["icc_master_key"])


@pytest.mark.parametrize("case", EMV_KCV["kcv"])
def test_key_check_value(case: dict[str, Any]) -> None:
    alg = Algorithm(case["algorithm"])
    assert key_check_value(alg, bytes.fromhex(case["key"])) == bytes.fromhex(case["kcv"])
