"""The PKCS#11 key store: masters in a token, card keys derived and used inside it.

Masters are token objects labelled ``sscard:<class>:<alg>:v<version>``, sensitive,
non-extractable and usable only for derivation. A card key is derived with
``CKM_DES3_ECB_ENCRYPT_DATA`` (data = factor | ~factor, which is exactly card.md's
E(parent, f) | E(parent, ~f)) into session objects that never leave the token.

SoftHSM2 has no SM4 (nor SM2/SM3): SM4 requests go to ``fallback`` (a :class:`DevKeyStore` in
development) or fail with :class:`~sscard_issuer.crypto.UnsupportedAlgorithm`. Only SM4 falls
back: a 3DES master missing from the token is an error, never silently served from files.

One store per thread or worker process; open it after forking (the PKCS#11 library must not be
shared across a fork).
"""

from __future__ import annotations

import hmac
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

from sscard_issuer.crypto import (
    Algorithm,
    CryptoError,
    UnsupportedAlgorithm,
    city_factor,
    key_check_value,
    pad,
)
from sscard_issuer.keys._p11 import derive_des2, find_token, master_template, open_session, token_errors
from sscard_issuer.keys.base import CardKey, KeyStore, check_key_id, key_label
from sscard_issuer.keys.errors import KeyNotFound, KeyStoreError
from sscard_issuer.keys.key_class import KeyClass

_BLOCK = 8  # everything in the token is 3DES


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _complement(data: bytes) -> bytes:
    return bytes(b ^ 0xFF for b in data)


def _check_8(name: str, value: bytes) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != 8:
        raise CryptoError(f"{name} must be 8 bytes")
    return bytes(value)


def _aligned(data: bytes) -> bytes:
    if not isinstance(data, (bytes, bytearray)) or len(data) % _BLOCK:
        raise CryptoError(f"data must be a multiple of the 3DES block size ({_BLOCK} bytes)")
    return bytes(data)


def _iv(iv: bytes | None) -> bytes:
    if iv is None:
        return bytes(_BLOCK)
    return _check_8("3DES IV", iv)


