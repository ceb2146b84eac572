"""SM2 signatures and encryption (GB/T 32918, GM/T 0003 and 0009) through the system OpenSSL 3.

``cryptography`` has SM3 and SM4 but no SM2, and a pure-Python SM2 would do its own scalar
arithmetic and nonce generation; both belong in a vetted library. So this module drives
``libcrypto.so.3`` through ctypes, on the recommended curve (``1.2.156.10197.1.301``) only:

- signatures are DER ``SEQUENCE {r, s}`` over ``SM3(Z_A || M)``, Z_A computed by OpenSSL from the
  signer's user id (default ``1234567812345678``, GM/T 0009 section 10);
- ciphertexts are GM/T 0009 DER ``SEQUENCE {x, y, hash, ciphertext}`` (C1 C3 C2), as OpenSSL
  produces them, with SM3 as the KDF and C3 hash.

The ctypes layer is guarded: every pointer an OpenSSL call returns is checked and freed, every
return code is checked, and a failure raises :class:`~sscard_issuer.crypto.CryptoError` carrying
OpenSSL's error strings, never key bytes. Keys are objects in the pyca style; ``repr`` shows a
fingerprint of the public key only, and keys refuse to be pickled.
"""

from __future__ import annotations

import ctypes
from typing import NoReturn, Self

from cryptography.hazmat.primitives import hashes

from sscard_issuer.crypto._libcrypto import (
    COORDINATE_LENGTH,
    _bn_param,
    _check_bytes,
    _check_uid,
    _digest_ctx,
    _fail,
    _lib,
    _load_der,
    _ok,
    _openssl_errors,
    _owned_pkey,
    _pkey_crypt,
    _ptr,
    _require_sm2,
    _size_t,
    _vp,
)
from sscard_issuer.crypto.errors import CryptoError

__all__ = [
    "DEFAULT_UID",
    "SM2_CURVE_OID",
    "SM2_WITH_SM3_OID",
    "InvalidSignature",
    "Sm2PrivateKey",
    "Sm2PublicKey",
    "sm3",
]

SM2_CURVE_OID = "1.2.156.10197.1.301"  # sm2p256v1, the recommended curve (GM/T 0006)
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"  # SM2 signature with SM3 (GM/T 0006)
DEFAULT_UID = b"1234567812345678"  # GM/T 0009 section 10: the default signer identity
_PRIVATE = object()  # the constructors' guard: keys are built by the class methods only
# The group order n. A private key d must lie in [1, n-2]: SM2 signing needs (1 + d)^-1 mod n.
_ORDER = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)

# SubjectPublicKeyInfo { id-ecPublicKey, namedCurve sm2p256v1 } BIT STRING 04 || X || Y: the one
# encoding OpenSSL 3 emits for an SM2 key, and the one we emit.
_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d03420004")
# SEC 1 ECPrivateKey { version 1, privateKey OCTET STRING (32), [0] namedCurve sm2p256v1 } with no
# public key: OpenSSL derives the public key when it loads it.
_SEC1_HEAD = bytes.fromhex("30310201010420")
_SEC1_TAIL = bytes.fromhex("a00a06082a811ccf5501822d")


class InvalidSignature(CryptoError):
    """An SM2 signature did not verify (wrong key, message, user id, or not a signature at all)."""


