"""The lifecycle table: every state against every action, completeness, and the refusals' wording.

The expectations below are written out by hand from card.md section 6, the seed page and ecard.md,
independently of ``states.TRANSITIONS``; the tests compare the two.
"""

from __future__ import annotations

import pickle
from collections import deque
from datetime import datetime, timedelta, timezone

import pytest

from sscard_issuer.errors import SscardError
from sscard_issuer.lifecycle import (
    TERMINAL_STATES,
    TRANSITIONS,
    Action,
    ActionKind,
    Activate,
    Cancel,
    CancelLoss,
    CardActivated,
    CardCancelled,
    CardCollected,
    CardEvent,
    CardExpired,
    CardRecord,
    CardReplaced,
    CardState,
    ChangePin,
    Collect,
    Expire,
    IllegalTransition,
    LifecycleSettings,
    LossCancelled,
    LossKind,
    LossReported,
    PinChanged,
    PinReset,
    Produce,
    ProductionStarted,
    Replace,
    ReplacementRequested,
    ReportLoss,
    ResetPin,
    ShippedToOutlet,
    ShipToOutlet,
    StatusEffect,
    allowed_actions,
    apply,
    submit,
)
from sscard_issuer.lifecycle.states import INITIAL_STATE, targets

S, A, E = CardState, ActionKind, StatusEffect
CST = timezone(timedelta(hours=8))
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=CST)
STEP = timedelta(minutes=1)
SETTINGS = LifecycleSettings()
CARD, NEW_CARD = "CARD-0001", "CARD-0002"

ACTIONS: dict[ActionKind, Action] = {
    A.PRODUCE: Produce(),
    A.SHIP_TO_OUTLET: ShipToOutlet(),
    A.COLLECT: Collect(),
    A.ACTIVATE: Activate(),
    A.REPORT_TEMPORARY_LOSS: ReportLoss(LossKind.TEMPORARY),
    A.REPORT_FORMAL_LOSS: ReportLoss(LossKind.FORMAL),
    A.CANCEL_LOSS: CancelLoss(),
    A.REPLACE: Replace(NEW_CARD),
    A.CANCEL: Cancel(),
    A.PIN_RESET: ResetPin(),
    A.PIN_CHANGE: ChangePin(),
    A.EXPIRE: Expire(),
}

# How each state is reached from submit (temporary loss both from activated and from collected).
PATHS: dict[str, list[ActionKind]] = {
    "applied": [],
    "in_production": [A.PRODUCE],
    "awaiting_collection": [A.PRODUCE, A.SHIP_TO_OUTLET],
    "collected": [A.PRODUCE, A.SHIP_TO_OUTLET, A.COLLECT],
    "activated": [A.PRODUCE, A.SHIP_TO_OUTLET, A.COLLECT, A.ACTIVATE],
    "temporarily_lost": [A.PRODUCE, A.COLLECT, A.ACTIVATE, A.REPORT_TEMPORARY_LOSS],
    "temporarily_lost_never_activated": [A.PRODUCE, A.COLLECT, A.REPORT_TEMPORARY_LOSS],
    "formally_lost": [A.PRODUCE, A.COLLECT, A.ACTIVATE, A.REPORT_FORMAL_LOSS],
    "replaced": [A.PRODUCE, A.COLLECT, A.ACTIVATE, A.REPLACE],
    "cancelled": [A.PRODUCE, A.COLLECT, A.ACTIVATE, A.CANCEL],
    "expired": [A.PRODUCE, A.COLLECT, A.ACTIVATE, A.EXPIRE],
}