class Pkcs11CardKey(CardKey):
    """A 3DES card key living in the token as session objects; see the module docstring.

    Holds the city-level key (derive only), the card key (encrypt, derive, wrap) and, once a MAC
    is asked for, K1|K1 (the card key's left half doubled, for the retail MAC's single-DES chain).
    """

    def __init__(
        self, store: Pkcs11KeyStore, key_class: KeyClass, city: Any, card_factor: bytes
    ) -> None:
        self._store = store
        self._key_class = key_class
        self._city = city
        self._factor = card_factor
        with token_errors(f"deriving the {key_class.value} card key"):
            self._key = derive_des2(
                city, card_factor + _complement(card_factor), encrypt=True, derive=True, wrap=True
            )
            self._kcv = self._key.encrypt(bytes(_BLOCK), mechanism=Mechanism.DES3_ECB)[:3]
        self._k1k1: Any = None

    @property
    def algorithm(self) -> Algorithm:
        return Algorithm.DES3

    @property
    def key_class(self) -> KeyClass:
        return self._key_class

    def _ecb(self, key: Any, data: bytes) -> bytes:
        with token_errors(f"{self._key_class.value} encryption"):
            return bytes(key.encrypt(data, mechanism=Mechanism.DES3_ECB))

    def encrypt_block(self, data: bytes) -> bytes:
        return self._ecb(self._key, _aligned(data))

    def cryptogram(self, challenge8: bytes) -> bytes:
        return self._ecb(self._key, _check_8("challenge", challenge8))

    def internal_auth_response(self, process_factor8: bytes, challenge8: bytes) -> bytes:
        """(inferred) Process key = card IRK diversified by the process factor; see crypto."""
        self._require_irk()
        factor = _check_8("process factor", process_factor8)
        challenge = _check_8("challenge", challenge8)
        with token_errors("deriving the process key"):
            process_key = derive_des2(self._key, factor + _complement(factor), encrypt=True)
        try:
            return self._ecb(process_key, challenge)
        finally:
            with token_errors("destroying the process key"):
                process_key.destroy()

    def mac(self, data: bytes, *, iv: bytes | None = None) -> bytes:
        """ISO 9797-1 MAC algorithm 3 from in-token operations, the key never leaving.

        SoftHSM2 (like PKCS#11 generally) has no retail-MAC mechanism and a 2-key 3DES key cannot
        do single DES. But K1 = E(city, f), so deriving from the city key with data f | f gives
        K1|K1, which as 3DES *is* single DES under K1: CKM_DES3_CBC over all blocks but the last
        under K1|K1, then CKM_DES3_ECB of (chain XOR last block) under K1|K2, is the retail MAC.
        """
        padded = pad(data, _BLOCK, 2)
        chain = _iv(iv)
        if len(padded) > _BLOCK:
            if self._k1k1 is None:
                with token_errors("deriving the MAC chain key"):
                    self._k1k1 = derive_des2(self._city, self._factor * 2, encrypt=True)
            with token_errors(f"{self._key_class.value} MAC"):
                chained = self._k1k1.encrypt(
                    padded[:-_BLOCK], mechanism=Mechanism.DES3_CBC, mechanism_param=chain
                )
            chain = bytes(chained)[-_BLOCK:]
        return self._ecb(self._key, _xor(chain, padded[-_BLOCK:]))

    def encrypt(self, data: bytes, *, iv: bytes | None = None) -> bytes:
        data = _aligned(data)
        with token_errors(f"{self._key_class.value} encryption"):
            return bytes(
                self._key.encrypt(data, mechanism=Mechanism.DES3_CBC, mechanism_param=_iv(iv))
            )

    def wrap(self, other: CardKey) -> bytes:
        """C_WrapKey with CKM_DES3_ECB of a momentary extractable (still sensitive) copy of
        ``other``, destroyed at once. SoftHSM2 2.6 offers no DES3 wrapping mechanism, so there
        this raises :class:`KeyStoreError`; an HSM that wraps with CKM_DES3_ECB gives the value.
        """
        if not isinstance(other, Pkcs11CardKey) or other._store is not self._store:
            raise KeyStoreError("can only wrap a card key held by the same PKCS#11 key store")
        with token_errors("preparing the key to wrap"):
            copy = derive_des2(
                other._city, other._factor + _complement(other._factor), extractable=True
            )
        try:
            return bytes(self._key.wrap_key(copy, mechanism=Mechanism.DES3_ECB))
        except pkcs11.MechanismInvalid:
            raise KeyStoreError(
                "this token cannot wrap keys with CKM_DES3_ECB (SoftHSM2 2.6 cannot); "
                "use an HSM that can, or the development key store for tests"
            ) from None
        except pkcs11.PKCS11Error as exc:
            raise KeyStoreError(f"key wrap failed: PKCS#11 error {type(exc).__name__}") from exc
        finally:
            with token_errors("destroying the wrap copy"):
                copy.destroy()

    def check_value(self) -> bytes:
        return bytes(self._kcv)

    def close(self) -> None:
        """Destroy this key's session objects now rather than when the session ends."""
        for name in ("_k1k1", "_key", "_city"):
            obj = getattr(self, name, None)
            if obj is not None:
                setattr(self, name, None)
                try:
                    obj.destroy()
                except pkcs11.PKCS11Error:
                    pass  # the session is already gone, and its objects with it


