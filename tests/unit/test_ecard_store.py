"""The e-card in the registry (SQLite and PostgreSQL): issued when its card is collected, its status
following every transition of the card in the transition's own transaction (and bumping exactly its
shard's version), one active e-card per card and per person under races, status list shards that
fill, the replay store of presentation codes shared by processes, and the signing keys' lifetimes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from random import Random

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard_issuer.api.platform import RegistryReplayStore
from sscard_issuer.credential import store
from sscard_issuer.credential.store import EcardIssue, EcardRefused, SigningKeyError
from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle import CardReplaced, CardState, LifecycleSettings
from sscard_issuer.lifecycle.access import Forbidden
from sscard_issuer.lifecycle.actions import LossKind
from sscard_issuer.lifecycle.ecard_link import EcardLink
from sscard_issuer.lifecycle.events import CardEvent
from sscard_issuer.lifecycle.office import Office, OfficeSettings
from sscard_issuer.registry import AuditEntry, Card, Ecard, Registry, StatusShard, UsedCode
from tests.unit.offices import (
    PHOTO,
    RACERS,
    Clock,
    Staff,
    applicant,
    enrolled,
    hire,
    individual,
    open_office,
    race,
)

LOSS_DAYS = 5
SHARDS, SHARD_SIZE = 4, 64
ISSUED_ON, EXPIRES_ON = date(2026, 3, 2), date(2036, 3, 2)
END_OF_EXPIRY_DAY = datetime(2036, 3, 2, 16, 0, tzinfo=UTC)  # 3 March 00:00 in Beijing


class Minter:
    """A stand-in for the signer: remembers what it was asked to sign, returns a string naming it."""

    def __init__(self) -> None:
        self.issues: list[EcardIssue] = []
        self._lock = threading.Lock()

    def __call__(self, issue: EcardIssue) -> str:
        with self._lock:
            self.issues.append(issue)
            return f"token:{issue.ecard_id}:{len(self.issues)}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def office(registry: Registry, clock: Clock) -> Office:
    return open_office(registry, clock, OfficeSettings(lifecycle=LifecycleSettings(temporary_loss_days=LOSS_DAYS)))


@pytest.fixture
def staff(office: Office) -> Staff:
    return hire(office)


@pytest.fixture
def minter() -> Minter:
    return Minter()


@pytest.fixture
def link(office: Office, minter: Minter) -> EcardLink:
    return EcardLink(office, mint=minter, shards=SHARDS, shard_size=SHARD_SIZE, rng=Random(20260302))


def produced(office: Office, staff: Staff, serial: int = 123, *, bank: bool = False, personalise: bool = True) -> str:
    who = enrolled(office, staff.operator, applicant(serial))
    ref = office.apply(staff.operator, individual(who)).card_ref
    office.produce(staff.operator, ref)
    if personalise:
        personalised(office, staff, ref, serial, bank=bank)
    return ref


def personalised(office: Office, staff: Staff, ref: str, serial: int, *, bank: bool = False) -> None:
    office.record_personalisation(staff.operator, ref, card_number=f"A{serial:08d}",
                                  card_id=f"450100D156000005{serial:016X}", issued_on=ISSUED_ON,
                                  expires_on=EXPIRES_ON, bank=bank)


def collected(office: Office, staff: Staff, serial: int = 123, *, bank: bool = False, activate: bool = False) -> str:
    ref = produced(office, staff, serial, bank=bank)
    office.collect(staff.operator, ref)
    if activate:
        office.activate(staff.operator, ref)
    return ref


def ecards(registry: Registry, ref: str | None = None) -> list[Ecard]:
    with registry.transaction() as session:
        query = select(Ecard).order_by(Ecard.id)
        return list(session.execute(query if ref is None else query.where(Ecard.card_ref == ref)).scalars())


def only_ecard(registry: Registry, ref: str) -> Ecard:
    rows = ecards(registry, ref)
    assert len(rows) == 1, rows
    return rows[0]


def shard_versions(registry: Registry) -> dict[int, int]:
    with registry.transaction() as session:
        return {shard: version for shard, version in session.execute(select(StatusShard.shard, StatusShard.version))}


def audited(registry: Registry, ref: str, action: str) -> list[str]:
    with registry.transaction() as session:
        return list(session.execute(select(AuditEntry.detail).where(AuditEntry.subject == f"card:{ref}",
                                                                     AuditEntry.action == action)).scalars())


# -- issuance on collection ---------------------------------------------------------------------------


def test_collecting_a_card_issues_its_e_card_with_no_token(office: Office, staff: Staff, link: EcardLink,
                                                          minter: Minter) -> None:
    ref = produced(office, staff)
    assert ecards(office.registry, ref) == []
    office.collect(staff.operator, ref)
    ecard = only_ecard(office.registry, ref)
    assert (ecard.level, ecard.status, ecard.active, ecard.version) == (1, 0, True, 1)
    assert ecard.issuance_number == "45010020260302000001"  # area, Beijing date, serial
    assert (ecard.issued_at, ecard.expires_at) == (office.clock(), END_OF_EXPIRY_DAY)
    assert 0 <= ecard.status_shard < SHARDS and 0 <= ecard.status_index < SHARD_SIZE
    assert minter.issues == []  # nobody receives a token at the counter
    assert len(audited(office.registry, ref, "ecard.issued")) == 1
    second = collected(office, staff, 124)
    assert only_ecard(office.registry, second).issuance_number == "45010020260302000002"


def test_a_card_without_recorded_numbers_is_handed_over_and_its_e_card_refusal_audited(
        office: Office, staff: Staff, link: EcardLink) -> None:
    ref = produced(office, staff, personalise=False)
    assert office.collect(staff.operator, ref).state is CardState.COLLECTED
    assert ecards(office.registry, ref) == []
    assert ['"code":"card_not_personalised"' in d for d in audited(office.registry, ref, "ecard.not_issued")] == [True]
    with pytest.raises(EcardRefused) as refused:
        link.issue(staff.operator, ref)
    assert refused.value.code == "card_not_personalised" and "卡号" in refused.value.message("zh")


def test_an_expiry_not_recorded_means_ten_years_and_an_expired_card_gets_none(
        office: Office, staff: Staff, link: EcardLink) -> None:
    undated, past = produced(office, staff, 123), produced(office, staff, 124)
    with office.registry.transaction() as session:
        session.execute(update(Card).where(Card.card_ref == undated).values(expires_on=None))
        session.execute(update(Card).where(Card.card_ref == past).values(expires_on=date(2026, 3, 1)))
    office.collect(staff.operator, undated)
    office.collect(staff.operator, past)
    assert only_ecard(office.registry, undated).expires_at == datetime(2036, 3, 2, 9, 0, tzinfo=UTC)
    assert ecards(office.registry, past) == []
    assert ['"code":"card_expired"' in d for d in audited(office.registry, past, "ecard.not_issued")] == [True]


# -- the status follows the card ------------------------------------------------------------------------


def change(office: Office, ecard: Ecard, versions: dict[int, int]) -> dict[int, int]:
    """The shard versions now, checked to be ``versions`` with exactly the e-card's shard bumped once."""
    now = shard_versions(office.registry)
    assert now == {**versions, ecard.status_shard: versions[ecard.status_shard] + 1}
    return now


