"""The e-card credential service: compact JWS (ES256 and this project's SM2), signers, key sets.

Verification takes keys only from a :class:`KeySet` and algorithms only from the caller's
allow-list; see :mod:`sscard_issuer.credential.jose` for every rule a token must pass.
"""

from sscard_issuer.credential.jose import (
    ALGORITHMS,
    FORBIDDEN_HEADERS,
    JoseError,
    Signer,
    b64u_decode,
    b64u_encode,
    sign_compact,
    verify_compact,
)
from sscard_issuer.credential.keyset import KeySet, PublicKey, thumbprint
from sscard_issuer.credential.signers import Es256Signer, Pkcs11Es256Signer, Sm2Signer

__all__ = [
    "ALGORITHMS",
    "FORBIDDEN_HEADERS",
    "Es256Signer",
    "JoseError",
    "KeySet",
    "Pkcs11Es256Signer",
    "PublicKey",
    "Signer",
    "Sm2Signer",
    "b64u_decode",
    "b64u_encode",
    "sign_compact",
    "thumbprint",
    "verify_compact",
]
