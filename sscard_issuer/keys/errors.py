"""Typed errors of the key store. Messages name keys by class, algorithm and version, never
by their bytes."""

from sscard_issuer.errors import SscardError


class KeyStoreError(SscardError):
    """The key store cannot do what was asked: a bad key set, a token failure, a refused export."""


class KeyNotFound(KeyStoreError):
    """No master key of the requested class, algorithm and version is held by this store."""
