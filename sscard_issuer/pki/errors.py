"""Typed errors of the PKI application's issuance: certificates, envelopes, the card's key."""

from sscard_issuer.errors import SscardError


class PkiError(SscardError):
    """Something about certificates or the card's PKI application went wrong; the message says what."""


class InvalidCertificate(PkiError):
    """A certificate is malformed, not signed by its issuer, not an SM2 one, or not valid then."""


class EnvelopeError(PkiError):
    """A key envelope is malformed or does not open with the card's key."""


class CardKeyMismatch(PkiError):
    """The card did not prove possession of the key its certificate names."""


class CertificateMissing(PkiError):
    """A certificate file on the card is empty."""


class PkiAlreadyActive(PkiError):
    """The card's PKI application finished personalisation; it cannot be personalised again."""
