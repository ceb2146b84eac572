"""Open the registry: an engine, the schema brought up to date by Alembic, sessions.

SQLite in a local file is the embedded default; PostgreSQL (``postgresql+psycopg://...``) is the
production database. The schema is only ever created by the migrations.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
DEFAULT_URL_ENV = "SSCARD_DATABASE_URL"
_DURABLE = "sscard_durable"
_READING = "sscard_reading"
# Alembic's ``op`` and ``context`` are module-level proxies: one migration at a time per process.
_MIGRATING = threading.Lock()
# PostgreSQL: processes opening one new database at once take turns (an advisory lock, per database).
_MIGRATION_LOCK_KEY = 0x55C4_0001


def default_url() -> str:
    """``$SSCARD_DATABASE_URL``, else a SQLite file in ``~/.local/share/sscard``."""
    url = os.environ.get(DEFAULT_URL_ENV)
    if url:
        return url
    folder = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "sscard"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'registry.sqlite3'}"


def _with_driver(url: str) -> str:
    """``postgresql://...`` means psycopg 3, the driver the project installs (not psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # The driver would begin a transaction only at the first write, leaving the read before it
    # (the area's next serial) outside: two writers then read the same serial. _sqlite_begin below
    # begins every transaction itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # the timeout first: switching to WAL needs a lock another opener may hold for a moment
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    options = connection.get_execution_options()
    if options.get(_READING):
        # deferred: with WAL a reader takes no lock a writer or another reader waits for
        connection.exec_driver_sql("BEGIN")
        return
    # Durability is chosen per transaction (see Registry.transaction), before it begins; the
    # setting stays with the driver's connection, so it is only sent when it changes.
    synchronous = "FULL" if options.get(_DURABLE, True) else "NORMAL"
    if connection.info.get("synchronous") != synchronous:
        connection.exec_driver_sql(f"PRAGMA synchronous={synchronous}")
        connection.info["synchronous"] = synchronous
    # IMMEDIATE: the write lock from the start, so a read-then-write transaction is never
    # overtaken (waiting, if need be, up to busy_timeout for the other writer to commit).
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class Registry:
    """A database with an up-to-date schema; ``transaction()`` gives one committed unit of work."""

    def __init__(self, url: str | None = None) -> None:
        self.url = _with_driver(url or default_url())
        self.engine: Engine = create_engine(self.url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
            database = self.engine.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
        self.upgrade()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._unflushed: Engine | None = None  # PostgreSQL, one_write(): made on first use
        self._lock = threading.Lock()

    def upgrade(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with _MIGRATING, self.engine.begin() as connection:
            # SQLite's BEGIN IMMEDIATE already makes a second opener wait, then find the schema made
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[Session]:
        """One unit of work, committed at the end (rolled back on an exception).

        ``durable=False`` is for records whose loss in a crash of the *host* is harmless (a
        journal line that only makes a repeatable step run again): the commit then survives a
        crash of this process but skips the disk flush (SQLite WAL ``synchronous=NORMAL``,
        PostgreSQL ``synchronous_commit=off``). Allocations and final states stay durable.
        """
        with self._sessions() as session:
            session.connection(execution_options={_DURABLE: durable})  # begins the transaction
            if not durable and self.engine.dialect.name == "postgresql":
                session.execute(text("SET LOCAL synchronous_commit = off"))
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def connection(self, *, durable: bool = True) -> Iterator[Connection]:
        """Like :meth:`transaction` for SQL without the ORM (the journal's one-line inserts)."""
        with self.engine.connect().execution_options(**{_DURABLE: durable}) as connection, connection.begin():
            if not durable and self.engine.dialect.name == "postgresql":
                connection.execute(text("SET LOCAL synchronous_commit = off"))
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A transaction that only reads, for SQL without the ORM (a verifier's status look-up).

        On SQLite it begins deferred rather than taking the write lock, so readers in every process
        go on side by side and beside the one writer. On PostgreSQL it runs each statement on its own
        (autocommit: no BEGIN and COMMIT round trips), so it is for a single statement, whose
        snapshot is consistent by itself. Nothing stops a write in it; do not write.
        """
        with self.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execution_options(isolation_level="AUTOCOMMIT")
                yield connection
                return
            with connection.execution_options(**{_READING: True}).begin():
                yield connection

    @contextmanager
    def one_write(self) -> Iterator[Connection]:
        """A connection for one write statement whose loss in a crash of the *host* is harmless
        (a presentation code's claim), committed as it runs.

        On PostgreSQL: one round trip, on a second pool of connections opened with
        ``synchronous_commit=off`` (instead of BEGIN, SET LOCAL, the statement and COMMIT, four).
        On SQLite: :meth:`connection` with ``durable=False``.
        """
        if self.engine.dialect.name != "postgresql":
            with self.connection(durable=False) as connection:
                yield connection
            return
        with self._lock:
            if self._unflushed is None:
                self._unflushed = create_engine(self.url, connect_args={"options": "-c synchronous_commit=off"},
                                                isolation_level="AUTOCOMMIT")
        with self._unflushed.connect() as connection:
            yield connection

    def close(self) -> None:
        self.engine.dispose()
        if self._unflushed is not None:
            self._unflushed.dispose()
