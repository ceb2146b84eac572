"""docs/lifecycle.md is generated from the table and the committed file is exactly that."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sscard_issuer.lifecycle import TRANSITIONS, CardState
from sscard_issuer.lifecycle.diagram import render_document, render_mermaid
from sscard_issuer.lifecycle.states import targets

REGENERATE = "python3 -m sscard_issuer.lifecycle.diagram > docs/lifecycle.md"


def test_the_committed_document_is_the_generated_one(repo_root: Path) -> None:
    committed = (repo_root / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    assert committed == render_document(), f"docs/lifecycle.md is stale: run `{REGENERATE}`"


def test_the_module_prints_the_document(repo_root: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sscard_issuer.lifecycle.diagram"],
        capture_output=True, check=True, cwd=repo_root, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
    )  # fmt: skip
    assert done.stdout.decode("utf-8") == render_document()


def test_the_diagram_draws_every_state_and_every_transition() -> None:
    mermaid = render_mermaid()
    assert mermaid.startswith("stateDiagram-v2\n")
    for state in CardState:
        assert f'"{state.display("zh")} {state.display("en")}" as {state.value}' in mermaid
    arrows = {line.strip() for line in mermaid.splitlines() if "-->" in line}
    for source, action in TRANSITIONS:
        for target in targets(source, action):
            assert any(
                a.startswith(f"{source.value} --> {target.value} : ") and action.value in a.split(" : ")[1].split(", ")
                for a in arrows
            ), (source, action, target)
    assert "[*] --> applied : submit" in arrows
    assert {a for a in arrows if a.endswith("--> [*]")} == {f"{s.value} --> [*]" for s in CardState if s.terminal}
