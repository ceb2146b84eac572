"""ES256 credentials signed by a key inside a real SoftHSM2 token: verified by verify_compact and by
pyjwt, and the private key provably stays in the token.

The token comes from the session fixture in conftest.py (a temp dir, softhsm2-util); a missing
SoftHSM2 fails the test, it never skips.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt
import pkcs11
import pytest
from pkcs11 import Attribute, KeyType, ObjectClass
from softhsm_token import SoftHsmToken

from sscard_issuer.credential import (
    JoseError,
    KeySet,
    Pkcs11Es256Signer,
    PublicKey,
    sign_compact,
    thumbprint,
    verify_compact,
)
from sscard_issuer.keys import KeyStoreError

pytestmark = pytest.mark.integration

KEY_LABEL = "sscard:ecard:ES256:v1"
TYP = "vnd.sscard.ecard+jwt"


@pytest.fixture(scope="module")
def signer(softhsm: SoftHsmToken) -> Iterator[Pkcs11Es256Signer]:
    made = Pkcs11Es256Signer.generate_in_token(softhsm.module, softhsm.label, softhsm.user_pin, KEY_LABEL)
    yield made
    made.close()


@pytest.fixture
def session(softhsm: SoftHsmToken, signer: Pkcs11Es256Signer) -> Iterator[Any]:
    """A second session on the token, to look at the key objects from outside the signer."""
    token = pkcs11.lib(softhsm.module).get_token(token_label=softhsm.label)
    try:
        opened = token.open(user_pin=softhsm.user_pin)
    except pkcs11.UserAlreadyLoggedIn:  # the signer's session logged this process in already
        opened = token.open()
    yield opened
    opened.close()


def test_tokens_signed_in_the_token_verify_here_and_with_pyjwt(signer: Pkcs11Es256Signer) -> None:
    keys = KeySet([PublicKey.from_signer(signer)])
    assert signer.alg == "ES256" and signer.kid == thumbprint(signer.public_jwk())
    public = jwt.PyJWK(signer.public_jwk(), algorithm="ES256").key
    for serial in range(20):
        claims = {"iss": "https://ecard.example.gov.cn", "card": f"K{serial:08d}", "name": "李四"}
        token = sign_compact({"typ": TYP}, claims, signer)
        header, payload = verify_compact(token, keys, algorithms=["ES256"], typ=TYP)
        assert header["kid"] == signer.kid and payload == claims
        assert jwt.decode(token, key=public, algorithms=["ES256"]) == claims
    forged = token[: token.rindex(".") + 1] + token[token.rindex(".") + 1 :][::-1]
    with pytest.raises(JoseError) as caught:
        verify_compact(forged, keys, algorithms=["ES256"], typ=TYP)
    assert caught.value.code in ("bad_signature", "malformed")


def test_a_second_signer_on_the_same_key_has_the_same_kid(
    softhsm: SoftHsmToken, signer: Pkcs11Es256Signer
) -> None:
    with Pkcs11Es256Signer(softhsm.module, softhsm.label, softhsm.user_pin, KEY_LABEL) as again:
        assert again.kid == signer.kid
        token = sign_compact({"typ": TYP}, {"n": 1}, again)
    assert verify_compact(token, KeySet([PublicKey.from_signer(signer)]), algorithms=["ES256"], typ=TYP)[1] == {"n": 1}
    with pytest.raises(KeyStoreError, match="closed"):
        again.sign(b"after close")


def test_the_private_key_is_sensitive_and_never_extractable(session: Any) -> None:
    private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC, label=KEY_LABEL)
    assert private[Attribute.TOKEN] is True
    assert private[Attribute.PRIVATE] is True
    assert private[Attribute.SENSITIVE] is True
    assert private[Attribute.EXTRACTABLE] is False
    assert private[Attribute.ALWAYS_SENSITIVE] is True
    assert private[Attribute.NEVER_EXTRACTABLE] is True
    assert private[Attribute.SIGN] is True
    assert private[Attribute.DERIVE] is False
    with pytest.raises(pkcs11.AttributeSensitive):
        private[Attribute.VALUE]
    with pytest.raises(pkcs11.PKCS11Error):
        private[Attribute.EXTRACTABLE] = True  # cannot be made extractable afterwards
    assert private[Attribute.EXTRACTABLE] is False


def test_a_label_in_use_is_refused_and_a_missing_key_is_said(softhsm: SoftHsmToken, signer: Pkcs11Es256Signer) -> None:
    with pytest.raises(KeyStoreError, match="already holds"):
        Pkcs11Es256Signer.generate_in_token(softhsm.module, softhsm.label, softhsm.user_pin, KEY_LABEL)
    with pytest.raises(KeyStoreError, match="no EC private key"):
        Pkcs11Es256Signer(softhsm.module, softhsm.label, softhsm.user_pin, "sscard:ecard:ES256:v9")
    with pytest.raises(KeyStoreError, match="no token"):
        Pkcs11Es256Signer(softhsm.module, "no-such-token", softhsm.user_pin, KEY_LABEL)
