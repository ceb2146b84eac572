"""The key store: card keys are derived and used without the caller ever holding key bytes.

:class:`KeyStore` holds masters and derives per-card :class:`CardKey` handles from them;
:class:`DevKeyStore` reads the published development key set (TEST ONLY), :class:`Pkcs11KeyStore`
keeps masters in a PKCS#11 token and delegates SM4 to a fallback store (SoftHSM2 has no SM4);
:func:`find_token` and :func:`open_session` open a token for any other PKCS#11 user (the e-card
signer).
See ``keys/README.md`` at the repository root.
"""

from sscard_issuer.keys._p11 import find_token, open_session
from sscard_issuer.keys.base import CardKey, KeyStore
from sscard_issuer.keys.dev import DevKeyStore
from sscard_issuer.keys.errors import KeyNotFound, KeyStoreError
from sscard_issuer.keys.key_class import SSSE_CARD_KEYS, KeyClass
from sscard_issuer.keys.pkcs11_store import Pkcs11KeyStore
from sscard_issuer.keys.provision import provision_token

__all__ = [
    "SSSE_CARD_KEYS",
    "CardKey",
    "DevKeyStore",
    "KeyClass",
    "KeyNotFound",
    "KeyStore",
    "KeyStoreError",
    "Pkcs11KeyStore",
    "find_token",
    "open_session",
    "provision_token",
]
