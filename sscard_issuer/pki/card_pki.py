"""Personalising the card's PKI application, terminal side.

:func:`personalise_pki` runs the whole exchange, in order:

1. SELECT the PKI application and its ADF (the FCI says whether personalisation is still open);
2. GET CHALLENGE, EXTERNAL AUTHENTICATE with the transport key TK (a cryptogram from the key
   store: key bytes never come here);
3. GENERATE SM2 KEY PAIR; READ BINARY EF 0012 gives the public key;
4. the CA certifies it and returns the encryption certificate and key envelope; both
   certificates and the envelope are checked against the request before anything is written;
5. UPDATE BINARY EF 0018 and EF 0019 in 255-byte chunks; IMPORT ENCRYPTION KEY.

Every step may be cut by a power loss. The card's GENERATE clears the certificate files and any
encryption key, so rerunning :func:`personalise_pki` from the start always converges, until
:func:`activate_pki` ends personalisation (idempotent, so a journal can simply repeat it). A
certificate a cut run obtained and never wrote is orphaned: a production CA should revoke it.
The commands themselves are in :mod:`.commands`.
"""

from __future__ import annotations

import os
from datetime import date

from sscard_issuer.apdu import (
    CardError,
    CommandApdu,
    TlvError,
    find_path,
    get_challenge,
    select_by_fid,
    select_by_name,
)
from sscard_issuer.card import ssc
from sscard_issuer.crypto import Algorithm, CryptoError, InvalidSignature, Sm2PublicKey
from sscard_issuer.keys import KeyClass, KeyStore
from sscard_issuer.pki import commands
from sscard_issuer.pki.ca import (
    CertificateAuthority,
    CertificateRequest,
    CertificateSubject,
    IssuedCredentials,
)
from sscard_issuer.pki.envelope import envelope_public_key
from sscard_issuer.pki.errors import (
    CardKeyMismatch,
    CertificateMissing,
    InvalidCertificate,
    PkiAlreadyActive,
    PkiError,
)
from sscard_issuer.pki.x509 import certificate_public_key, load_certificate, verify_signature
from sscard_issuer.transport.base import Transport

__all__ = ["activate_pki", "check_card_key", "personalise_pki", "read_certificates"]

FID_SIGN_PUBLIC_KEY = b"\x00\x12"
FID_SIGN_CERTIFICATE = b"\x00\x18"
FID_ENCRYPTION_CERTIFICATE = b"\x00\x19"
_READ_CHUNK = 256


def _select(transport: Transport) -> int:
    """Select the PKI application and its ADF; return the ADF's life cycle status byte."""
    transport.send_checked(select_by_name(ssc.PKI_AID, le=256))
    fci = transport.send_checked(select_by_name(ssc.PKI_ADF_AID, le=256)).data
    try:
        lcs = find_path(fci, 0x6F, commands.TAG_LIFE_CYCLE) if fci else None
    except TlvError as exc:
        raise PkiError(f"the PKI application's FCI is malformed: {exc}") from None
    if lcs is None or len(lcs.value) != 1:
        raise PkiError("the PKI application's FCI has no life cycle status (tag 8A)")
    return lcs.value[0]


def _authenticate(
    transport: Transport, keys: KeyStore, *, area_code: str, card_factor: bytes, algorithm: Algorithm
) -> None:
    challenge = transport.send_checked(get_challenge(commands.CHALLENGE_LENGTH)).data
    with keys.card_key(KeyClass.TK, algorithm, area_code=area_code, card_factor=card_factor) as tk:
        cryptogram = tk.cryptogram(challenge[:8])
    transport.send_checked(commands.external_authenticate(cryptogram, os.urandom(8)))


def _read_binary(transport: Transport, fid: bytes, length: int | None = None) -> bytes:
    """Read an EF: ``length`` bytes, or one whole DER object when ``length`` is None."""
    transport.send_checked(select_by_fid(fid))
    data = b""
    while length is None or len(data) < length:
        want = _READ_CHUNK if length is None else min(_READ_CHUNK, length - len(data))
        offset = len(data)
        chunk = transport.send_checked(CommandApdu(0x00, 0xB0, offset >> 8, offset & 0xFF, le=want)).data
        if not chunk:
            break
        data += chunk
        if length is None:
            length = _der_length(data)
    if length is None:
        return b""
    if len(data) < length:
        raise PkiError(f"EF {fid.hex().upper()} holds {len(data)} bytes of {length}: it is incomplete")
    return data[:length]


