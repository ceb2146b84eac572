"""Shared fixtures. Integration fixtures (pcscd, vpcd, SoftHSM2) live in tests/integration."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
