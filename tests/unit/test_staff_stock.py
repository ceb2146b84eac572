"""Staff, roles and outlets; an outlet's card stock and the dual control over it.

Operators and supervisors act only at their own outlet; auditors read and verify, changing
nothing; administrators keep the outlet directory and the staff list and do no front-desk work.
Passwords are kept as scrypt hashes. The outlet directory starts as the fourteen halls of the
Nanning service page (compared here with the page itself, in ``../shared/seed``). Destroying
spoiled cards and correcting the blank count need a second person: a supervisor of the same
outlet who did not ask, and of two supervisors approving at once exactly one does it.
Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, event, select, text, update

from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle.access import Actor, Forbidden
from sscard_issuer.lifecycle.errors import ConcurrentChange, NotEligible
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.lifecycle.staff import UnknownOutlet, UnknownStaff
from sscard_issuer.registry import (
    Application,
    ApprovalKind,
    ApprovalRequest,
    ApprovalState,
    AuditEntry,
    Card,
    Operator,
    Registry,
    Role,
    StockKind,
    StockMovement,
)
from tests.unit.offices import Clock, applicant
from tests.unit.offices import individual as request

# the service page the project started from (../shared/seed), kept with the tests
SEED = Path(__file__).resolve().parents[1] / "data"
PASSWORD = "correct horse battery staple"


def ticking() -> Clock:
    return Clock(tick=timedelta(seconds=1))


@dataclass
class Staff:
    office: Office
    admin: Actor
    operator: Actor  # NN01
    supervisor: Actor  # NN01
    second_supervisor: Actor  # NN01
    county_supervisor: Actor  # NN09
    county_operator: Actor  # NN09
    auditor: Actor


def hire(registry: Registry) -> Staff:
    office = Office(registry, clock=ticking())
    admin = office.add_operator(None, username="admin", display_name="管理员", role=Role.ADMINISTRATOR)

    def add(username: str, role: Role, outlet: str | None) -> Actor:
        return office.add_operator(admin, username=username, display_name=username, role=role, outlet_code=outlet)

    return Staff(office, admin, add("wang.li", Role.OPERATOR, "NN01"), add("zhao.min", Role.SUPERVISOR, "NN01"),
                 add("sun.hong", Role.SUPERVISOR, "NN01"), add("li.qiang", Role.SUPERVISOR, "NN09"),
                 add("chen.gang", Role.OPERATOR, "NN09"), add("audit", Role.AUDITOR, None))


@pytest.fixture
def staff(registry: Registry) -> Staff:
    return hire(registry)


def audit_head(office: Office, auditor: Actor) -> tuple[int, str]:
    report = office.verify_audit(auditor)
    assert report.intact
    return report.entries, report.head_hash


def cards(registry: Registry) -> list[tuple[str, str]]:
    with registry.transaction() as session:
        return [(a.outlet_code, c.state) for c, a in session.execute(
            select(Card, Application).join(Application, Card.application_id == Application.id).order_by(Card.id))]


# -- the outlet directory ----------------------------------------------------------------------------


def seed_halls() -> list[tuple[int, str, str]]:
    """The table "序号 大厅名称 地址" of the service page, as the page gives it."""
    pages = [p for p in sorted(SEED.glob("*.txt")) if "序号 大厅名称 地址" in p.read_text(encoding="utf-8")]
    assert pages, f"the seed page with the table of halls is not in {SEED}"
    lines = pages[0].read_text(encoding="utf-8").splitlines()
    start = lines.index("序号 大厅名称 地址") + 1
    halls = []
    for line in lines[start:]:
        found = re.fullmatch(r"(\d+) (\S+) (\S+)", line.strip())
        if found is None:
            break
        halls.append((int(found[1]), found[2], found[3]))
    return halls


def same_text(value: str) -> str:
    return unicodedata.normalize("NFKC", value)  # the page's "(" and the registry's "（" are one bracket


def test_the_seeded_directory_is_the_fourteen_halls_of_the_service_page(staff: Staff) -> None:
    halls = seed_halls()
    assert [n for n, _, _ in halls] == list(range(1, 15))
    outlets = staff.office.outlets()
    assert [o.code for o in outlets] == [f"NN{n:02d}" for n in range(1, 15)]
    assert [(same_text(o.name_zh), same_text(o.address_zh)) for o in outlets] == [
        (same_text(name), same_text(address)) for _, name, address in halls]
    assert all(o.active for o in outlets)
    assert {o.area_code for o in outlets[:8]} == {"450100"}  # the city's district halls
    assert len({o.area_code for o in outlets[8:]}) == 6  # one county, city or district each


def test_halls_1_to_8_take_batch_applications_and_9_to_14_do_not(staff: Staff) -> None:
    """The page: 单位批量申请 仅南宁市各城区人力资源社会保障服务大厅办理 (halls 1-8)."""
    taking = {o.code: o.batch_applications for o in staff.office.outlets()}
    assert taking == {f"NN{n:02d}": n <= 8 for n in range(1, 15)}
    assert {o.code: o.city_hall for o in staff.office.outlets()} == taking


# -- roles -------------------------------------------------------------------------------------------


def test_an_operator_files_only_at_their_own_outlet(registry: Registry, staff: Staff) -> None:
    office, op = staff.office, staff.operator
    who = applicant(1)
    office.enrol(op, who, insured_since=date(2020, 1, 1))
    with pytest.raises(Forbidden, match="works at outlet NN01, not NN09") as refused:
        office.apply(op, request(who), outlet_code="NN09")
    assert "NN01" in refused.value.message("zh")
    with pytest.raises(Forbidden):
        office.record_stock(op, StockKind.RECEIVED, 10, outlet_code="NN09")
    with pytest.raises(Forbidden):
        office.stock(op, "NN09")
    assert cards(registry) == []
    office.apply(op, request(who), outlet_code="NN01")
    assert cards(registry) == [("NN01", "applied")]  # at their own hall, named or not
    county = applicant(2)
    office.enrol(staff.county_operator, county, insured_since=date(2020, 1, 1))
    office.apply(staff.county_operator, request(county))
    assert cards(registry) == [("NN01", "applied"), ("NN09", "applied")]


def test_an_auditor_changes_nothing_but_verifies_the_audit_log(registry: Registry, staff: Staff) -> None:
    office, auditor = staff.office, staff.auditor
    who = applicant(1)
    office.enrol(staff.operator, who, insured_since=date(2020, 1, 1))
    ref = office.apply(staff.operator, request(who)).card_ref
    office.receive_stock(staff.operator, 20)
    office.record_stock(staff.operator, StockKind.FED, 1)
    office.record_stock(staff.operator, StockKind.SPOILED, 1)
    pending = office.request_approval(staff.operator, ApprovalKind.DESTROY_SPOILED, 1, reason="reject box")
    before = audit_head(office, auditor)
    stock_before = office.stock(auditor, "NN01")  # reading is allowed
    attempts: list[Callable[[], Any]] = [
        lambda: office.apply(auditor, request(applicant(3)), outlet_code="NN01"),
        lambda: office.enrol(auditor, applicant(3), insured_since=date(2020, 1, 1)),
        lambda: office.add_operator(auditor, username="mole", display_name="x", role=Role.ADMINISTRATOR),
        lambda: office.set_outlet(auditor, "NN01", instant_issuance=False),
        lambda: office.record_stock(auditor, StockKind.RECEIVED, 5, outlet_code="NN01"),
        lambda: office.receive_stock(auditor, 5),
        lambda: office.request_approval(auditor, ApprovalKind.ADJUST_STOCK, 1, reason="counted"),
        lambda: office.decide(auditor, pending, approve=True),
        lambda: office.produce(auditor, ref),
        lambda: office.cancel(auditor, ref),
        lambda: office.record_shipment(auditor, 1, "EA123456785CN"),
    ]
    for attempt in attempts:
        with pytest.raises(Forbidden):
            attempt()
    assert audit_head(office, auditor) == before
    assert office.stock(auditor, "NN01") == stock_before
    assert office.status(auditor, ref).state.value == "applied"
    assert cards(registry) == [("NN01", "applied")]
    report = office.verify_audit(auditor)
    assert report.intact and report.entries == before[0]


def test_an_administrator_manages_outlets_and_staff_but_files_no_application(registry: Registry, staff: Staff) -> None:
    office, admin = staff.office, staff.admin
    outlet = office.set_outlet(admin, "NN09", instant_issuance=True)
    assert outlet.instant_issuance is True
    clerk = office.add_operator(admin, username="he.jing", display_name="何静", role=Role.OPERATOR, outlet_code="NN09")
    assert (clerk.role, clerk.outlet_code) == (Role.OPERATOR, "NN09")
    who = applicant(1)
    office.enrol(admin, who, insured_since=date(2020, 1, 1))  # an administrator may correct enrolments
    with pytest.raises(Forbidden, match="may not file_application"):
        office.apply(admin, request(who), outlet_code="NN01")
    with pytest.raises(Forbidden):
        office.apply(admin, request(who))  # and belongs to no outlet to file at
    with pytest.raises(Forbidden):
        office.record_stock(admin, StockKind.RECEIVED, 5, outlet_code="NN01")
    assert cards(registry) == []
    assert office.verify_audit(admin).intact


def test_front_desk_staff_manage_neither_staff_nor_outlets(staff: Staff) -> None:
    office = staff.office
    for actor in (staff.operator, staff.supervisor):
        with pytest.raises(Forbidden, match="may not manage"):
            office.add_operator(actor, username="friend", display_name="x", role=Role.OPERATOR, outlet_code="NN01")
        with pytest.raises(Forbidden, match="may not manage"):
            office.set_outlet(actor, "NN01", instant_issuance=False)
    with pytest.raises(Forbidden, match="may not read_audit"):
        office.verify_audit(staff.operator)
    assert office.verify_audit(staff.supervisor).intact
    with pytest.raises(UnknownStaff):
        office.actor("friend")


def test_only_the_first_administrator_is_added_without_an_actor(registry: Registry) -> None:
    office = Office(registry, clock=ticking())
    for role, outlet in ((Role.OPERATOR, "NN01"), (Role.SUPERVISOR, "NN01"), (Role.AUDITOR, None)):
        with pytest.raises(Forbidden):
            office.add_operator(None, username="early", display_name="x", role=role, outlet_code=outlet)
    first = office.add_operator(None, username="admin", display_name="管理员", role=Role.ADMINISTRATOR)
    assert first.role is Role.ADMINISTRATOR and first.operator_id is not None
    with pytest.raises(Forbidden, match="only an administrator adds staff"):
        office.add_operator(None, username="admin2", display_name="x", role=Role.ADMINISTRATOR)
    second = office.add_operator(first, username="admin2", display_name="x", role=Role.ADMINISTRATOR)
    assert second.role is Role.ADMINISTRATOR
    with registry.transaction() as session:
        assert session.execute(select(Operator.username).order_by(Operator.id)).scalars().all() == ["admin", "admin2"]
        actions = session.execute(select(AuditEntry.actor, AuditEntry.subject).order_by(AuditEntry.seq)).all()
    assert [tuple(a) for a in actions] == [("admin", "operator:admin"), ("admin", "operator:admin2")]


def test_two_first_administrators_added_at_once_make_one(database_url: str) -> None:
    """Two people bootstrapping one new registry at the same moment: one administrator, not two."""
    one, other = Registry(database_url), Registry(database_url)
    try:
        written = hold_commit_until_the_other_waits(one, other)

        def bootstrap(desk: Registry, username: str, after: threading.Event | None) -> Actor:
            if after is not None:
                assert after.wait(timeout=10)  # the first has added itself and holds its commit
            return Office(desk, clock=ticking()).add_operator(None, username=username, display_name="x",
                                                            role=Role.ADMINISTRATOR)

        with ThreadPoolExecutor(max_workers=2) as pool:
            won = pool.submit(bootstrap, one, "admin", None)
            lost = pool.submit(bootstrap, other, "root", written)
            assert won.result(timeout=30).username == "admin"
            with pytest.raises(Forbidden, match="only an administrator adds staff"):
                lost.result(timeout=30)
        with one.transaction() as session:
            assert session.execute(select(Operator.username)).scalars().all() == ["admin"]
    finally:
        one.close()
        other.close()


BAD_USERNAMES = ["ab", "Wang.li", "1wang", "_wang", "wang li", "wang@li", "王丽", "w" * 65, "", " wang.li"]


def test_usernames_are_validated(staff: Staff) -> None:
    office, admin = staff.office, staff.admin
    before = audit_head(office, staff.auditor)
    for username in BAD_USERNAMES:
        with pytest.raises(FieldError, match="username"):
            office.add_operator(admin, username=username, display_name="x", role=Role.AUDITOR)
    with pytest.raises(FieldError, match="not taken"):
        office.add_operator(admin, username="wang.li", display_name="x", role=Role.AUDITOR)
    assert audit_head(office, staff.auditor) == before
    for username in ("abc", "wang.li2", "a_b-c.d", "w" * 64):
        assert office.add_operator(admin, username=username, display_name="", role=Role.AUDITOR).username == username


def test_staff_and_outlets_must_agree(staff: Staff) -> None:
    office, admin = staff.office, staff.admin
    with pytest.raises(FieldError, match="outlet"):
        office.add_operator(admin, username="nowhere", display_name="x", role=Role.OPERATOR)
    with pytest.raises(UnknownOutlet):
        office.add_operator(admin, username="nowhere", display_name="x", role=Role.OPERATOR, outlet_code="NN99")
    with pytest.raises(FieldError, match="not bound"):
        office.add_operator(admin, username="nowhere", display_name="x", role=Role.AUDITOR, outlet_code="NN01")
    with pytest.raises(UnknownStaff):
        office.actor("nowhere")


# -- passwords -----------------------------------------------------------------------------------------


def every_value(registry: Registry) -> str:
    """Every row of every table, as text: what someone reading the database would see."""
    tables = MetaData()
    tables.reflect(bind=registry.engine)
    seen: list[str] = []
    with registry.engine.connect() as connection:
        for table in tables.sorted_tables:
            seen.extend(repr(tuple(row)) for row in connection.execute(table.select()))
    return "\n".join(seen)


def test_passwords_are_stored_hashed_never_in_clear(registry: Registry, staff: Staff) -> None:
    office = staff.office
    office.add_operator(staff.admin, username="qian.yu", display_name="钱宇", role=Role.OPERATOR, outlet_code="NN01",
                        password=PASSWORD)
    office.add_operator(staff.admin, username="zhou.fang", display_name="周芳", role=Role.OPERATOR,
                        outlet_code="NN01", password=PASSWORD)
    with registry.transaction() as session:
        hashes = {row.username: row.password_hash for row in session.execute(
            select(Operator.username, Operator.password_hash).where(Operator.password_hash.is_not(None)))}
    assert set(hashes) == {"qian.yu", "zhou.fang"}
    for stored in hashes.values():
        assert stored is not None and re.fullmatch(r"scrypt\$16384\$8\$1\$[0-9a-f]{32}\$[0-9a-f]{128}", stored), stored
    assert hashes["qian.yu"] != hashes["zhou.fang"]  # salted: one password, two hashes
    dump = every_value(registry)
    assert "qian.yu" in dump and PASSWORD not in dump and PASSWORD.encode().hex() not in dump
    with pytest.raises(FieldError, match="password"):
        office.add_operator(staff.admin, username="short.pw", display_name="x", role=Role.AUDITOR,
                            password="123456789")  # fewer than 10 characters
    with pytest.raises(UnknownStaff):
        office.actor("short.pw")


def test_authenticate_accepts_the_right_password_only(registry: Registry, staff: Staff) -> None:
    office = staff.office
    added = office.add_operator(staff.admin, username="qian.yu", display_name="钱宇", role=Role.SUPERVISOR,
                                outlet_code="NN01", password=PASSWORD)
    assert office.authenticate("qian.yu", PASSWORD) == added
    refusals = [("qian.yu", PASSWORD + "!"), ("qian.yu", PASSWORD.upper()), ("qian.yu", ""),
                ("nobody", PASSWORD), ("wang.li", PASSWORD)]  # wang.li has no password: command line only
    for username, password in refusals:
        with pytest.raises(Forbidden, match="wrong username or password") as refused:
            office.authenticate(username, password)
        assert refused.value.message("zh") == "用户名或密码错误"  # the same answer whoever it is
    with registry.transaction() as session:
        session.execute(update(Operator).where(Operator.username == "qian.yu").values(active=False))
    with pytest.raises(Forbidden, match="wrong username or password"):
        office.authenticate("qian.yu", PASSWORD)  # no longer on the staff
    with pytest.raises(UnknownStaff):
        office.actor("qian.yu")


# -- outlet settings -------------------------------------------------------------------------------------


def test_outlet_settings_change_what_it_accepts(registry: Registry, staff: Staff) -> None:
    office, op = staff.office, staff.operator
    who = applicant(1)
    office.enrol(op, who, insured_since=date(2020, 1, 1))
    office.set_outlet(staff.admin, "NN01", instant_issuance=False)
    assert {o.code: o.instant_issuance for o in office.outlets()}["NN01"] is False
    with pytest.raises(NotEligible) as refused:
        office.apply(op, request(who, instant=True))
    assert refused.value.code == "no_instant_issuance"
    assert "即时制卡" in refused.value.message("zh")
    assert cards(registry) == []
    office.set_outlet(staff.admin, "NN01", instant_issuance=True)
    office.apply(op, request(who, instant=True))
    assert cards(registry) == [("NN01", "applied")]
    with registry.transaction() as session:
        changes = session.execute(select(AuditEntry.subject, AuditEntry.detail)
                                  .where(AuditEntry.action == "outlet.set").order_by(AuditEntry.seq)).all()
    assert [tuple(c) for c in changes] == [("outlet:NN01", '{"instant_issuance":false}'),
                                           ("outlet:NN01", '{"instant_issuance":true}')]


def test_a_hall_without_instant_issuance_refuses_it_until_it_is_turned_on(registry: Registry, staff: Staff) -> None:
    office = staff.office
    clerk = office.add_operator(staff.admin, username="he.jing", display_name="何静", role=Role.OPERATOR,
                                outlet_code="NN08")
    who = applicant(1)
    office.enrol(clerk, who, insured_since=date(2020, 1, 1))
    with pytest.raises(NotEligible) as refused:
        office.apply(clerk, request(who, instant=True))  # the labour-rights hall, off in the seed
    assert refused.value.code == "no_instant_issuance"
    office.apply(clerk, request(who))  # an ordinary application is taken
    assert cards(registry) == [("NN08", "applied")]


def test_a_closed_outlet_takes_nothing(registry: Registry, staff: Staff) -> None:
    office, op = staff.office, staff.operator
    who = applicant(1)
    office.enrol(op, who, insured_since=date(2020, 1, 1))
    office.set_outlet(staff.admin, "NN01", active=False)
    with pytest.raises(UnknownOutlet):
        office.apply(op, request(who))
    with pytest.raises(UnknownOutlet):
        office.receive_stock(op, 10)
    with pytest.raises(UnknownOutlet):
        office.set_outlet(staff.admin, "NN99", active=True)
    assert cards(registry) == []


# -- stock ------------------------------------------------------------------------------------------------


def test_stock_balances_follow_received_fed_good_and_spoiled(staff: Staff) -> None:
    office, op = staff.office, staff.operator
    summary = office.receive_stock(op, 100, reference="DN-2026-0301")
    assert (summary.received, summary.blanks_on_hand) == (100, 100)
    office.record_stock(op, StockKind.FED, 10)
    office.record_stock(op, StockKind.GOOD, 7)
    office.record_stock(op, StockKind.SPOILED, 2)
    stock = office.stock(op)
    assert stock.to_json() == {
        "outlet": "NN01", "received": 100, "fed": 10, "good": 7, "spoiled": 2, "destroyed": 0, "adjusted": 0,
        "blanks_on_hand": 90, "spoiled_on_hand": 2, "unaccounted": 1, "pending_approvals": 0,
    }  # fmt: skip
    assert office.stock(staff.county_operator).to_json()["received"] == 0  # each outlet its own stock
    for kind in (StockKind.DESTROYED, StockKind.ADJUSTED):
        with pytest.raises(Forbidden, match="approval"):
            office.record_stock(staff.supervisor, kind, 1)
    for quantity in (0, -1, True, 100_001):
        with pytest.raises(FieldError, match="quantity"):
            office.record_stock(op, StockKind.FED, quantity)
    assert office.stock(op) == stock


def spoiled_stock(staff: Staff, spoiled: int = 3) -> None:
    office, op = staff.office, staff.operator
    office.receive_stock(op, 50)
    office.record_stock(op, StockKind.FED, spoiled)
    office.record_stock(op, StockKind.SPOILED, spoiled)


def test_destroying_spoiled_cards_needs_another_supervisor_of_the_same_outlet(registry: Registry, staff: Staff) -> None:
    office = staff.office
    spoiled_stock(staff)
    asked = office.request_approval(staff.supervisor, ApprovalKind.DESTROY_SPOILED, 2, reason="reject box, 2 cards")
    assert office.stock(staff.supervisor).pending_approvals == 1
    refusals = [
        (staff.supervisor, "another person than the one who asked"),  # the one who asked
        (staff.operator, "may not approve"),  # no supervisor
        (staff.county_supervisor, "works at outlet NN09, not NN01"),  # a supervisor of another hall
        (staff.admin, "may not approve"),
        (staff.auditor, "may not approve"),
    ]
    for actor, why in refusals:
        with pytest.raises(Forbidden, match=why):
            office.decide(actor, asked, approve=True)
    stock = office.stock(staff.supervisor)
    assert (stock.destroyed, stock.spoiled_on_hand, stock.pending_approvals) == (0, 3, 1)
    decided = office.decide(staff.second_supervisor, asked, approve=True)
    assert decided.state is ApprovalState.APPROVED and decided.decided_by == staff.second_supervisor.operator_id
    stock = office.stock(staff.supervisor)
    assert (stock.destroyed, stock.spoiled_on_hand, stock.pending_approvals) == (2, 1, 0)
    with registry.transaction() as session:
        movement = session.execute(select(StockMovement).where(StockMovement.kind == StockKind.DESTROYED)).scalar_one()
        entries = session.execute(select(AuditEntry.actor, AuditEntry.action).where(
            AuditEntry.subject == f"approval:{asked}").order_by(AuditEntry.seq)).all()
    assert (movement.quantity, movement.reference, movement.operator_id) == (
        2, f"approval:{asked}", staff.second_supervisor.operator_id)
    assert [tuple(e) for e in entries] == [("zhao.min", "approval.request.destroy_spoiled"),
                                           ("sun.hong", "approval.approved")]


def test_an_operators_request_is_approved_by_a_supervisor_of_the_outlet(staff: Staff) -> None:
    spoiled_stock(staff)
    asked = staff.office.request_approval(staff.operator, ApprovalKind.DESTROY_SPOILED, 3, reason="reject box")
    with pytest.raises(Forbidden):
        staff.office.decide(staff.operator, asked, approve=True)  # the requester, and no supervisor
    staff.office.decide(staff.supervisor, asked, approve=True)
    assert staff.office.stock(staff.operator).spoiled_on_hand == 0


def test_a_rejected_request_leaves_the_stock_and_a_decided_one_cannot_be_decided_again(staff: Staff) -> None:
    office = staff.office
    spoiled_stock(staff)
    before = office.stock(staff.operator)
    rejected = office.request_approval(staff.operator, ApprovalKind.DESTROY_SPOILED, 3, reason="reject box")
    assert office.decide(staff.supervisor, rejected, approve=False).state is ApprovalState.REJECTED
    assert office.stock(staff.operator) == before
    for approve in (True, False):
        with pytest.raises(FieldError, match="a pending request"):
            office.decide(staff.second_supervisor, rejected, approve=approve)
    approved = office.request_approval(staff.operator, ApprovalKind.DESTROY_SPOILED, 1, reason="reject box")
    office.decide(staff.supervisor, approved, approve=True)
    after = office.stock(staff.operator)
    for actor in (staff.supervisor, staff.second_supervisor):
        with pytest.raises(FieldError, match="a pending request"):
            office.decide(actor, approved, approve=True)
    assert office.stock(staff.operator) == after
    assert (after.destroyed, after.spoiled_on_hand) == (1, 2)
    with pytest.raises(FieldError, match="approval"):
        office.decide(staff.supervisor, 9999, approve=True)


def test_destroying_more_than_the_spoiled_cards_on_hand_is_refused(staff: Staff) -> None:
    office = staff.office
    spoiled_stock(staff, spoiled=3)
    with pytest.raises(FieldError, match="at most the 3 spoiled cards"):
        office.request_approval(staff.operator, ApprovalKind.DESTROY_SPOILED, 4, reason="reject box")
    # two requests that each fit, but not both: the second approval finds too few left
    first = office.request_approval(staff.operator, ApprovalKind.DESTROY_SPOILED, 2, reason="box A")
    second = office.request_approval(staff.operator, ApprovalKind.DESTROY_SPOILED, 2, reason="box B")
    office.decide(staff.supervisor, first, approve=True)
    with pytest.raises(FieldError, match="at most the 1 spoiled cards"):
        office.decide(staff.supervisor, second, approve=True)
    stock = office.stock(staff.operator)
    assert (stock.destroyed, stock.spoiled_on_hand, stock.pending_approvals) == (2, 1, 1)
    office.decide(staff.supervisor, second, approve=False)  # it can still be rejected
    with pytest.raises(FieldError, match="spoiled cards on hand"):
        office.request_approval(staff.county_operator, ApprovalKind.DESTROY_SPOILED, 1, reason="none at NN09")
    assert office.stock(staff.operator).pending_approvals == 0


def test_adjusting_the_blank_count_needs_approval_and_never_goes_below_zero(staff: Staff) -> None:
    office = staff.office
    office.receive_stock(staff.operator, 10)
    down = office.request_approval(staff.operator, ApprovalKind.ADJUST_STOCK, -4, reason="counted 6")
    assert office.stock(staff.operator).blanks_on_hand == 10  # not before the approval
    office.decide(staff.supervisor, down, approve=True)
    assert office.stock(staff.operator).blanks_on_hand == 6
    with pytest.raises(FieldError, match="no fewer than 0 blanks"):
        office.request_approval(staff.operator, ApprovalKind.ADJUST_STOCK, -7, reason="counted none")
    up = office.request_approval(staff.operator, ApprovalKind.ADJUST_STOCK, 2, reason="found a sleeve")
    office.decide(staff.supervisor, up, approve=True)
    assert (office.stock(staff.operator).adjusted, office.stock(staff.operator).blanks_on_hand) == (-2, 8)
    for quantity in (0, True):
        with pytest.raises(FieldError, match="quantity"):
            office.request_approval(staff.operator, ApprovalKind.ADJUST_STOCK, quantity, reason="x")
    with pytest.raises(FieldError, match="reason"):
        office.request_approval(staff.operator, ApprovalKind.ADJUST_STOCK, 1, reason="  ")
    with pytest.raises(FieldError, match="quantity"):
        office.request_approval(staff.operator, ApprovalKind.DESTROY_SPOILED, -1, reason="x")


# -- two supervisors at once -------------------------------------------------------------------------------


@pytest.fixture
def two_desks(database_url: str) -> Iterator[tuple[Registry, Registry]]:
    """Two registries on one database: two supervisors' consoles, each with its own connections."""
    pair = (Registry(database_url), Registry(database_url))
    yield pair
    for registry in pair:
        registry.close()


