"""Open the registry: an engine, the schema brought up to date by Alembic, sessions.

SQLite in a local file is the embedded default; PostgreSQL (``postgresql+psycopg://...``) is the
production database. The schema is only ever created by the migrations.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
DEFAULT_URL_ENV = "SSCARD_DATABASE_URL"


def default_url() -> str:
    """``$SSCARD_DATABASE_URL``, else a SQLite file in ``~/.local/share/sscard``."""
    url = os.environ.get(DEFAULT_URL_ENV)
    if url:
        return url
    folder = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "sscard"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'registry.sqlite3'}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Registry:
    """A database with an up-to-date schema; ``transaction()`` gives one committed unit of work."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        self.engine: Engine = create_engine(self.url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.upgrade()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()
