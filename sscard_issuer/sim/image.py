"""A simulated card's persistent memory, kept in a card image file.

The image is the card's EEPROM: its ATR and each applet's state (records, files, keys, PIN
counters). It is a JSON document so a tester can look inside, and it holds a *simulated* card's
test keys, so it is marked as such. Saving is atomic (write a temporary file, rename it over the
image): a simulated power cut or a killed process leaves the old image or the new one, never a
mix. ``durable=True`` adds the fsyncs that make the same hold across a crash of the host itself,
at a few milliseconds per update; a simulated card rarely needs that.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from sscard_issuer.errors import SscardError

FORMAT = "sscard-sim-card/1"
WARNING = "SIMULATED CARD: test keys only, never a real card's data"


class ImageError(SscardError):
    """The card image file is missing, unreadable or not a card image."""


class CardImage:
    """The persistent state of one simulated card; ``path`` None keeps it in memory only."""

    def __init__(self, atr: bytes, applets: dict[str, dict[str, Any]], path: Path | None = None,
                 *, durable: bool = False):
        self.atr = atr
        self.applets = applets
        self.path = path
        self.durable = durable

    @classmethod
    def load(cls, path: Path, *, durable: bool = False) -> CardImage:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ImageError(f"no card image at {path}") from None
        except (OSError, ValueError) as exc:
            raise ImageError(f"cannot read card image {path}: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ImageError(f"{path} is not a card image (expected format {FORMAT!r})")
        try:
            return cls(bytes.fromhex(doc["atr"]), dict(doc["applets"]), Path(path), durable=durable)
        except (KeyError, TypeError, ValueError) as exc:
            raise ImageError(f"card image {path} is damaged: {exc}") from None

    def to_json(self) -> str:
        doc = {"format": FORMAT, "warning": WARNING, "atr": self.atr.hex().upper(), "applets": self.applets}
        # one line, so the C encoder writes it: a card commits on every update (json.tool reads it)
        return json.dumps(doc, ensure_ascii=False, sort_keys=True)

    def snapshot(self) -> str:
        """The applets' state as committed, to restore with :meth:`restore` after a power cut."""
        return json.dumps(self.applets, ensure_ascii=False)

    def restore(self, snapshot: str) -> None:
        self.applets = json.loads(snapshot)

    def save(self, path: Path | None = None) -> None:
        """Write the image atomically to ``path`` (default: where it was loaded from)."""
        target = Path(path) if path is not None else self.path
        if target is None:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.to_json())
                if self.durable:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if self.durable:
            dir_fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        self.path = target
