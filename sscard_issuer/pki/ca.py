"""The certificate authority interface: what personalisation asks a CA, and what it gets back.

card.md section 4: the card generates its SM2 signing key pair, the terminal sends the public key
to the CA, and the CA returns a signing certificate and an encryption certificate whose key pair
it generated, wrapped for the card (:mod:`.envelope`). :class:`CertificateAuthority` is that
exchange; a production CA (a remote service, an HSM-backed one) plugs in behind it, and
:class:`~sscard_issuer.pki.dev_ca.TestCa` is the development one.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import date, datetime

from sscard_issuer.card import AreaCode, CardIdentificationCode, SocialSecurityNumber
from sscard_issuer.crypto import Sm2PublicKey
from sscard_issuer.errors import FieldError

__all__ = ["CertificateAuthority", "CertificateRequest", "CertificateSubject", "IssuedCredentials"]

MAX_COMMON_NAME = 64  # X.520 ub-common-name


@dataclass(frozen=True)
class CertificateSubject:
    """Who the card's certificates name: the holder and the card.

    The issuing area code is the card identification code's first three bytes (card.md section 2),
    so it is read from there rather than given twice.
    """

    name: str
    ssn: SocialSecurityNumber
    card_id: CardIdentificationCode

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or len(self.name) > MAX_COMMON_NAME:
            raise FieldError("name", f"the holder's name, 1..{MAX_COMMON_NAME} characters", self.name)
        if not isinstance(self.ssn, SocialSecurityNumber):
            raise FieldError("ssn", "a SocialSecurityNumber", type(self.ssn).__name__)
        if not isinstance(self.card_id, CardIdentificationCode):
            raise FieldError("card_id", "a CardIdentificationCode", type(self.card_id).__name__)

    @property
    def area_code(self) -> AreaCode:
        return self.card_id.area_code


@dataclass(frozen=True)
class CertificateRequest:
    """A request for one card's certificates: the subject, its signing key, the card's validity."""

    subject: CertificateSubject
    sign_public_key: Sm2PublicKey
    valid_from: date
    valid_until: date

    def __post_init__(self) -> None:
        if not isinstance(self.subject, CertificateSubject):
            raise FieldError("subject", "a CertificateSubject", type(self.subject).__name__)
        if not isinstance(self.sign_public_key, Sm2PublicKey):
            raise FieldError("sign_public_key", "an Sm2PublicKey", type(self.sign_public_key).__name__)
        for field in ("valid_from", "valid_until"):
            value = getattr(self, field)
            if not isinstance(value, date) or isinstance(value, datetime):
                raise FieldError(field, "a date", value)
        if self.valid_until <= self.valid_from:
            raise FieldError("valid_until", f"a date after valid_from ({self.valid_from})", self.valid_until)


@dataclass(frozen=True, repr=False)
class IssuedCredentials:
    """What the CA returns: two DER certificates and the envelope holding the encryption key pair."""

    sign_certificate: bytes
    encryption_certificate: bytes
    encryption_key_envelope: bytes

    def __post_init__(self) -> None:
        for field in ("sign_certificate", "encryption_certificate", "encryption_key_envelope"):
            value = getattr(self, field)
            if not isinstance(value, bytes) or not value:
                raise FieldError(field, "non-empty bytes", type(value).__name__)

    def __repr__(self) -> str:
        return (
            f"IssuedCredentials(sign_certificate=<{len(self.sign_certificate)} bytes>, "
            f"encryption_certificate=<{len(self.encryption_certificate)} bytes>, "
            f"encryption_key_envelope=<{len(self.encryption_key_envelope)} bytes>)"
        )


class CertificateAuthority(abc.ABC):
    """Issues a card's signing and encryption certificates."""

    @property
    @abc.abstractmethod
    def certificate(self) -> bytes:
        """The DER certificate of the CA that signs the cards' certificates."""

    @abc.abstractmethod
    def issue(self, request: CertificateRequest) -> IssuedCredentials:
        """Certify the request's signing key; generate, certify and wrap an encryption key pair.

        The envelope must open with the private key of ``request.sign_public_key`` (the card).
        Raises :class:`~sscard_issuer.pki.errors.PkiError` when the CA refuses.
        """