def sm3(data: bytes) -> bytes:
    """The SM3 digest (GB/T 32905) of ``data``, 32 bytes."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CryptoError(f"data must be bytes, got {type(data).__name__}")
    digest = hashes.Hash(hashes.SM3())
    digest.update(bytes(data))
    return digest.finalize()


# -- keys ------------------------------------------------------------------------------------------


class Sm2PublicKey:
    """An SM2 public key on the recommended curve, checked to lie on it when built."""

    __slots__ = ("__weakref__", "_pkey", "_xy")

    def __init__(self, _pkey: int, _xy: bytes, *, _token: object = None) -> None:
        if _token is not _PRIVATE:
            raise TypeError("use Sm2PublicKey.from_xy(), from_der() or Sm2PrivateKey.public_key()")
        self._pkey = _owned_pkey(self, _pkey)
        self._xy = _xy

    @classmethod
    def _from_spki(cls, der: bytes) -> Sm2PublicKey:
        lib = _lib()
        pkey = _load_der("d2i_PUBKEY", der, "public key")
        _require_sm2(pkey)
        try:
            ctx = _ptr(lib.EVP_PKEY_CTX_new(pkey, None), "public key check")
            try:
                if lib.EVP_PKEY_public_check(ctx) != 1:
                    raise CryptoError(f"SM2: the public key is not valid ({_openssl_errors()})")
            finally:
                lib.EVP_PKEY_CTX_free(ctx)
            xy = _bn_param(pkey, b"qx", "public key export") + _bn_param(pkey, b"qy", "public key export")
        except BaseException:
            lib.EVP_PKEY_free(pkey)
            raise
        return cls(pkey, xy, _token=_PRIVATE)

    @classmethod
    def from_xy(cls, xy: bytes) -> Sm2PublicKey:
        """The key from its 64-byte ``X || Y`` form (EF 0012 of the PKI application)."""
        xy = _check_bytes("xy", xy)
        if len(xy) != 2 * COORDINATE_LENGTH:
            raise CryptoError(f"SM2 public key X || Y must be 64 bytes, got {len(xy)}")
        return cls._from_spki(_SPKI_PREFIX + xy)

    @classmethod
    def from_der(cls, der: bytes) -> Sm2PublicKey:
        """The key from a DER SubjectPublicKeyInfo (id-ecPublicKey, curve 1.2.156.10197.1.301)."""
        return cls._from_spki(_check_bytes("der", der))

    @property
    def xy(self) -> bytes:
        """The 64-byte ``X || Y`` form."""
        return self._xy

    def to_der(self) -> bytes:
        """The DER SubjectPublicKeyInfo, uncompressed point, as OpenSSL and X.509 expect it."""
        return _SPKI_PREFIX + self._xy

    def verify(self, signature: bytes, data: bytes, *, uid: bytes = DEFAULT_UID) -> None:
        """Check a DER SM2 signature over ``data``; raise :class:`InvalidSignature` if it fails."""
        signature = _check_bytes("signature", signature)
        data = _check_bytes("data", data)
        uid = _check_uid(uid)
        lib = _lib()
        lib.ERR_clear_error()
        mctx, pctx = _digest_ctx(self._pkey, uid, sign=False)
        try:
            rc = lib.EVP_DigestVerify(mctx, signature, len(signature), data, len(data))
        finally:
            lib.EVP_MD_CTX_free(mctx)
            lib.EVP_PKEY_CTX_free(pctx)
        if rc != 1:
            lib.ERR_clear_error()  # a malformed signature is just an invalid one
            raise InvalidSignature("SM2 signature does not verify")

    def encrypt(self, plaintext: bytes) -> bytes:
        """SM2-encrypt ``plaintext`` (1 byte or more) to this key: GM/T 0009 DER C1 C3 C2."""
        plaintext = _check_bytes("plaintext", plaintext)
        if not plaintext:
            raise CryptoError("SM2 plaintext must not be empty")
        return _pkey_crypt(self._pkey, plaintext, encrypt=True)

    def fingerprint(self) -> str:
        """A short public name for the key (SM3 of X || Y, first 8 bytes, hex) for logs."""
        return sm3(self._xy)[:8].hex().upper()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sm2PublicKey):
            return NotImplemented
        return self._xy == other._xy

    def __hash__(self) -> int:
        return hash(self._xy)

    def __repr__(self) -> str:
        return f"<Sm2PublicKey {self.fingerprint()}>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("Sm2PublicKey cannot be pickled; store to_der() instead")


class Sm2PrivateKey:
    """An SM2 private key on the recommended curve, held by OpenSSL."""

    __slots__ = ("__weakref__", "_pkey", "_public")

    def __init__(self, _pkey: int, *, _token: object = None) -> None:
        if _token is not _PRIVATE:
            raise TypeError("use Sm2PrivateKey.generate() or Sm2PrivateKey.from_raw()")
        self._pkey = _owned_pkey(self, _pkey)
        xy = _bn_param(_pkey, b"qx", "public key export") + _bn_param(_pkey, b"qy", "public key export")
        self._public = Sm2PublicKey.from_xy(xy)

    @classmethod
    def generate(cls) -> Self:
        """A fresh key pair from OpenSSL's CSPRNG."""
        lib = _lib()
        lib.ERR_clear_error()
        ctx = _ptr(lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None), "key generation context")
        try:
            _ok(lib.EVP_PKEY_keygen_init(ctx), "key generation set-up")
            pkey = _vp()
            _ok(lib.EVP_PKEY_generate(ctx, ctypes.byref(pkey)), "key generation")
        finally:
            lib.EVP_PKEY_CTX_free(ctx)
        if not pkey.value:
            _fail("key generation")
        _require_sm2(pkey.value)
        return cls(pkey.value, _token=_PRIVATE)

    @classmethod
    def from_raw(cls, scalar: bytes) -> Self:
        """The key from its 32-byte big-endian private scalar d, 1 <= d <= n-2.

        For the simulated card's image and for published test vectors only: real keys are
        generated where they are used and never leave it.
        """
        scalar = _check_bytes("scalar", scalar)
        if len(scalar) != COORDINATE_LENGTH:
            raise CryptoError(f"SM2 private scalar must be 32 bytes, got {len(scalar)}")
        if not 1 <= int.from_bytes(scalar, "big") <= _ORDER - 2:
            raise CryptoError("SM2 private scalar is out of range (1 .. n-2)")
        _lib().ERR_clear_error()
        pkey = _load_der("d2i_AutoPrivateKey", _SEC1_HEAD + scalar + _SEC1_TAIL, "private scalar")
        _require_sm2(pkey)
        return cls(pkey, _token=_PRIVATE)

    def private_bytes_raw(self) -> bytes:
        """The 32-byte private scalar. For the simulated card's image only (its EEPROM)."""
        return _bn_param(self._pkey, b"priv", "private key export")

    def public_key(self) -> Sm2PublicKey:
        return self._public

    def sign(self, data: bytes, *, uid: bytes = DEFAULT_UID) -> bytes:
        """A DER SM2 signature over ``SM3(Z_A || data)``, Z_A from ``uid`` and this key.

        ``uid`` defaults to GM/T 0009's ``1234567812345678``; ``b""`` is what OpenSSL 3.0's own
        tools use when no id is given, so say which one a profile means.
        """
        data = _check_bytes("data", data)
        uid = _check_uid(uid)
        lib = _lib()
        lib.ERR_clear_error()
        mctx, pctx = _digest_ctx(self._pkey, uid, sign=True)
        try:
            size = _size_t(lib.EVP_PKEY_get_size(self._pkey))
            if size.value <= 0:
                _fail("signature sizing")
            out = ctypes.create_string_buffer(size.value)
            _ok(lib.EVP_DigestSign(mctx, out, ctypes.byref(size), data, len(data)), "signing")
            return out.raw[: size.value]
        finally:
            lib.EVP_MD_CTX_free(mctx)
            lib.EVP_PKEY_CTX_free(pctx)

    def decrypt(self, ciphertext: bytes) -> bytes:
        """Decrypt a GM/T 0009 DER C1 C3 C2 ciphertext; :class:`CryptoError` if it is not one."""
        ciphertext = _check_bytes("ciphertext", ciphertext)
        if not ciphertext:
            raise CryptoError("SM2 ciphertext must not be empty")
        return _pkey_crypt(self._pkey, ciphertext, encrypt=False)

    def __repr__(self) -> str:
        return f"<Sm2PrivateKey for {self._public.fingerprint()}>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("Sm2PrivateKey cannot be pickled or copied")