# (state, action) -> (next state, e-card effect, event classes); every pair not here is illegal.
EXPECTED: dict[tuple[CardState, ActionKind], tuple[CardState, StatusEffect, tuple[type[CardEvent], ...]]] = {
    (S.APPLIED, A.PRODUCE): (S.IN_PRODUCTION, E.NONE, (ProductionStarted,)),
    (S.APPLIED, A.CANCEL): (S.CANCELLED, E.REVOKE, (CardCancelled,)),
    (S.IN_PRODUCTION, A.SHIP_TO_OUTLET): (S.AWAITING_COLLECTION, E.NONE, (ShippedToOutlet,)),
    (S.IN_PRODUCTION, A.COLLECT): (S.COLLECTED, E.NONE, (CardCollected,)),
    (S.IN_PRODUCTION, A.CANCEL): (S.CANCELLED, E.REVOKE, (CardCancelled,)),
    (S.AWAITING_COLLECTION, A.COLLECT): (S.COLLECTED, E.NONE, (CardCollected,)),
    (S.AWAITING_COLLECTION, A.CANCEL): (S.CANCELLED, E.REVOKE, (CardCancelled,)),
    (S.AWAITING_COLLECTION, A.EXPIRE): (S.EXPIRED, E.REVOKE, (CardExpired,)),
}
for _usable in (S.COLLECTED, S.ACTIVATED):
    EXPECTED |= {
        (_usable, A.REPORT_TEMPORARY_LOSS): (S.TEMPORARILY_LOST, E.SUSPEND, (LossReported,)),
        (_usable, A.REPORT_FORMAL_LOSS): (S.FORMALLY_LOST, E.REVOKE, (LossReported,)),
        (_usable, A.REPLACE): (S.REPLACED, E.REVOKE, (CardReplaced, ReplacementRequested)),
        (_usable, A.CANCEL): (S.CANCELLED, E.REVOKE, (CardCancelled,)),
        (_usable, A.PIN_RESET): (_usable, E.NONE, (PinReset,)),
        (_usable, A.PIN_CHANGE): (_usable, E.NONE, (PinChanged,)),
        (_usable, A.EXPIRE): (S.EXPIRED, E.REVOKE, (CardExpired,)),
    }
EXPECTED |= {
    (S.COLLECTED, A.ACTIVATE): (S.ACTIVATED, E.NONE, (CardActivated,)),
    (S.TEMPORARILY_LOST, A.REPORT_FORMAL_LOSS): (S.FORMALLY_LOST, E.REVOKE, (LossReported,)),
    (S.TEMPORARILY_LOST, A.CANCEL_LOSS): (S.ACTIVATED, E.RESTORE, (LossCancelled,)),  # reached from activated
    (S.TEMPORARILY_LOST, A.REPLACE): (S.REPLACED, E.REVOKE, (CardReplaced, ReplacementRequested)),
    (S.TEMPORARILY_LOST, A.CANCEL): (S.CANCELLED, E.REVOKE, (CardCancelled,)),
    (S.TEMPORARILY_LOST, A.EXPIRE): (S.EXPIRED, E.REVOKE, (CardExpired,)),
    (S.FORMALLY_LOST, A.REPLACE): (S.REPLACED, E.REVOKE, (CardReplaced, ReplacementRequested)),
    (S.FORMALLY_LOST, A.CANCEL): (S.CANCELLED, E.REVOKE, (CardCancelled,)),
    (S.FORMALLY_LOST, A.EXPIRE): (S.EXPIRED, E.REVOKE, (CardExpired,)),
}


def walk(path: str, *, card_ref: str = CARD, start: datetime = T0) -> CardRecord:
    """The record of a card driven from submit along ``PATHS[path]``, one minute per step."""
    record, _ = submit(card_ref, at=start)
    for n, kind in enumerate(PATHS[path], start=1):
        record, _ = apply(record, ACTIONS[kind], at=start + n * STEP, settings=SETTINGS)
    return record


def test_the_actions_cover_every_requestable_kind() -> None:
    assert set(ACTIONS) == {a for a in ActionKind if a.requestable}
    assert all(action.kind is kind for kind, action in ACTIONS.items())
    assert {walk(p).state for p in PATHS} == set(CardState)


STATE_PATHS = [p for p in PATHS if p != "temporarily_lost_never_activated"]


@pytest.mark.parametrize("path", STATE_PATHS)
@pytest.mark.parametrize("kind", list(ACTIONS), ids=lambda k: k.value)
def test_every_state_against_every_action(path: str, kind: ActionKind) -> None:
    record = walk(path)
    at = record.updated_at + STEP
    expected = EXPECTED.get((record.state, kind))
    if expected is None:
        with pytest.raises(IllegalTransition) as caught:
            apply(record, ACTIONS[kind], at=at, settings=SETTINGS)
        error = caught.value
        assert (error.action, error.state) == (kind, record.state)
        assert error.allowed == tuple(a for a in ACTIONS if (record.state, a) in EXPECTED)
        assert isinstance(error, SscardError)
        return
    target, effect, event_types = expected
    new, events = apply(record, ACTIONS[kind], at=at, settings=SETTINGS)
    assert new.state is target
    assert (new.version, new.updated_at, new.card_ref) == (record.version + 1, at, CARD)
    assert tuple(type(e) for e in events) == event_types
    first = events[0]
    assert (first.card_ref, first.at, first.version, first.action) == (CARD, at, new.version, kind)
    assert (first.source, first.target, first.status_effect) == (record.state, target, effect)
    assert record == walk(path)  # the old record is untouched


