"""Low-level PKCS#11 helpers for the token key store: derivation parameters and key templates.

Kept apart so the store reads as key-store logic, and the one ctypes workaround lives in one place.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

from sscard_issuer.keys.errors import KeyStoreError


class _KeyDerivationStringData(ctypes.Structure):
    """CK_KEY_DERIVATION_STRING_DATA: {CK_BYTE_PTR pData; CK_ULONG ulLen}."""

    _fields_ = [("pData", ctypes.c_void_p), ("ulLen", ctypes.c_ulong)]


@contextlib.contextmanager
def _derivation_param(data: bytes) -> Iterator[bytes]:
    """The mechanism parameter of ``CKM_DES3_ECB_ENCRYPT_DATA`` as raw bytes.

    python-pkcs11 0.10 builds this structure only for the AES variant; for other mechanisms it
    passes ``bytes`` through as the raw parameter. So the structure is built here with ctypes,
    and the data buffer it points to is kept alive until the derivation call has returned.
    CK_ULONG is C ``unsigned long`` on the platforms SoftHSM2 and the HSM vendors ship for.
    """
    buffer = ctypes.create_string_buffer(data, len(data))
    param = _KeyDerivationStringData(ctypes.cast(buffer, ctypes.c_void_p), len(data))
    try:
        yield bytes(param)
    finally:
        ctypes.memset(buffer, 0, len(data))
        del buffer


def derive_des2(
    base: Any,
    data: bytes,
    *,
    encrypt: bool = False,
    derive: bool = False,
    wrap: bool = False,
    extractable: bool = False,
) -> Any:
    """Derive a 2-key 3DES session key whose value is E(base, data) (16 bytes of data).

    The child is a session object (``token=False``), sensitive, non-extractable unless asked
    (only for the moment of a key wrap), and allowed only the uses named.
    """
    template = {
        Attribute.CLASS: ObjectClass.SECRET_KEY,
        Attribute.KEY_TYPE: KeyType.DES2,
        Attribute.TOKEN: False,
        Attribute.PRIVATE: True,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: extractable,
        Attribute.ENCRYPT: encrypt,
        Attribute.DECRYPT: False,
        Attribute.DERIVE: derive,
        Attribute.WRAP: wrap,
        Attribute.UNWRAP: False,
        Attribute.SIGN: False,
        Attribute.VERIFY: False,
        # DES key lengths are implied by the type; SoftHSM2 refuses CKA_VALUE_LEN for them.
        Attribute.VALUE_LEN: pkcs11.DEFAULT,
    }
    with _derivation_param(data) as param:
        return base.derive_key(
            KeyType.DES2,
            128,
            capabilities=0,
            mechanism=Mechanism.DES3_ECB_ENCRYPT_DATA,
            mechanism_param=param,
            template=template,
        )


def master_template(label: str, key_type: KeyType, value: bytes, kcv: bytes) -> dict[Any, Any]:
    """Template of an imported master: on the token, never readable, usable only to derive.

    No ENCRYPT: a master that could encrypt chosen data would hand out its children, since a
    child is just E(master, factor | ~factor). The token checks the value against CKA_CHECK_VALUE.
    """
    return {
        Attribute.CLASS: ObjectClass.SECRET_KEY,
        Attribute.KEY_TYPE: key_type,
        Attribute.LABEL: label,
        Attribute.VALUE: value,
        Attribute.CHECK_VALUE: kcv,
        Attribute.TOKEN: True,
        Attribute.PRIVATE: True,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: False,
        Attribute.MODIFIABLE: False,
        Attribute.ENCRYPT: False,
        Attribute.DECRYPT: False,
        Attribute.DERIVE: True,
        Attribute.WRAP: False,
        Attribute.UNWRAP: False,
        Attribute.SIGN: False,
        Attribute.VERIFY: False,
    }


@contextlib.contextmanager
def token_errors(what: str) -> Iterator[None]:
    """Turn a PKCS#11 library error into a :class:`KeyStoreError` saying what was being done."""
    try:
        yield
    except pkcs11.PKCS11Error as exc:
        raise KeyStoreError(f"{what}: PKCS#11 error {type(exc).__name__}") from exc


def find_token(module_path: str, token_label: str) -> Any:
    """The token labelled ``token_label`` in the PKCS#11 library ``module_path``."""
    try:
        lib = pkcs11.lib(module_path)
    except (pkcs11.PKCS11Error, OSError, RuntimeError) as exc:
        raise KeyStoreError(f"cannot load PKCS#11 module {module_path}: {type(exc).__name__}") from None
    try:
        return lib.get_token(token_label=token_label)
    except pkcs11.NoSuchToken:
        raise KeyStoreError(f"no token labelled {token_label!r} in {module_path}") from None
    except pkcs11.MultipleTokensReturned:
        raise KeyStoreError(f"several tokens are labelled {token_label!r}") from None


def open_session(token: Any, token_label: str, user_pin: str, *, rw: bool) -> Any:
    """A logged-in session. PKCS#11 login is per process and token: if another session of this
    process is already logged in, the new session shares that login (the PIN cannot be re-checked)."""
    try:
        return token.open(user_pin=user_pin, rw=rw)
    except pkcs11.UserAlreadyLoggedIn:
        pass
    except pkcs11.PinIncorrect:
        raise KeyStoreError(f"the user PIN of token {token_label!r} was refused") from None
    except pkcs11.PKCS11Error as exc:
        raise KeyStoreError(f"cannot open token {token_label!r}: PKCS#11 error {type(exc).__name__}") from None
    with token_errors(f"opening token {token_label!r}"):
        return token.open(rw=rw)
