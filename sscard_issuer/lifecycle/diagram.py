"""``docs/lifecycle.md``, generated from the transition table: never drawn by hand.

    python3 -m sscard_issuer.lifecycle.diagram > docs/lifecycle.md
"""

from __future__ import annotations

import sys

from sscard_issuer.lifecycle.states import (
    INITIAL_ACTION,
    INITIAL_STATE,
    STATES_BEFORE_LOSS,
    TERMINAL_STATES,
    TRANSITIONS,
    ActionKind,
    CardState,
    Resume,
    targets,
)

_INTRO = """\
# Card lifecycle

<!-- Generated from sscard_issuer/lifecycle/states.py by
     `python3 -m sscard_issuer.lifecycle.diagram > docs/lifecycle.md`; do not edit by hand. -->

The physical card's life, as the pure state machine in `sscard_issuer/lifecycle` applies it
(`apply(record, action, at=..., settings=...)` returns the next record and its events; an action
the table does not hold raises `IllegalTransition`, naming the state and the allowed actions).
Every transition emits an event carrying its effect on the e-card status (ecard.md: the e-card's
status always equals the card's): `suspend`, `restore`, `revoke` (for good) or `none`.

- **Loss cancelled** (解挂) and the **lapse** of a temporary loss return the card to the state it
  was in when the loss was reported: `activated`, or `collected` if it was never activated. Only a
  temporary loss can be cancelled; a formal loss cannot be undone and leads to replacement, and
  once a card is replaced, cancelling its loss is refused (the card is dead for good).
- **Temporary loss** lapses by itself after the regional number of days (`temporary_loss_days`:
  5, 10 or 15; default 10), counted from the report: still lost one instant before, lapsed at the
  boundary. Nothing polls: the record stores the lapse time, every read computes the effective
  state from it, and the first transition or read that observes the lapse records it as
  `temporary_loss_lapse` with a `TemporaryLossExpired` event dated when the loss ran out.
- **Replacement** (补换) ends the old card (`CardReplaced`, revoke) and asks for its successor
  (`ReplacementRequested`, carrying the new card's reference); the new card starts at `applied`
  with a link to the card it replaces, and is made like any other card.
- **PIN reset and change** are recorded as events and leave the state as it is; they are allowed
  only on a usable card (collected or activated).
"""


def _node(state: CardState) -> str:
    return state.value


def _edges() -> list[tuple[CardState, CardState, list[ActionKind]]]:
    grouped: dict[tuple[CardState, CardState], list[ActionKind]] = {}
    for source in CardState:
        for action in ActionKind:
            for target in sorted(targets(source, action), key=list(CardState).index):
                grouped.setdefault((source, target), []).append(action)
    return [(s, t, actions) for (s, t), actions in grouped.items()]


def render_mermaid() -> str:
    """The table as a Mermaid state diagram."""
    lines = ["stateDiagram-v2"]
    for state in CardState:
        lines.append(f'    state "{state.display("zh")} {state.display("en")}" as {_node(state)}')
    lines.append(f"    [*] --> {_node(INITIAL_STATE)} : {INITIAL_ACTION.value}")
    for source, target, actions in _edges():
        lines.append(f"    {_node(source)} --> {_node(target)} : {', '.join(a.value for a in actions)}")
    for state in CardState:
        if state in TERMINAL_STATES:
            lines.append(f"    {_node(state)} --> [*]")
    lines.append("    classDef terminal fill:#eeeeee,stroke:#888888")
    lines.append(f"    class {','.join(_node(s) for s in CardState if s in TERMINAL_STATES)} terminal")
    return "\n".join(lines) + "\n"


def _target_cell(source: CardState, action: ActionKind) -> str:
    target = TRANSITIONS[source, action].target
    if isinstance(target, Resume):
        choices = " or ".join(f"`{s.value}`" for s in CardState if s in STATES_BEFORE_LOSS)
        return f"{target.value} ({choices})"
    return f"`{target.value}`"


def render_document() -> str:
    """The whole of ``docs/lifecycle.md``."""
    out = [_INTRO, "```mermaid", render_mermaid().rstrip("\n"), "```", "", "## States", ""]
    out += ["| code | 中文 | English | final |", "|---|---|---|---|"]
    for state in CardState:
        out.append(f"| `{state.value}` | {state.display('zh')} | {state.display('en')} | {'yes' if state.terminal else ''} |")
    out += ["", "## Transitions", "", "| from | action | 中文 | to | e-card |", "|---|---|---|---|---|"]
    out.append(f"| (start) | `{INITIAL_ACTION.value}` | {INITIAL_ACTION.display('zh')} | `{INITIAL_STATE.value}` | none |")
    for source in CardState:
        for action in ActionKind:
            rule = TRANSITIONS.get((source, action))
            if rule is not None:
                out.append(
                    f"| `{source.value}` | `{action.value}` | {action.display('zh')} | "
                    f"{_target_cell(source, action)} | {rule.effect.value} |"
                )
    return "\n".join(out) + "\n"


def main() -> None:
    sys.stdout.buffer.write(render_document().encode("utf-8"))  # UTF-8 whatever the locale


if __name__ == "__main__":
    main()
