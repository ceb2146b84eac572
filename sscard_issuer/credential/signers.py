"""JWS signers: ES256 in-process or in a PKCS#11 token, and this project's SM2.

Each signer's ``kid`` is the RFC 7638 thumbprint of its public JWK, so a kid names one key and
anyone can recompute it. Signatures are JOSE's r || s (64 bytes), never DER.

``SM2`` is this project's own algorithm name (JOSE registers none for SM2): SM2 signature
(GB/T 32918.2) over SM3(Z_A || signing input), Z_A from the default user id
``1234567812345678`` (GM/T 0009), r || s; JWK ``{"kty":"EC","crv":"SM2","x","y"}``.

In production the ES256 key lives in an HSM (:class:`Pkcs11Es256Signer`); :class:`Es256Signer`
with PEM files is for development and tests.
"""

from __future__ import annotations

import hashlib
import threading
from types import TracebackType
from typing import Any, Self

import pkcs11
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from sscard_issuer.credential.jose import JoseError, b64u_encode
from sscard_issuer.credential.keyset import thumbprint
from sscard_issuer.crypto import Sm2PrivateKey
from sscard_issuer.keys import KeyStoreError, find_token, open_session

__all__ = ["Es256Signer", "Pkcs11Es256Signer", "Sm2Signer"]

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_COORDINATE = 32


def _r_s(der: bytes) -> bytes:
    """JOSE's r || s from the DER ECDSA-Sig-Value a 256-bit curve signer gives."""
    # On the signing hot path, so the shape OpenSSL always gives is read directly (30 L 02 rl r
    # 02 sl s, short-form lengths, r and s at most 33 bytes): slices, not integers.
    r_end = 4 + der[3]
    if der[1] + 2 == len(der) and r_end + 2 + der[r_end + 1] == len(der) and der[3] <= 33 >= der[r_end + 1]:
        return der[4:r_end][-_COORDINATE:].rjust(_COORDINATE, b"\0") + der[r_end + 2 :][-_COORDINATE:].rjust(
            _COORDINATE, b"\0"
        )
    r, s = decode_dss_signature(der)
    return r.to_bytes(_COORDINATE, "big") + s.to_bytes(_COORDINATE, "big")


def _p256_jwk(public: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = public.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64u_encode(numbers.x.to_bytes(_COORDINATE, "big")),
        "y": b64u_encode(numbers.y.to_bytes(_COORDINATE, "big")),
    }


class Es256Signer:
    """ES256 (ECDSA P-256, SHA-256) with a key held in this process."""

    alg = "ES256"

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
            private_key.curve, ec.SECP256R1
        ):
            raise JoseError("bad_key", "ES256 needs an EC private key on P-256")
        self._key = private_key
        self._jwk = _p256_jwk(private_key.public_key())
        self.kid = thumbprint(self._jwk)

    @classmethod
    def generate(cls) -> Self:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem(cls, data: bytes, *, password: bytes | None = None) -> Self:
        """A signer from a PEM private key (PKCS#8 or SEC 1): development key files only."""
        try:
            key = serialization.load_pem_private_key(data, password=password)
        except (ValueError, TypeError):
            raise JoseError("bad_key", "not a PEM private key (or the wrong password)") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise JoseError("bad_key", "the PEM key is not an EC key")
        return cls(key)

    def to_pem(self, *, password: bytes | None = None) -> bytes:
        """PKCS#8 PEM, encrypted when ``password`` is given: development key files only."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
        )
        return self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)

    def sign(self, signing_input: bytes) -> bytes:
        return _r_s(self._key.sign(signing_input, _ECDSA_SHA256))

    def public_jwk(self) -> dict[str, str]:
        return dict(self._jwk)

    def __repr__(self) -> str:
        return f"<Es256Signer kid={self.kid}>"


class Sm2Signer:
    """This project's ``SM2`` JWS algorithm (see the module docstring), in-process through OpenSSL."""

    alg = "SM2"

    def __init__(self, private_key: Sm2PrivateKey) -> None:
        if not isinstance(private_key, Sm2PrivateKey):
            raise JoseError("bad_key", "the SM2 signer needs an Sm2PrivateKey")
        self._key = private_key
        xy = private_key.public_key().xy
        self._jwk = {
            "kty": "EC",
            "crv": "SM2",
            "x": b64u_encode(xy[:_COORDINATE]),
            "y": b64u_encode(xy[_COORDINATE:]),
        }
        self.kid = thumbprint(self._jwk)

    @classmethod
    def generate(cls) -> Self:
        return cls(Sm2PrivateKey.generate())

    def sign(self, signing_input: bytes) -> bytes:
        return _r_s(self._key.sign(signing_input))  # SM3, default user id

    def public_jwk(self) -> dict[str, str]:
        return dict(self._jwk)

    def __repr__(self) -> str:
        return f"<Sm2Signer kid={self.kid}>"


