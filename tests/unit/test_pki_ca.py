"""The test CA issues real X.509 SM2 certificates; asn1crypto and openssl read them back."""

from __future__ import annotations

import pickle
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import pem, x509

from sscard_issuer.card import CardIdentificationCode, SocialSecurityNumber
from sscard_issuer.crypto import Sm2PrivateKey
from sscard_issuer.errors import FieldError
from sscard_issuer.pki import (
    CertificateRequest,
    CertificateSubject,
    InvalidCertificate,
    IssuedCredentials,
    PkiError,
    TestCa,
    certificate_public_key,
    open_key_envelope,
    verify_certificate,
)
from sscard_issuer.pki.dev_ca import DEFAULT_DIRECTORY, WARNING

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
CARD_ID = CardIdentificationCode(bytes.fromhex("450100D1560000050123456789ABCDEF"))
SUBJECT = CertificateSubject("李秀英", SocialSecurityNumber("450103198506151231"), CARD_ID)
VALID_FROM, VALID_UNTIL = date(2026, 11, 29), date(2036, 11, 29)
INSIDE = datetime(2030, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca() -> TestCa:
    return TestCa.create(now=NOW)


@pytest.fixture(scope="module")
def card_key() -> Sm2PrivateKey:
    return Sm2PrivateKey.generate()


@pytest.fixture(scope="module")
def issued(ca: TestCa, card_key: Sm2PrivateKey) -> IssuedCredentials:
    return ca.issue(CertificateRequest(SUBJECT, card_key.public_key(), VALID_FROM, VALID_UNTIL))


def parsed(der: bytes) -> x509.Certificate:
    return x509.Certificate.load(der, strict=True)


def test_both_certificates_verify_against_the_root(ca: TestCa, issued: IssuedCredentials) -> None:
    for der in (issued.sign_certificate, issued.encryption_certificate):
        verify_certificate(der, ca.certificate, at=INSIDE)
    verify_certificate(ca.certificate, ca.certificate, at=INSIDE)


def test_the_signing_certificate_certifies_the_cards_key(
    issued: IssuedCredentials, card_key: Sm2PrivateKey
) -> None:
    assert certificate_public_key(issued.sign_certificate) == card_key.public_key()


def test_the_encryption_certificate_certifies_the_key_in_the_envelope(
    issued: IssuedCredentials, card_key: Sm2PrivateKey
) -> None:
    encryption_key = open_key_envelope(issued.encryption_key_envelope, card_key)
    assert certificate_public_key(issued.encryption_certificate) == encryption_key.public_key()
    assert encryption_key.public_key() != card_key.public_key()


def test_the_profile_as_asn1crypto_reads_it(ca: TestCa, issued: IssuedCredentials) -> None:
    sign, enc = parsed(issued.sign_certificate), parsed(issued.encryption_certificate)
    for cert in (sign, enc):
        tbs = cert["tbs_certificate"]
        assert tbs["version"].native == "v3"
        assert cert["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"
        assert tbs["signature"]["algorithm"].dotted == "1.2.156.10197.1.501"
        spki = tbs["subject_public_key_info"]["algorithm"]
        assert (spki["algorithm"].native, spki["parameters"].chosen.dotted) == ("ec", "1.2.156.10197.1.301")
        assert list(cert.subject.native.items()) == [
            ("country_name", "CN"), ("locality_name", "450100"), ("common_name", "李秀英"),
            ("serial_number", CARD_ID.hex),
        ]
        assert "450103198506151231" not in str(cert.native)  # the SSN stays out of a free-to-read file
        assert cert.issuer == parsed(ca.certificate).subject
        assert cert.ca is False
        assert cert.critical_extensions == {"basic_constraints", "key_usage"}
        assert cert.authority_key_identifier == parsed(ca.certificate).key_identifier
        validity = tbs["validity"]
        # the card's validity in China Standard Time (UTC+8)
        assert validity["not_before"].native == datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
        assert validity["not_after"].native == datetime(2036, 11, 29, 15, 59, 59, tzinfo=UTC)
    assert sign.key_usage_value.native == {"digital_signature"}
    assert enc.key_usage_value.native == {"key_encipherment", "data_encipherment"}
    assert sign.serial_number != enc.serial_number


def test_serial_numbers_are_unique(ca: TestCa, card_key: Sm2PrivateKey) -> None:
    serials = set()
    for _ in range(10):
        issued = ca.issue(CertificateRequest(SUBJECT, card_key.public_key(), VALID_FROM, VALID_UNTIL))
        serials |= {parsed(issued.sign_certificate).serial_number, parsed(issued.encryption_certificate).serial_number}
    assert len(serials) == 20
    assert all(0 < s < 1 << 127 for s in serials)


@pytest.mark.parametrize(
    "at",
    [datetime(2026, 11, 28, 15, 59, 59, tzinfo=UTC), datetime(2036, 11, 29, 16, 0, tzinfo=UTC)],
    ids=["before", "after"],
)
def test_outside_its_validity_a_certificate_is_refused(ca: TestCa, issued: IssuedCredentials, at: datetime) -> None:
    with pytest.raises(InvalidCertificate, match="valid from"):
        verify_certificate(issued.sign_certificate, ca.certificate, at=at)


def test_the_time_is_passed_in_and_must_be_aware(ca: TestCa, issued: IssuedCredentials) -> None:
    with pytest.raises(ValueError):
        verify_certificate(issued.sign_certificate, ca.certificate, at=datetime(2030, 1, 1))


def tampered(der: bytes, old: bytes, new: bytes) -> bytes:
    assert der.count(old) == 1
    return der.replace(old, new)


def test_a_tampered_certificate_is_refused(ca: TestCa, issued: IssuedCredentials) -> None:
    der = issued.sign_certificate
    name = "李秀英".encode()
    cases = {
        "subject": tampered(der, name, "李秀华".encode()),
        "card id": tampered(der, CARD_ID.hex.encode(), CARD_ID.hex.replace("0123", "0124").encode()),
        "signature": der[:-2] + bytes([der[-2] ^ 1]) + der[-1:],
    }
    for what, bad in cases.items():
        with pytest.raises(InvalidCertificate):
            verify_certificate(bad, ca.certificate, at=INSIDE)
            pytest.fail(f"a changed {what} was accepted")


@pytest.mark.parametrize("bit", [0x01, 0x40])
def test_every_flipped_byte_is_refused_or_unparseable(ca: TestCa, issued: IssuedCredentials, bit: int) -> None:
    der = issued.sign_certificate
    for i in range(len(der)):
        bad = bytearray(der)
        bad[i] ^= bit
        with pytest.raises(InvalidCertificate):
            verify_certificate(bytes(bad), ca.certificate, at=INSIDE)


def test_another_ca_or_a_non_ca_is_not_the_issuer(ca: TestCa, issued: IssuedCredentials) -> None:
    other = TestCa.create(now=NOW)  # same name, different key
    with pytest.raises(InvalidCertificate, match="signature"):
        verify_certificate(issued.sign_certificate, other.certificate, at=INSIDE)
    with pytest.raises(InvalidCertificate, match="issuer"):
        verify_certificate(issued.sign_certificate, issued.encryption_certificate, at=INSIDE)


def test_garbage_is_not_a_certificate(ca: TestCa) -> None:
    for bad in (b"", b"\x30\x00", b"not der", ca.certificate + b"\x00"):
        with pytest.raises(InvalidCertificate):
            verify_certificate(bad, ca.certificate, at=INSIDE)


def test_a_card_outliving_the_ca_is_refused(ca: TestCa, card_key: Sm2PrivateKey) -> None:
    request = CertificateRequest(SUBJECT, card_key.public_key(), VALID_FROM, date(2060, 1, 1))
    with pytest.raises(PkiError, match="after the test CA"):
        ca.issue(request)


def test_requests_check_their_fields(card_key: Sm2PrivateKey) -> None:
    with pytest.raises(FieldError, match="valid_until"):
        CertificateRequest(SUBJECT, card_key.public_key(), VALID_UNTIL, VALID_FROM)
    with pytest.raises(FieldError, match="valid_from"):
        CertificateRequest(SUBJECT, card_key.public_key(), datetime(2026, 1, 1), VALID_UNTIL)
    with pytest.raises(FieldError, match="sign_public_key"):
        CertificateRequest(SUBJECT, card_key, VALID_FROM, VALID_UNTIL)  # type: ignore[arg-type]
    with pytest.raises(FieldError, match="name"):
        CertificateSubject(" ", SUBJECT.ssn, CARD_ID)
    with pytest.raises(FieldError, match="ssn"):
        CertificateSubject("张三", "450103198506151231", CARD_ID)  # type: ignore[arg-type]
    assert str(SUBJECT.area_code) == "450100"


def test_issued_credentials_show_sizes_only(issued: IssuedCredentials) -> None:
    text = repr(issued)
    assert "bytes>" in text and issued.encryption_key_envelope.hex()[:16] not in text
    with pytest.raises(FieldError):
        IssuedCredentials(b"", b"x", b"y")


# -- openssl reads them ---------------------------------------------------------------------------


def openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, check=False)


def test_openssl_prints_the_certificate(tmp_path: Path, issued: IssuedCredentials) -> None:
    (tmp_path / "sign.der").write_bytes(issued.sign_certificate)
    done = openssl("x509", "-inform", "DER", "-in", tmp_path / "sign.der", "-noout", "-text")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    for expected in ("Version: 3 (0x2)", "Signature Algorithm: SM2-with-SM3", "ASN1 OID: SM2",
                     f"serialNumber = {CARD_ID.hex}", "L = 450100", "X509v3 Key Usage: critical",
                     "Digital Signature", "CA:FALSE", "Not After : Nov 29 15:59:59 2036 GMT"):
        assert expected in text, expected


def test_openssl_verifies_the_chain_with_the_gmt_0009_id(
    tmp_path: Path, ca: TestCa, issued: IssuedCredentials
) -> None:
    (tmp_path / "ca.pem").write_bytes(pem.armor("CERTIFICATE", ca.certificate))
    for name, der in (("sign", issued.sign_certificate), ("enc", issued.encryption_certificate)):
        (tmp_path / f"{name}.pem").write_bytes(pem.armor("CERTIFICATE", der))
        done = openssl("verify", "-attime", str(int(INSIDE.timestamp())),
                       "-vfyopt", "distid:1234567812345678",
                       "-CAfile", tmp_path / "ca.pem", tmp_path / f"{name}.pem")
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.strip().endswith(": OK")


# -- keeping the CA ------------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path: Path, ca: TestCa) -> None:
    ca.save(tmp_path / "ca")
    for name in ("ca-key.pem", "ca-cert.pem"):
        assert (tmp_path / "ca" / name).read_text("ascii").startswith(WARNING)
    assert (tmp_path / "ca" / "ca-key.pem").stat().st_mode & 0o077 == 0
    loaded = TestCa.load(tmp_path / "ca")
    assert loaded.certificate == ca.certificate
    request = CertificateRequest(SUBJECT, Sm2PrivateKey.generate().public_key(), VALID_FROM, VALID_UNTIL)
    verify_certificate(loaded.issue(request).sign_certificate, ca.certificate, at=INSIDE)
    # openssl reads the key file despite the warning line
    assert openssl("pkey", "-in", tmp_path / "ca" / "ca-key.pem", "-noout").returncode == 0


def test_load_or_create_creates_once(tmp_path: Path) -> None:
    first = TestCa.load_or_create(tmp_path / "ca", now=NOW)
    again = TestCa.load_or_create(tmp_path / "ca", now=NOW + timedelta(days=1))
    assert first.certificate == again.certificate


def test_a_key_file_without_the_warning_is_refused(tmp_path: Path, ca: TestCa) -> None:
    ca.save(tmp_path)
    key_file = tmp_path / "ca-key.pem"
    key_file.write_text(key_file.read_text("ascii").split("\n", 1)[1], encoding="ascii")
    with pytest.raises(PkiError, match="TEST ONLY"):
        TestCa.load(tmp_path)


def test_a_certificate_of_another_key_is_refused(tmp_path: Path, ca: TestCa) -> None:
    ca.save(tmp_path / "a")
    TestCa.create(now=NOW).save(tmp_path / "b")
    (tmp_path / "a" / "ca-cert.pem").write_bytes((tmp_path / "b" / "ca-cert.pem").read_bytes())
    with pytest.raises(PkiError, match="does not belong"):
        TestCa.load(tmp_path / "a")


def test_the_repository_test_ca(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSCARD_TEST_CA", raising=False)
    ca = TestCa.default()
    assert "TEST ONLY" in repr(ca)
    root = parsed(ca.certificate)
    assert "TEST ONLY" in root.subject.native["common_name"]
    verify_certificate(ca.certificate, ca.certificate, at=INSIDE)
    assert (DEFAULT_DIRECTORY / "README.md").read_text("utf-8").count("TEST ONLY") >= 1
    with pytest.raises(TypeError):
        pickle.dumps(ca)
