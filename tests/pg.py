"""A throw-away PostgreSQL cluster for the test session (see STACK.md, PostgreSQL 15).

initdb refuses root, so as root the cluster is made and run as ``nobody`` (``setpriv``); its files
and its unix socket live in one private temp dir (in memory when ``/dev/shm`` is there), it listens
on no TCP address, and it runs with the durability switches off (a test database is worth nothing
after the session). The server runs as this process's child (``postgres`` itself rather than
``pg_ctl start``, which would detach it) with a parent-death signal, so even a killed test run
leaves no server behind. Each test gets a fresh database of its own from
:meth:`PostgresCluster.create_database` (about 10 ms).
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

SUPERUSER = "postgres"
SERVER_OPTIONS = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                  "-c", "listen_addresses=")  # unix socket only
UNPRIVILEGED = ("nobody", "nogroup")
PREFIX = "sscard-pg-"

# the ``new_database_url`` fixture: new_database_url(backend, folder=None) -> a fresh database's URL
NewDatabaseUrl = Callable[..., str]


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed or would not start; the message says what to do."""


def find_bin_dir() -> Path:
    """The directory holding ``initdb`` and ``postgres``: Debian's newest server, else PATH."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "postgres").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb and (Path(initdb).parent / "postgres").exists():
        return Path(initdb).parent
    raise PostgresUnavailable(
        "PostgreSQL is not installed (no initdb/postgres under /usr/lib/postgresql/*/bin or on PATH): "
        "run tools/setup.sh (apt-get install postgresql)"
    )


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _fast_dir() -> str | None:
    # memory, where there is some: a fresh database per test then costs milliseconds, not disk writes
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        return None
    _remove_stale(shm)
    return str(shm)


def _remove_stale(folder: Path, *, older_than: float = 600.0) -> None:
    """Clusters left by a killed session (memory is not freed by a reboot-less machine otherwise)."""
    for root in folder.glob(f"{PREFIX}*"):
        try:
            if time.time() - root.stat().st_mtime < older_than or _postmaster_alive(root / "data"):
                continue
        except OSError:
            continue
        shutil.rmtree(root, ignore_errors=True)


def _postmaster_alive(data: Path) -> bool:
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def free_port() -> int:
    # The server binds no TCP port (unix socket only), but the port names the socket file; one
    # free on loopback keeps it apart from any other cluster a person may be running.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresCluster:
    """A running cluster in ``root``; :meth:`stop` ends it and removes every file."""

    def __init__(self, root: Path, bin_dir: Path, port: int) -> None:
        self.root = root
        self.bin_dir = bin_dir
        self.port = port
        self.data = root / "data"
        self.socket_dir = root / "socket"
        self.log = root / "server.log"
        self._names = itertools.count(1)
        self._server: subprocess.Popen[bytes] | None = None

    # -- life ----------------------------------------------------------------------------------

    @classmethod
    def start(cls, *, timeout: float = 30.0) -> PostgresCluster:
        bin_dir = find_bin_dir()
        # not under pytest's basetemp: that is 0700 root, and the server runs as nobody
        root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=_fast_dir()))
        cluster = cls(root, bin_dir, free_port())
        try:
            cluster._init_and_start(timeout)
        except BaseException:
            cluster.stop()
            raise
        atexit.register(cluster.stop)  # should the session end without its teardown
        return cluster

    def _as_server_user(self, *args: str | Path, parent_death: str | None = None) -> list[str]:
        command = [str(a) for a in args]
        wrap = ["--pdeathsig", parent_death] if parent_death else []
        if os.geteuid() == 0:
            user, group = UNPRIVILEGED
            wrap += [f"--reuid={user}", f"--regid={group}", "--clear-groups"]
        return ["setpriv", *wrap, *command] if wrap else command

    def _init_and_start(self, timeout: float) -> None:
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            user = pwd.getpwnam(UNPRIVILEGED[0])
            for path in (self.root, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
        initdb = subprocess.run(
            self._as_server_user(self.bin_dir / "initdb", "-D", self.data, "-A", "trust", "-U", SUPERUSER,
                                 "-E", "UTF8", "--locale=C", "--no-sync"),
            capture_output=True, text=True, timeout=timeout, cwd=self.root, check=False)
        if initdb.returncode != 0:
            raise PostgresUnavailable(f"initdb failed ({initdb.returncode}): {initdb.stderr.strip()}")
        # The server is this process's child, not pg_ctl's daemon: SIGQUIT (immediate shutdown)
        # reaches it when this process dies, however it dies.
        with self.log.open("wb") as log:
            self._server = subprocess.Popen(
                self._as_server_user(self.bin_dir / "postgres", "-D", self.data, "-k", self.socket_dir,
                                     "-p", str(self.port), *SERVER_OPTIONS, parent_death="QUIT"),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.connect():
                    return
            except psycopg.OperationalError as exc:
                exited = self._server is not None and self._server.poll() is not None
                if exited or time.monotonic() > deadline:
                    why = "exited" if exited else f"did not accept connections in {timeout:.0f} s"
                    raise PostgresUnavailable(f"PostgreSQL {why}: {exc}\n"
                                              f"{self.log.read_text(errors='replace')[-2000:]}") from exc
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (immediately: nothing in it is worth a checkpoint) and remove its files."""
        server, self._server = self._server, None
        try:
            if server is not None and server.poll() is None:
                server.send_signal(signal.SIGQUIT)
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait(timeout=10)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- databases ------------------------------------------------------------------------------

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname=dbname,
                               autocommit=True, connect_timeout=5)

    def create_database(self) -> str:
        """A new empty database (``t_<n>``); returns its name."""
        name = f"t_{next(self._names)}"
        with self.connect() as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        # FORCE: a test that left a connection open must not keep its database alive
        with self.connect() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def url(self, name: str) -> str:
        """The SQLAlchemy URL of database ``name`` (psycopg 3, over the unix socket)."""
        return f"postgresql+psycopg://{SUPERUSER}@/{name}?host={self.socket_dir}&port={self.port}"
