"""The development key store: master keys from a JSON file, card keys computed in-process.

For development, tests and the simulator only. The file is published with the repository, so
its keys protect nothing; ``repr`` says TEST ONLY and every entry carries the warning marker.
It is also where SM4 keys live when the PKCS#11 token (SoftHSM2) has no SM4: see keys/README.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from sscard_issuer.crypto import (
    Algorithm,
    cbc_encrypt,
    derive_card_key,
    ecb_encrypt,
    internal_auth_response,
    key_check_value,
    secure_messaging_mac,
    session_cryptogram,
)
from sscard_issuer.keys.base import CardKey, KeyStore, check_key_id, key_label
from sscard_issuer.keys.errors import KeyNotFound, KeyStoreError
from sscard_issuer.keys.key_class import KeyClass
from sscard_issuer.keys.keyset_file import WARNING_MARKER, KeyId, parse_keyset

if TYPE_CHECKING:
    from sscard_issuer.channel import StaticKeys

KEYSET_ENV = "SSCARD_KEYSET"
DEFAULT_KEYSET = Path(__file__).resolve().parents[2] / "keys" / "dev" / "keyset.json"


class DevCardKey(CardKey):
    """A card key computed in-process from a development master. Its bytes stay private."""

    __slots__ = ("_alg", "_kcv", "_key", "_key_class")

    def __init__(self, key_class: KeyClass, alg: Algorithm, key: bytes) -> None:
        self._key_class = key_class
        self._alg = alg
        self._key = bytes(key)
        self._kcv = key_check_value(alg, self._key)

    @property
    def algorithm(self) -> Algorithm:
        return self._alg

    @property
    def key_class(self) -> KeyClass:
        return self._key_class

    def encrypt_block(self, data: bytes) -> bytes:
        return ecb_encrypt(self._alg, self._key, data)

    def cryptogram(self, challenge8: bytes) -> bytes:
        return session_cryptogram(self._alg, self._key, challenge8)

    def internal_auth_response(self, process_factor8: bytes, challenge8: bytes) -> bytes:
        self._require_irk()
        return internal_auth_response(self._alg, self._key, process_factor8, challenge8)

    def mac(self, data: bytes, *, iv: bytes | None = None) -> bytes:
        return secure_messaging_mac(self._alg, self._key, data, iv=iv)

    def encrypt(self, data: bytes, *, iv: bytes | None = None) -> bytes:
        return cbc_encrypt(self._alg, self._key, data, iv)

    def wrap(self, other: CardKey) -> bytes:
        if not isinstance(other, DevCardKey):
            raise KeyStoreError(
                f"cannot wrap a {type(other).__name__} with an in-process key: "
                "wrapping happens inside one key holder"
            )
        return ecb_encrypt(self._alg, self._key, other._key)

    def check_value(self) -> bytes:
        return self._kcv


class DevKeyStore(KeyStore):
    """Master keys read from a development key set file (``keys/dev/keyset.json``).

    Every entry's key check value is verified on load. Loading prints and logs nothing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        try:
            document = json.loads(self._path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise KeyStoreError(f"cannot read key set {self._path}: {exc.strerror}") from None
        except ValueError as exc:
            raise KeyStoreError(f"key set {self._path} is not valid JSON: {exc}") from None
        try:
            warning, self._masters = parse_keyset(document)
        except KeyStoreError as exc:
            raise KeyStoreError(f"{self._path}: {exc}") from None
        self._is_test_keyset = warning is not None and warning.startswith(WARNING_MARKER)

    @classmethod
    def default(cls) -> DevKeyStore:
        """The repository's development key set, or the file named by ``$SSCARD_KEYSET``."""
        override = os.environ.get(KEYSET_ENV)
        return cls(Path(override) if override else DEFAULT_KEYSET)

    def _master(self, key_class: KeyClass, alg: Algorithm, version: int) -> bytes:
        check_key_id(key_class, alg, version)
        try:
            return self._masters[(key_class, alg, version)]
        except KeyError:
            raise KeyNotFound(
                f"{key_label(key_class, alg, version)} is not in key set {self._path.name}"
            ) from None

    def algorithms(self) -> set[Algorithm]:
        return {alg for (_, alg, _) in self._masters}

    def has(self, key_class: KeyClass, alg: Algorithm, version: int = 1) -> bool:
        check_key_id(key_class, alg, version)
        return (key_class, alg, version) in self._masters

    def check_value(self, key_class: KeyClass, alg: Algorithm, version: int = 1) -> bytes:
        return key_check_value(alg, self._master(key_class, alg, version))

    def _derive(
        self, key_class: KeyClass, alg: Algorithm, area_code: str, card_factor: bytes, version: int
    ) -> bytes:
        return derive_card_key(alg, self._master(key_class, alg, version), area_code, card_factor)

    def card_key(
        self,
        key_class: KeyClass,
        alg: Algorithm,
        *,
        area_code: str,
        card_factor: bytes,
        version: int = 1,
    ) -> DevCardKey:
        key = self._derive(key_class, alg, area_code, card_factor, version)
        return DevCardKey(key_class, alg, key)

    def export_card_key_for_simulator(
        self,
        key_class: KeyClass,
        alg: Algorithm,
        *,
        area_code: str,
        card_factor: bytes,
        version: int = 1,
    ) -> bytes:
        """TEST ONLY: the derived card key's bytes, for the card simulator to personalise with.

        The simulated card must hold its own keys, so this is the one place key bytes leave a
        store. It refuses unless the key set carries the TEST KEYS ONLY warning marker, so it
        cannot be pointed at a real key set by mistake.
        """
        if not self._is_test_keyset:
            raise KeyStoreError(
                f"key set {self._path.name} is not marked {WARNING_MARKER!r}: "
                "refusing to export card keys"
            )
        return self._derive(key_class, alg, area_code, card_factor, version)

    # -- GlobalPlatform (added for issue 3; TEST ONLY, see the docstring) ----------------------

    def gp_static_keys(self, alg: Algorithm, template: str, diversification_data: bytes) -> StaticKeys:
        """TEST ONLY: a card's GlobalPlatform static keys (ENC, MAC, DEK), diversified from the KMC.

        ``alg`` is 3DES (SCP02) or AES (SCP03); ``template`` one of ``none``, ``emv``, ``visa2``,
        ``kdf3`` (GlobalPlatformPro's names); ``diversification_data`` the 10 bytes the card
        answers in INITIALIZE UPDATE. The key bytes leave the store, because this version's secure
        channel computes in-process; a PKCS#11 token would derive the card keys and the session
        keys itself and hand out only MACs and cryptograms, so no such method exists on
        :class:`~sscard_issuer.keys.Pkcs11KeyStore` (a known gap). Refused unless the key set is
        marked TEST KEYS ONLY, like :meth:`export_card_key_for_simulator`.
        """
        # The channel (protocol layer) owns StaticKeys and the templates; imported here only, so
        # the key store does not depend on it for anything else.
        from sscard_issuer.channel import ChannelUsageError, DiversificationTemplate, diversify

        if not self._is_test_keyset:
            raise KeyStoreError(
                f"key set {self._path.name} is not marked {WARNING_MARKER!r}: "
                "refusing to export GlobalPlatform card keys"
            )
        master = self._master(KeyClass.KMC, alg, 1)
        try:
            return diversify(DiversificationTemplate.parse(template), master, diversification_data, algorithm=alg)
        except ChannelUsageError as exc:
            raise KeyStoreError(f"GlobalPlatform keys: {exc}") from None

    def _iter_masters(self) -> list[tuple[KeyId, bytes]]:
        """For :func:`~sscard_issuer.keys.pkcs11_store.provision_token` only (same package)."""
        return list(self._masters.items())

    def __repr__(self) -> str:
        return f"<DevKeyStore TEST ONLY {self._path.name}: {len(self._masters)} master keys>"
