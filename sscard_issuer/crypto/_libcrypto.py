"""The slice of OpenSSL 3's libcrypto that SM2 needs, through ctypes, guarded.

Every pointer a call returns is checked and freed, every return code checked; failures raise
:class:`~sscard_issuer.crypto.CryptoError` with OpenSSL's error strings, never key bytes.
Private to :mod:`sscard_issuer.crypto.sm2`.
"""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Callable
from functools import cache
from typing import Any, NoReturn

from sscard_issuer.crypto.errors import CryptoError, UnsupportedAlgorithm

COORDINATE_LENGTH = 32
MAX_UID_LENGTH = 8191  # ENTL_A is the id's length in *bits*, in two bytes


# -- the binding ---------------------------------------------------------------------------

_vp = ctypes.c_void_p
_int = ctypes.c_int
_size_t = ctypes.c_size_t
_PTR_VP = ctypes.POINTER(_vp)
_PTR_SIZE = ctypes.POINTER(_size_t)

_SIGNATURES: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "OpenSSL_version_num": (ctypes.c_ulong, ()),
    "ERR_get_error": (ctypes.c_ulong, ()),
    "ERR_clear_error": (None, ()),
    "ERR_error_string_n": (None, (ctypes.c_ulong, ctypes.c_char_p, _size_t)),
    "EVP_PKEY_free": (None, (_vp,)),
    "EVP_PKEY_is_a": (_int, (_vp, ctypes.c_char_p)),
    "EVP_PKEY_get_size": (_int, (_vp,)),
    "EVP_PKEY_get_bn_param": (_int, (_vp, ctypes.c_char_p, _PTR_VP)),
    "EVP_PKEY_CTX_new_from_name": (_vp, (_vp, ctypes.c_char_p, ctypes.c_char_p)),
    "EVP_PKEY_CTX_new": (_vp, (_vp, _vp)),
    "EVP_PKEY_CTX_free": (None, (_vp,)),
    "EVP_PKEY_CTX_set1_id": (_int, (_vp, ctypes.c_char_p, _int)),
    "EVP_PKEY_keygen_init": (_int, (_vp,)),
    "EVP_PKEY_generate": (_int, (_vp, _PTR_VP)),
    "EVP_PKEY_public_check": (_int, (_vp,)),
    "EVP_PKEY_encrypt_init": (_int, (_vp,)),
    "EVP_PKEY_encrypt": (_int, (_vp, ctypes.c_char_p, _PTR_SIZE, ctypes.c_char_p, _size_t)),
    "EVP_PKEY_decrypt_init": (_int, (_vp,)),
    "EVP_PKEY_decrypt": (_int, (_vp, ctypes.c_char_p, _PTR_SIZE, ctypes.c_char_p, _size_t)),
    "EVP_MD_CTX_new": (_vp, ()),
    "EVP_MD_CTX_free": (None, (_vp,)),
    "EVP_MD_CTX_set_pkey_ctx": (None, (_vp, _vp)),
    "EVP_sm3": (_vp, ()),
    "EVP_DigestSignInit": (_int, (_vp, _PTR_VP, _vp, _vp, _vp)),
    "EVP_DigestSign": (_int, (_vp, ctypes.c_char_p, _PTR_SIZE, ctypes.c_char_p, _size_t)),
    "EVP_DigestVerifyInit": (_int, (_vp, _PTR_VP, _vp, _vp, _vp)),
    "EVP_DigestVerify": (_int, (_vp, ctypes.c_char_p, _size_t, ctypes.c_char_p, _size_t)),
    "d2i_PUBKEY": (_vp, (_vp, _PTR_VP, ctypes.c_long)),
    "d2i_AutoPrivateKey": (_vp, (_vp, _PTR_VP, ctypes.c_long)),
    "BN_bn2binpad": (_int, (_vp, ctypes.c_char_p, _int)),
    "BN_clear_free": (None, (_vp,)),
}


class _LibCrypto:
    """The typed functions of libcrypto this module calls; nothing else is reachable."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._fns: dict[str, Callable[..., Any]] = {}
        for name, (restype, argtypes) in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = list(argtypes)
            self._fns[name] = fn

    def __getattr__(self, name: str) -> Callable[..., Any]:
        try:
            return self._fns[name]
        except KeyError:
            raise AttributeError(name) from None


@cache
def _lib() -> _LibCrypto:
    """Load libcrypto 3 once; SM2 without it is unsupported, said plainly."""
    errors = []
    for soname in ("libcrypto.so.3", "libcrypto.3.dylib"):
        try:
            handle = ctypes.CDLL(soname)
        except OSError as exc:
            errors.append(str(exc))
            continue
        try:
            lib = _LibCrypto(handle)
        except AttributeError as exc:
            raise UnsupportedAlgorithm(f"SM2: {soname} lacks a needed function ({exc})") from None
        if lib.OpenSSL_version_num() < 0x30000000:
            raise UnsupportedAlgorithm("SM2 needs OpenSSL 3 (libcrypto.so.3)")
        return lib
    raise UnsupportedAlgorithm("SM2 needs the system OpenSSL 3 library: " + "; ".join(errors))


def _openssl_errors() -> str:
    """Drain OpenSSL's error queue (this thread's) into one readable line."""
    lib = _lib()
    messages = []
    buf = ctypes.create_string_buffer(256)
    while code := lib.ERR_get_error():
        lib.ERR_error_string_n(code, buf, len(buf))
        messages.append(buf.value.decode("ascii", "replace"))
    return "; ".join(messages) or "no OpenSSL error reported"


def _fail(what: str) -> NoReturn:
    raise CryptoError(f"SM2: {what} failed ({_openssl_errors()})")


def _ok(rc: int, what: str) -> None:
    if rc != 1:
        _fail(what)


def _ptr(value: int | None, what: str) -> int:
    if not value:
        _fail(what)
    return value


def _owned_pkey(owner: object, pkey: int) -> int:
    """Tie an EVP_PKEY's lifetime to ``owner``: freed when the Python object goes."""
    weakref.finalize(owner, _lib().EVP_PKEY_free, pkey)
    return pkey