def test_losses_suspend_and_restore_the_e_card_each_change_bumping_its_shard(
        office: Office, staff: Staff, link: EcardLink, clock: Clock) -> None:
    ref = collected(office, staff, activate=True)
    other = collected(office, staff, 124)  # another e-card: its entry never moves
    ecard, versions = only_ecard(office.registry, ref), shard_versions(office.registry)
    expected: list[tuple[Callable[[], object], int]] = [
        (lambda: office.report_loss(staff.operator, ref, LossKind.TEMPORARY), 2),
        (lambda: office.cancel_loss(staff.operator, ref), 0),
        (lambda: office.report_loss(staff.operator, ref, LossKind.TEMPORARY), 2),
        (lambda: (clock.advance(days=LOSS_DAYS, seconds=1), office.status(staff.operator, ref)), 0),  # lapse
    ]
    for step, status in expected:
        step()
        now = only_ecard(office.registry, ref)
        assert (now.status, now.active) == (status, True)
        versions = change(office, ecard, versions)
        shard_version, entries = link.status_list(ecard.status_shard)
        assert shard_version == versions[ecard.status_shard]
        assert ((ecard.status_index, status) in entries) is (status != 0)
    assert only_ecard(office.registry, ref).version == 5
    assert only_ecard(office.registry, other).status == 0
    office.reset_pin(staff.operator, ref)  # no status effect: nothing moves
    assert shard_versions(office.registry) == versions