# -- PKCS#11 -----------------------------------------------------------------------------------


class Pkcs11Es256Signer:
    """ES256 with the private key in a PKCS#11 token; the key never leaves it.

    SoftHSM2 refuses ``CKM_ECDSA_SHA256``, so SHA-256 is computed here and the digest is signed
    with raw ``CKM_ECDSA``, whose output is already r || s. The private and public key objects
    share ``key_label``. One signer per process (open it after any fork); signing is serialised
    on the one session.
    """

    alg = "ES256"

    def __init__(self, module_path: str, token_label: str, user_pin: str, key_label: str) -> None:
        self._label = key_label
        self._lock = threading.Lock()
        session = open_session(find_token(module_path, token_label), token_label, user_pin, rw=False)
        try:
            self._private = self._find(session, ObjectClass.PRIVATE_KEY, token_label)
            self._jwk = self._read_public(session, token_label)
        except BaseException:
            session.close()
            raise
        self._session: Any = session
        self.kid = thumbprint(self._jwk)

    def _read_public(self, session: Any, token_label: str) -> dict[str, str]:
        public = self._find(session, ObjectClass.PUBLIC_KEY, token_label)
        try:
            loaded = serialization.load_der_public_key(encode_ec_public_key(public))
        except (pkcs11.PKCS11Error, ValueError):
            loaded = None
        if not isinstance(loaded, ec.EllipticCurvePublicKey) or not isinstance(loaded.curve, ec.SECP256R1):
            raise KeyStoreError(f"key {self._label!r} in token {token_label!r} is not an EC P-256 key")
        return _p256_jwk(loaded)

    def _find(self, session: Any, object_class: ObjectClass, token_label: str) -> Any:
        try:
            return session.get_key(object_class=object_class, key_type=KeyType.EC, label=self._label)
        except pkcs11.NoSuchKey:
            raise KeyStoreError(
                f"token {token_label!r} has no EC {object_class.name.lower().replace('_', ' ')} labelled {self._label!r}"
            ) from None
        except pkcs11.MultipleObjectsReturned:
            raise KeyStoreError(f"token {token_label!r} holds several keys labelled {self._label!r}") from None
        except pkcs11.PKCS11Error as exc:
            raise KeyStoreError(f"finding key {self._label!r}: PKCS#11 error {type(exc).__name__}") from None

    @classmethod
    def generate_in_token(cls, module_path: str, token_label: str, user_pin: str, key_label: str) -> Self:
        """Make an EC P-256 key pair in the token under ``key_label`` and return its signer.

        The private key is a token object: private, sensitive, never extractable, for signing
        only. A label already in use is refused (never a second key under one name).
        """
        session = open_session(find_token(module_path, token_label), token_label, user_pin, rw=True)
        try:
            if any(True for _ in session.get_objects({Attribute.LABEL: key_label})):
                raise KeyStoreError(f"token {token_label!r} already holds objects labelled {key_label!r}")
            params = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
            )
            params.generate_keypair(
                store=True,
                label=key_label,
                capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
                public_template={Attribute.TOKEN: True, Attribute.VERIFY: True, Attribute.DERIVE: False},
                private_template={
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.SIGN: True,
                    Attribute.DERIVE: False,
                    Attribute.DECRYPT: False,
                    Attribute.UNWRAP: False,
                },
            )
        except pkcs11.PKCS11Error as exc:
            raise KeyStoreError(f"generating key {key_label!r}: PKCS#11 error {type(exc).__name__}") from None
        finally:
            session.close()
        return cls(module_path, token_label, user_pin, key_label)

    def sign(self, signing_input: bytes) -> bytes:
        digest = hashlib.sha256(signing_input).digest()
        with self._lock:
            if self._session is None:
                raise KeyStoreError(f"the signer of key {self._label!r} is closed")
            try:
                signature = bytes(self._private.sign(digest, mechanism=Mechanism.ECDSA))
            except pkcs11.PKCS11Error as exc:
                raise KeyStoreError(f"signing with key {self._label!r}: PKCS#11 error {type(exc).__name__}") from None
        if len(signature) != 2 * _COORDINATE:
            raise KeyStoreError(f"the token gave a {len(signature)}-byte ECDSA signature, not r || s (64)")
        return signature

    def public_jwk(self) -> dict[str, str]:
        return dict(self._jwk)

    def close(self) -> None:
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            try:
                session.close()
            except pkcs11.PKCS11Error:
                pass  # the library was finalised under us: the session is gone already

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Pkcs11Es256Signer key={self._label!r} kid={self.kid}>"