class Pkcs11KeyStore(KeyStore):
    """Masters in a PKCS#11 token (SoftHSM2 in tests, an HSM in production); see module doc."""

    def __init__(
        self,
        module_path: str,
        token_label: str,
        user_pin: str,
        *,
        fallback: KeyStore | None = None,
    ) -> None:
        self._token_label = token_label
        self._fallback = fallback
        self._masters: dict[str, Any] = {}
        self._session: Any = open_session(find_token(module_path, token_label), token_label, user_pin, rw=True)

    # --- masters -------------------------------------------------------------------------------

    def _live_session(self) -> Any:
        if self._session is None:
            raise KeyStoreError(f"the key store of token {self._token_label!r} is closed")
        return self._session

    def _find_master(self, label: str) -> Any | None:
        if label in self._masters:
            return self._masters[label]
        session = self._live_session()
        try:
            key = session.get_key(object_class=ObjectClass.SECRET_KEY, label=label)
        except pkcs11.NoSuchKey:
            return None
        except pkcs11.MultipleObjectsReturned:
            raise KeyStoreError(f"token {self._token_label!r} holds several {label}") from None
        self._masters[label] = key
        return key

    def _master(self, key_class: KeyClass, alg: Algorithm, version: int) -> Any:
        label = key_label(key_class, alg, version)
        with token_errors(f"looking up {label}"):
            key = self._find_master(label)
        if key is None:
            raise KeyNotFound(f"{label} is not in token {self._token_label!r}")
        return key

    def _fallback_for(self, alg: Algorithm) -> KeyStore:
        if self._fallback is None:
            raise UnsupportedAlgorithm(
                f"token {self._token_label!r} has no SM4 (SoftHSM2 has none): pass "
                "fallback=DevKeyStore(...) for development, or use an HSM with SM4 mechanisms"
            )
        return self._fallback

    def algorithms(self) -> set[Algorithm]:
        found: set[Algorithm] = set()
        session = self._live_session()
        with token_errors("listing master keys"):
            for obj in session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY}):
                parts = str(obj[Attribute.LABEL]).split(":")
                if len(parts) == 4 and parts[0] == "sscard":
                    try:
                        found.add(Algorithm(parts[2]))
                    except ValueError:
                        continue
        if self._fallback is not None and Algorithm.SM4 in self._fallback.algorithms():
            found.add(Algorithm.SM4)
        return found

    def has(self, key_class: KeyClass, alg: Algorithm, version: int = 1) -> bool:
        check_key_id(key_class, alg, version)
        if alg is Algorithm.SM4:
            return self._fallback is not None and self._fallback.has(key_class, alg, version)
        label = key_label(key_class, alg, version)
        with token_errors(f"looking up {label}"):
            return self._find_master(label) is not None

    def check_value(self, key_class: KeyClass, alg: Algorithm, version: int = 1) -> bytes:
        """The master's CKA_CHECK_VALUE (masters cannot encrypt, so the token's own KCV)."""
        check_key_id(key_class, alg, version)
        if alg is Algorithm.SM4:
            return self._fallback_for(alg).check_value(key_class, alg, version)
        master = self._master(key_class, alg, version)
        try:
            return bytes(master[Attribute.CHECK_VALUE])[:3]
        except pkcs11.PKCS11Error:
            raise KeyStoreError(
                f"token {self._token_label!r} does not report CKA_CHECK_VALUE of "
                f"{key_label(key_class, alg, version)}"
            ) from None

    def card_key(
        self,
        key_class: KeyClass,
        alg: Algorithm,
        *,
        area_code: str,
        card_factor: bytes,
        version: int = 1,
    ) -> CardKey:
        check_key_id(key_class, alg, version)
        if alg is Algorithm.SM4:
            return self._fallback_for(alg).card_key(
                key_class, alg, area_code=area_code, card_factor=card_factor, version=version
            )
        if alg is not Algorithm.DES3:
            raise UnsupportedAlgorithm(
                f"social security card key derivation is defined for 3DES and SM4, not {alg.value}"
            )
        city = city_factor(area_code)
        factor = _check_8("card factor", card_factor)
        master = self._master(key_class, alg, version)
        with token_errors(f"deriving the city key of {key_label(key_class, alg, version)}"):
            city_key = derive_des2(master, city + _complement(city), derive=True)
        try:
            return Pkcs11CardKey(self, key_class, city_key, factor)
        except BaseException:
            city_key.destroy()
            raise

    def import_master(
        self, key_class: KeyClass, alg: Algorithm, key: bytes, *, version: int = 1
    ) -> None:
        """Put a master on the token (key ceremonies, tests, the demo); the token checks its KCV.

        3DES (16 or 24 bytes) and AES only: the token has no SM4.
        """
        label = key_label(key_class, alg, version)
        if alg is Algorithm.SM4:
            raise UnsupportedAlgorithm(f"token {self._token_label!r} cannot hold SM4 ({label})")
        kcv = key_check_value(alg, key)
        if alg is Algorithm.DES3:
            key_type = KeyType.DES2 if len(key) == 16 else KeyType.DES3
        else:
            key_type = KeyType.AES
        session = self._live_session()
        with token_errors(f"importing {label}"):
            if self._find_master(label) is not None:
                raise KeyStoreError(f"token {self._token_label!r} already holds {label}")
            session.create_object(master_template(label, key_type, bytes(key), kcv))
        if not hmac.compare_digest(self.check_value(key_class, alg, version), kcv):
            raise KeyStoreError(f"token reports a different check value for {label}")

    def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            self._masters.clear()
            try:
                session.close()
            except pkcs11.PKCS11Error:
                pass  # closing twice, or the library was finalised under us

    def __repr__(self) -> str:
        fallback = f" fallback={self._fallback!r}" if self._fallback is not None else ""
        return f"<Pkcs11KeyStore token={self._token_label!r}{fallback}>"

