"""The key store interface: card keys are used through it, their bytes are never handed out.

A :class:`KeyStore` holds master keys; :meth:`KeyStore.card_key` derives one card's key *inside*
the store and returns a :class:`CardKey`, a handle that can encrypt, MAC and answer challenges
but has no way to give its bytes to the caller. A file-backed store and a PKCS#11 token plug in
behind the same two abstract classes (as pyca/cryptography's key types do).
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import NoReturn, Self

from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys.errors import KeyStoreError
from sscard_issuer.keys.key_class import KeyClass

MAX_KEY_VERSION = 0xFF  # a key version is one byte on the card; card.md tests versions 1 to 3


def check_key_id(key_class: KeyClass, alg: Algorithm, version: int) -> None:
    """Refuse a key identity that is not a KeyClass, an Algorithm and a version 1..255."""
    if not isinstance(key_class, KeyClass):
        raise KeyStoreError(f"key_class must be a KeyClass, got {type(key_class).__name__}")
    if not isinstance(alg, Algorithm):
        raise KeyStoreError(f"algorithm must be an Algorithm, got {type(alg).__name__}")
    if isinstance(version, bool) or not isinstance(version, int):
        raise KeyStoreError(f"version must be an int, got {type(version).__name__}")
    if not 1 <= version <= MAX_KEY_VERSION:
        raise KeyStoreError(f"version must be 1..{MAX_KEY_VERSION}, got {version}")


def key_label(key_class: KeyClass, alg: Algorithm, version: int) -> str:
    """The name of a master key in files, token labels and messages: ``sscard:RKSSSE:3DES:v1``."""
    check_key_id(key_class, alg, version)
    return f"sscard:{key_class.value}:{alg.value}:v{version}"


class CardKey(abc.ABC):
    """One card's derived key, held by its store; operations only, no way to read the bytes.

    MACs and cryptograms are returned untruncated; the protocol layer truncates where it must.
    ``repr`` shows the key class, algorithm and key check value, nothing else.
    """

    @property
    @abc.abstractmethod
    def algorithm(self) -> Algorithm:
        """The block cipher of this key."""

    @property
    @abc.abstractmethod
    def key_class(self) -> KeyClass:
        """Which card key this is."""

    @abc.abstractmethod
    def encrypt_block(self, data: bytes) -> bytes:
        """ECB-encrypt block-aligned data."""

    @abc.abstractmethod
    def cryptogram(self, challenge8: bytes) -> bytes:
        """The 8-byte session cryptogram over a card challenge (external authentication)."""

    @abc.abstractmethod
    def internal_auth_response(self, process_factor8: bytes, challenge8: bytes) -> bytes:
        """The expected INTERNAL AUTHENTICATE answer; only an IRK key computes it."""

    @abc.abstractmethod
    def mac(self, data: bytes, *, iv: bytes | None = None) -> bytes:
        """The card MAC: 3DES retail MAC (ISO 9797-1 alg. 3, padding 2, 8 bytes) or SM4 CBC-MAC
        (16 bytes). ``iv`` is one block (8 or 16 bytes), zeros when None."""

    @abc.abstractmethod
    def encrypt(self, data: bytes, *, iv: bytes | None = None) -> bytes:
        """CBC-encrypt block-aligned data (zero IV when None)."""

    @abc.abstractmethod
    def wrap(self, other: CardKey) -> bytes:
        """ECB-encrypt ``other``'s key bytes under this key, for loading keys onto a card.

        Done inside the store: the caller gets the wrapped value and never ``other``'s bytes.
        """

    @abc.abstractmethod
    def check_value(self) -> bytes:
        """The 3-byte key check value of this card key."""

    def close(self) -> None:
        """Release what holds the key (token session objects); a no-op for in-process keys."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        kcv = self.check_value().hex().upper()
        return f"<{type(self).__name__} {self.key_class.value} {self.algorithm.value} kcv={kcv}>"

    def __reduce__(self) -> NoReturn:
        # Pickling would copy the key out of its holder; refuse it by construction.
        raise TypeError(f"{type(self).__name__} cannot be pickled or copied")

    def _require_irk(self) -> None:
        if self.key_class is not KeyClass.IRK:
            raise KeyStoreError(
                f"internal authentication uses the IRK, not {self.key_class.value} "
                "(one key, one purpose)"
            )


class KeyStore(abc.ABC):
    """Holds master keys and derives card keys from them without handing out key bytes."""

    @abc.abstractmethod
    def algorithms(self) -> set[Algorithm]:
        """The algorithms of the master keys this store can serve."""

    @abc.abstractmethod
    def has(self, key_class: KeyClass, alg: Algorithm, version: int = 1) -> bool:
        """Whether a master of this class, algorithm and version is available."""

    @abc.abstractmethod
    def check_value(self, key_class: KeyClass, alg: Algorithm, version: int = 1) -> bytes:
        """The 3-byte key check value of the master (to compare with a key ceremony's record)."""

    @abc.abstractmethod
    def card_key(
        self,
        key_class: KeyClass,
        alg: Algorithm,
        *,
        area_code: str,
        card_factor: bytes,
        version: int = 1,
    ) -> CardKey:
        """Derive one card's key: master -> city (area code) -> card (last 8 ATR bytes)."""

    def close(self) -> None:
        """Release the store's resources (a token session); the store is unusable afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be pickled or copied")
