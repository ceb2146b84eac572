"""Attach a virtual card to a vpcd reader port: the socket edge of the simulator.

The card is a TCP client of vpcd. Connecting inserts it, closing removes it. Two traps from
STACK.md shape this file: vpcd writes the length and the APDU in two sends, so ``TCP_QUICKACK`` is
set before every ``recv`` (else each APDU waits ~48 ms for the delayed ACK); and each answer goes
out in one ``sendall``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from dataclasses import dataclass

from sscard_issuer.sim.runtime import PowerCut
from sscard_issuer.sim.vpcd_protocol import ApduEvent, Control, ControlEvent, VpcdDecoder, frame
from sscard_issuer.transport.inprocess import VirtualCard

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
# Debian's /etc/reader.conf.d/vpcd: one entry, two readers, a port each
DEBIAN_VPCD_READERS = {"Virtual PCD 00 00": 35963, "Virtual PCD 00 01": 35964}
DEFAULT_PORT = 35963
_TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
POWER_CUT_OUTAGE = 1.0  # seconds a power-cut card stays out of the reader


@dataclass(frozen=True)
class Faults:
    """Misbehaviour to inject, for testing how hosts cope.

    mute: the card answers ATR requests but never an APDU.
    delay: seconds to wait before answering each APDU.
    remove_after: the card leaves the reader after answering this many APDUs.
    """

    mute: bool = False
    delay: float = 0.0
    remove_after: int | None = None

    def __post_init__(self) -> None:
        if self.delay < 0:
            raise ValueError("delay must be >= 0 seconds")
        if self.remove_after is not None and self.remove_after < 0:
            raise ValueError("remove_after must be >= 0")


class VpcdLink:
    """Keeps one virtual card in one vpcd reader, in a background thread.

    The card stays inserted across pcscd restarts (the link reconnects) until :meth:`remove` or
    :meth:`close`; :meth:`insert` puts it back.
    """

    def __init__(
        self,
        card: VirtualCard,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        faults: Faults = Faults(),
        retry_interval: float = 0.05,
    ) -> None:
        self.card = card
        self.host = host
        self.port = port
        self.faults = faults
        self.retry_interval = retry_interval
        self.apdu_count = 0
        self._want_inserted = threading.Event()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._back_after = 0.0
        self._thread = threading.Thread(target=self._run, name=f"vpcd-{port}", daemon=True)

    # -- control from the host side of the test -------------------------------------------------

    def start(self) -> VpcdLink:
        self._want_inserted.set()
        self._thread.start()
        return self

    def wait_connected(self, timeout: float = 5.0) -> None:
        if not self._connected.wait(timeout):
            raise TimeoutError(f"no vpcd listening on {self.host}:{self.port} after {timeout} s")

    def insert(self, faults: Faults | None = None) -> None:
        if faults is not None:
            self.faults = faults
        self.apdu_count = 0
        self._want_inserted.set()

    def remove(self) -> None:
        """Take the card out of the reader (close the connection), keep the link for insert()."""
        self._want_inserted.clear()
        self._drop()

    def close(self) -> None:
        self._stop.set()
        self._want_inserted.set()  # wake the thread so it can see _stop
        self._drop()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def __enter__(self) -> VpcdLink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the thread -----------------------------------------------------------------------------

    def _drop(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
            self._connected.clear()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._want_inserted.wait()
            if self._stop.is_set():
                break
            outage = self._back_after - time.monotonic()
            if outage > 0 and self._stop.wait(outage):
                break
            sock = self._connect()
            if sock is None:
                continue
            try:
                self._serve(sock)
            except OSError as exc:
                log.debug("vpcd link %s:%d dropped: %s", self.host, self.port, exc)
            finally:
                self._drop()
                self.card.power_off()

    def _connect(self) -> socket.socket | None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=1.0)
        except OSError:
            time.sleep(self.retry_interval)  # vpcd not up yet (pcscd starting or restarting)
            return None
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            if not self._want_inserted.is_set() or self._stop.is_set():
                sock.close()
                return None
            self._sock = sock
            self._connected.set()
        return sock

    def _serve(self, sock: socket.socket) -> None:
        decoder = VpcdDecoder()
        while True:
            if _TCP_QUICKACK is not None:
                sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
            data = sock.recv(65536)
            if not data:
                return  # vpcd closed: pcscd stopped; the run loop reconnects
            for event in decoder.feed(data):
                if isinstance(event, ControlEvent):
                    self._control(sock, event.control)
                elif isinstance(event, ApduEvent) and not self._apdu(sock, event.apdu):
                    return

    def _control(self, sock: socket.socket, control: Control) -> None:
        if control is Control.ATR:
            sock.sendall(frame(self.card.atr))
        elif control is Control.POWER_ON:
            self.card.power_on()
        elif control is Control.RESET:
            self.card.reset()
        elif control is Control.POWER_OFF:
            self.card.power_off()

    def _apdu(self, sock: socket.socket, apdu: bytes) -> bool:
        """Answer one APDU; False when the card has just left the reader."""
        faults = self.faults
        if faults.mute:
            return True
        if faults.delay:
            time.sleep(faults.delay)
        try:
            answer = self.card.transmit(apdu)
        except PowerCut:
            # the card loses power mid-command: it leaves the reader long enough for pcscd's
            # presence polling (about 0.4 s) to see it gone, then comes back
            self._back_after = time.monotonic() + POWER_CUT_OUTAGE
            return False
        sock.sendall(frame(answer))
        self.apdu_count += 1
        if faults.remove_after is not None and self.apdu_count >= faults.remove_after:
            self._want_inserted.clear()
            return False
        return True
