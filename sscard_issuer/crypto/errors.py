"""Typed errors of the cryptographic primitives.

Messages name the parameter and what was expected (a length, an alignment), never a key's bytes:
an error can end up in a log, and a log is not a place for secrets.
"""

from sscard_issuer.errors import SscardError


class CryptoError(SscardError, ValueError):
    """A primitive was given input it cannot accept (a key of the wrong length, unaligned data)."""


class UnsupportedAlgorithm(CryptoError):
    """The algorithm exists but this toolkit (or this key holder) does not implement it."""


class InvalidMac(CryptoError):
    """A MAC did not verify; the message says nothing about either value."""