def test_the_table_holds_exactly_the_expected_transitions() -> None:
    requestable = {(s, a): r for (s, a), r in TRANSITIONS.items() if a.requestable}
    assert set(requestable) == set(EXPECTED)
    for key, rule in requestable.items():
        assert rule.effect is EXPECTED[key][1]
    lapse = [(s, r.effect) for (s, a), r in TRANSITIONS.items() if a is A.TEMPORARY_LOSS_LAPSE]
    assert lapse == [(S.TEMPORARILY_LOST, E.RESTORE)]
    assert all(a is not A.SUBMIT for (_, a) in TRANSITIONS)


def test_every_state_is_reachable_from_applied_and_terminal_states_have_no_exits() -> None:
    seen, todo = {INITIAL_STATE}, deque([INITIAL_STATE])
    while todo:
        state = todo.popleft()
        for action in ActionKind:
            for target in targets(state, action) - seen:
                seen.add(target)
                todo.append(target)
    assert seen == set(CardState)
    assert {s for s in CardState if s.terminal} == TERMINAL_STATES == {S.REPLACED, S.CANCELLED, S.EXPIRED}
    for state in TERMINAL_STATES:
        assert not any((state, a) in TRANSITIONS for a in ActionKind)
        assert allowed_actions(state) == ()
    for state in set(CardState) - TERMINAL_STATES:
        assert allowed_actions(state), state  # no dead end but the terminal ones


def test_every_entry_into_a_terminal_state_revokes_and_only_those_and_formal_loss_do() -> None:
    for (source, action), rule in TRANSITIONS.items():
        reaches = targets(source, action)
        if reaches & TERMINAL_STATES or (reaches == {S.FORMALLY_LOST} and source is not S.FORMALLY_LOST):
            assert rule.effect is E.REVOKE, (source, action)
        else:
            assert rule.effect is not E.REVOKE, (source, action)


def test_loss_cancel_returns_to_collected_when_the_card_was_never_activated() -> None:
    for path, before in (("temporarily_lost", S.ACTIVATED), ("temporarily_lost_never_activated", S.COLLECTED)):
        record = walk(path)
        assert record.state_before_loss is before
        new, (event,) = apply(record, CancelLoss(), at=record.updated_at + STEP, settings=SETTINGS)
        assert new.state is before and event.target is before and event.status_effect is E.RESTORE
        assert (new.state_before_loss, new.loss_reported_at, new.loss_expires_at) == (None, None, None)


def test_cancel_loss_after_replacement_is_refused() -> None:
    for path in ("temporarily_lost", "formally_lost"):
        lost = walk(path)
        replaced, _ = apply(lost, Replace(NEW_CARD), at=lost.updated_at + STEP, settings=SETTINGS)
        assert replaced.state is S.REPLACED and replaced.replaced_by == NEW_CARD
        with pytest.raises(IllegalTransition, match=r"^cancel_loss is not allowed on a card that is replaced; "
                           r"allowed: none \(replaced is final\)$"):
            apply(replaced, CancelLoss(), at=replaced.updated_at + STEP, settings=SETTINGS)


def test_a_formal_loss_cannot_be_undone() -> None:
    record = walk("formally_lost")
    with pytest.raises(IllegalTransition) as caught:
        apply(record, CancelLoss(), at=record.updated_at + STEP, settings=SETTINGS)
    assert str(caught.value) == (
        "cancel_loss is not allowed on a card that is formally_lost; allowed: replace, cancel, expire"
    )


def test_the_refusal_reads_in_chinese_and_english_and_survives_pickling() -> None:
    error = IllegalTransition(A.PIN_CHANGE, S.TEMPORARILY_LOST, allowed_actions(S.TEMPORARILY_LOST))
    assert error.display("zh") == (
        "卡片当前状态为“临时挂失”，不能办理“密码修改”；可办理：正式挂失、解挂、补换、注销"
    )
    assert error.display("en") == (
        "The card is temporarily lost: cannot change the PIN. Possible: report a formal loss; "
        "cancel the loss report; replace the card; cancel the card."
    )
    final = IllegalTransition(A.CANCEL_LOSS, S.REPLACED, ())
    assert final.display("zh").endswith("可办理：无（卡片已终结）")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.action, copy.state, copy.allowed, str(copy)) == (error.action, error.state, error.allowed, str(error))


def test_every_state_and_action_has_both_display_names() -> None:
    for item in [*CardState, *ActionKind]:
        zh, en = item.display("zh"), item.display("en")
        assert zh and not zh.isascii() and en and en.isascii()
    assert [s.display("zh") for s in CardState] == [
        "已申请", "制卡中", "待领取", "已领取", "已启用", "临时挂失", "正式挂失", "已补换", "已注销", "已过期",
    ]  # fmt: skip
