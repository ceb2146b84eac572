"""The issuance desk: jobs in the registry, their journal and the stock they move (SQLite and PostgreSQL).

The steps here are only recorded, not run: the worker's tests run them against the printer
simulator and simulated cards.
"""

from __future__ import annotations

import pytest

from sscard_issuer.lifecycle.access import Forbidden
from sscard_issuer.lifecycle.errors import ConcurrentChange
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.lifecycle.states import CardState
from sscard_issuer.outlet.desk import IssuanceDesk
from sscard_issuer.outlet.job import STEPS, JobRefused, JobState, OnFailure, Step, next_step
from sscard_issuer.registry import Registry, StockKind
from tests.unit.offices import Staff, applicant, enrolled, hire, individual, open_office, race


@pytest.fixture
def office(registry: Registry) -> Office:
    return open_office(registry)


@pytest.fixture
def staff(office: Office) -> Staff:
    found = hire(office)
    office.receive_stock(found.operator, 10, reference="delivery 1")
    return found


@pytest.fixture
def desk(office: Office) -> IssuanceDesk:
    return IssuanceDesk(office)


def instant_card(office: Office, staff: Staff, serial: int = 123) -> str:
    who = enrolled(office, staff.operator, applicant(serial))
    return office.apply(staff.operator, individual(who, instant=True)).card_ref


def test_the_path_of_a_job_is_one_step_after_another() -> None:
    state, walked = JobState.MARKED, []
    while (step := next_step(state)) is not None:
        walked.append(step)
        state = step.target
    assert walked == list(STEPS) and state is JobState.ECARD_ISSUED
    assert next_step(JobState.FAILED) is None and next_step(JobState.WITHDRAWN) is None


def test_a_marked_card_goes_into_production_and_its_job_through_every_step(
        office: Office, staff: Staff, desk: IssuanceDesk) -> None:
    ref = instant_card(office, staff)
    job = desk.mark(staff.operator, ref)
    assert (job.state, job.attempt, job.printer_name) == (JobState.MARKED, 1, None)
    assert office.status(staff.operator, ref).state is CardState.IN_PRODUCTION
    job = desk.claim("P1", "NN01")
    assert job is not None and job.printer_name == "P1"
    for step in STEPS:
        job = desk.begin(job, step)
        assert job.step_started is step
        job = desk.finish(job, step, **({"card_serial": "0011223344556677"} if step is Step.ENCODER else {}))
        assert (job.state, job.step_started) == (step.target, None)
    view, journal = desk.job(staff.operator, job.id)
    assert view.card_serial == "0011223344556677"
    assert [(line.step, line.phase) for line in journal][:4] == [("mark", "done"), ("claim", "done"),
                                                               ("feed", "started"), ("feed", "done")]
    assert [line.phase for line in journal[2:]] == ["started", "done"] * len(STEPS)
    stock = office.stock(staff.operator)
    assert (stock.fed, stock.good, stock.spoiled, stock.unaccounted, stock.blanks_on_hand) == (1, 1, 0, 0, 9)
    assert desk.jobs(staff.operator) == [] and len(desk.jobs(staff.operator, open_only=False)) == 1


def test_a_step_out_of_order_or_from_a_stale_view_is_refused(office: Office, staff: Staff, desk: IssuanceDesk) -> None:
    desk.mark(staff.operator, instant_card(office, staff))
    job = desk.claim("P1", "NN01")
    assert job is not None
    with pytest.raises(JobRefused):
        desk.begin(job, Step.PRINT)
    desk.begin(job, Step.FEED)
    with pytest.raises(ConcurrentChange):  # a second worker holding the same old view
        desk.begin(job, Step.FEED)


@pytest.mark.parametrize(("policy", "after"), [(OnFailure.ASK, JobState.FAILED), (OnFailure.REQUEUE, JobState.MARKED),
                                               (OnFailure.WITHDRAW, JobState.WITHDRAWN)])
def test_a_spoiled_blank_is_counted_and_the_job_follows_its_policy(
        office: Office, staff: Staff, desk: IssuanceDesk, policy: OnFailure, after: JobState) -> None:
    ref = instant_card(office, staff)
    desk.mark(staff.operator, ref, policy=policy)
    job = desk.claim("P1", "NN01")
    assert job is not None
    job = desk.finish(desk.begin(job, Step.FEED), Step.FEED)
    job = desk.begin(job, Step.ENCODER)
    job = desk.spoil(job, Step.ENCODER, "the card does not answer", fed=True)
    assert job.state is after and job.failure == "encoder: the card does not answer"
    assert job.attempt == (2 if after is JobState.MARKED else 1)
    stock = office.stock(staff.operator)
    assert (stock.fed, stock.good, stock.spoiled, stock.unaccounted) == (1, 0, 1, 0)
    if after is JobState.MARKED:  # back in the queue, for any printer
        assert job.printer_name is None and desk.claim("P2", "NN01") is not None