def _der_length(head: bytes) -> int | None:
    """The total length of the DER object ``head`` starts (None for an empty file)."""
    if not head:
        return None
    if len(head) < 2 or head[0] != 0x30:
        raise PkiError("a certificate file does not hold a DER SEQUENCE")
    first = head[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if not 1 <= count <= 2 or len(head) < 2 + count:
        raise PkiError("a certificate file's DER length is not one the card can hold")
    return 2 + count + int.from_bytes(head[2 : 2 + count], "big")


def _write_binary(transport: Transport, fid: bytes, content: bytes) -> None:
    transport.send_checked(select_by_fid(fid))
    for offset in range(0, len(content), commands.MAX_CHUNK):
        transport.send_checked(commands.update_binary(offset, content[offset : offset + commands.MAX_CHUNK]))


def _check_credentials(
    credentials: IssuedCredentials, request: CertificateRequest, ca_certificate: bytes
) -> None:
    """Refuse CA output that does not fit the request, before any of it reaches the card."""
    if not isinstance(credentials, IssuedCredentials):
        raise PkiError(f"the CA returned a {type(credentials).__name__}, not IssuedCredentials")
    issuer = load_certificate(ca_certificate)
    sign = load_certificate(credentials.sign_certificate)
    encryption = load_certificate(credentials.encryption_certificate)
    for what, certificate in (("signing", sign), ("encryption", encryption)):
        try:
            verify_signature(certificate, issuer)
        except InvalidCertificate as exc:
            raise InvalidCertificate(f"the CA's {what} certificate: {exc}") from None
        serial = certificate.subject.native.get("serial_number")
        if serial != request.subject.card_id.hex:
            raise InvalidCertificate(f"the CA's {what} certificate names card {serial}, not this card")
    if certificate_public_key(sign) != request.sign_public_key:
        raise InvalidCertificate("the CA's signing certificate does not certify the card's key")
    if certificate_public_key(encryption) != envelope_public_key(credentials.encryption_key_envelope):
        raise InvalidCertificate("the CA's encryption certificate and key envelope hold different keys")


def personalise_pki(
    transport: Transport,
    keys: KeyStore,
    ca: CertificateAuthority,
    subject: CertificateSubject,
    *,
    valid_from: date,
    valid_until: date,
    area_code: str,
    card_factor: bytes,
    algorithm: Algorithm,
) -> IssuedCredentials:
    """Personalise the card's PKI application (see the module doc); return what the CA issued.

    ``area_code`` and ``card_factor`` derive TK (the card's area and the last 8 ATR bytes);
    the area must be the card identification code's. Raises :class:`PkiAlreadyActive` on a card
    whose PKI application was activated, the typed ``CardError`` on a refusal, and
    :class:`PkiError` subclasses on bad CA output (nothing is written then).
    """
    if area_code != str(subject.area_code):
        raise PkiError(f"area_code {area_code} is not the card's issuing area {subject.area_code}")
    if _select(transport) == commands.LCS_ACTIVE:
        raise PkiAlreadyActive("the card's PKI application is already personalised and active")
    _authenticate(transport, keys, area_code=area_code, card_factor=card_factor, algorithm=algorithm)
    transport.send_checked(commands.generate_key_pair())
    xy = _read_binary(transport, FID_SIGN_PUBLIC_KEY, 64)
    try:
        public_key = Sm2PublicKey.from_xy(xy)
    except CryptoError as exc:
        raise PkiError(f"the card's signing public key (EF 0012) is not valid: {exc}") from None
    request = CertificateRequest(subject, public_key, valid_from, valid_until)
    credentials = ca.issue(request)
    _check_credentials(credentials, request, ca.certificate)
    _write_binary(transport, FID_SIGN_CERTIFICATE, credentials.sign_certificate)
    _write_binary(transport, FID_ENCRYPTION_CERTIFICATE, credentials.encryption_certificate)
    for command in commands.import_encryption_key(credentials.encryption_key_envelope):
        transport.send_checked(command)
    return credentials


def activate_pki(
    transport: Transport, keys: KeyStore, *, area_code: str, card_factor: bytes, algorithm: Algorithm,
    in_session: bool = False,
) -> None:
    """End the PKI application's personalisation (TK retired); nothing to do if already active.

    ``in_session=True`` right after :func:`personalise_pki` (and :func:`check_card_key`), whose
    TK authentication still holds: no new selection and authentication then.
    """
    if not in_session:
        if _select(transport) == commands.LCS_ACTIVE:
            return
        _authenticate(transport, keys, area_code=area_code, card_factor=card_factor, algorithm=algorithm)
    transport.send_checked(commands.activate())


def read_certificates(transport: Transport) -> tuple[bytes, bytes]:
    """The signing and encryption certificates (DER) as the card holds them (free to read)."""
    _select(transport)
    found = []
    for what, fid in (("signing", FID_SIGN_CERTIFICATE), ("encryption", FID_ENCRYPTION_CERTIFICATE)):
        der = _read_binary(transport, fid)
        if not der:
            raise CertificateMissing(f"the card holds no {what} certificate")
        found.append(der)
    return found[0], found[1]


def check_card_key(transport: Transport, sign_certificate: bytes, *, select: bool = True) -> None:
    """Make the card sign a fresh challenge; raise :class:`CardKeyMismatch` unless the
    certificate's key verifies it (the certified key is then the card's own).

    ``select=False`` when the PKI application is already the card's current one.
    """
    public_key = certificate_public_key(sign_certificate)
    if select:
        _select(transport)
    challenge = os.urandom(32)
    try:
        signature = transport.send_checked(commands.sign_challenge(challenge)).data
    except CardError as exc:
        raise CardKeyMismatch(f"the card would not sign a challenge: {exc}") from exc
    try:
        public_key.verify(signature, commands.CARD_AUTH_CONTEXT + challenge)
    except InvalidSignature:
        raise CardKeyMismatch("the card's signature does not verify with the certificate's key") from None
