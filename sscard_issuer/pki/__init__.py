"""The card's PKI application: certificates, the CA interface and personalisation.

A service beside ``perso``: the CA interface (:class:`CertificateAuthority`, requests and what it
issues), the development CA (:class:`TestCa`, TEST ONLY), SM2 X.509 certificates built and checked
with asn1crypto, the key envelope carrying the CA-generated encryption key pair to the card, and
the terminal side of the PKI application's personalisation. SM2 itself is a primitive in
:mod:`sscard_issuer.crypto`; the card's commands are listed in :mod:`.commands`.
"""

from sscard_issuer.pki.ca import (
    CertificateAuthority,
    CertificateRequest,
    CertificateSubject,
    IssuedCredentials,
)
from sscard_issuer.pki.card_pki import activate_pki, check_card_key, personalise_pki, read_certificates
from sscard_issuer.pki.dev_ca import TestCa
from sscard_issuer.pki.envelope import envelope_public_key, open_key_envelope, seal_key_envelope
from sscard_issuer.pki.errors import (
    CardKeyMismatch,
    CertificateMissing,
    EnvelopeError,
    InvalidCertificate,
    PkiAlreadyActive,
    PkiError,
)
from sscard_issuer.pki.x509 import certificate_public_key, load_certificate, verify_certificate

__all__ = [
    "CardKeyMismatch",
    "CertificateAuthority",
    "CertificateMissing",
    "CertificateRequest",
    "CertificateSubject",
    "EnvelopeError",
    "InvalidCertificate",
    "IssuedCredentials",
    "PkiAlreadyActive",
    "PkiError",
    "TestCa",
    "activate_pki",
    "certificate_public_key",
    "check_card_key",
    "envelope_public_key",
    "load_certificate",
    "open_key_envelope",
    "personalise_pki",
    "read_certificates",
    "seal_key_envelope",
    "verify_certificate",
]