def hold_commit_until_the_other_waits(winner: Registry, loser: Registry) -> threading.Event:
    """Make ``winner`` pause just before it commits until ``loser`` is waiting for it (PostgreSQL:
    seen waiting on a lock; SQLite: in BEGIN IMMEDIATE's busy wait, given a moment)."""
    written = threading.Event()
    released = threading.Event()

    def waiting() -> bool:
        if loser.engine.dialect.name != "postgresql":
            return False
        with loser.engine.connect() as connection:
            return bool(connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'")).scalar_one())

    def before_commit(_connection: Any) -> None:
        if released.is_set():
            return
        written.set()
        deadline = time.monotonic() + (10 if loser.engine.dialect.name == "postgresql" else 0.2)
        while not waiting() and time.monotonic() < deadline:
            time.sleep(0.01)
        released.set()

    event.listen(winner.engine, "commit", before_commit)
    return written


def test_two_supervisors_approving_one_request_at_once_exactly_one_wins(
    registry: Registry, two_desks: tuple[Registry, Registry]
) -> None:
    staff = hire(registry)
    spoiled_stock(staff, spoiled=3)
    asked = staff.office.request_approval(staff.operator, ApprovalKind.DESTROY_SPOILED, 3, reason="reject box")
    one, other = two_desks
    written = hold_commit_until_the_other_waits(one, other)

    def approve(desk: Registry, supervisor: Actor, after: threading.Event | None) -> Any:
        if after is not None:
            assert after.wait(timeout=10)  # the first has decided and holds its commit
        return Office(desk, clock=ticking()).decide(supervisor, asked, approve=True)

    with ThreadPoolExecutor(max_workers=2) as pool:
        won = pool.submit(approve, one, staff.supervisor, None)
        lost = pool.submit(approve, other, staff.second_supervisor, written)
        assert won.result(timeout=30).decided_by == staff.supervisor.operator_id
        with pytest.raises((FieldError, ConcurrentChange), match=r"pending request|changed meanwhile"):
            lost.result(timeout=30)
    stock = staff.office.stock(staff.operator)
    assert (stock.destroyed, stock.spoiled_on_hand, stock.pending_approvals) == (3, 0, 0)
    with registry.transaction() as session:
        row = session.get(ApprovalRequest, asked)
        assert row is not None and (row.state, row.decided_by, row.version) == (
            ApprovalState.APPROVED, staff.supervisor.operator_id, 2)
        assert session.execute(select(AuditEntry.actor).where(AuditEntry.action == "approval.approved")).scalars().all() == [
            "zhao.min"]
    assert staff.office.verify_audit(staff.auditor).intact


def test_many_rounds_of_two_supervisors_at_once_never_destroy_twice(
    registry: Registry, two_desks: tuple[Registry, Registry]
) -> None:
    """No pause this time: whichever order the scheduler picks, one approval per request."""
    staff = hire(registry)
    rounds = 8
    spoiled_stock(staff, spoiled=rounds)
    offices = [Office(desk, clock=ticking()) for desk in two_desks]
    supervisors = (staff.supervisor, staff.second_supervisor)
    winners = []
    for _ in range(rounds):
        asked = staff.office.request_approval(staff.operator, ApprovalKind.DESTROY_SPOILED, 1, reason="one card")
        start = threading.Barrier(2)

        def approve(i: int, asked: int = asked, start: threading.Barrier = start) -> Any:
            start.wait(timeout=10)
            return offices[i].decide(supervisors[i], asked, approve=True)

        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(approve, i) for i in range(2)]
            errors = [f.exception(timeout=30) for f in futures]
        assert sum(e is None for e in errors) == 1, errors
        assert all(isinstance(e, FieldError | ConcurrentChange) for e in errors if e is not None), errors
        winners.append(errors.index(None))
    stock = staff.office.stock(staff.operator)
    assert (stock.destroyed, stock.spoiled_on_hand, stock.pending_approvals) == (rounds, 0, 0)
    assert set(winners) <= {0, 1}
