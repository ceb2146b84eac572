"""SD-JWT (RFC 9901): the specification's own disclosures and digests, round trips, every refusal.

Vectors are copied verbatim from the SD-JWT draft's editor's copy of 9 May 2024
(draft-ietf-oauth-selective-disclosure-jwt-latest, the rendered draft-ietf-oauth-selective-
disclosure-jwt.txt of github.com/oauth-wg/oauth-selective-disclosure-jwt), the text that became
RFC 9901; section numbers are that copy's. Line breaks the draft added for its 72-column limit are
removed by joining the pieces, as the draft itself says to do.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sscard_issuer.credential import sdjwt
from sscard_issuer.credential.sdjwt import (
    SD_ALG,
    Disclosure,
    SdJwtError,
    conceal,
    disclose,
    disclosure_digest,
    parse,
    present,
    serialise,
)
from sscard_issuer.credential.signers import Es256Signer
from sscard_issuer.errors import FieldError

SIGNER = Es256Signer.generate()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_json(value: Any) -> str:
    return b64(json.dumps(value).encode("utf-8"))


def fake_jws(payload: dict[str, Any]) -> str:
    """The shape of a compact JWS; signing is jose.py's business, not this module's."""
    return f"{encode_json({'alg': 'ES256'})}.{encode_json(payload)}.c2lnbmF0dXJl"


# -- the draft's vectors ----------------------------------------------------------------------------

# Section 5.2.1: ["_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius"] and three other valid spellings.
MOBIUS = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcy" "IsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
MOBIUS_ESCAPED = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNX" "HUwMGY2Yml1cyJd"
MOBIUS_NO_SPACE = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsImZhbWlseV9uYW1lIiwiTcO2Y" "ml1cyJd"
MOBIUS_NEWLINES = "WwoiXzI2YmM0TFQtYWM2cTJLSTZjQlc1ZXMiLAoiZmFtaWx5X25hbWUiLAoiT" "cO2Yml1cyIKXQ"

# Section 5.2.3: two disclosures and their SHA-256 digests.
DIGEST_VECTORS = [
    ("WyI2cU1RdlJMNWhhaiIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0", "uutlBuYeMDyjLLTpf6Jxi7yNkEF35jdyWMn9U7b_RYY"),
    ("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0", "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs"),
]
ARRAY_ELEMENT_FR = DIGEST_VECTORS[1][0]  # section 5.2.2: ["lklxF5jMYlGTPUovMNIvCA", "FR"]

# Section 6.1: the object-property disclosures of the example, with their digests and contents.
EXAMPLE_DISCLOSURES: list[tuple[str, str, list[Any]]] = [
    ("WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9o" "biJd",
     "jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4", ["2GLC42sKQveCfGfryNRN9w", "given_name", "John"]),
    ("WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgImZhbWlseV9uYW1lIiwgIkRv" "ZSJd",
     "TGf4oLbgwd5JQaHyKVQZU9UdGE0w5rtDsrZzfUaomLo", ["eluV5Og3gSNII8EYnsxA_A", "family_name", "Doe"]),
    ("WyI2SWo3dE0tYTVpVlBHYm9TNXRtdlZBIiwgImVtYWlsIiwgImpvaG5kb2VA" "ZXhhbXBsZS5jb20iXQ",
     "JzYjH4svliH0R3PyEMfeZu6Jt69u5qehZo7F7EPYlSE", ["6Ij7tM-a5iVPGboS5tmvVA", "email", "johndoe@example.com"]),
    ("WyJlSThaV205UW5LUHBOUGVOZW5IZGhRIiwgInBob25lX251bWJlciIsICIr" "MS0yMDItNTU1LTAxMDEiXQ",
     "PorFbpKuVu6xymJagvkFsFXAbRoc2JGlAUA2BA4o7cI", ["eI8ZWm9QnKPpNPeNenHdhQ", "phone_number", "+1-202-555-0101"]),
    ("WyJRZ19PNjR6cUF4ZTQxMmExMDhpcm9BIiwgInBob25lX251bWJlcl92ZXJp" "ZmllZCIsIHRydWVd",
     "XQ_3kPKt1XyX7KANkqVR6yZ2Va5NrPIvPYbyMvRKBMM", ["Qg_O64zqAxe412a108iroA", "phone_number_verified", True]),
    ("WyJBSngtMDk1VlBycFR0TjRRTU9xUk9BIiwgImFkZHJlc3MiLCB7InN0cmVl"
     "dF9hZGRyZXNzIjogIjEyMyBNYWluIFN0IiwgImxvY2FsaXR5IjogIkFueXRv"
     "d24iLCAicmVnaW9uIjogIkFueXN0YXRlIiwgImNvdW50cnkiOiAiVVMifV0",
     "XzFrzwscM6Gn6CJDc6vVK8BkMnfG8vOSKfpPIZdAfdE",
     ["AJx-095VPrpTtN4QMOqROA", "address",
      {"street_address": "123 Main St", "locality": "Anytown", "region": "Anystate", "country": "US"}]),
    ("WyJQYzMzSk0yTGNoY1VfbEhnZ3ZfdWZRIiwgImJpcnRoZGF0ZSIsICIxOTQw" "LTAxLTAxIl0",
     "gbOsI4Edq2x2Kw-w5wPEzakob9hV1cRD0ATN3oQL9JM", ["Pc33JM2LchcU_lHggv_ufQ", "birthdate", "1940-01-01"]),
    ("WyJHMDJOU3JRZmpGWFE3SW8wOXN5YWpBIiwgInVwZGF0ZWRfYXQiLCAxNTcw" "MDAwMDAwXQ",
     "CrQe7S5kqBAHt-nMYXgc6bdt2SH5aTY1sU_M-PgkjPI", ["G02NSrQfjFXQ7Io09syajA", "updated_at", 1570000000]),
]
# Section 6.1: the two array-element disclosures of "nationalities" (not used by this profile).
EXAMPLE_ARRAY_DISCLOSURES = ["WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIlVTIl0", "WyJuUHVvUW5rUkZxM0JJZUFtN0FuWEZBIiwgIkRFIl0"]

# Section 6.1: the Issuer-signed JWT of the example.
EXAMPLE_JWS = "".join([
    "eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImV4YW1wbGUrc2Qtand0In0.eyJfc2QiOiBb",
    "IkNyUWU3UzVrcUJBSHQtbk1ZWGdjNmJkdDJTSDVhVFkxc1VfTS1QZ2tqUEkiLCAiSnpZ",
    "akg0c3ZsaUgwUjNQeUVNZmVadTZKdDY5dTVxZWhabzdGN0VQWWxTRSIsICJQb3JGYnBL",
    "dVZ1Nnh5bUphZ3ZrRnNGWEFiUm9jMkpHbEFVQTJCQTRvN2NJIiwgIlRHZjRvTGJnd2Q1",
    "SlFhSHlLVlFaVTlVZEdFMHc1cnREc3JaemZVYW9tTG8iLCAiWFFfM2tQS3QxWHlYN0tB",
    "TmtxVlI2eVoyVmE1TnJQSXZQWWJ5TXZSS0JNTSIsICJYekZyendzY002R242Q0pEYzZ2",
    "Vks4QmtNbmZHOHZPU0tmcFBJWmRBZmRFIiwgImdiT3NJNEVkcTJ4Mkt3LXc1d1BFemFr",
    "b2I5aFYxY1JEMEFUTjNvUUw5Sk0iLCAianN1OXlWdWx3UVFsaEZsTV8zSmx6TWFTRnpn",
    "bGhRRzBEcGZheVF3TFVLNCJdLCAiaXNzIjogImh0dHBzOi8vaXNzdWVyLmV4YW1wbGUu",
    "Y29tIiwgImlhdCI6IDE2ODMwMDAwMDAsICJleHAiOiAxODgzMDAwMDAwLCAic3ViIjog",
    "InVzZXJfNDIiLCAibmF0aW9uYWxpdGllcyI6IFt7Ii4uLiI6ICJwRm5kamtaX1ZDem15",
    "VGE2VWpsWm8zZGgta284YUlLUWM5RGxHemhhVllvIn0sIHsiLi4uIjogIjdDZjZKa1B1",
    "ZHJ5M2xjYndIZ2VaOGtoQXYxVTFPU2xlclAwVmtCSnJXWjAifV0sICJfc2RfYWxnIjog",
    "InNoYS0yNTYiLCAiY25mIjogeyJqd2siOiB7Imt0eSI6ICJFQyIsICJjcnYiOiAiUC0y",
    "NTYiLCAieCI6ICJUQ0FFUjE5WnZ1M09IRjRqNFc0dmZTVm9ISVAxSUxpbERsczd2Q2VH",
    "ZW1jIiwgInkiOiAiWnhqaVdXYlpNUUdIVldLVlE0aGJTSWlyc1ZmdWVjQ0U2dDRqVDlG",
    "MkhaUSJ9fX0.U7vajjP8sLu-ekMnVywiDEMfgVRmFc5OqXLaAEryf6JtBw-96m0RiYgo",
    "E_82mRjZeZimg6RygBLsvbtKOKuw_g",
])
# Section 6.1: the "_sd" array of the example payload.
EXAMPLE_SD = [
    "CrQe7S5kqBAHt-nMYXgc6bdt2SH5aTY1sU_M-PgkjPI", "JzYjH4svliH0R3PyEMfeZu6Jt69u5qehZo7F7EPYlSE",
    "PorFbpKuVu6xymJagvkFsFXAbRoc2JGlAUA2BA4o7cI", "TGf4oLbgwd5JQaHyKVQZU9UdGE0w5rtDsrZzfUaomLo",
    "XQ_3kPKt1XyX7KANkqVR6yZ2Va5NrPIvPYbyMvRKBMM", "XzFrzwscM6Gn6CJDc6vVK8BkMnfG8vOSKfpPIZdAfdE",
    "gbOsI4Edq2x2Kw-w5wPEzakob9hV1cRD0ATN3oQL9JM", "jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4",
]


def example_payload() -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(unb64(EXAMPLE_JWS.split(".")[1]))
    return payload


def test_object_property_disclosure_section_5_2_1() -> None:
    disclosure = Disclosure.parse(MOBIUS)
    assert (disclosure.salt, disclosure.name, disclosure.value) == ("_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius")
    assert disclosure.encoded == MOBIUS
    assert disclosure.digest == disclosure_digest(MOBIUS)


def test_every_spelling_of_a_disclosure_is_its_own_digest_section_5_2_1() -> None:
    spellings = [MOBIUS, MOBIUS_ESCAPED, MOBIUS_NO_SPACE, MOBIUS_NEWLINES]
    parsed = [Disclosure.parse(text) for text in spellings]
    assert {(d.salt, d.name, d.value) for d in parsed} == {("_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius")}
    assert len({d.digest for d in parsed}) == 4  # the digest is over the text as sent, not the claim


def test_make_writes_the_drafts_no_white_space_spelling_section_5_2_1() -> None:
    made = Disclosure.make("family_name", "Möbius", salt="_26bc4LT-ac6q2KI6cBW5es")
    assert made.encoded == MOBIUS_NO_SPACE
    assert made == Disclosure.parse(MOBIUS_NO_SPACE)


@pytest.mark.parametrize(("encoded", "digest"), DIGEST_VECTORS)
def test_digest_over_the_base64url_text_section_5_2_3(encoded: str, digest: str) -> None:
    assert disclosure_digest(encoded) == digest


def test_parsed_disclosure_carries_the_section_5_2_3_digest() -> None:
    encoded, digest = DIGEST_VECTORS[0]
    assert Disclosure.parse(encoded).digest == digest


@pytest.mark.parametrize(("encoded", "digest", "contents"), EXAMPLE_DISCLOSURES, ids=lambda v: str(v)[:12])
def test_example_disclosures_section_6_1(encoded: str, digest: str, contents: list[Any]) -> None:
    disclosure = Disclosure.parse(encoded)
    assert [disclosure.salt, disclosure.name, disclosure.value] == contents
    assert disclosure.digest == digest


def test_example_payload_section_6_1() -> None:
    payload = example_payload()
    assert payload["_sd"] == EXAMPLE_SD
    assert payload["_sd_alg"] == SD_ALG and payload["iss"] == "https://issuer.example.com"
    assert {digest for _, digest, _ in EXAMPLE_DISCLOSURES} == set(EXAMPLE_SD)


def test_disclose_the_section_6_1_example() -> None:
    payload = example_payload()
    chosen = [Disclosure.parse(EXAMPLE_DISCLOSURES[i][0]) for i in (0, 1, 5)]  # given_name, family_name, address
    claims = disclose(payload, chosen)
    assert claims["given_name"] == "John" and claims["family_name"] == "Doe"
    assert claims["address"]["locality"] == "Anytown"
    assert {"email", "birthdate", "_sd", "_sd_alg"}.isdisjoint(claims)
    assert claims["sub"] == "user_42" and claims["iat"] == 1683000000 and "cnf" in claims


def test_presentation_of_the_example_parses_and_discloses_section_6_1() -> None:
    chosen = [Disclosure.parse(EXAMPLE_DISCLOSURES[i][0]) for i in (1, 5, 0)]
    jws, disclosures, kb_jwt = parse(serialise(EXAMPLE_JWS, chosen))
    assert jws == EXAMPLE_JWS and disclosures == chosen and kb_jwt is None
    assert disclose(example_payload(), disclosures)["family_name"] == "Doe"


def test_array_element_disclosures_are_refused_by_this_profile() -> None:
    for encoded in [ARRAY_ELEMENT_FR, *EXAMPLE_ARRAY_DISCLOSURES]:
        with pytest.raises(SdJwtError) as caught:
            Disclosure.parse(encoded)
        assert caught.value.code == "bad_disclosure"
    issued = serialise(EXAMPLE_JWS, []) + "~".join(
        [d for d, _, _ in EXAMPLE_DISCLOSURES] + EXAMPLE_ARRAY_DISCLOSURES) + "~"  # section 6.1, as issued
    with pytest.raises(SdJwtError) as caught:
        parse(issued)
    assert caught.value.code == "bad_disclosure"


# -- building and round trips -------------------------------------------------------------------------

CLAIMS: dict[str, Any] = {
    "iss": "https://ecard.example.cn",
    "cid": "310000D15600000500ABCDEF12345678",
    "name": "张三",
    "ssn": "11010519491231002X",
    "lvl": 2,
    "status": {"status_list": {"idx": 7, "uri": "https://ecard.example.cn/status/3"}},
}


def issue(decoys: int = 0) -> tuple[dict[str, Any], list[Disclosure], str]:
    payload, disclosures = conceal(CLAIMS, ["name", "ssn"], decoys=decoys)
    return payload, disclosures, serialise(fake_jws(payload), disclosures)


def test_round_trip_conceal_serialise_parse_disclose() -> None:
    payload, disclosures, sd_jwt = issue()
    assert {"name", "ssn"}.isdisjoint(payload) and payload["_sd_alg"] == "sha-256"
    assert sd_jwt.endswith("~") and sd_jwt.count("~") == 3
    jws, parsed, kb_jwt = parse(sd_jwt)
    assert parsed == disclosures and kb_jwt is None
    assert json.loads(unb64(jws.split(".")[1])) == payload
    assert disclose(payload, parsed) == CLAIMS


def test_sd_is_sorted_and_holds_exactly_the_digests() -> None:
    payload, disclosures, _ = issue()
    assert payload["_sd"] == sorted(d.digest for d in disclosures)


def test_decoys_pad_sd_and_stay_undisclosable() -> None:
    payload, disclosures, _ = issue(decoys=5)
    assert len(payload["_sd"]) == len(set(payload["_sd"])) == 7
    assert payload["_sd"] == sorted(payload["_sd"])
    assert disclose(payload, disclosures) == CLAIMS


def test_salts_are_fresh_128_bit_and_stay_out_of_repr() -> None:
    first, second = Disclosure.make("ssn", "x"), Disclosure.make("ssn", "x")
    assert first.salt != second.salt and len(unb64(first.salt)) == 16
    assert first.digest != second.digest
    shown = repr(Disclosure.make("ssn", "11010519491231002X", salt="secret-salt"))
    assert "11010519491231002X" not in shown and "secret-salt" not in shown and "ssn" in shown


def test_no_claim_concealed_and_no_decoys_omits_sd() -> None:
    payload, disclosures = conceal({"iss": "x"}, [])
    assert payload == {"iss": "x", "_sd_alg": "sha-256"} and disclosures == []
    assert disclose(payload, []) == {"iss": "x"}


def test_missing_sd_alg_means_sha_256() -> None:
    payload, disclosures, _ = issue()
    del payload["_sd_alg"]
    assert disclose(payload, disclosures) == CLAIMS


def test_a_disclosure_cannot_be_built_inconsistent() -> None:
    real = Disclosure.make("name", "张三")
    with pytest.raises(TypeError):
        Disclosure("salt", "name", "李四", real.encoded, real.digest)
    with pytest.raises(TypeError):
        dataclasses.replace(real, value="李四")


# -- present ----------------------------------------------------------------------------------------


def test_present_keeps_only_the_names_asked_for() -> None:
    payload, _, sd_jwt = issue()
    shown = present(sd_jwt, {"name"})
    jws, kept, _ = parse(shown)
    assert jws == sd_jwt.split("~")[0] and [d.name for d in kept] == ["name"]
    claims = disclose(payload, kept)
    assert claims["name"] == "张三" and "ssn" not in claims
    assert present(sd_jwt, []) == jws + "~"
    assert present(sd_jwt, ["ssn", "name"]) == sd_jwt  # order of the SD-JWT, not of the request


def test_present_refuses_names_it_cannot_show() -> None:
    _, _, sd_jwt = issue()
    with pytest.raises(SdJwtError) as caught:
        present(sd_jwt, {"name", "birthdate"})
    assert caught.value.code == "unknown_disclosure"
    with pytest.raises(FieldError):
        present(sd_jwt, "name")  # one string is not a set of names
    with pytest.raises(SdJwtError) as caught:
        present(sd_jwt + "eyJhbGciOiJFUzI1NiJ9.e30.c2ln", {"name"})
    assert caught.value.code == "malformed"  # a key-bound presentation cannot be trimmed


# -- refusals -----------------------------------------------------------------------------------------


def refused(code: str, payload: dict[str, Any], disclosures: list[Disclosure]) -> None:
    with pytest.raises(SdJwtError) as caught:
        disclose(payload, disclosures)
    assert caught.value.code == code


def test_disclosure_not_in_sd_is_refused() -> None:
    payload, disclosures, _ = issue()
    refused("unknown_disclosure", payload, [*disclosures, Disclosure.make("lvl", 1)])


def test_disclosure_sent_twice_is_refused() -> None:
    payload, disclosures, sd_jwt = issue()
    refused("duplicate_disclosure", payload, [disclosures[0], disclosures[0]])
    with pytest.raises(SdJwtError) as caught:
        parse(sd_jwt + disclosures[0].encoded + "~")
    assert caught.value.code == "duplicate_disclosure"
    with pytest.raises(SdJwtError) as caught:
        serialise(fake_jws(payload), [disclosures[1], disclosures[1]])
    assert caught.value.code == "duplicate_disclosure"


def test_tampered_disclosure_is_refused() -> None:
    payload, disclosures, _ = issue()
    original = disclosures[0]
    forged = Disclosure.make(original.name, "李四", salt=original.salt)  # same salt, other value
    refused("unknown_disclosure", payload, [forged])
    flipped = original.encoded[:10] + ("A" if original.encoded[10] != "A" else "B") + original.encoded[11:]
    with pytest.raises(SdJwtError) as caught:
        disclose(payload, [Disclosure.parse(flipped)])
    assert caught.value.code in {"malformed", "bad_disclosure", "unknown_disclosure"}


@pytest.mark.parametrize("name", ["_sd", "..."])
def test_reserved_names_are_refused(name: str) -> None:
    with pytest.raises(SdJwtError) as caught:
        Disclosure.parse(encode_json(["salt", name, "x"]))
    assert caught.value.code == "reserved_name"
    with pytest.raises(SdJwtError) as caught:
        Disclosure.make(name, "x")
    assert caught.value.code == "reserved_name"


def test_claim_set_with_sd_keys_is_refused() -> None:
    for key in ("_sd", "_sd_alg"):
        with pytest.raises(SdJwtError) as caught:
            conceal({**CLAIMS, key: []}, ["name"])
        assert caught.value.code == "reserved_name"


def test_disclosure_overriding_a_plain_claim_is_refused() -> None:
    payload, disclosures, _ = issue()
    payload["name"] = "王五"
    refused("bad_disclosure", payload, disclosures)


def test_two_disclosures_of_one_name_are_refused() -> None:
    first, second = Disclosure.make("name", "张三"), Disclosure.make("name", "李四")
    refused("bad_disclosure", {"_sd": sorted([first.digest, second.digest])}, [first, second])


@pytest.mark.parametrize("alg", ["sha-512", "SHA-256", "sha256", None, 256])
def test_wrong_sd_alg_is_refused(alg: object) -> None:
    payload, disclosures, _ = issue()
    payload["_sd_alg"] = alg
    refused("sd_alg", payload, disclosures)


@pytest.mark.parametrize("sd", ["abc", [1, 2], {"a": 1}])
def test_sd_that_is_not_an_array_of_strings_is_refused(sd: object) -> None:
    payload, disclosures, _ = issue()
    payload["_sd"] = sd
    refused("malformed", payload, disclosures)


def test_digest_listed_twice_in_sd_is_refused() -> None:
    payload, disclosures, _ = issue()
    payload["_sd"] = payload["_sd"] + payload["_sd"][:1]
    refused("malformed", payload, disclosures)


def test_nested_selective_disclosure_is_refused() -> None:
    nested = Disclosure.make("address", {"_sd": ["x"]})
    refused("bad_disclosure", {"_sd": [nested.digest]}, [nested])


@pytest.mark.parametrize(
    ("encoded", "code"),
    [
        ("", "malformed"),
        ("WyJ=", "malformed"),  # padding
        ("Wy+/", "malformed"),  # base64, not base64url
        ("WyJhI", "malformed"),  # a length base64 cannot have
        ("bm90IGpzb24", "malformed"),  # "not json"
        (b64(b"\xff\xfe[]"), "malformed"),  # not UTF-8
        (b64(b'["s", "n", NaN]'), "malformed"),  # NaN is not JSON
        (b64(b"[" * 100_000), "malformed"),  # too deep for the parser
        (encode_json({"salt": "s"}), "bad_disclosure"),
        (encode_json(["s", "n", "v", "extra"]), "bad_disclosure"),
        (encode_json(["s"]), "bad_disclosure"),
        (encode_json([1, "n", "v"]), "bad_disclosure"),
        (encode_json(["s", 2, "v"]), "bad_disclosure"),
    ],
)
def test_malformed_disclosures_are_refused(encoded: str, code: str) -> None:
    with pytest.raises(SdJwtError) as caught:
        Disclosure.parse(encoded)
    assert caught.value.code == code


@pytest.mark.parametrize(
    "sd_jwt",
    [
        "",
        "a.b.c",  # no '~' at all
        "not-a-jws~",
        "a.b.c~~",  # an empty disclosure
        "a.b.c~WyJ=~",
        "a.b.c~kb-jwt-without-dots",
    ],
)
def test_malformed_sd_jwts_are_refused(sd_jwt: str) -> None:
    with pytest.raises(SdJwtError) as caught:
        parse(sd_jwt)
    assert caught.value.code == "malformed"


def test_key_binding_jwt_is_returned_apart() -> None:
    _, disclosures, sd_jwt = issue()
    kb = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImtiK2p3dCJ9.e30.c2ln"
    _, parsed, kb_jwt = parse(sd_jwt + kb)
    assert parsed == disclosures and kb_jwt == kb


def test_bad_arguments_name_the_field() -> None:
    with pytest.raises(FieldError) as caught:
        conceal(CLAIMS, "name")
    assert caught.value.field == "disclosable"
    with pytest.raises(FieldError) as caught:
        conceal(CLAIMS, ["birthdate"])
    assert caught.value.field == "disclosable"
    with pytest.raises(FieldError) as caught:
        conceal(CLAIMS, ["name"], decoys=-1)
    assert caught.value.field == "decoys"
    with pytest.raises(SdJwtError) as refused:
        Disclosure.make("name", {1, 2})  # a set is not JSON
    assert refused.value.code == "bad_disclosure"
    with pytest.raises(SdJwtError) as refused:
        serialise("a.b.c~", [])
    assert refused.value.code == "malformed"


@given(st.text(max_size=200))
def test_any_text_parses_or_raises_the_typed_error(text: str) -> None:
    for attempt in (lambda: Disclosure.parse(text), lambda: parse(text), lambda: parse(f"a.b.c~{text}~")):
        try:
            attempt()
        except SdJwtError:
            pass


@given(st.binary(max_size=200))
def test_any_bytes_as_a_disclosure_parse_or_raise_the_typed_error(data: bytes) -> None:
    try:
        disclosure = Disclosure.parse(b64(data))
    except SdJwtError:
        return
    assert disclosure.digest == disclosure_digest(b64(data))


# -- the issuing fast path writes what the general path would -------------------------------------

_TEXT = st.text(min_size=1, max_size=24)


@given(name=_TEXT, ssn=_TEXT, ecard_id=_TEXT, area=_TEXT, issuer=_TEXT, base=_TEXT,
       level=st.integers(1, 2), iat=st.integers(0, 2**40), shard=st.integers(0, 10**6), index=st.integers(0, 10**9))
def test_minting_writes_byte_for_byte_the_claims_conceal_and_the_json_encoder_would(
        name: str, ssn: str, ecard_id: str, area: str, issuer: str, base: str, level: int, iat: int, shard: int,
        index: int) -> None:
    """mint_credential writes the claim set's JSON itself (for speed): for any text, including quotes,
    backslashes, control characters and non-BMP characters, it must be the general path's bytes."""
    import os
    from unittest import mock

    from sscard_issuer.credential import mint
    from sscard_issuer.credential.jose import b64u_decode, sign_compact
    from sscard_issuer.credential.profile import DISCLOSABLE, ECARD_TYP

    subject = mint.CredentialSubject(ecard_id=ecard_id, issuance_number="45010020260302000001", level=level,
                                     area=area, card_id="450100D156000005000000000000007B", card_number="A00000123",
                                     ssn=ssn, name=name, issued_at=iat, expires_at=iat + 3600, shard=shard, index=index)
    salts = os.urandom(64)

    def same_salts(n: int) -> bytes:
        return salts[:n]

    try:
        with mock.patch("os.urandom", same_salts):
            fast = mint.mint_credential(subject, SIGNER, issuer=issuer, status_base=base)
            payload, disclosures = sdjwt.conceal(mint.credential_claims(subject, issuer=issuer, status_base=base),
                                                 DISCLOSABLE)
    except (ValueError, UnicodeEncodeError) as refused:  # both paths refuse the same inputs (e.g. a bad URI)
        with mock.patch("os.urandom", same_salts), pytest.raises(type(refused)):
            sdjwt.conceal(mint.credential_claims(subject, issuer=issuer, status_base=base), DISCLOSABLE)
        return
    general = "~".join([sign_compact({"typ": ECARD_TYP}, payload, SIGNER), *(d.encoded for d in disclosures), ""])
    fast_jws, *fast_rest = fast.split("~")
    general_jws, *general_rest = general.split("~")
    assert fast_jws.split(".")[:2] == general_jws.split(".")[:2]  # header and payload (ECDSA signatures differ)
    assert fast_rest == general_rest
    assert b64u_decode(fast_jws.split(".")[1])  # a real payload
