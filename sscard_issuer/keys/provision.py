"""Putting the development 3DES masters into a PKCS#11 token, for tests and the demo."""

from __future__ import annotations

import hmac

import pkcs11
from pkcs11 import TokenFlag

from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys._p11 import token_errors
from sscard_issuer.keys.base import key_label
from sscard_issuer.keys.dev import DevKeyStore
from sscard_issuer.keys.errors import KeyStoreError
from sscard_issuer.keys.pkcs11_store import Pkcs11KeyStore


def provision_token(
    store: DevKeyStore, module: str, token_label: str, so_pin: str, user_pin: str
) -> int:
    """Import the 3DES development masters into a token; returns how many were imported.

    For tests and the demo. Initialises the user PIN with the SO PIN if the token has none yet.
    Masters already present must carry the same check value, else this refuses.
    """
    with token_errors(f"opening token {token_label!r}"):
        token = pkcs11.lib(module).get_token(token_label=token_label)
        if not token.flags & TokenFlag.USER_PIN_INITIALIZED:
            with token.open(so_pin=so_pin, rw=True) as so_session:
                so_session.init_pin(user_pin)
    imported = 0
    with Pkcs11KeyStore(module, token_label, user_pin) as p11:
        for (key_class, alg, version), key in store._iter_masters():
            if alg is not Algorithm.DES3:
                continue
            if p11.has(key_class, alg, version):
                if not hmac.compare_digest(
                    p11.check_value(key_class, alg, version),
                    store.check_value(key_class, alg, version),
                ):
                    label = key_label(key_class, alg, version)
                    raise KeyStoreError(f"token {token_label!r} holds a different {label}")
                continue
            p11.import_master(key_class, alg, key, version=version)
            imported += 1
    return imported
