"""Start, find and stop pcscd: for tests, the demo and benchmarks on a machine without systemd.

Tests start pcscd themselves (STACK.md): ``pcscd -f -e`` in the foreground, errors only, never
``-x`` (it would exit after 60 s idle). pcscd's socket path is fixed at build time
(``/run/pcscd/pcscd.comm``), so there is one pcscd per machine; a run reuses one already running.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from smartcard import scard

from sscard_issuer.transport.errors import ServiceUnavailable

RUN_DIR = Path("/run/pcscd")
SOCKET = RUN_DIR / "pcscd.comm"
PID_FILE = RUN_DIR / "pcscd.pid"


def running_pid() -> int | None:
    """The pid of the pcscd serving this machine, or None."""
    try:
        pid = int(PID_FILE.read_bytes().strip(b"\0\n\t "))  # pcscd writes "1234\n\0"
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def answers() -> bool:
    """True when a PC/SC context can be established (pcscd is up and listening)."""
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return False
    scard.SCardReleaseContext(context)
    return True


@dataclass
class Pcscd:
    """A handle on this machine's pcscd; ``owned`` when this process started it."""

    config_dir: Path | None = None
    log_path: Path | None = None
    owned: bool = False
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def ensure(cls, *, config_dir: Path | None = None, log_path: Path | None = None) -> Pcscd:
        """Use the running pcscd, or start one."""
        handle = cls(config_dir=config_dir, log_path=log_path)
        if running_pid() is None or not answers():
            handle.start()
        return handle

    def start(self, timeout: float = 10.0) -> None:
        other = running_pid()
        if other is not None:
            raise ServiceUnavailable(f"a pcscd (pid {other}) is already running; stop it first")
        binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
        if not Path(binary).exists():
            raise ServiceUnavailable("pcscd is not installed (apt-get install pcscd vsmartcard-vpcd)")
        argv = [binary, "-f", "-e"]
        if self.config_dir is not None:
            argv += ["-c", str(self.config_dir)]
        if self.log_path is None:
            self._process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        else:
            with open(self.log_path, "ab") as log:  # pcscd keeps its own descriptor
                self._process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        self.owned = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServiceUnavailable(f"pcscd exited at start with code {self._process.returncode}")
            if running_pid() == self._process.pid and answers():
                return
            time.sleep(0.01)
        raise ServiceUnavailable(f"pcscd did not come up within {timeout:g} s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop pcscd (ours, or the machine's when asked to restart it)."""
        pid = self._process.pid if self._process is not None else running_pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        if self._process is not None:
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        else:
            deadline = time.monotonic() + timeout
            while running_pid() == pid and time.monotonic() < deadline:
                time.sleep(0.01)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop pcscd if this process started it; leave a pcscd found running alone."""
        if self.owned:
            self.stop()
