"""The card image: a JSON document that round-trips, saved atomically, refused when damaged."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from sscard_issuer.sim.image import FORMAT, CardImage, ImageError

ATR = bytes.fromhex("3B6900008699450100")


def image(path: Path | None = None, value: str = "old") -> CardImage:
    return CardImage(ATR, {"ssse": {"value": value, "名字": "李秀英"}, "pki": {}}, path)


def test_an_image_saved_loads_back_equal(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    image().save(path)
    loaded = CardImage.load(path)
    assert loaded.atr == ATR
    assert loaded.applets == image().applets
    assert loaded.path == path


def test_the_file_says_it_is_a_simulated_card(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    image().save(path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["format"] == FORMAT
    assert "SIMULATED" in doc["warning"]


def test_save_without_a_path_writes_to_where_the_image_came_from(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    image().save(path)
    loaded = CardImage.load(path)
    loaded.applets["ssse"]["value"] = "new"
    loaded.save()
    assert CardImage.load(path).applets["ssse"]["value"] == "new"


def test_an_image_in_memory_only_writes_nothing(tmp_path: Path) -> None:
    image().save()
    assert list(tmp_path.iterdir()) == []


def test_save_creates_missing_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "card.json"
    image().save(path)
    assert CardImage.load(path).atr == ATR


def _fail(*_: Any, **__: Any) -> None:
    raise OSError(28, "No space left on device")


def test_a_failing_rename_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "card.json"
    image(value="old").save(path)
    before = path.read_bytes()
    monkeypatch.setattr(os, "replace", _fail)
    with pytest.raises(OSError):
        image(value="new").save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]


def test_a_failing_write_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "card.json"
    image(value="old").save(path)
    before = path.read_bytes()
    monkeypatch.setattr(os, "fsync", _fail)
    new = image(value="new")
    new.durable = True  # the failure comes from the fsync only a durable image does
    with pytest.raises(OSError):
        new.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]


def test_an_image_that_cannot_be_serialised_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    image(value="old").save(path)
    before = path.read_bytes()
    broken = CardImage(ATR, {"ssse": {"value": b"bytes are not JSON"}})
    with pytest.raises(TypeError):
        broken.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]


def test_a_missing_image_is_an_image_error_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=r"nothing\.json"):
        CardImage.load(tmp_path / "nothing.json")


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{not json",
        "[]",
        json.dumps({"format": "something-else", "atr": "3B00", "applets": {}}),
        json.dumps({"format": FORMAT, "applets": {}}),
        json.dumps({"format": FORMAT, "atr": "XYZ", "applets": {}}),
        json.dumps({"format": FORMAT, "atr": 12, "applets": {}}),
        json.dumps({"format": FORMAT, "atr": "3B00"}),
    ],
)
def test_a_damaged_image_is_an_image_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "card.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImageError):
        CardImage.load(path)


def test_a_snapshot_is_independent_of_later_changes_and_restores_them() -> None:
    card = image()
    snap = card.snapshot()
    card.applets["ssse"]["value"] = "new"
    card.restore(snap)
    assert card.applets["ssse"]["value"] == "old"