def test_the_operator_decides_on_a_failed_job(office: Office, staff: Staff, desk: IssuanceDesk) -> None:
    first, second = instant_card(office, staff, 1), instant_card(office, staff, 2)
    for ref in (first, second):
        desk.mark(staff.operator, ref)
        job = desk.claim("P1", "NN01")
        assert job is not None
        desk.spoil(desk.begin(job, Step.FEED), Step.FEED, "feeder jammed", fed=False)
    jobs = desk.jobs(staff.operator)
    assert [j.state for j in jobs] == [JobState.FAILED, JobState.FAILED]
    with pytest.raises(Forbidden):
        desk.decide(staff.elsewhere, jobs[0].id, requeue=True)
    assert desk.decide(staff.operator, jobs[0].id, requeue=True).state is JobState.MARKED
    withdrawn = desk.decide(staff.operator, jobs[1].id, requeue=False)
    assert withdrawn.state is JobState.WITHDRAWN
    with pytest.raises(JobRefused):
        desk.decide(staff.operator, jobs[1].id, requeue=True)
    assert office.stock(staff.operator).spoiled == 0  # nothing was fed
    desk.mark(staff.operator, second)  # withdrawn: it may be marked again


def test_marking_is_for_instant_applications_of_ones_own_outlet_once(
        office: Office, staff: Staff, desk: IssuanceDesk) -> None:
    ref = instant_card(office, staff)
    with pytest.raises(Forbidden):
        desk.mark(staff.elsewhere, ref)
    desk.mark(staff.operator, ref)
    with pytest.raises(JobRefused, match="already"):
        desk.mark(staff.operator, ref)
    who = enrolled(office, staff.operator, applicant(7))
    ordinary = office.apply(staff.operator, individual(who)).card_ref
    with pytest.raises(JobRefused, match="instant"):
        desk.mark(staff.operator, ordinary)
    with pytest.raises(Forbidden):
        desk.jobs(staff.elsewhere, outlet_code="NN01")
    assert desk.jobs(staff.elsewhere) == []


def test_printers_racing_for_the_queue_each_get_a_different_job(office: Office, staff: Staff, desk: IssuanceDesk) -> None:
    for serial in range(3):
        desk.mark(staff.operator, instant_card(office, staff, serial + 10))
    claimed = race([lambda name=f"P{n}": desk.claim(name, "NN01") for n in range(6)])
    got = [job for job in claimed if job is not None]
    assert len(got) == 3 and len({job.id for job in got}) == 3  # type: ignore[union-attr]


def test_the_reconciliation_accounts_for_every_blank_fed(office: Office, staff: Staff, desk: IssuanceDesk) -> None:
    for serial in (1, 2, 3):
        desk.mark(staff.operator, instant_card(office, staff, serial), policy=OnFailure.REQUEUE)
    first = desk.claim("P1", "NN01")
    assert first is not None
    first = desk.finish(desk.begin(first, Step.FEED), Step.FEED)
    first = desk.finish(desk.begin(first, Step.ENCODER), Step.ENCODER, card_serial="00000000000000AA")
    desk.spoil(desk.begin(first, Step.PERSONALISE), Step.PERSONALISE, "the chip refused", fed=True)
    second = desk.claim("P2", "NN01")
    assert second is not None
    desk.finish(desk.begin(second, Step.FEED), Step.FEED)  # a card inside P2 now
    report = desk.reconcile(staff.supervisor)
    assert report.balanced and (report.summary.fed, report.summary.spoiled, report.summary.unaccounted) == (2, 1, 1)
    [spoiled] = report.spoiled
    assert (spoiled.card_serial, spoiled.step, spoiled.reason) == ("00000000000000AA", "personalise", "the chip refused")
    assert [(job.printer_name, job.state) for job in report.inside] == [("P2", JobState.FED)]
    office.record_stock(staff.operator, StockKind.FED, reference="a blank that went missing")
    missing = desk.reconcile(staff.auditor, "NN01")
    assert not missing.balanced and missing.to_json()["balanced"] is False
    with pytest.raises(Forbidden):
        desk.reconcile(staff.elsewhere, "NN01")
