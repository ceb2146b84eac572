"""X.509 v3 certificates with SM2 keys and SM2-with-SM3 signatures, built and read by asn1crypto.

What asn1crypto needs for SM2: the curve OID (``1.2.156.10197.1.301``) registered as a named curve
(:func:`_register_sm2_curve`, so key sizes resolve), and the signature algorithm written as its
dotted OID (``1.2.156.10197.1.501``, no parameters), which asn1crypto carries without a name.
Signatures use the default user id ``1234567812345678`` (GM/T 0015, as OpenSSL verifies them).

Time is always passed in (no global clock): :func:`verify_certificate` checks validity ``at`` the
instant it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import keys, x509

from sscard_issuer.crypto import (
    SM2_CURVE_OID,
    SM2_WITH_SM3_OID,
    CryptoError,
    InvalidSignature,
    Sm2PrivateKey,
    Sm2PublicKey,
    sm3,
)
from sscard_issuer.pki.errors import InvalidCertificate

__all__ = [
    "CertificateTemplate",
    "build_certificate",
    "build_name",
    "certificate_public_key",
    "key_identifier",
    "load_certificate",
    "verify_certificate",
    "verify_signature",
]

_SM2_CURVE_NAME = "sm2p256v1"
_UTC_TIME_LAST_YEAR = 2049  # RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime after


def _register_sm2_curve() -> None:
    if SM2_CURVE_OID not in keys.NamedCurve._map:
        keys.NamedCurve.register(_SM2_CURVE_NAME, SM2_CURVE_OID, 32)


_register_sm2_curve()


def key_identifier(public_key: Sm2PublicKey) -> bytes:
    """Subject key identifier: SM3 of the subjectPublicKey bits (04 || X || Y), first 20 bytes.

    RFC 5280 4.2.1.2 method 1 with SM3 in place of SHA-1, as Chinese CAs do.
    """
    return sm3(b"\x04" + public_key.xy)[:20]


def build_name(attributes: list[tuple[str, str]]) -> x509.Name:
    """A distinguished name in exactly the given order, one attribute per RDN.

    (``x509.Name.build`` reorders attributes; certificates here read C, L, CN, serialNumber.)
    Each attribute gets asn1crypto's string type for it: PrintableString for C and
    serialNumber, UTF8String otherwise.
    """
    rdns = [x509.Name.build({kind: value}).chosen[0] for kind, value in attributes]
    return x509.Name(name="", value=x509.RDNSequence(rdns))


def _time(value: datetime) -> x509.Time:
    if value.tzinfo is None:
        raise ValueError("certificate times must be timezone-aware")
    value = value.astimezone(UTC).replace(microsecond=0)
    if value.year <= _UTC_TIME_LAST_YEAR:
        return x509.Time(name="utc_time", value=value)
    return x509.Time(name="general_time", value=value)


@dataclass(frozen=True)
class CertificateTemplate:
    """What varies between the certificates the CA issues: everything but the issuer."""

    subject: x509.Name
    public_key: Sm2PublicKey
    serial_number: int
    not_before: datetime
    not_after: datetime
    key_usage: frozenset[str]
    is_ca: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.serial_number < 1 << 159:
            raise ValueError("serial_number must be a positive integer of at most 20 octets")
        if self.not_after <= self.not_before:
            raise ValueError("not_after must be later than not_before")


def build_certificate(
    template: CertificateTemplate,
    *,
    issuer: x509.Name,
    issuer_key: Sm2PrivateKey,
) -> bytes:
    """A DER X.509 v3 certificate for ``template``, signed SM2-with-SM3 by ``issuer_key``.

    Extensions: basicConstraints and keyUsage (both critical), subject and authority key ids.
    """
    extensions = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": template.is_ca}},
        {"extn_id": "key_usage", "critical": True, "extn_value": set(template.key_usage)},
        {"extn_id": "key_identifier", "critical": False,
         "extn_value": key_identifier(template.public_key)},
        {"extn_id": "authority_key_identifier", "critical": False,
         "extn_value": {"key_identifier": key_identifier(issuer_key.public_key())}},
    ]
    algorithm = {"algorithm": SM2_WITH_SM3_OID}
    tbs = x509.TbsCertificate({
        "version": "v3",
        "serial_number": template.serial_number,
        "signature": algorithm,
        "issuer": issuer,
        "validity": {"not_before": _time(template.not_before), "not_after": _time(template.not_after)},
        "subject": template.subject,
        "subject_public_key_info": keys.PublicKeyInfo.load(template.public_key.to_der()),
        "extensions": extensions,
    })
    signature = issuer_key.sign(tbs.dump())
    certificate = x509.Certificate({
        "tbs_certificate": tbs,
        "signature_algorithm": algorithm,
        "signature_value": signature,
    })
    return bytes(certificate.dump())


def load_certificate(der: bytes) -> x509.Certificate:
    """Parse a DER certificate strictly; :class:`InvalidCertificate` if it is not one."""
    if not isinstance(der, (bytes, bytearray)):
        raise InvalidCertificate(f"a certificate must be DER bytes, got {type(der).__name__}")
    try:
        certificate = x509.Certificate.load(bytes(der), strict=True)
        _ = certificate.native  # asn1crypto parses lazily: parse everything now
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidCertificate(f"not a DER X.509 certificate ({exc})") from None
    return certificate


def certificate_public_key(der: bytes | x509.Certificate) -> Sm2PublicKey:
    """The SM2 public key a certificate certifies; :class:`InvalidCertificate` if not SM2."""
    certificate = der if isinstance(der, x509.Certificate) else load_certificate(der)
    info = certificate["tbs_certificate"]["subject_public_key_info"]
    try:
        return Sm2PublicKey.from_der(info.dump())
    except CryptoError as exc:
        raise InvalidCertificate(f"the certificate's key is not an SM2 key: {exc}") from None


def verify_signature(certificate: x509.Certificate, issuer_certificate: x509.Certificate) -> None:
    """Check that ``issuer_certificate``'s key signed ``certificate`` (no time check)."""
    for where in (certificate["signature_algorithm"], certificate["tbs_certificate"]["signature"]):
        if where["algorithm"].dotted != SM2_WITH_SM3_OID:
            raise InvalidCertificate(
                f"signature algorithm {where['algorithm'].dotted} is not SM2-with-SM3 ({SM2_WITH_SM3_OID})"
            )
    if certificate.issuer != issuer_certificate.subject:
        raise InvalidCertificate("the certificate's issuer is not the given issuer's subject")
    if issuer_certificate.basic_constraints_value is None or not issuer_certificate.ca:
        raise InvalidCertificate("the issuer certificate is not a CA certificate")
    usage = issuer_certificate.key_usage_value
    if usage is not None and "key_cert_sign" not in usage.native:
        raise InvalidCertificate("the issuer certificate may not sign certificates (keyUsage)")
    if certificate["signature_value"].contents[:1] != b"\x00":
        raise InvalidCertificate("the certificate's signature bit string has unused bits")
    issuer_key = certificate_public_key(issuer_certificate)
    try:
        issuer_key.verify(certificate["signature_value"].native, certificate["tbs_certificate"].dump())
    except InvalidSignature:
        raise InvalidCertificate("the certificate's signature does not verify with the issuer's key") from None


def verify_certificate(der: bytes, issuer_der: bytes, *, at: datetime) -> x509.Certificate:
    """Check a certificate's issuer, SM2 signature and validity at ``at``; return it parsed.

    ``at`` must be timezone-aware. Raises :class:`InvalidCertificate` naming what failed.
    """
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise ValueError("at: expected a timezone-aware datetime")
    certificate = load_certificate(der)
    issuer = load_certificate(issuer_der)
    if certificate["tbs_certificate"]["version"].native != "v3":
        raise InvalidCertificate("the certificate is not X.509 v3")
    verify_signature(certificate, issuer)
    validity = certificate["tbs_certificate"]["validity"]
    not_before, not_after = validity["not_before"].native, validity["not_after"].native
    if not not_before <= at <= not_after:
        raise InvalidCertificate(
            f"the certificate is valid from {not_before.isoformat()} to {not_after.isoformat()}, "
            f"not at {at.isoformat()}"
        )
    return certificate
