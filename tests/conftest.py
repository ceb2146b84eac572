"""Shared fixtures. Integration fixtures (pcscd, vpcd, SoftHSM2) live in tests/integration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sscard_issuer.registry import Registry
from tests.pg import NewDatabaseUrl, PostgresCluster, PostgresUnavailable

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


# -- the registry's databases: SQLite and a throw-away PostgreSQL cluster ----------------------------

DATABASE_BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One PostgreSQL cluster for the session, started on first use; never skips: CI installs it."""
    try:
        cluster = PostgresCluster.start()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def new_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NewDatabaseUrl]:
    """new_database_url(backend, folder=tmp_path): the URL of a fresh, empty registry database.

    SQLite: ``<folder>/registry.sqlite3``. PostgreSQL: a new database in the session's cluster,
    dropped when the test ends.
    """
    made: list[str] = []
    cluster: PostgresCluster | None = None

    def make(backend: str, folder: Path | None = None) -> str:
        nonlocal cluster
        if backend == "sqlite":
            return f"sqlite:///{(folder or tmp_path) / 'registry.sqlite3'}"
        if backend != "postgresql":
            raise ValueError(f"backend: one of {DATABASE_BACKENDS}, not {backend!r}")
        cluster = cluster or request.getfixturevalue("postgres")
        made.append(cluster.create_database())
        return cluster.url(made[-1])

    yield make
    if cluster is not None:
        for name in made:
            cluster.drop_database(name)


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest, new_database_url: NewDatabaseUrl) -> str:
    """A fresh registry database's SQLAlchemy URL; a test taking it runs once per backend."""
    backend: str = request.param
    return new_database_url(backend)


@pytest.fixture
def registry(database_url: str) -> Iterator[Registry]:
    """A registry on a fresh database, once per backend; closed when the test ends."""
    reg = Registry(database_url)
    yield reg
    reg.close()
