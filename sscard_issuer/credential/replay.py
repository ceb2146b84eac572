"""A relying party's own replay store: a SQLite file every verifier process on the machine shares.

(The platform's verifiers share the registry's instead.) A ``jti`` is inserted once; a second
insert fails on the primary key, which is the answer "seen". Expired entries are purged as they go.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from pathlib import Path


class FileReplayStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=10, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS used_code (jti TEXT PRIMARY KEY, expires_at REAL NOT NULL)")

    def claim(self, jti: str, expires_at: datetime) -> bool:
        self._db.execute("DELETE FROM used_code WHERE expires_at < ?", (time.time(),))
        try:
            self._db.execute("INSERT INTO used_code (jti, expires_at) VALUES (?, ?)", (jti, expires_at.timestamp()))
        except sqlite3.IntegrityError:
            return False
        return True

    def close(self) -> None:
        self._db.close()
