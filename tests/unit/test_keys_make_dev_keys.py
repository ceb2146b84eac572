"""tools/make_dev_keys.py: a complete, marked, loadable key set; no silent overwrite."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from sscard_issuer.keys import DevKeyStore, KeyClass

TOOL = Path(__file__).resolve().parents[2] / "tools" / "make_dev_keys.py"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_dev_keys", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generates_a_loadable_marked_key_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tool, output = _tool(), tmp_path / "dev" / "keyset.json"
    assert tool.main(["--output", str(output)]) == 0
    document = json.loads(output.read_text(encoding="utf-8"))
    assert document["warning"].startswith("TEST KEYS ONLY - NEVER USE FOR REAL CARDS")
    store = DevKeyStore(output)
    assert all(store.has(c, a) for c in KeyClass for a in c.algorithms)
    for entry in document["keys"]:
        key = bytes.fromhex(entry["key"])
        assert len(key) == 16
        if entry["algorithm"] == "3DES":
            assert all(bin(b).count("1") % 2 for b in key), "3DES masters have odd parity"
    keys_hex = {e["key"] for e in document["keys"]}
    assert not any(k in capsys.readouterr().out.upper() for k in keys_hex)

    before = output.read_text(encoding="utf-8")
    assert tool.main(["--output", str(output)]) == 1
    assert output.read_text(encoding="utf-8") == before
    assert tool.main(["--output", str(output), "--force"]) == 0
    assert output.read_text(encoding="utf-8") != before