DEATHS: dict[str, Callable[[Office, Staff, str], object]] = {
    "formal_loss": lambda office, staff, ref: office.report_loss(staff.operator, ref, LossKind.FORMAL),
    "replacement": lambda office, staff, ref: office.replace(staff.operator, ref, photo=PHOTO),
    "cancellation": lambda office, staff, ref: office.cancel(staff.operator, ref),
    "expiry": lambda office, staff, ref: office.expire(staff.operator, ref),
}


@pytest.mark.parametrize("death", list(DEATHS))
def test_a_card_dead_for_good_revokes_its_e_card_for_good(office: Office, staff: Staff, link: EcardLink,
                                                         clock: Clock, death: str) -> None:
    ref = collected(office, staff, activate=True)
    ecard, versions = only_ecard(office.registry, ref), shard_versions(office.registry)
    clock.advance(hours=1)
    DEATHS[death](office, staff, ref)
    dead = only_ecard(office.registry, ref)
    assert (dead.status, dead.active, dead.revoked_at, dead.version) == (1, False, clock.now, 2)
    versions = change(office, ecard, versions)
    assert (ecard.status_index, 1) in link.status_list(ecard.status_shard)[1]
    with pytest.raises(EcardRefused) as refused:
        link.issue(staff.operator, ref)
    assert refused.value.code == "card_not_usable"
    if death == "formal_loss":  # then replaced: revoked already, nothing changes twice
        office.replace(staff.operator, ref, photo=PHOTO)
        assert only_ecard(office.registry, ref).version == 2 and shard_versions(office.registry) == versions


def test_a_replacement_revokes_in_its_own_transaction_and_the_new_card_gets_its_e_card_when_collected(
        office: Office, staff: Staff, link: EcardLink) -> None:
    ref = collected(office, staff, activate=True)

    def crash_after_the_e_card(session: Session, events: Sequence[CardEvent]) -> None:
        if any(isinstance(e, CardReplaced) for e in events):
            raise RuntimeError("the replacement fails after the e-card hook ran")

    office.hooks.append(crash_after_the_e_card)
    with pytest.raises(RuntimeError):
        office.replace(staff.operator, ref, photo=PHOTO)
    assert (only_ecard(office.registry, ref).status, only_ecard(office.registry, ref).active) == (0, True)
    assert office.status(staff.operator, ref).state is CardState.ACTIVATED
    office.hooks.remove(crash_after_the_e_card)
    new_ref = office.replace(staff.operator, ref, photo=PHOTO).card_ref
    assert (only_ecard(office.registry, ref).status, ecards(office.registry, new_ref)) == (1, [])
    office.produce(staff.operator, new_ref)
    personalised(office, staff, new_ref, 623)
    office.collect(staff.operator, new_ref)
    successor = only_ecard(office.registry, new_ref)
    assert (successor.status, successor.active, successor.level) == (0, True, 1)
    assert successor.person_id == only_ecard(office.registry, ref).person_id
    assert [e.card_ref for e in ecards(office.registry) if e.active] == [new_ref]


def test_a_card_cancelled_before_it_has_an_e_card_changes_no_list(office: Office, staff: Staff,
                                                                 link: EcardLink) -> None:
    ref = produced(office, staff)
    versions = shard_versions(office.registry)
    office.cancel(staff.operator, ref)
    assert ecards(office.registry, ref) == [] and shard_versions(office.registry) == versions


# -- explicit issuance, levels, rotation -----------------------------------------------------------------


def test_issuing_again_returns_the_same_e_card_with_a_fresh_token(office: Office, staff: Staff, link: EcardLink,
                                                                 minter: Minter) -> None:
    ref = collected(office, staff)
    versions = shard_versions(office.registry)
    first, again = link.issue(staff.operator, ref), link.issue(staff.operator, ref)
    assert (first.created, again.created, first.revoked) == (False, False, None)
    assert first.ecard.ecard_id == again.ecard.ecard_id and first.token != again.token
    assert minter.issues[0] == minter.issues[1]  # the same identity, minted afresh
    issue = minter.issues[0]
    assert (issue.card_ref, issue.card_id, issue.card_number, issue.level) == (
        ref, f"450100D156000005{123:016X}", "A00000123", 1)
    assert (issue.name, issue.social_security_number, issue.area_code) == ("李秀英", applicant().document.number,
                                                                           "450100")
    assert len(ecards(office.registry, ref)) == 1 and shard_versions(office.registry) == versions


