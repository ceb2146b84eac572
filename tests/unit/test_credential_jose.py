"""Compact JWS: published vectors, round trips, pyjwt both ways, and every JWS-level attack of
spec/ecard.md section 3, each refused with its stable code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from hypothesis import example, given
from hypothesis import strategies as st

from sscard_issuer.credential import (
    Es256Signer,
    JoseError,
    KeySet,
    PublicKey,
    Signer,
    Sm2Signer,
    b64u_decode,
    b64u_encode,
    sign_compact,
    thumbprint,
    verify_compact,
)
from sscard_issuer.credential.keyset import _der
from sscard_issuer.credential.signers import _r_s
from sscard_issuer.errors import FieldError

TYP = "vnd.sscard.ecard+jwt"
CLAIMS = {"iss": "https://ecard.example.gov.cn", "sub": "450102199001011234", "name": "王小明", "lvl": 2}

# RFC 7515 appendix A.3 (ES256): the JWS and the public key, as printed in the RFC.
A3_HEADER = "eyJhbGciOiJFUzI1NiJ9"
A3_PAYLOAD = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
A3_SIGNATURE = "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
A3_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
}
# RFC 7638 section 3.1: the RSA key of RFC 7517 appendix A.1 and its SHA-256 thumbprint.
RFC7638_JWK = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3"
    "oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZ"
    "Hzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU"
    "8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.fixture(scope="module")
def issuer() -> Es256Signer:
    return Es256Signer.generate()


@pytest.fixture(scope="module")
def sm2_issuer() -> Sm2Signer:
    return Sm2Signer.generate()


@pytest.fixture
def keys(issuer: Es256Signer, sm2_issuer: Sm2Signer) -> KeySet:
    return KeySet([PublicKey.from_signer(issuer), PublicKey.from_signer(sm2_issuer)])


def verify(token: str, keys: KeySet, algorithms: tuple[str, ...] = ("ES256",), typ: str | None = TYP) -> Any:
    return verify_compact(token, keys, algorithms=algorithms, typ=typ)


def refused(code: str, token: str, keys: KeySet, **kwargs: Any) -> JoseError:
    with pytest.raises(JoseError) as caught:
        verify(token, keys, **kwargs)
    assert caught.value.code == code, f"refused as {caught.value.code} ({caught.value}), expected {code}"
    return caught.value


def forge(header: dict[str, Any], payload: dict[str, Any], signer: Signer | None = None, signature: bytes = b"") -> str:
    """A token with exactly this header (no alg/kid filled in), signed by ``signer`` if given."""
    signing_input = (
        b64u_encode(json.dumps(header).encode()) + "." + b64u_encode(json.dumps(payload).encode())
    )
    if signer is not None:
        signature = signer.sign(signing_input.encode())
    return signing_input + "." + b64u_encode(signature)


def flip(text: str, index: int, bit: int = 0x01) -> str:
    """``text`` (base64url) with one bit of its decoded byte ``index`` flipped."""
    raw = bytearray(b64u_decode(text))
    raw[index] ^= bit
    return b64u_encode(bytes(raw))


# -- base64url --------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"f", b"fo", b"foo", bytes(range(256)), b"\xfb\xff\xfe"])
def test_b64u_round_trip_and_alphabet(data: bytes) -> None:
    text = b64u_encode(data)
    assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert "=" not in text and "+" not in text and "/" not in text
    assert b64u_decode(text) == data


@pytest.mark.parametrize(
    "text",
    ["Zg==", "Zm8=", "+/8", "a+b/", "Zm9v\n", " Zm9v", "Zm9v Zm9v", "Zm9vY", "Zm9vé", "Zh", "Zmp",
     "Zm9v\r\nYmFA", "Zm9v  YmFA", "Zm9v++YmFA", "Zm9v==YmFA"],  # lax decoders: b"fooba@"
)
def test_b64u_decode_refuses_anything_not_strict(text: str) -> None:
    with pytest.raises(JoseError) as caught:
        b64u_decode(text)
    assert caught.value.code == "malformed"


# -- r || s and DER, the hand-written halves of the hot paths, against cryptography's ------------

SCALAR = st.one_of(st.integers(0, 2**256 - 1), st.integers(0, 2**16), st.integers(2**255, 2**256 - 1))


@given(SCALAR, SCALAR)
@example(0, 0)
@example(2**255, 2**255 - 1)
@example(0x80, 0x7F)
def test_der_from_r_s_is_cryptographys(r: int, s: int) -> None:
    assert _der(r.to_bytes(32, "big") + s.to_bytes(32, "big")) == encode_dss_signature(r, s)


@given(st.integers(1, 2**256 - 1), st.integers(1, 2**256 - 1))
@example(1, 1)
@example(2**255, 2**256 - 1)
def test_r_s_from_der_is_cryptographys(r: int, s: int) -> None:
    der = encode_dss_signature(r, s)
    assert _r_s(der) == r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert decode_dss_signature(der) == (r, s)


# -- published vectors ------------------------------------------------------------------------


def test_rfc7515_a3_signature_verifies_with_its_key() -> None:
    key = PublicKey(kid="rfc7515-a3", alg="ES256", jwk=A3_JWK)
    signing_input = f"{A3_HEADER}.{A3_PAYLOAD}".encode()
    signature = b64u_decode(A3_SIGNATURE)
    assert len(signature) == 64
    assert b64u_decode(A3_HEADER) == b'{"alg":"ES256"}'
    assert json.loads(b64u_decode(A3_PAYLOAD))["iss"] == "joe"
    assert key.verify(signing_input, signature)
    assert not key.verify(signing_input, b64u_decode(flip(A3_SIGNATURE, 40)))
    assert not key.verify(signing_input.replace(b"eyJpc3", b"eyJpc4"), signature)


def test_rfc7515_a3_token_is_refused_without_a_kid() -> None:
    keys = KeySet([PublicKey(kid="rfc7515-a3", alg="ES256", jwk=A3_JWK)])
    refused("unknown_kid", f"{A3_HEADER}.{A3_PAYLOAD}.{A3_SIGNATURE}", keys, typ=None)


def test_rfc7638_thumbprint_of_the_rsa_example() -> None:
    assert thumbprint(RFC7638_JWK) == RFC7638_THUMBPRINT
    assert thumbprint({k: v for k, v in RFC7638_JWK.items() if k in ("kty", "n", "e")}) == RFC7638_THUMBPRINT


def test_thumbprint_needs_the_required_members() -> None:
    with pytest.raises(JoseError, match="'e'"):
        thumbprint({"kty": "RSA", "n": RFC7638_JWK["n"]})
    with pytest.raises(JoseError, match="key type"):
        thumbprint({"kty": "XYZ"})


# -- round trips and interoperability --------------------------------------------------------


def test_es256_round_trip(issuer: Es256Signer, keys: KeySet) -> None:
    token = sign_compact({"typ": TYP}, CLAIMS, issuer)
    header, payload = verify(token, keys)
    assert header == {"alg": "ES256", "kid": issuer.kid, "typ": TYP}
    assert payload == CLAIMS
    assert len(b64u_decode(token.split(".")[2])) == 64
    assert "王小明".encode() in b64u_decode(token.split(".")[1])  # UTF-8, not \\u escapes


def test_sm2_round_trip(sm2_issuer: Sm2Signer, keys: KeySet) -> None:
    token = sign_compact({"typ": TYP}, CLAIMS, sm2_issuer)
    header, payload = verify(token, keys, algorithms=("SM2",))
    assert header["alg"] == "SM2" and header["kid"] == sm2_issuer.kid
    assert payload == CLAIMS
    assert sm2_issuer.public_jwk()["crv"] == "SM2"
    raw = sign_compact({}, b'{"a":1}', sm2_issuer)
    assert verify(raw, keys, algorithms=("SM2", "ES256"), typ=None)[1] == {"a": 1}


def test_signer_kids_are_rfc7638_thumbprints(issuer: Es256Signer, sm2_issuer: Sm2Signer) -> None:
    assert issuer.kid == thumbprint(issuer.public_jwk())
    assert sm2_issuer.kid == thumbprint(sm2_issuer.public_jwk())
    assert isinstance(issuer, Signer) and isinstance(sm2_issuer, Signer)


def test_es256_pem_round_trip(issuer: Es256Signer) -> None:
    again = Es256Signer.from_pem(issuer.to_pem())
    assert again.kid == issuer.kid
    locked = issuer.to_pem(password=b"dev only")
    assert Es256Signer.from_pem(locked, password=b"dev only").kid == issuer.kid
    with pytest.raises(JoseError) as caught:
        Es256Signer.from_pem(locked, password=b"wrong")
    assert caught.value.code == "bad_key"
    with pytest.raises(JoseError, match="P-256"):
        Es256Signer(ec.generate_private_key(ec.SECP384R1()))


def test_pyjwt_verifies_our_token(issuer: Es256Signer) -> None:
    exp = int(datetime.now(UTC).timestamp()) + 600
    token = sign_compact({"typ": TYP}, {**CLAIMS, "exp": exp}, issuer)
    public = issuer._key.public_key()
    decoded = jwt.decode(token, key=public, algorithms=["ES256"], options={"require": ["exp"]})
    assert decoded == {**CLAIMS, "exp": exp}
    assert jwt.get_unverified_header(token)["kid"] == issuer.kid


def test_we_verify_a_pyjwt_token(issuer: Es256Signer, keys: KeySet) -> None:
    token = jwt.encode(CLAIMS, issuer._key, algorithm="ES256", headers={"kid": issuer.kid, "typ": TYP})
    header, payload = verify(token, keys)
    assert header["kid"] == issuer.kid and payload == CLAIMS
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "AQ")
    refused("bad_signature", tampered, keys)


# -- attacks at the JWS level (spec/ecard.md section 3) ---------------------------------------


def test_alg_none_is_refused(issuer: Es256Signer, keys: KeySet) -> None:
    token = forge({"alg": "none", "kid": issuer.kid, "typ": TYP}, CLAIMS)
    assert token.endswith(".")
    refused("alg_not_allowed", token, keys)
    refused("alg_not_allowed", token, keys, algorithms=("none",))  # not even when asked for
    refused("alg_not_allowed", forge({"alg": "None", "kid": issuer.kid, "typ": TYP}, CLAIMS), keys)


def test_hs256_with_the_issuers_public_key_is_refused(issuer: Es256Signer, keys: KeySet) -> None:
    public_pem = issuer._key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    unsigned = forge({"alg": "HS256", "kid": issuer.kid, "typ": TYP}, CLAIMS)[:-1]
    mac = hmac.new(public_pem, unsigned.encode(), hashlib.sha256).digest()
    token = unsigned + "." + b64u_encode(mac)
    refused("alg_not_allowed", token, keys)
    refused("alg_not_allowed", token, keys, algorithms=("ES256", "HS256"))
    with pytest.raises(JoseError) as caught:
        PublicKey(kid="hmac", alg="HS256", jwk={"kty": "oct", "k": b64u_encode(public_pem)})
    assert caught.value.code == "bad_key"


@pytest.mark.parametrize("name", ["jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"])
def test_headers_pointing_to_attacker_keys_are_refused(name: str, issuer: Es256Signer, keys: KeySet) -> None:
    attacker = Es256Signer.generate()
    value: Any = {
        "jwk": attacker.public_jwk(),
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIBszCCAVmgAwIBAgIUattacker"],
        "x5t": "c2VsZi1zaWduZWQ",
        "x5t#S256": "c2VsZi1zaWduZWQtc2hhMjU2",
    }[name]
    for kid in (attacker.kid, issuer.kid):
        token = forge({"alg": "ES256", "kid": kid, "typ": TYP, name: value}, CLAIMS, attacker)
        refused("forbidden_header", token, keys)


@pytest.mark.parametrize("kid", ["unknown-key", "../../keys/x", "/etc/passwd", "", 7, None])
def test_unknown_or_path_kid_is_refused(kid: Any, issuer: Es256Signer, keys: KeySet) -> None:
    header = {"alg": "ES256", "typ": TYP} if kid is None else {"alg": "ES256", "kid": kid, "typ": TYP}
    refused("unknown_kid", forge(header, CLAIMS, issuer), keys)


@pytest.mark.parametrize("crit", [["exp"], [], ["b64"]])
def test_crit_is_refused(crit: list[str], issuer: Es256Signer, keys: KeySet) -> None:
    header = {"alg": "ES256", "kid": issuer.kid, "typ": TYP, "crit": crit, "exp": 1, "b64": True}
    refused("crit", forge(header, CLAIMS, issuer), keys)


def test_wrong_or_missing_typ_is_refused(issuer: Es256Signer, keys: KeySet) -> None:
    refused("typ", sign_compact({"typ": "JWT"}, CLAIMS, issuer), keys)
    refused("typ", sign_compact({}, CLAIMS, issuer), keys)
    refused("typ", sign_compact({"typ": TYP.upper()}, CLAIMS, issuer), keys)
    assert verify(sign_compact({"typ": "JWT"}, CLAIMS, issuer), keys, typ=None)[0]["typ"] == "JWT"


def test_truncated_signature_is_refused(issuer: Es256Signer, keys: KeySet) -> None:
    head, body, signature = sign_compact({"typ": TYP}, CLAIMS, issuer).split(".")
    short = b64u_encode(b64u_decode(signature)[:63])
    refused("bad_signature", f"{head}.{body}.{short}", keys)
    refused("bad_signature", f"{head}.{body}.{b64u_encode(b64u_decode(signature)[:32])}", keys)
    refused("bad_signature", f"{head}.{body}.", keys)
    refused("malformed", f"{head}.{body}.{signature[:-1]}", keys)  # 85 characters: not base64url


@pytest.mark.parametrize("signer_name", ["ES256", "SM2"])
def test_signature_of_another_length_is_refused_even_if_the_numbers_match(
    signer_name: str, issuer: Es256Signer, sm2_issuer: Sm2Signer, keys: KeySet
) -> None:
    signer: Signer = issuer if signer_name == "ES256" else sm2_issuer
    head, body, signature = sign_compact({"typ": TYP}, CLAIMS, signer).split(".")
    raw = b64u_decode(signature)
    padded = raw[:32] + b"\x00" + raw[32:]  # the same r and s, one byte longer
    refused("bad_signature", f"{head}.{body}.{b64u_encode(padded)}", keys, algorithms=(signer_name,))


@pytest.mark.parametrize("byte", [0, 31, 32, 63])
def test_bit_flipped_signature_is_refused(byte: int, issuer: Es256Signer, keys: KeySet) -> None:
    head, body, signature = sign_compact({"typ": TYP}, CLAIMS, issuer).split(".")
    refused("bad_signature", f"{head}.{body}.{flip(signature, byte)}", keys)


def test_bit_flipped_payload_is_refused(issuer: Es256Signer, keys: KeySet) -> None:
    head, body, signature = sign_compact({"typ": TYP}, {"sub": "450102199001011234"}, issuer).split(".")
    flipped = flip(body, b64u_decode(body).index(b"4"))  # "4" -> "5": still valid JSON
    assert json.loads(b64u_decode(flipped))["sub"] == "550102199001011234"
    refused("bad_signature", f"{head}.{flipped}.{signature}", keys)


def test_bit_flipped_header_is_refused(issuer: Es256Signer, keys: KeySet) -> None:
    head, body, signature = sign_compact({"typ": TYP, "ctx": "aaaa"}, CLAIMS, issuer).split(".")
    flipped = flip(head, b64u_decode(head).index(b"aaaa"))  # "a" -> "`": still valid JSON
    assert json.loads(b64u_decode(flipped))["ctx"] == "`aaa"
    refused("bad_signature", f"{flipped}.{body}.{signature}", keys)


def test_a_key_outside_the_set_with_a_copied_kid_is_refused(issuer: Es256Signer, keys: KeySet) -> None:
    attacker = Es256Signer.generate()
    token = forge({"alg": "ES256", "kid": issuer.kid, "typ": TYP}, CLAIMS, attacker)
    refused("bad_signature", token, keys)


def test_sm2_token_when_only_es256_is_allowed(sm2_issuer: Sm2Signer, keys: KeySet) -> None:
    token = sign_compact({"typ": TYP}, CLAIMS, sm2_issuer)
    refused("alg_not_allowed", token, keys, algorithms=("ES256",))
    assert verify(token, keys, algorithms=("ES256", "SM2"))[1] == CLAIMS


def test_alg_must_be_the_keys_own(issuer: Es256Signer, sm2_issuer: Sm2Signer, keys: KeySet) -> None:
    # an SM2 signature presented as ES256 under the SM2 key's kid, and the other way round
    refused("alg_not_allowed", forge({"alg": "ES256", "kid": sm2_issuer.kid, "typ": TYP}, CLAIMS, sm2_issuer),
            keys, algorithms=("ES256", "SM2"))
    refused("alg_not_allowed", forge({"alg": "SM2", "kid": issuer.kid, "typ": TYP}, CLAIMS, issuer),
            keys, algorithms=("ES256", "SM2"))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "eyJhbGciOiJFUzI1NiJ9.e30.AA.AA.AA",  # a JWE-shaped five parts
        b64u_encode(b"[1,2]") + ".e30.AA",
        b64u_encode(b'{"alg":"ES256"') + ".e30.AA",
        b64u_encode(b' {"alg":"ES256","kid":"k"}') + ".e30.AA",
        b64u_encode(b'{"alg":"ES256","kid":"k"}{}') + ".e30.AA",
        b64u_encode(b'{"alg":"ES256","kid":"k","alg":"none"}') + ".e30.AA",
        b64u_encode(b'{"alg":"ES256","kid":"k","n":NaN}') + ".e30.AA",
        b64u_encode(b'{"alg":"ES256","kid":"k","typ":"\xff"}') + ".e30.AA",
        b64u_encode(b'{"kid":"k"}') + ".e30.AA",
        "eyJhbGciOiJFUzI1NiJ9=.e30.AA",
    ],
)
def test_malformed_tokens_are_refused(token: str, keys: KeySet) -> None:
    refused("malformed", token, keys, typ=None)


def test_duplicate_claims_are_refused_after_the_signature(issuer: Es256Signer, keys: KeySet) -> None:
    token = sign_compact({"typ": TYP}, b'{"sub":"a","sub":"b"}', issuer)
    refused("malformed", token, keys)


def test_oversized_and_non_string_tokens_are_refused(issuer: Es256Signer, keys: KeySet) -> None:
    huge = sign_compact({"typ": TYP}, {"pad": "a" * 70_000}, issuer)  # validly signed, but too big
    refused("malformed", huge, keys)
    refused("malformed", b"a.b.c", keys)  # type: ignore[arg-type]


def test_allow_list_must_name_known_algorithms(issuer: Es256Signer, keys: KeySet) -> None:
    token = sign_compact({"typ": TYP}, CLAIMS, issuer)
    with pytest.raises(TypeError):
        verify_compact(token, keys, algorithms="ES256", typ=TYP)
    refused("alg_not_allowed", token, keys, algorithms=("ES256", "RS256"))
    refused("alg_not_allowed", token, keys, algorithms=())


def test_cached_headers_still_meet_every_callers_rules(issuer: Es256Signer, keys: KeySet) -> None:
    token = sign_compact({"typ": TYP}, CLAIMS, issuer)
    header, _ = verify(token, keys)
    header["alg"] = "none"  # the caller's copy, not the cache
    assert verify(token, keys)[0]["alg"] == "ES256"
    refused("alg_not_allowed", token, keys, algorithms=("SM2",))
    refused("typ", token, keys, typ="other+jwt")
    refused("unknown_kid", token, KeySet())
    other = Es256Signer.generate()
    refused("bad_signature", token.rsplit(".", 1)[0] + "." + b64u_encode(other.sign(b"x")), keys)
    nested = sign_compact({"typ": TYP, "ctx": ["a"]}, CLAIMS, issuer)
    verify(nested, keys)[0]["ctx"].append("b")
    assert verify(nested, keys)[0]["ctx"] == ["a"]


def test_sign_compact_refuses_what_verification_refuses(issuer: Es256Signer) -> None:
    for header in ({"jwk": issuer.public_jwk()}, {"jku": "https://x"}, {"crit": ["exp"]}, {"alg": "none"},
                   {"kid": "someone-else"}):
        with pytest.raises(JoseError) as caught:
            sign_compact(header, CLAIMS, issuer)
        assert caught.value.code == "forbidden_header"
    with pytest.raises(JoseError) as caught:
        sign_compact({}, {"when": datetime.now(UTC)}, issuer)
    assert caught.value.code == "malformed"
    assert sign_compact({"alg": "ES256", "kid": issuer.kid}, CLAIMS, issuer).count(".") == 2
    # header values that are not strings are not cached, and never confused with strings
    one = sign_compact({"v": 1}, CLAIMS, issuer)
    true = sign_compact({"v": True}, CLAIMS, issuer)
    assert b64u_decode(one.split(".")[0]).endswith(b'"v":1}')
    assert b64u_decode(true.split(".")[0]).endswith(b'"v":true}')


# -- key sets and rotation --------------------------------------------------------------------


def test_jwks_round_trip(issuer: Es256Signer, sm2_issuer: Sm2Signer, keys: KeySet) -> None:
    jwks = keys.to_jwks()
    assert [k["kid"] for k in jwks["keys"]] == [issuer.kid, sm2_issuer.kid]
    assert all(k["use"] == "sig" and "d" not in k for k in jwks["keys"])
    again = KeySet.from_jwks(json.loads(json.dumps(jwks)))
    assert again.to_jwks() == jwks
    token = sign_compact({"typ": TYP}, CLAIMS, issuer)
    assert verify(token, again)[1] == CLAIMS


def test_jwks_refuses_unusable_members(issuer: Es256Signer) -> None:
    member = {**issuer.public_jwk(), "kid": issuer.kid, "alg": "ES256"}
    private = issuer._key.private_numbers().private_value.to_bytes(32, "big")
    off_curve = {**member, "y": b64u_encode(bytes(32))}
    for bad in ({**member, "d": b64u_encode(private)}, {**member, "use": "enc"}, {**member, "alg": "RS256"},
                {**member, "crv": "SM2"}, {k: v for k, v in member.items() if k != "kid"}, off_curve,
                {**member, "x": b64u_encode(bytes(31))}):
        with pytest.raises(JoseError) as caught:
            KeySet.from_jwks({"keys": [bad]})
        assert caught.value.code == "bad_key", bad
    with pytest.raises(JoseError):
        KeySet.from_jwks({"keys": [member, {**member, "x": Es256Signer.generate().public_jwk()["x"]}]})
    assert len(KeySet.from_jwks({"keys": [member, dict(member)]})) == 1
    with pytest.raises(JoseError, match="says otherwise"):
        PublicKey(kid=issuer.kid, alg="SM2", jwk={**member, "crv": "SM2"})
    with pytest.raises(JoseError, match="says otherwise"):
        PublicKey(kid="another", alg="ES256", jwk=member)


def test_retired_key_verifies_until_not_after_then_is_unpublished(issuer: Es256Signer) -> None:
    new = Es256Signer.generate()
    keys = KeySet([PublicKey.from_signer(issuer), PublicKey.from_signer(new)])
    old_token = sign_compact({"typ": TYP}, CLAIMS, issuer)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    until = now + timedelta(days=3650)
    retired = keys.retire(issuer.kid, until)
    assert retired.not_after == until
    assert keys.retire(issuer.kid, now).not_after == until  # never shortened

    before = keys.published(until - timedelta(seconds=1))
    assert [k.kid for k in before] == [issuer.kid, new.kid]
    assert verify(old_token, before)[1] == CLAIMS
    assert verify(old_token, keys.published(until))[1] == CLAIMS

    after = keys.published(until + timedelta(seconds=1))
    assert [k["kid"] for k in after.to_jwks()["keys"]] == [new.kid]
    refused("unknown_kid", old_token, after)
    assert verify(sign_compact({"typ": TYP}, CLAIMS, new), after)[1] == CLAIMS


def test_key_set_times_must_be_aware(issuer: Es256Signer, keys: KeySet) -> None:
    with pytest.raises(FieldError):
        keys.published(datetime(2026, 1, 1))
    with pytest.raises(FieldError):
        keys.retire(issuer.kid, datetime(2026, 1, 1))
    with pytest.raises(JoseError) as caught:
        keys.retire("nobody", datetime(2026, 1, 1, tzinfo=UTC))
    assert caught.value.code == "unknown_kid"
