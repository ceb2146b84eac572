"""The development CA (TEST ONLY): a self-signed SM2 root that issues real X.509 SM2 certificates.

For development, tests and the simulator. Its key is either created in memory, or kept as two PEM
files in a directory (``ca-key.pem``, PKCS#8 unencrypted, and ``ca-cert.pem``), each starting with
a TEST ONLY line; loading refuses a key file without it, so a real CA's key cannot be pointed at
this class by mistake. The repository's copy is ``keys/dev/test-ca/``: published, certifies
nothing.

Certificates it issues (the profile is ours, inferred: the national CA profile is not public):

- subject ``C=CN, L=<issuing area code>, CN=<holder name>, serialNumber=<card id, 32 hex digits>``;
  the social security number is *not* put in the certificate (the certificate files on the card
  are free to read, while EF06 needs RKSSSE);
- validity: the card's, from ``valid_from`` 00:00:00 to ``valid_until`` 23:59:59 China Standard
  Time (UTC+8);
- signing certificate keyUsage digitalSignature; encryption certificate keyEncipherment and
  dataEncipherment; serial numbers 127 random bits (unique without a counter to keep);
- the encryption key pair is generated here, wrapped for the card (:mod:`.envelope`) and then
  forgotten (a production CA escrows it in its key management centre).
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import NoReturn

from asn1crypto import keys, pem

from sscard_issuer.crypto import SM2_CURVE_OID, CryptoError, Sm2PrivateKey, Sm2PublicKey
from sscard_issuer.pki.ca import CertificateAuthority, CertificateRequest, IssuedCredentials
from sscard_issuer.pki.envelope import seal_key_envelope
from sscard_issuer.pki.errors import InvalidCertificate, PkiError
from sscard_issuer.pki.x509 import (
    CertificateTemplate,
    build_certificate,
    build_name,
    certificate_public_key,
    load_certificate,
    verify_signature,
)

__all__ = ["DEFAULT_DIRECTORY", "TEST_CA_ENV", "WARNING", "TestCa"]

TEST_CA_ENV = "SSCARD_TEST_CA"
DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "keys" / "dev" / "test-ca"
WARNING = "TEST ONLY: sscard-issuer development CA. This key is published; it certifies nothing."
KEY_FILE = "ca-key.pem"
CERT_FILE = "ca-cert.pem"
DEFAULT_NAME = "sscard-issuer TEST CA (TEST ONLY)"
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")
SIGN_USAGE = frozenset({"digital_signature"})
ENCRYPTION_USAGE = frozenset({"key_encipherment", "data_encipherment"})
CA_USAGE = frozenset({"key_cert_sign", "crl_sign"})


def _serial() -> int:
    return secrets.randbits(127) | 1  # positive, nonzero, at most 16 octets


def _pem(kind: str, der: bytes) -> bytes:
    return f"{WARNING}\n".encode("ascii") + bytes(pem.armor(kind, der))


def _pkcs8(key: Sm2PrivateKey) -> bytes:
    curve = keys.ECDomainParameters(name="named", value=SM2_CURVE_OID)
    return bytes(keys.PrivateKeyInfo({
        "version": 0,
        "private_key_algorithm": {"algorithm": "ec", "parameters": curve},
        "private_key": keys.ECPrivateKey({
            "version": "ecPrivkeyVer1",
            "private_key": int.from_bytes(key.private_bytes_raw(), "big"),
            "public_key": b"\x04" + key.public_key().xy,
        }),
    }).dump())


def _key_from_pkcs8(der: bytes) -> Sm2PrivateKey:
    try:
        info = keys.PrivateKeyInfo.load(der, strict=True)
        curve = info["private_key_algorithm"]["parameters"].chosen.dotted
        scalar = info["private_key"].parsed["private_key"].native
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise PkiError(f"the test CA key is not a PKCS#8 EC key ({exc})") from None
    if curve != SM2_CURVE_OID:
        raise PkiError(f"the test CA key is on curve {curve}, not SM2 ({SM2_CURVE_OID})")
    try:
        return Sm2PrivateKey.from_raw(int(scalar).to_bytes(32, "big"))
    except (CryptoError, OverflowError) as exc:
        raise PkiError(f"the test CA key is not a valid SM2 key: {exc}") from None


def _unarmor(path: Path, kind: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PkiError(f"cannot read {path}: {exc.strerror}") from None
    if not data.startswith(WARNING.split(":")[0].encode("ascii")):
        raise PkiError(f"{path} is not marked {WARNING.split(':')[0]!r}: refusing to use it as the test CA")
    try:
        found, _, der = pem.unarmor(data)
    except ValueError as exc:
        raise PkiError(f"{path} is not PEM: {exc}") from None
    if found != kind:
        raise PkiError(f"{path} holds a {found}, expected a {kind}")
    return bytes(der)


class TestCa(CertificateAuthority):
    """A self-signed SM2 root CA. TEST ONLY."""

    __test__ = False  # a class named Test* that pytest must not collect

    def __init__(self, key: Sm2PrivateKey, certificate: bytes) -> None:
        parsed = load_certificate(certificate)
        if certificate_public_key(parsed) != key.public_key():
            raise PkiError("the test CA certificate does not belong to its key")
        verify_signature(parsed, parsed)  # self-signed, a CA, SM2-with-SM3
        self._key = key
        self._certificate = bytes(certificate)
        self._parsed = parsed

    # -- making and keeping one ------------------------------------------------------------------

    @classmethod
    def create(cls, *, now: datetime, years: int = 30, name: str = DEFAULT_NAME) -> TestCa:
        """A new root in memory, valid from a day before ``now`` (clock skew) for ``years``."""
        if now.tzinfo is None:
            raise ValueError("now: expected a timezone-aware datetime")
        key = Sm2PrivateKey.generate()
        subject = build_name([("country_name", "CN"), ("organization_name", "sscard-issuer"),
                              ("common_name", name)])
        not_before = now.astimezone(UTC).replace(microsecond=0) - timedelta(days=1)
        template = CertificateTemplate(
            subject=subject, public_key=key.public_key(), serial_number=_serial(),
            not_before=not_before, not_after=_years_later(not_before, years),
            key_usage=CA_USAGE, is_ca=True,
        )
        return cls(key, build_certificate(template, issuer=subject, issuer_key=key))

    def save(self, directory: Path) -> None:
        """Write ``ca-key.pem`` (mode 0600) and ``ca-cert.pem``, each marked TEST ONLY."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        key_path = directory / KEY_FILE
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(_pem("PRIVATE KEY", _pkcs8(self._key)))
        (directory / CERT_FILE).write_bytes(_pem("CERTIFICATE", self._certificate))

    @classmethod
    def load(cls, directory: Path) -> TestCa:
        directory = Path(directory)
        key = _key_from_pkcs8(_unarmor(directory / KEY_FILE, "PRIVATE KEY"))
        try:
            return cls(key, _unarmor(directory / CERT_FILE, "CERTIFICATE"))
        except InvalidCertificate as exc:
            raise PkiError(f"{directory / CERT_FILE}: {exc}") from None

    @classmethod
    def load_or_create(cls, directory: Path, *, now: datetime) -> TestCa:
        """The CA kept in ``directory``, created there on first use."""
        if (Path(directory) / KEY_FILE).exists():
            return cls.load(directory)
        ca = cls.create(now=now)
        ca.save(directory)
        return ca

    @classmethod
    def default(cls) -> TestCa:
        """The repository's test CA (``keys/dev/test-ca``), or the one ``$SSCARD_TEST_CA`` names."""
        override = os.environ.get(TEST_CA_ENV)
        return cls.load(Path(override) if override else DEFAULT_DIRECTORY)

    # -- the CA --------------------------------------------------------------------------------

    @property
    def certificate(self) -> bytes:
        return self._certificate

    def issue(self, request: CertificateRequest) -> IssuedCredentials:
        if not isinstance(request, CertificateRequest):
            raise TypeError(f"request must be a CertificateRequest, got {type(request).__name__}")
        not_before, not_after = _card_validity(request.valid_from, request.valid_until)
        validity = self._parsed["tbs_certificate"]["validity"]
        if not_after > validity["not_after"].native:
            raise PkiError(
                f"the card is valid until {request.valid_until}, after the test CA itself "
                f"({validity['not_after'].native:%Y-%m-%d})"
            )
        subject = build_name([
            ("country_name", "CN"),
            ("locality_name", str(request.subject.area_code)),
            ("common_name", request.subject.name),
            ("serial_number", request.subject.card_id.hex),
        ])
        issuer = self._parsed.subject
        encryption_key = Sm2PrivateKey.generate()

        def certificate(public_key: Sm2PublicKey, usage: frozenset[str]) -> bytes:
            template = CertificateTemplate(
                subject=subject, public_key=public_key,
                serial_number=_serial(), not_before=not_before, not_after=not_after, key_usage=usage,
            )
            return build_certificate(template, issuer=issuer, issuer_key=self._key)

        return IssuedCredentials(
            sign_certificate=certificate(request.sign_public_key, SIGN_USAGE),
            encryption_certificate=certificate(encryption_key.public_key(), ENCRYPTION_USAGE),
            encryption_key_envelope=seal_key_envelope(request.sign_public_key, encryption_key),
        )

    def __repr__(self) -> str:
        return f"<TestCa TEST ONLY {self._parsed.subject.human_friendly}>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("TestCa cannot be pickled or copied")


def _years_later(start: datetime, years: int) -> datetime:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def _card_validity(valid_from: date, valid_until: date) -> tuple[datetime, datetime]:
    start = datetime.combine(valid_from, time(0, 0, 0), CHINA_STANDARD_TIME)
    end = datetime.combine(valid_until, time(23, 59, 59), CHINA_STANDARD_TIME)
    return start.astimezone(UTC), end.astimezone(UTC)
