"""The verifier refuses every attack of ecard.md section 3 that is about claims, status and reuse
(the JWS-level ones are in test_credential_jose.py), and accepts what is right.

The status lists and the replay store are in-memory here; the registry-backed replay store shared
by processes and the HTTP status source are tested with the service.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from sscard_issuer.credential import sdjwt
from sscard_issuer.credential.codes import (
    CodeSubject,
    CodeTooLarge,
    KeyAlias,
    code_claims,
    make_code,
    write_qr,
)
from sscard_issuer.credential.jose import b64u_encode, sign_compact
from sscard_issuer.credential.keyset import KeySet, PublicKey
from sscard_issuer.credential.mint import CredentialSubject, mint_credential
from sscard_issuer.credential.profile import CODE_TYP, MAX_CODE_BYTES, BusinessType
from sscard_issuer.credential.signers import Es256Signer, Sm2Signer
from sscard_issuer.credential.status_list import INVALID, SUSPENDED, VALID, shard_uri
from sscard_issuer.credential.verify import StatusUnavailable, Verifier, VerifierSettings
from sscard_issuer.errors import FieldError

ISSUER = "https://ecard.example"  # 21 characters: the size budget below assumes no longer
STATUS_BASE = ISSUER + "/v1/status-lists"
HOSPITAL = "450100-H0001"
NOW = 1_790_000_000
KEY = Es256Signer.generate()
SIGNER = KeyAlias(KEY, "c1")  # the platform signs codes under a short kid
CARD_ID = "450100D1560000050000000000000001"
SUBJECT = CodeSubject(area="450100", ssn="45010319850615124X", name="欧阳娜娜娜", card_number="A00000001",
                      level=2, shard=999, index=999_999)


class Statuses:
    def __init__(self) -> None:
        self.values: dict[tuple[str, int], int] = {}
        self.down = False

    def status(self, uri: str, idx: int) -> int:
        if self.down:
            raise StatusUnavailable(uri)
        return self.values.get((uri, idx), VALID)


class Replays:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def claim(self, jti: str, expires_at: datetime) -> bool:
        if jti in self.seen:
            return False
        self.seen.add(jti)
        return True


class Clock:
    def __init__(self) -> None:
        self.now = float(NOW)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world() -> tuple[Verifier, Statuses, Clock]:
    statuses, clock = Statuses(), Clock()
    keys = KeySet([PublicKey.from_signer(SIGNER), PublicKey.from_signer(KEY)])
    verifier = Verifier(VerifierSettings(issuer=ISSUER, audience=HOSPITAL, status_base=STATUS_BASE),
                        lambda: keys, statuses, Replays(), clock=clock)
    return verifier, statuses, clock


def code(business: BusinessType = BusinessType.QUERY, *, audience: str = HOSPITAL, now: int = NOW,
         **changes: object) -> str:
    claims = code_claims(SUBJECT, business=business, issuer=ISSUER, audience=audience, now=now)
    claims.update(changes)
    return sign_compact({"typ": CODE_TYP}, {k: v for k, v in claims.items() if v is not None}, SIGNER)


# -- presentation codes ----------------------------------------------------------------------------


@pytest.mark.parametrize("business", list(BusinessType))
def test_a_fresh_code_is_valid_once_and_shows_only_what_its_business_needs(world: tuple[Verifier, Statuses, Clock],
                                                                         business: BusinessType) -> None:
    verifier, _, _ = world
    token = make_code(SUBJECT, SIGNER, business=business, issuer=ISSUER, audience=HOSPITAL, now=NOW)
    assert len(token) <= MAX_CODE_BYTES
    first = verifier.verify_code(token)
    assert (first.valid, first.reason) == (True, "valid")
    expected = {"query": {"area", "ssn", "name"}, "payment": {"area", "ssn", "name", "level"},
                "other": {"area", "name"},
                "cross_region_medical": {"area", "card_number", "ssn", "name"}}[business.name.lower()]
    assert set(first.claims) == {"business_type"} | expected
    assert first.claims["business_type"] == business.value and first.claims["name"] == SUBJECT.name
    assert verifier.verify_code(token).reason == "replayed"


def test_names_of_six_characters_fit_every_business_and_of_ten_the_query() -> None:
    for business, length in ((BusinessType.CROSS_REGION_MEDICAL, 6), (BusinessType.QUERY, 10)):
        long_name = CodeSubject(**{**SUBJECT.__dict__, "name": "阿" * length})
        token = make_code(long_name, SIGNER, business=business, issuer=ISSUER, audience=HOSPITAL, now=NOW)
        assert len(token) <= MAX_CODE_BYTES
    with pytest.raises(CodeTooLarge):
        make_code(CodeSubject(**{**SUBJECT.__dict__, "name": "阿" * 40}), SIGNER,
                  business=BusinessType.CROSS_REGION_MEDICAL, issuer=ISSUER, audience=HOSPITAL, now=NOW)


def test_payment_needs_a_level_2_e_card() -> None:
    with pytest.raises(FieldError):
        code_claims(CodeSubject(**{**SUBJECT.__dict__, "level": 1}), business=BusinessType.PAYMENT,
                    issuer=ISSUER, audience=HOSPITAL, now=NOW)


@pytest.mark.parametrize(("token", "reason"), [
    (lambda: code(now=NOW - 61 - 5), "expired"),
    (lambda: code(iat=NOW + 30), "not_yet_valid"),
    (lambda: code(iss="https://evil.example"), "issuer"),
    (lambda: code(audience="rp:other-verifier"), "audience"),
    (lambda: code(exp=NOW + 3600), "lifetime"),
    (lambda: code(bt="09"), "business_type"),
    (lambda: code(BusinessType.OTHER, d=["450100", SUBJECT.ssn, SUBJECT.name]), "too_much_data"),
    (lambda: code(BusinessType.OTHER, ssn=SUBJECT.ssn), "too_much_data"),
    (lambda: code(jti=None), "missing_claim"),
    (lambda: code(st=[7]), "malformed"),
    (lambda: make_code(SUBJECT, KeyAlias(KEY, "c2"), business=BusinessType.QUERY, issuer=ISSUER,
                       audience=HOSPITAL, now=NOW), "unknown_kid"),  # the right key under a kid not published
    (lambda: sign_compact({"typ": "JWT"}, code_claims(SUBJECT, business=BusinessType.QUERY, issuer=ISSUER,
                                                     audience=HOSPITAL, now=NOW), SIGNER), "typ"),
    (lambda: make_code(SUBJECT, KeyAlias(Sm2Signer.generate(), "c1"), business=BusinessType.QUERY, issuer=ISSUER,
                       audience=HOSPITAL, now=NOW), "alg_not_allowed"),
    (lambda: make_code(SUBJECT, KeyAlias(Es256Signer.generate(), "c1"), business=BusinessType.QUERY,
                       issuer=ISSUER, audience=HOSPITAL, now=NOW), "bad_signature"),  # another key, a published kid
])  # fmt: skip
def test_a_code_that_breaks_a_rule_is_refused_with_its_reason(world: tuple[Verifier, Statuses, Clock],
                                                              token: object, reason: str) -> None:
    verifier, _, _ = world
    result = verifier.verify_code(token())  # type: ignore[operator]
    assert (result.valid, result.reason) == (False, reason)
    assert result.claims == {} and result.message("zh") and result.message("en")


def test_a_code_for_a_suspended_or_revoked_card_is_refused_and_not_used_up(world: tuple[Verifier, Statuses, Clock]) -> None:
    verifier, statuses, _ = world
    token = code()
    where = (shard_uri(STATUS_BASE, SUBJECT.shard), SUBJECT.index)
    statuses.values[where] = SUSPENDED
    assert verifier.verify_code(token).reason == "suspended"
    statuses.values[where] = INVALID
    assert verifier.verify_code(token).reason == "revoked"
    statuses.down = True
    assert verifier.verify_code(token).reason == "status_unavailable"
    statuses.down, statuses.values[where] = False, VALID
    assert verifier.verify_code(token).valid  # the refusals did not consume it


def test_a_code_is_bound_to_the_verifiers_nonce(world: tuple[Verifier, Statuses, Clock]) -> None:
    verifier, _, _ = world
    assert verifier.verify_code(code(nonce="n-1"), nonce="n-2").reason == "nonce"
    assert verifier.verify_code(code(), nonce="n-2").reason == "nonce"
    assert verifier.verify_code(code(nonce="n-3"), nonce="n-3").valid


def test_a_business_type_the_scan_does_not_accept_is_refused(world: tuple[Verifier, Statuses, Clock]) -> None:
    verifier, _, _ = world
    payment = code(BusinessType.PAYMENT)
    assert verifier.verify_code(payment, accept=[BusinessType.QUERY]).reason == "business_type"
    assert verifier.verify_code(payment, accept=[BusinessType.PAYMENT]).valid


def test_clocks_a_few_seconds_apart_are_tolerated(world: tuple[Verifier, Statuses, Clock]) -> None:
    verifier, _, clock = world
    clock.now = NOW + 60 + 4
    assert verifier.verify_code(code()).valid
    clock.now = NOW - 4
    assert verifier.verify_code(code()).valid


def test_the_qr_image_is_written_as_png_or_svg(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    token = code()
    png, svg = write_qr(token, folder / "code.png"), write_qr(token, folder / "code.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and b"<svg" in svg.read_bytes()
    with pytest.raises(FieldError):
        write_qr(token, folder / "code.gif")


# -- credentials --------------------------------------------------------------------------------------

CREDENTIAL = CredentialSubject(ecard_id="0f8c1c54-7d5e-4a53-9d0a-6a0f1f0e2b11", issuance_number="4501002026112900000001",
                               level=1, area="450100", card_id=CARD_ID, card_number="A00000001",
                               ssn=SUBJECT.ssn, name=SUBJECT.name, issued_at=NOW - 86_400, expires_at=NOW + 10 * 365 * 86_400,
                               shard=3, index=42)


def credential(subject: CredentialSubject = CREDENTIAL, issuer: str = ISSUER, status_base: str = STATUS_BASE) -> str:
    return mint_credential(subject, KEY, issuer=issuer, status_base=status_base)


def test_a_credential_verifies_and_discloses_only_what_the_holder_chose(world: tuple[Verifier, Statuses, Clock]) -> None:
    verifier, _, _ = world
    full = credential()
    everything = verifier.verify_credential(full)
    assert everything.valid and everything.claims["name"] == SUBJECT.name and everything.claims["ssn"] == SUBJECT.ssn
    name_only = verifier.verify_credential(sdjwt.present(full, ["name"]))
    assert name_only.valid and "ssn" not in name_only.claims and name_only.claims["cid"] == CARD_ID
    assert verifier.verify_credential(full, card_id=CARD_ID.lower()).valid


def test_a_credential_follows_its_cards_status(world: tuple[Verifier, Statuses, Clock]) -> None:
    verifier, statuses, _ = world
    where = (shard_uri(STATUS_BASE, CREDENTIAL.shard), CREDENTIAL.index)
    for value, reason in ((SUSPENDED, "suspended"), (VALID, "valid"), (INVALID, "revoked")):
        statuses.values[where] = value
        assert verifier.verify_credential(credential()).reason == reason


@pytest.mark.parametrize(("make", "reason"), [
    (lambda: credential(CredentialSubject(**{**CREDENTIAL.__dict__, "expires_at": NOW - 10})), "expired"),
    (lambda: credential(issuer="https://evil.example"), "issuer"),
    (lambda: credential(status_base="https://evil.example/lists"), "malformed"),
    (lambda: credential() + b64u_encode(b'["salt", "name", "Mallory"]') + "~", "disclosure"),
])  # fmt: skip
def test_a_bad_credential_is_refused(world: tuple[Verifier, Statuses, Clock], make: object, reason: str) -> None:
    verifier, _, _ = world
    assert verifier.verify_credential(make()).reason == reason  # type: ignore[operator]


def test_a_credential_presented_with_another_card_is_refused(world: tuple[Verifier, Statuses, Clock]) -> None:
    verifier, _, _ = world
    assert verifier.verify_credential(credential(), card_id="450100D1560000050000000000000009").reason == "card_mismatch"


def test_a_presentation_code_is_not_a_credential_and_the_reverse(world: tuple[Verifier, Statuses, Clock]) -> None:
    verifier, _, _ = world
    assert verifier.verify_credential(code()).reason == "malformed"  # not an SD-JWT at all
    assert verifier.verify_credential(code() + "~").reason == "typ"
    assert verifier.verify_code(credential().split("~")[0]).reason == "typ"
