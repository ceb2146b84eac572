"""Random action sequences at random times: every outcome is a table transition or the typed refusal."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sscard_issuer.lifecycle import (
    TRANSITIONS,
    ActionKind,
    CardRecord,
    CardState,
    IllegalTransition,
    LifecycleSettings,
    Replace,
    ReplacementRequested,
    StatusEffect,
    allowed_actions,
    apply,
    effective_state,
    submit,
)
from sscard_issuer.lifecycle.states import targets
from tests.unit.test_lifecycle_table import ACTIONS, CARD, T0

# Actions that end a card are drawn less often, so that sequences also live long enough to go deep.
_ENDING = {ActionKind.CANCEL, ActionKind.EXPIRE, ActionKind.REPLACE}
_WEIGHTED = [k for k in sorted(ACTIONS, key=lambda k: k.value) for _ in range(1 if k in _ENDING else 4)]
steps = st.lists(
    st.tuples(
        st.sampled_from(_WEIGHTED),
        st.integers(min_value=0, max_value=20 * 24 * 60).map(lambda m: timedelta(minutes=m)),
    ),
    max_size=40,
)


@settings(max_examples=400, deadline=None)
@given(steps=steps, days=st.sampled_from([5, 10, 15]))
def test_random_sequences_stay_inside_the_table(steps: list[tuple[ActionKind, timedelta]], days: int) -> None:
    config = LifecycleSettings(temporary_loss_days=days)
    record, _ = submit(CARD, at=T0)
    at, version, final = T0, 1, None
    for n, (kind, gap) in enumerate(steps):
        at += gap
        action = Replace(f"CARD-R{n}") if kind is ActionKind.REPLACE else ACTIONS[kind]
        state_now = effective_state(record, at)
        try:
            new, events = apply(record, action, at=at, settings=config)
        except IllegalTransition as refused:
            assert refused.state is state_now and refused.action is kind
            assert refused.allowed == allowed_actions(state_now) and kind not in refused.allowed
            assert final is None or record.state is final
            continue
        assert final is None, f"{final} is terminal but {kind.value} was accepted"
        assert kind in allowed_actions(state_now)
        assert isinstance(new, CardRecord) and isinstance(new.state, CardState)
        previous, previous_version = record.state, record.version
        for event in events:  # a lapse first, if one was due; a replacement's two events share a version
            if event.version != previous_version:
                assert event.version == previous_version + 1
                assert event.source is previous and event.target in targets(previous, event.action)
                previous, previous_version = event.target, event.version
            assert event.source is not None
            if isinstance(event, ReplacementRequested):
                assert event.status_effect is StatusEffect.NONE  # the revocation rides on CardReplaced
            else:
                assert event.status_effect is TRANSITIONS[event.source, event.action].effect
        assert previous is new.state
        assert new.version == version + len({e.version for e in events})
        assert [e.version for e in events] == sorted(e.version for e in events)
        record, version = new, new.version
        if new.state.terminal:
            final = new.state
    if final is not None:
        assert effective_state(record, at + timedelta(days=10_000)) is final