def test_level_2_needs_an_activated_card_with_a_bank_application_and_a_level_change_rotates(
        office: Office, staff: Staff, link: EcardLink) -> None:
    plain, bank = collected(office, staff, 123, activate=True), collected(office, staff, 124, bank=True)
    for ref, code in ((plain, "no_bank_account"), (bank, "card_not_activated")):
        with pytest.raises(EcardRefused) as refused:
            link.issue(staff.operator, ref, 2)
        assert refused.value.code == code
    office.activate(staff.operator, bank)
    first = only_ecard(office.registry, bank)
    versions = shard_versions(office.registry)
    up = link.issue(staff.operator, bank, 2)
    assert (up.created, up.revoked, up.ecard.level, up.ecard.active) == (True, first.ecard_id, 2, True)
    versions = change(office, first, versions)  # the old entry revoked; a new entry at 0 changes no list
    down = link.issue(staff.operator, bank, 1)
    assert (down.created, down.revoked, down.ecard.level) == (True, up.ecard.ecard_id, 1)
    rows = ecards(office.registry, bank)
    assert [(e.level, e.status, e.active) for e in rows] == [(1, 1, False), (2, 1, False), (1, 0, True)]
    assert len({(e.status_shard, e.status_index) for e in rows}) == 3  # an index is never given twice
    assert len(audited(office.registry, bank, "ecard.issued")) == 3
    with pytest.raises(FieldError):
        link.issue(staff.operator, bank, 3)


def test_issuance_needs_a_usable_card_and_the_right_to_operate_cards(office: Office, staff: Staff,
                                                                     link: EcardLink) -> None:
    ref = collected(office, staff)
    with pytest.raises(Forbidden):
        link.issue(staff.auditor, ref)
    office.report_loss(staff.operator, ref, LossKind.TEMPORARY)
    with pytest.raises(EcardRefused) as refused:
        link.issue(staff.operator, ref)
    assert refused.value.code == "card_not_usable" and str(refused.value) != refused.value.message("zh")
    status = link.status(staff.auditor, ref)
    assert status is not None and status.status == 2


# -- one active e-card, whatever the races ------------------------------------------------------------------


