"""The platform's HTTP service through FastAPI (in-process ASGI), on SQLite and PostgreSQL: issue,
codes, verification, the status following the card, published lists and keys, callers' rights."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient

from sscard_issuer.api.platform import Platform, PlatformSettings
from sscard_issuer.api.platform_app import Client, Clients, create_app
from sscard_issuer.credential import status_list
from sscard_issuer.credential.jose import b64u_decode
from sscard_issuer.credential.profile import BusinessType
from sscard_issuer.credential.signers import Es256Signer, Sm2Signer
from sscard_issuer.lifecycle.actions import LossKind
from sscard_issuer.registry import Registry
from sscard_issuer.registry.credentials import SigningKeyError
from tests.unit.offices import PHOTO, Staff, applicant, enrolled, hire, individual

ISSUER_KEY, HOSPITAL_KEY, LIBRARY_KEY = "k-issuer-0123456789", "k-hospital-0123456789", "k-library-0123456789"
AS_ISSUER = {"Authorization": f"Bearer {ISSUER_KEY}"}
AS_HOSPITAL = {"Authorization": f"Bearer {HOSPITAL_KEY}"}
AS_LIBRARY = {"Authorization": f"Bearer {LIBRARY_KEY}"}
HOSPITAL = "450100-H0001"


@dataclass
class World:
    platform: Platform
    http: TestClient
    staff: Staff
    card_ref: str


def make_card(platform: Platform, staff: Staff, serial: int = 123, *, bank: bool = True) -> str:
    office = platform.office
    who = enrolled(office, staff.operator, applicant(serial))
    ref = office.apply(staff.operator, individual(who)).card_ref
    office.produce(staff.operator, ref)
    office.record_personalisation(staff.operator, ref, card_number=f"A{serial:08d}",
                                  card_id=f"450100D156000005{serial:016X}", issued_on=date(2026, 3, 2),
                                  expires_on=date(2036, 3, 2), bank=bank)
    office.collect(staff.operator, ref)
    return ref


@pytest.fixture
def world(registry: Registry) -> World:
    platform = Platform(registry, signer=Es256Signer.generate(), settings=PlatformSettings(shards=4, shard_size=1024))
    staff = hire(platform.office)
    clients = Clients.from_keys({ISSUER_KEY: Client("holder-app", frozenset({"issue"})),
                                 HOSPITAL_KEY: Client("hospital", frozenset({"verify"}), HOSPITAL),
                                 LIBRARY_KEY: Client("library", frozenset({"verify"}), "450100-L0001")})
    return World(platform, TestClient(create_app(platform, clients)), staff, make_card(platform, staff))


def issue(world: World, level: int = 1) -> dict[str, object]:
    response = world.http.post("/v1/ecards", json={"card": world.card_ref, "level": level}, headers=AS_ISSUER)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def verify(world: World, token: str, headers: dict[str, str] = AS_HOSPITAL, **extra: object) -> dict[str, object]:
    response = world.http.post("/v1/verify", json={"token": token, **extra}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def new_code(world: World, ecard_id: object, business: str = "01", audience: str = HOSPITAL) -> str:
    response = world.http.post(f"/v1/ecards/{ecard_id}/codes", json={"business_type": business, "audience": audience},
                               headers=AS_ISSUER)
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


def test_collecting_the_card_created_its_e_card_and_issuing_returns_that_one(world: World) -> None:
    first, again = issue(world), issue(world)
    assert (first["created"], first["ecard_id"]) == (False, again["ecard_id"])
    record = world.http.get(f"/v1/ecards/{first['ecard_id']}", headers=AS_ISSUER).json()
    assert (record["status"], record["active"], record["level"], record["card_ref"]) == ("valid", True, 1, world.card_ref)
    assert record["expires_at"].startswith("2036-03-02")


def test_a_credential_verifies_and_follows_the_card_through_its_lifecycle(world: World) -> None:
    token = str(issue(world)["token"])
    office, operator = world.platform.office, world.staff.operator
    assert verify(world, token)["reason"] == "valid"
    office.report_loss(operator, world.card_ref, LossKind.TEMPORARY)
    assert verify(world, token)["reason"] == "suspended"
    office.cancel_loss(operator, world.card_ref)
    assert verify(world, token)["reason"] == "valid"
    office.report_loss(operator, world.card_ref, LossKind.FORMAL)
    assert verify(world, token)["reason"] == "revoked"
    replacement = office.replace(operator, world.card_ref, photo=PHOTO)
    assert verify(world, token)["reason"] == "revoked"
    assert world.platform.ecards.status(operator, replacement.card_ref) is None  # until it is collected


def test_a_replacement_revokes_the_old_e_card_and_the_new_card_gets_its_own(world: World) -> None:
    old = issue(world)
    office, operator = world.platform.office, world.staff.operator
    new_ref = office.replace(operator, world.card_ref, photo=PHOTO).card_ref
    office.produce(operator, new_ref)
    office.record_personalisation(operator, new_ref, card_number="A00000999", card_id="450100D1560000050000000000000999",
                                  issued_on=date(2026, 4, 1), expires_on=date(2036, 4, 1), bank=False)
    office.collect(operator, new_ref)
    response = world.http.post("/v1/ecards", json={"card": new_ref}, headers=AS_ISSUER)
    assert response.status_code == 201
    new = response.json()
    assert new["ecard_id"] != old["ecard_id"]
    assert verify(world, str(old["token"]))["reason"] == "revoked"
    valid = verify(world, new["token"], card_id="450100D1560000050000000000000999")
    assert valid["reason"] == "valid" and valid["claims"]["cno"] == "A00000999"  # type: ignore[index]


def test_level_2_only_for_an_activated_card_with_a_bank_application(world: World) -> None:
    refused = world.http.post("/v1/ecards", json={"card": world.card_ref, "level": 2}, headers=AS_ISSUER)
    assert refused.status_code == 409 and refused.json()["message"]
    world.platform.office.activate(world.staff.operator, world.card_ref)
    assert issue(world, level=2)["level"] == 2


def test_a_code_is_valid_once_for_its_verifier_and_shows_only_its_business_data(world: World) -> None:
    ecard_id = issue(world)["ecard_id"]
    code = new_code(world, ecard_id, "03")
    assert len(code) <= 400
    assert verify(world, code, headers=AS_LIBRARY)["reason"] == "audience"
    accepted = verify(world, code)
    assert accepted["valid"] is True and set(accepted["claims"]) == {"business_type", "area", "name"}  # type: ignore[arg-type]
    assert verify(world, code)["reason"] == "replayed"


def test_no_code_for_a_suspended_card_and_a_code_made_before_the_loss_is_refused(world: World) -> None:
    ecard_id = issue(world)["ecard_id"]
    code = new_code(world, ecard_id)
    world.platform.office.report_loss(world.staff.operator, world.card_ref, LossKind.TEMPORARY)
    assert verify(world, code)["reason"] == "suspended"
    refused = world.http.post(f"/v1/ecards/{ecard_id}/codes", json={"audience": HOSPITAL}, headers=AS_ISSUER)
    assert refused.status_code == 409


def test_callers_need_their_own_right(world: World) -> None:
    ecard_id = issue(world)["ecard_id"]
    assert world.http.post("/v1/ecards", json={"card": world.card_ref}).status_code == 401
    assert world.http.post("/v1/ecards", json={"card": world.card_ref},
                           headers={"Authorization": "Bearer nope"}).status_code == 401
    assert world.http.post("/v1/ecards", json={"card": world.card_ref}, headers=AS_HOSPITAL).status_code == 403
    assert world.http.get(f"/v1/ecards/{ecard_id}", headers=AS_HOSPITAL).status_code == 403
    assert world.http.post("/v1/verify", json={"token": "x"}, headers=AS_ISSUER).status_code == 403
    denied = world.http.post(f"/v1/ecards/{ecard_id}/codes", json={"audience": HOSPITAL}, headers=AS_HOSPITAL)
    assert denied.status_code == 403 and "code" not in denied.text


def test_status_lists_are_signed_cacheable_and_republished_only_when_their_shard_changes(world: World) -> None:
    token = str(issue(world)["token"])
    reference = verify(world, token)["claims"]["status"]["status_list"]  # type: ignore[index]
    shard = int(reference["uri"].rsplit("/", 1)[1])
    first = world.http.get(f"/v1/status-lists/{shard}")
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/statuslist+jwt")
    assert "max-age=" in first.headers["cache-control"]
    etag = first.headers["etag"]
    assert world.http.get(f"/v1/status-lists/{shard}", headers={"If-None-Match": etag}).status_code == 304
    others = {s: world.http.get(f"/v1/status-lists/{s}").headers["etag"] for s in range(4) if s != shard}
    world.platform.office.report_loss(world.staff.operator, world.card_ref, LossKind.TEMPORARY)
    changed = world.http.get(f"/v1/status-lists/{shard}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert {s: world.http.get(f"/v1/status-lists/{s}").headers["etag"] for s in others} == others
    claims = json.loads(b64u_decode(changed.text.split(".")[1]))
    assert claims["sub"] == reference["uri"] and claims["status_list"]["bits"] == 2
    entries = zlib.decompress(b64u_decode(claims["status_list"]["lst"]))
    assert (entries[reference["idx"] // 4] >> (2 * (reference["idx"] % 4))) & 3 == status_list.SUSPENDED


def test_the_key_set_is_published_and_the_openapi_lists_every_route(world: World) -> None:
    jwks = world.http.get("/.well-known/jwks.json")
    assert jwks.status_code == 200 and "max-age=" in jwks.headers["cache-control"]
    kids = {k["kid"] for k in jwks.json()["keys"]}
    assert {world.platform.signer.kid, "c1"} <= kids and all("d" not in k for k in jwks.json()["keys"])
    paths = set(world.http.get("/openapi.json").json()["paths"])
    assert {"/v1/ecards", "/v1/ecards/{ecard_id}", "/v1/ecards/{ecard_id}/codes", "/v1/verify",
            "/v1/status-lists/{shard}", "/.well-known/jwks.json"} <= paths


def test_a_rotated_key_stays_published_and_old_credentials_still_verify(world: World) -> None:
    old_token = str(issue(world)["token"])
    old_kid = world.platform.signer.kid
    world.platform.rotate(Es256Signer.generate(), code_kid="c2")
    kids = {k["kid"] for k in world.http.get("/.well-known/jwks.json").json()["keys"]}
    assert {old_kid, world.platform.signer.kid, "c2"} <= kids
    assert verify(world, old_token)["reason"] == "valid"
    renewed = str(issue(world)["token"])
    assert verify(world, renewed)["reason"] == "valid" and renewed != old_token


def test_a_rotation_by_another_process_stops_the_old_key_and_retired_keys_drop_after_their_grace(
        registry: Registry) -> None:
    now = [1_790_000_000.0]
    settings = PlatformSettings(shards=2, shard_size=256)
    old = Platform(registry, signer=Es256Signer.generate(), settings=settings, clock=lambda: now[0])
    staff = hire(old.office)
    ecard_id = old.issue(staff.operator, make_card(old, staff)).ecard.ecard_id
    old_kid = old.signer.kid
    other = Platform(registry, signer=old.signer, settings=settings, clock=lambda: now[0])  # a second server
    assert other.code_signer.kid == "c1"
    new_signer = Es256Signer.generate()
    assert set(other.rotate(new_signer)) == {old_kid, "c1"}
    assert other.code_signer.kid == "c2"
    now[0] += 11  # the old server's key set refresh
    with pytest.raises(SigningKeyError, match="retired") as refused:
        old.code(ecard_id, business=BusinessType.QUERY, audience=HOSPITAL)
    assert refused.value.code == "key_retired"
    with pytest.raises(SigningKeyError, match="retired"):
        old.status_list(0)
    with pytest.raises(SigningKeyError, match="retired"):  # restarting with the retired key is refused
        Platform(registry, signer=old.signer, settings=settings, clock=lambda: now[0])
    restarted = Platform(registry, signer=new_signer, settings=settings, clock=lambda: now[0])
    assert restarted.code_signer.kid == "c2"  # the new key keeps its alias across restarts
    code = restarted.code(ecard_id, business=BusinessType.QUERY, audience=HOSPITAL)
    assert restarted.verify(code, audience=HOSPITAL).valid
    assert {old_kid, "c1"} <= {key.kid for key in restarted.keys(max_age=0)}  # the old ones still published
    now[0] += settings.retired_key_grace.total_seconds() + 1
    published = {key.kid for key in restarted.keys(max_age=0)}
    assert "c1" not in published and {new_signer.kid, "c2"} <= published
    assert old_kid in published  # it signed a credential valid until the card expires


def test_the_national_profile_signs_and_verifies_with_sm2(registry: Registry) -> None:
    platform = Platform(registry, signer=Sm2Signer.generate(), settings=PlatformSettings(shards=2, shard_size=256))
    staff = hire(platform.office)
    ref = make_card(platform, staff)
    issued = platform.issue(staff.operator, ref)
    header = issued.token.split(".")[0]
    assert json.loads(b64u_decode(header))["alg"] == "SM2"
    assert platform.verify(issued.token, audience=HOSPITAL).reason == "valid"
    code = platform.code(issued.ecard.ecard_id, business=BusinessType.CROSS_REGION_MEDICAL, audience=HOSPITAL)
    result = platform.verify(code, audience=HOSPITAL)
    assert result.valid and result.claims["card_number"] == "A00000123"
    platform.office.report_loss(staff.operator, ref, LossKind.TEMPORARY)
    assert platform.verify(issued.token, audience=HOSPITAL).reason == "suspended"
