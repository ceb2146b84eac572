"""Cryptographic primitives of the social security card: block ciphers, MACs, diversification, SM2.

Pure functions over bytes, no I/O. Algorithms are :class:`Algorithm` members, never strings;
keys are checked on every call and never appear in an error message; MAC checks raise.
Key *holding* is not here: see :mod:`sscard_issuer.keys`.
"""

from sscard_issuer.crypto.algorithm import Algorithm
from sscard_issuer.crypto.cipher import cbc_decrypt, cbc_encrypt, ecb_decrypt, ecb_encrypt
from sscard_issuer.crypto.diversify import (
    city_factor,
    derive_card_key,
    diversify,
    internal_auth_response,
    session_cryptogram,
)
from sscard_issuer.crypto.errors import CryptoError, InvalidMac, UnsupportedAlgorithm
from sscard_issuer.crypto.keyutil import adjust_odd_parity, emv_option_a, key_check_value
from sscard_issuer.crypto.mac import (
    aes_cmac,
    des3_cbc_mac,
    iso9797_mac1,
    iso9797_mac3,
    secure_messaging_mac,
    sm4_cbc_mac,
    verify_mac,
)
from sscard_issuer.crypto.padding import pad, unpad_method2
from sscard_issuer.crypto.sm2 import (
    DEFAULT_UID,
    SM2_CURVE_OID,
    SM2_WITH_SM3_OID,
    InvalidSignature,
    Sm2PrivateKey,
    Sm2PublicKey,
    sm3,
)

__all__ = [
    "DEFAULT_UID",
    "SM2_CURVE_OID",
    "SM2_WITH_SM3_OID",
    "Algorithm",
    "CryptoError",
    "InvalidMac",
    "InvalidSignature",
    "Sm2PrivateKey",
    "Sm2PublicKey",
    "UnsupportedAlgorithm",
    "adjust_odd_parity",
    "aes_cmac",
    "cbc_decrypt",
    "cbc_encrypt",
    "city_factor",
    "derive_card_key",
    "des3_cbc_mac",
    "diversify",
    "ecb_decrypt",
    "ecb_encrypt",
    "emv_option_a",
    "internal_auth_response",
    "iso9797_mac1",
    "iso9797_mac3",
    "key_check_value",
    "pad",
    "secure_messaging_mac",
    "session_cryptogram",
    "sm3",
    "sm4_cbc_mac",
    "unpad_method2",
    "verify_mac",
]