def test_simultaneous_issues_for_one_card_share_one_e_card(office: Office, staff: Staff) -> None:
    ref = collected(office, staff, activate=True, bank=True)  # no link yet: the card has no e-card
    minter = Minter()

    def issue_directly(level: int) -> object:
        with office.registry.transaction() as session:  # no audit lock: only the card's row lock orders them
            card = session.execute(select(Card).where(Card.card_ref == ref)).scalar_one()
            ecard, token = store.issue(session, card=card, level=level, at=office.clock(), mint=minter,
                                       shards=SHARDS, shard_size=SHARD_SIZE, rng=Random())
            return ecard.ecard_id, token

    results = race([lambda: issue_directly(1)] * RACERS)
    assert {r[0] for r in results if isinstance(r, tuple)} == {only_ecard(office.registry, ref).ecard_id}, results
    assert len({r for r in results if isinstance(r, tuple)}) == RACERS  # each caller its own fresh token
    results = race([lambda: issue_directly(1), lambda: issue_directly(2)] * (RACERS // 2))
    assert all(isinstance(r, tuple | store.EcardError) for r in results), results
    rows = ecards(office.registry, ref)
    assert sum(e.active for e in rows) == 1 and all(e.status == 1 for e in rows if not e.active)


def test_simultaneous_rotations_through_the_office_make_one(office: Office, staff: Staff, link: EcardLink) -> None:
    ref = collected(office, staff, activate=True, bank=True)
    first = only_ecard(office.registry, ref)
    results = race([lambda: link.issue(staff.operator, ref, 2)] * RACERS)
    assert all(not isinstance(r, Exception) for r in results), results
    assert sum(r.created for r in results) == 1  # type: ignore[attr-defined]
    assert {r.ecard.ecard_id for r in results} == {ecards(office.registry, ref)[-1].ecard_id}  # type: ignore[attr-defined]
    assert [r.revoked for r in results if r.created] == [first.ecard_id]  # type: ignore[attr-defined]
    assert [(e.level, e.active) for e in ecards(office.registry, ref)] == [(1, False), (2, True)]


def test_a_second_card_of_the_same_person_never_has_a_second_active_e_card(
        registry: Registry, office: Office, staff: Staff, link: EcardLink, clock: Clock) -> None:
    ref = collected(office, staff, activate=True)
    unlinked = open_office(registry, clock)
    unlinked.hooks.clear()  # an office without the e-card hook (code that bypasses it): the old one stays active
    new_ref = unlinked.replace(staff.operator, ref, photo=PHOTO).card_ref
    office.produce(staff.operator, new_ref)
    personalised(office, staff, new_ref, 623)
    office.collect(staff.operator, new_ref)
    assert ecards(registry, new_ref) == []
    assert ['"code":"person_has_active_ecard"' in d for d in audited(registry, new_ref, "ecard.not_issued")] == [True]
    with pytest.raises(EcardRefused) as refused:
        link.issue(staff.operator, new_ref)
    assert refused.value.code == "person_has_active_ecard"
    old = only_ecard(registry, ref)
    with pytest.raises(IntegrityError), registry.transaction() as session:  # the database refuses it too
        session.add(Ecard(ecard_id="00000000-0000-4000-8000-000000000000", card_ref=new_ref,
                          person_id=old.person_id, issuance_number="45010020260302999999", level=1,
                          area_code="450100", status=0, active=True, status_shard=old.status_shard,
                          status_index=(old.status_index + 1) % SHARD_SIZE, issued_at=clock.now,
                          expires_at=old.expires_at, version=1))
    assert [e.card_ref for e in ecards(registry) if e.active] == [ref]


# -- status lists ------------------------------------------------------------------------------------------


def test_full_lists_are_filled_to_the_last_entry_then_refused(registry: Registry, clock: Clock) -> None:
    office = open_office(registry, clock)
    staff = hire(office)
    link = EcardLink(office, mint=Minter(), shards=2, shard_size=3, rng=Random(1))
    refs = [collected(office, staff, serial) for serial in range(101, 108)]
    placed = [(e.status_shard, e.status_index) for e in ecards(registry) if e.active]
    assert sorted(placed) == [(s, i) for s in range(2) for i in range(3)]
    assert ['"code":"status_lists_full"' in d for d in audited(registry, refs[-1], "ecard.not_issued")] == [True]
    office.report_loss(staff.operator, refs[0], LossKind.FORMAL)  # a revoked entry stays taken
    with pytest.raises(store.StatusListFull):
        link.issue(staff.operator, refs[-1])
    dead = only_ecard(registry, refs[0])
    assert link.status_list(dead.status_shard) == (1, [(dead.status_index, 1)])
    assert link.status_list(7) == (0, [])


# -- the replay store ------------------------------------------------------------------------------------------


def claim(registry: Registry, jti: str, expires_at: datetime, now: datetime) -> bool:
    with registry.connection() as connection:
        return store.claim_code(connection, jti, expires_at, now)


def used_codes(registry: Registry) -> list[str]:
    with registry.transaction() as session:
        return sorted(session.execute(select(UsedCode.jti)).scalars())


def test_a_code_is_accepted_once_across_processes_and_forgotten_after_it_expires(database_url: str) -> None:
    first, second = Registry(database_url), Registry(database_url)  # two verifier processes
    try:
        now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        exp = now + timedelta(seconds=60)
        assert claim(first, "jti-1", exp, now) is True
        assert claim(second, "jti-1", exp, now + timedelta(seconds=1)) is False
        assert claim(first, "jti-1", exp, now + timedelta(seconds=59)) is False
        results = race([lambda r=r: claim(r, "jti-2", exp, now) for r in (first, second) * (RACERS // 2)])  # type: ignore[misc]
        assert sorted(results) == [False] * (RACERS - 1) + [True], results  # type: ignore[type-var]
        later = exp + timedelta(seconds=1)
        assert claim(second, "jti-1", exp, later) is False  # expired: refused, never taken as new
        assert claim(second, "jti-3", later + timedelta(seconds=60), later) is True
        with first.connection() as connection:
            assert store.purge_used_codes(connection, later) == 2
        assert used_codes(first) == ["jti-3"]  # the expired were purged, the live one kept
        with pytest.raises(FieldError):
            claim(first, "", exp, now)
    finally:
        first.close()
        second.close()


def test_a_purge_deletes_a_batch_at_most(registry: Registry) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for i in range(5):
        assert claim(registry, f"old-{i}", now + timedelta(seconds=10), now)
    later = now + timedelta(seconds=11)
    with registry.connection() as connection:
        assert store.purge_used_codes(connection, later, batch=3) == 3
    with registry.connection() as connection:
        assert store.purge_used_codes(connection, later, batch=3) == 2
    assert used_codes(registry) == []


def test_each_verifier_process_purges_expired_codes_at_most_once_a_second(registry: Registry) -> None:
    t = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()]
    replay = RegistryReplayStore(registry, clock=lambda: t[0])
    at = datetime.fromtimestamp(t[0], UTC)
    assert replay.claim("short", at + timedelta(seconds=0.3))  # purges (nothing yet), then claims
    t[0] += 0.5  # "short" has expired, but the last purge was half a second ago
    assert replay.claim("next", at + timedelta(seconds=60))
    assert used_codes(registry) == ["next", "short"]
    assert not replay.claim("short", at + timedelta(seconds=0.3))  # still refused: it has expired
    t[0] += 0.5
    assert replay.claim("third", at + timedelta(seconds=60))  # a second on: purged first
    assert used_codes(registry) == ["next", "third"]
    assert not replay.claim("next", at + timedelta(seconds=60))  # a live code stays claimed


# -- signing keys ------------------------------------------------------------------------------------------------


def test_keys_stay_published_while_what_they_signed_is_valid(office: Office, staff: Staff, link: EcardLink,
                                                             clock: Clock) -> None:
    registry = office.registry
    with registry.transaction() as session:
        k1 = store.record_key(session, "k1", "ES256", '{"kty":"EC"}', clock.now)
        assert store.record_key(session, "k1", "ES256", '{"kty":"EC"}', clock.now) is k1
        with pytest.raises(SigningKeyError) as reused:
            store.record_key(session, "k1", "ES256", '{"kty":"EC","x":"other"}', clock.now)
        assert reused.value.code == "key_id_reused"
        store.record_key(session, "k2", "ES256", '{"kty":"EC","x":"2"}', clock.now)
        store.record_key(session, "unused", "ES256", '{"kty":"EC","x":"3"}', clock.now)
    link.kid = "k1"
    ref = collected(office, staff)
    issued = link.issue(staff.operator, ref)
    with registry.transaction() as session:
        assert session.get(store.SigningKey, "k1").not_after == END_OF_EXPIRY_DAY  # type: ignore[union-attr]
        store.key_signed(session, "k1", END_OF_EXPIRY_DAY - timedelta(days=1))  # an earlier expiry: no change
        assert session.get(store.SigningKey, "k1").not_after == END_OF_EXPIRY_DAY  # type: ignore[union-attr]
        store.retire_key(session, "k1", clock.now)
        store.retire_key(session, "unused", clock.now)
    assert issued.ecard.kid == "k1"
    with pytest.raises(SigningKeyError) as retired:
        link.issue(staff.operator, ref)
    assert retired.value.code == "key_retired"
    link.kid = "k2"
    again = link.issue(staff.operator, ref)
    assert (again.ecard.ecard_id, again.ecard.kid) == (issued.ecard.ecard_id, "k2")
    link.kid = "k9"
    with pytest.raises(SigningKeyError) as unknown:
        link.issue(staff.operator, ref)
    assert unknown.value.code == "unknown_key"
    with registry.transaction() as session:
        assert [k.kid for k in store.published_keys(session, clock.now)] == ["k1", "k2"]
        assert [k.kid for k in store.published_keys(session, END_OF_EXPIRY_DAY)] == ["k2"]
        assert session.execute(select(func.count()).select_from(Ecard)).scalar_one() == 1