def _require_sm2(pkey: int) -> None:
    # An EC key on the SM2 curve that OpenSSL treated as plain EC would sign ECDSA-with-SM3.
    if _lib().EVP_PKEY_is_a(pkey, b"SM2") != 1:
        _lib().EVP_PKEY_free(pkey)
        raise CryptoError("SM2: the key is not an SM2 key (expected the curve 1.2.156.10197.1.301)")


def _load_der(loader: str, der: bytes, what: str) -> int:
    """d2i_* over exactly ``der`` (trailing bytes refused); the caller owns the result."""
    lib = _lib()
    buf = ctypes.create_string_buffer(der, len(der))
    start = ctypes.addressof(buf)
    cursor = _vp(start)
    lib.ERR_clear_error()
    try:
        pkey = getattr(lib, loader)(None, ctypes.byref(cursor), len(der))
        if not pkey:
            raise CryptoError(f"SM2: {what} is not a valid key ({_openssl_errors()})")
        if cursor.value != start + len(der):
            lib.EVP_PKEY_free(pkey)
            raise CryptoError(f"SM2: {what} has trailing bytes after the key")
        return int(pkey)
    finally:
        ctypes.memset(buf, 0, len(der))  # the SEC 1 form holds a private scalar


def _bn_param(pkey: int, name: bytes, what: str) -> bytes:
    """A BIGNUM parameter of a key as 32 big-endian bytes; the BIGNUM is cleared and freed."""
    lib = _lib()
    bn = _vp()
    _ok(lib.EVP_PKEY_get_bn_param(pkey, name, ctypes.byref(bn)), what)
    try:
        out = ctypes.create_string_buffer(COORDINATE_LENGTH)
        if lib.BN_bn2binpad(bn, out, COORDINATE_LENGTH) != COORDINATE_LENGTH:
            _fail(what)
        value = out.raw
        ctypes.memset(out, 0, COORDINATE_LENGTH)
        return value
    finally:
        lib.BN_clear_free(bn)


def _check_bytes(name: str, value: object) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise CryptoError(f"{name} must be bytes, got {type(value).__name__}")
    return bytes(value)


def _check_uid(uid: object) -> bytes:
    uid = _check_bytes("uid", uid)
    if len(uid) > MAX_UID_LENGTH:
        raise CryptoError(f"uid must be at most {MAX_UID_LENGTH} bytes, got {len(uid)}")
    return uid


def _digest_ctx(pkey: int, uid: bytes, sign: bool) -> tuple[int, int]:
    """An EVP_MD_CTX set up for SM2-with-SM3 under ``uid``; returns (md_ctx, pkey_ctx) to free."""
    lib = _lib()
    what = "signing" if sign else "verification"
    pctx = _ptr(lib.EVP_PKEY_CTX_new(pkey, None), f"{what} context")
    mctx = lib.EVP_MD_CTX_new()
    if not mctx:
        lib.EVP_PKEY_CTX_free(pctx)
        _fail(f"{what} context")
    try:
        _ok(lib.EVP_PKEY_CTX_set1_id(pctx, uid, len(uid)), "setting the user id")
        lib.EVP_MD_CTX_set_pkey_ctx(mctx, pctx)  # the caller keeps ownership of pctx
        init = lib.EVP_DigestSignInit if sign else lib.EVP_DigestVerifyInit
        _ok(init(mctx, None, lib.EVP_sm3(), None, pkey), f"{what} set-up")
    except BaseException:
        lib.EVP_MD_CTX_free(mctx)
        lib.EVP_PKEY_CTX_free(pctx)
        raise
    return mctx, pctx


def _pkey_crypt(pkey: int, data: bytes, encrypt: bool) -> bytes:
    lib = _lib()
    what = "encryption" if encrypt else "decryption"
    init, run = (
        (lib.EVP_PKEY_encrypt_init, lib.EVP_PKEY_encrypt)
        if encrypt
        else (lib.EVP_PKEY_decrypt_init, lib.EVP_PKEY_decrypt)
    )
    lib.ERR_clear_error()
    ctx = _ptr(lib.EVP_PKEY_CTX_new(pkey, None), f"{what} context")
    try:
        _ok(init(ctx), f"{what} set-up")
        size = _size_t(0)
        if run(ctx, None, ctypes.byref(size), data, len(data)) == 1:
            out = ctypes.create_string_buffer(size.value)
            if run(ctx, out, ctypes.byref(size), data, len(data)) == 1:
                result = out.raw[: size.value]
                ctypes.memset(out, 0, len(out))
                return result
        if encrypt:
            _fail(what)
        # A bad ciphertext is reported the same way whatever step refused it.
        lib.ERR_clear_error()
        raise CryptoError("SM2: decryption failed (not a ciphertext for this key)")
    finally:
        lib.EVP_PKEY_CTX_free(ctx)
