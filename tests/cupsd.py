"""A throw-away cupsd for tests, with cups-pdf queues and a fake card printer (see STACK.md, CUPS).

``running_cupsd(tmp_path)`` starts ``cupsd -f -c cupsd.conf -s cups-files.conf`` with every file
of its own in a private directory, listening on a unix socket only (no TCP port, no web
interface, no browsing), and stops it and removes its files on exit. What was found out here:

- The server directory is made with ``tempfile.mkdtemp`` and opened to 0755, not put under
  pytest's ``tmp_path``: that is 0700 root, and cupsd runs filters as ``lp``, which must reach the
  spool. PDFs from cups-pdf go to ``tmp_path / "pdf"`` (the backend runs as root).
- cups-pdf reads its configuration only from ``/etc/cups/cups-pdf-<queue>.conf`` (the path is
  compiled in; ``CUPS_SERVERROOT`` does not move it), so each queue gets a uniquely named conf
  file there, removed when the server stops. Its ``Out``, ``AnonDirName``, ``Spool``, ``GSTmp``
  and ``Log`` all point into the temp dirs, so nothing else outside them is written. This needs
  root (the backend is mode 0700 and so runs as root; /etc/cups is root's): the helper says so
  plainly when not root.
- ``ServerBin`` is a private copy of /usr/lib/cups made of symbolic links, plus one test backend,
  ``sscardtest:<reason>[?stall=<s>]``: a card printer that reports ``<reason>`` (e.g.
  ``media-empty-error``) as a printer-state-reason and fails the job, or keeps it processing, so
  status mapping, failed, stopped and stalled jobs are tested against the real scheduler. Like
  many real drivers it never clears a reason it set: CUPS keeps it until a driver does.
- ``lpadmin ... -m lsb/usr/cups-pdf/CUPS-PDF_noopt.ppd`` works against the private server (it
  prints a "drivers are deprecated" warning). The PPD lists no card size but takes custom sizes.
- Output files are ``job_<id>-<title>.pdf``; cups-pdf sometimes appends stale buffer bytes to the
  title, so match on ``job_<id>-*.pdf`` only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CUPS_PDF_CONF_DIR = Path("/etc/cups")  # compiled into the cups-pdf backend
CUPS_PDF_PPD = "lsb/usr/cups-pdf/CUPS-PDF_noopt.ppd"
SYSTEM_SERVER_BIN = Path("/usr/lib/cups")
PREFIX = "sscard-cupsd-"
_OWNER_MARK = "# sscard test cupsd: "  # first line of each cups-pdf conf written, then the server's root

# A card printer for tests. Device URI ``sscardtest:<reason>[?stall=<seconds>]``: reports
# <reason> as a printer-state-reason (unless "none"), then fails the job at once, or with a stall
# keeps it processing that long (until cancelled) and completes it.
_TEST_BACKEND = """#!/bin/sh
if [ $# -eq 0 ]; then echo 'direct sscardtest "Unknown" "sscard test card printer"'; exit 0; fi
cat "${6:-/dev/stdin}" > /dev/null
spec=${DEVICE_URI#sscardtest:}
reason=${spec%%\\?*}
if [ "$reason" != none ]; then
  echo "STATE: +$reason" >&2
  echo "ERROR: test card printer reports $reason" >&2
fi
case "$spec" in *\\?stall=*) exec sleep "${spec##*stall=}";; esac
exit 1
"""


class CupsUnavailable(RuntimeError):
    """cupsd or cups-pdf is not installed, or the server would not start; the message says why."""


@dataclass
class CupsServer:
    """A running private cupsd: connect with ``CupsPrinter(queue, server=server.socket)``."""

    root: Path  # the server's own files
    output: Path  # where the cups-pdf queues write
    socket: Path
    process: subprocess.Popen[bytes]
    _pdf_confs: list[Path]

    @property
    def env(self) -> dict[str, str]:
        """The environment for command-line clients (lpadmin, cupsdisable, lpstat...)."""
        return {**os.environ, "CUPS_SERVER": str(self.socket)}

    def run(self, *command: str, timeout: float = 30.0) -> str:
        """Run a CUPS command-line client against this server; raises with its output if it fails."""
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise CupsUnavailable(f"{' '.join(command)} failed ({done.returncode}): "
                                  f"{done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def add_pdf_queue(self, name: str) -> Path:
        """A cups-pdf queue ``name`` writing into its own folder, returned."""
        out = self.output / name
        out.mkdir(parents=True, exist_ok=True)
        spool, gs_tmp, log = (self.root / "cups-pdf" / name / part for part in ("spool", "gstmp", "log"))
        for folder in (spool, gs_tmp, log):
            folder.mkdir(parents=True, exist_ok=True)
        conf = CUPS_PDF_CONF_DIR / f"cups-pdf-{name}.conf"
        conf.write_text(f"{_OWNER_MARK}{self.root}\nOut {out}\nAnonDirName {out}\nSpool {spool}\nGSTmp {gs_tmp}\nLog {log}\n"
                        "Label 1\nLogType 1\n")
        self._pdf_confs.append(conf)
        self.run("lpadmin", "-p", name, "-E", "-v", f"cups-pdf:/{name}", "-m", CUPS_PDF_PPD)
        return out

    def add_faulty_queue(self, name: str, reason: str, *, policy: str = "abort-job",
                         stall: float | None = None) -> None:
        """A queue on the test card printer: reports ``reason`` (``"none"``: nothing), then fails
        the job (CUPS then follows ``policy``: abort-job, stop-printer...) or, given ``stall``,
        keeps it processing for that many seconds."""
        uri = f"sscardtest:{reason}" + ("" if stall is None else f"?stall={stall:g}")
        self.run("lpadmin", "-p", name, "-E", "-v", uri, "-m", CUPS_PDF_PPD,
                 "-o", f"printer-error-policy={policy}")

    def unique_name(self, stem: str = "card") -> str:
        """A queue name no other server on the machine uses (the cups-pdf conf is machine-wide)."""
        return f"sscard-{stem}-{secrets.token_hex(4)}"

    def stop(self) -> None:
        """Stop the server and remove its files and the cups-pdf confs it wrote."""
        process = self.process
        try:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        finally:
            for conf in self._pdf_confs:
                conf.unlink(missing_ok=True)
            shutil.rmtree(self.root, ignore_errors=True)


def _require_installed() -> str:
    cupsd = shutil.which("cupsd") or ("/usr/sbin/cupsd" if Path("/usr/sbin/cupsd").exists() else None)
    if cupsd is None:
        raise CupsUnavailable("cupsd is not installed: run tools/setup.sh (apt-get install cups)")
    if not (SYSTEM_SERVER_BIN / "backend" / "cups-pdf").exists():
        raise CupsUnavailable("the cups-pdf backend is missing: apt-get install printer-driver-cups-pdf")
    if os.geteuid() != 0 or not os.access(CUPS_PDF_CONF_DIR, os.W_OK):
        raise CupsUnavailable(f"cups-pdf queues need root: the backend runs as root and reads its conf only "
                              f"from {CUPS_PDF_CONF_DIR}, which this user cannot write")
    return cupsd


def _remove_stale() -> None:
    """Servers' directories left by a killed session (cupsd died with it), then their cups-pdf confs."""
    for root in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        with contextlib.suppress(OSError, ValueError):
            pid_file = root / "state" / "cupsd.pid"
            if pid_file.exists():
                if _alive(int(pid_file.read_text().strip())):
                    continue
            elif time.time() - root.stat().st_mtime < 600:  # maybe still starting
                continue
            shutil.rmtree(root, ignore_errors=True)
    for conf in CUPS_PDF_CONF_DIR.glob("cups-pdf-sscard-*.conf"):
        with contextlib.suppress(OSError):
            first = conf.read_text(errors="replace").split("\n", 1)[0]
            if first.startswith(_OWNER_MARK) and not Path(first[len(_OWNER_MARK):]).is_dir():
                conf.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _server_bin(root: Path) -> Path:
    """/usr/lib/cups as symbolic links, with the test backend added beside the real ones."""
    server_bin = root / "serverbin"
    (server_bin / "backend").mkdir(parents=True)
    for entry in SYSTEM_SERVER_BIN.iterdir():
        if entry.name != "backend":
            (server_bin / entry.name).symlink_to(entry)
    for backend in (SYSTEM_SERVER_BIN / "backend").iterdir():
        (server_bin / "backend" / backend.name).symlink_to(backend)
    test_backend = server_bin / "backend" / "sscardtest"
    test_backend.write_text(_TEST_BACKEND)
    test_backend.chmod(0o755)  # root's, not writable by others: cupsd refuses anything looser
    return server_bin


def _write_conf(root: Path) -> tuple[Path, Path, Path]:
    spool, logs, conf = root / "spool", root / "log", root / "conf"
    for folder in (spool, spool / "tmp", root / "cache", root / "state", logs, conf):
        folder.mkdir(parents=True, exist_ok=True)
    sock = root / "cups.sock"
    cupsd_conf = conf / "cupsd.conf"
    cupsd_conf.write_text(f"""Listen {sock}
LogLevel warn
WebInterface No
Browsing No
DefaultAuthType None
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
""")
    files_conf = conf / "cups-files.conf"
    files_conf.write_text(f"""ServerRoot {conf}
ServerBin {_server_bin(root)}
RequestRoot {spool}
TempDir {spool / "tmp"}
CacheDir {root / "cache"}
StateDir {root / "state"}
AccessLog {logs / "access_log"}
ErrorLog {logs / "error_log"}
PageLog {logs / "page_log"}
Printcap {root / "printcap"}
SystemGroup root
User lp
Group lp
""")
    return cupsd_conf, files_conf, sock


def _wait_ready(server: CupsServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            log = server.root / "log" / "error_log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise CupsUnavailable(f"cupsd exited ({server.process.returncode}) at start:\n{tail}")
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.connect(str(server.socket))
            return
        if time.monotonic() > deadline:
            raise CupsUnavailable(f"cupsd did not listen on {server.socket} within {timeout:.0f} s")
        time.sleep(0.01)


def start_cupsd(output: Path, *, timeout: float = 10.0) -> CupsServer:
    """Start a private cupsd (see the module's notes); the caller must :meth:`CupsServer.stop` it."""
    cupsd = _require_installed()
    _remove_stale()
    root = Path(tempfile.mkdtemp(prefix=PREFIX))
    root.chmod(0o755)  # filters run as lp and must reach the spool
    try:
        cupsd_conf, files_conf, sock = _write_conf(root)
        # a child of this process that dies with it (setpriv --pdeathsig), never a daemon
        with (root / "log" / "cupsd.out").open("wb") as out:
            process = subprocess.Popen(
                ["setpriv", "--pdeathsig", "TERM", cupsd, "-f", "-c", str(cupsd_conf), "-s", str(files_conf)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    server = CupsServer(root=root, output=output, socket=sock, process=process, _pdf_confs=[])
    try:
        _wait_ready(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def running_cupsd(tmp_path: Path) -> Iterator[CupsServer]:
    """A private cupsd for the ``with`` block; cups-pdf output goes under ``tmp_path / "pdf"``."""
    output = tmp_path / "pdf"
    output.mkdir(parents=True, exist_ok=True)
    server = start_cupsd(output)
    try:
        yield server
    finally:
        server.stop()
