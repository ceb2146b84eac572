"""The simulated Evolis printer: a TCP server speaking the printer's command language.

The mechanics are :class:`~sscard_issuer.sim.printer_machine.PrinterMachine` (no I/O); this module
is its edge: sockets (or a usblp-like descriptor pair), waiting out the simulated seconds, putting
each card taken to the contact station into an encoder, and keeping what left the printer.

Encoders: :class:`VpcdEncoder` inserts the card into a vpcd reader, so the host personalises it
through pcscd exactly as with a real printer's contact station; :class:`InProcessEncoder` keeps it
in this process and hands out an :class:`InProcessTransport` (the demo, with no pcscd).

``simulated_seconds`` counts the time spent waiting for simulated mechanics, and ``card_seconds``
the time spent inside the cards' ``transmit``: a benchmark subtracts them to see the host's own cost.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sscard_issuer.crypto import Algorithm
from sscard_issuer.errors import SscardError
from sscard_issuer.keys import DevKeyStore
from sscard_issuer.outlet.evolis_framing import CommandDecoder
from sscard_issuer.outlet.panels import Panels, decode_panels
from sscard_issuer.sim.make_card import DEFAULT_BLANK_AREA, make_blank_card
from sscard_issuer.sim.printer_machine import (
    CardEvent,
    CardFactory,
    Fault,
    Outcome,
    PrinterMachine,
    SimCard,
    Timings,
)
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.sim.vpcd import DEBIAN_VPCD_READERS, DEFAULT_HOST, DEFAULT_PORT, VpcdLink
from sscard_issuer.transport.errors import NoCard
from sscard_issuer.transport.inprocess import InProcessTransport, VirtualCard
from sscard_issuer.transport.trace import ApduTrace

log = logging.getLogger(__name__)

TCP_TERMINATOR = b"\r"
USB_TERMINATOR = b"\x00"  # what usblp replies end with


class TimedCard:
    """A card that adds the time spent in ``transmit`` to its printer's ``card_seconds``."""

    def __init__(self, card: SimulatedCard, account: Callable[[float], None]) -> None:
        self.card = card
        self._account = account

    @property
    def atr(self) -> bytes:
        return self.card.atr

    def power_on(self) -> None:
        self.card.power_on()

    def power_off(self) -> None:
        self.card.power_off()

    def reset(self) -> None:
        self.card.reset()

    def transmit(self, apdu: bytes) -> bytes:
        started = time.perf_counter()
        try:
            return self.card.transmit(apdu)
        finally:
            self._account(time.perf_counter() - started)


class Encoder(abc.ABC):
    """The printer's contact station: where the host talks to the chip."""

    @abc.abstractmethod
    def insert(self, card: VirtualCard) -> None:
        """The card arrived at the contact station."""

    @abc.abstractmethod
    def remove(self) -> None:
        """The card left it (idempotent)."""

    def close(self) -> None:
        self.remove()


class InProcessEncoder(Encoder):
    """Keeps the card at the contact station in this process (no pcscd)."""

    def __init__(self) -> None:
        self.card: VirtualCard | None = None

    def insert(self, card: VirtualCard) -> None:
        self.card = card

    def remove(self) -> None:
        if self.card is not None:
            self.card.power_off()
        self.card = None

    def transport(self, trace: ApduTrace | None = None) -> InProcessTransport:
        if self.card is None:
            raise NoCard("no card at the printer's contact station / 打印机接触位没有卡")
        return InProcessTransport(self.card, trace=trace)


class VpcdEncoder(Encoder):
    """Puts the card into a vpcd reader, seen by the host through pcscd.

    ``reader``: the PC/SC name of that reader; when known (by default from Debian's vpcd ports), a
    move answers only once pcscd sees the card arrive or leave, as with a real contact station.
    """

    def __init__(
        self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, reader: str | None = None,
        settle: bool = True, timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        by_port = {p: name for name, p in DEBIAN_VPCD_READERS.items()}
        self.reader = (reader or by_port.get(port)) if settle else None
        self._link: VpcdLink | None = None

    def insert(self, card: VirtualCard) -> None:
        self.remove()
        link = VpcdLink(card, host=self.host, port=self.port).start()
        self._link = link
        link.wait_connected(timeout=self.timeout)
        self._settle(present=True)

    def remove(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.close()
            self._settle(present=False)

    def _settle(self, *, present: bool) -> None:
        if self.reader is not None:
            from sscard_issuer.transport.pcsc import wait_for_reader_state  # pyscard only when used

            wait_for_reader_state(self.reader, present=present, timeout=self.timeout)


def blank_card_factory(
    *, algorithm: Algorithm = Algorithm.SM4, area_code: str = DEFAULT_BLANK_AREA, keys: DevKeyStore | None = None
) -> CardFactory:
    """Fresh blank cards with random serials, keyed from the development key set."""
    key_store = keys or DevKeyStore.default()

    def new_card() -> tuple[str, SimulatedCard]:
        serial = os.urandom(8)
        image = make_blank_card(algorithm=algorithm, area_code=area_code, keys=key_store, serial=serial)
        return serial.hex().upper(), SimulatedCard(image)

    return new_card


class PrinterSimulator:
    """The simulated printer, served over TCP on ``host:port`` (port 0: any free port) in a thread.

    One client at a time; a client that goes away is replaced by the next to connect.
    """

    def __init__(
        self,
        *,
        blanks: int = 100,
        ribbon: int | None = 250,
        reject_capacity: int = 50,
        timings: Timings | None = None,
        encoder: Encoder | None = None,
        out: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        card_factory: CardFactory | None = None,
    ) -> None:
        self.machine = PrinterMachine(
            card_factory or blank_card_factory(), blanks=blanks, ribbon=ribbon, reject_capacity=reject_capacity,
            timings=timings or Timings(),
        )
        self.encoder = encoder or InProcessEncoder()
        self.out = Path(out) if out is not None else None
        self.host = host
        self.port = port
        self.simulated_seconds = 0.0
        self.card_seconds = 0.0
        self.ejected: list[SimCard] = []
        self.rejected: list[SimCard] = []
        self.commands = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._server: socket.socket | None = None
        self._clients: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []

    # -- operator actions and faults (thread-safe) --------------------------------------------------

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.machine.inject(fault)

    def clear(self, fault: Fault) -> None:
        with self._lock:
            self.machine.clear(fault)

    def operate(self, action: Callable[[PrinterMachine], Any]) -> Any:
        """Run ``action`` on the machine under the lock (load_blanks, replace_ribbon...)."""
        with self._lock:
            return action(self.machine)

    # -- serving --------------------------------------------------------------------------------

    def start(self) -> PrinterSimulator:
        server = socket.create_server((self.host, self.port))
        self._server = server
        self.port = server.getsockname()[1]
        self._spawn(self._accept_loop, f"printer-sim-{self.port}")
        return self

    def serve_fds(self, read_fd: int, write_fd: int) -> threading.Thread:
        """Serve the printer's side of a usblp-like descriptor pair (a pty or pipes): NUL-ended replies."""

        def recv() -> bytes:
            while not self._stop.is_set():
                if select.select([read_fd], [], [], 0.1)[0]:
                    try:
                        return os.read(read_fd, 65536)
                    except OSError:
                        return b""
            return b""

        def send(data: bytes) -> None:
            view = memoryview(data)
            while view:
                select.select([], [write_fd], [], 1.0)
                with contextlib.suppress(BlockingIOError):
                    view = view[os.write(write_fd, view) :]

        return self._spawn(lambda: self._converse(recv, send, USB_TERMINATOR), "printer-sim-usb")

    def close(self) -> None:
        self._stop.set()
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            server.close()
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)
        try:
            self.encoder.close()
        except SscardError as exc:  # pcscd gone: the card is out of the reader anyway
            log.warning("printer simulator: closing the encoder: %s", exc)

    def __enter__(self) -> PrinterSimulator:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _spawn(self, target: Callable[[], None], name: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def _accept_loop(self) -> None:
        server = self._server
        while server is not None and not self._stop.is_set():
            try:
                client, _ = server.accept()
            except OSError:
                return  # closed
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._clients.add(client)
            try:
                self._converse(functools.partial(client.recv, 65536), client.sendall, TCP_TERMINATOR)
            except OSError as exc:
                log.debug("printer simulator client dropped: %s", exc)
            finally:
                with self._lock:
                    self._clients.discard(client)
                client.close()

    def _converse(self, recv: Callable[[], bytes], send: Callable[[bytes], Any], terminator: bytes) -> None:
        decoder = CommandDecoder()
        while not self._stop.is_set():
            data = recv()
            if not data:
                return
            for command in decoder.feed(data):
                with self._lock:
                    self.commands += 1
                    outcome = self.machine.handle(command)
                reply = self._act(outcome)
                if reply is not None:
                    send(reply.encode("ascii") + terminator)

    def _act(self, outcome: Outcome) -> str | None:
        """Wait out the simulated mechanics, then move cards where the outcome says."""
        seconds = outcome.seconds * self.machine.timings.scale
        if seconds > 0:
            self.simulated_seconds += seconds
            self._stop.wait(seconds)
        reply = outcome.reply
        for event, card in outcome.events:
            try:
                self._card_event(event, card)
            except Exception as exc:  # noqa: BLE001 - the station's failure is the host's to hear
                log.error("printer simulator: %s of card %d failed: %s", event.value, card.number, exc)
                reply = "ERR CONTACT STATION"
        return reply

    def _card_event(self, event: CardEvent, card: SimCard) -> None:
        if event is CardEvent.TO_ENCODER:
            self.encoder.insert(TimedCard(card.card, self._account_card_time))
        elif event is CardEvent.FROM_ENCODER:
            self.encoder.remove()
        elif event is CardEvent.PRINTED and self.out is not None and card.face is not None:
            target = self.out / "prints" / f"{card.number}-front.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            decode_panels(Panels.from_panels(card.face)).save(target)
        elif event in (CardEvent.EJECTED, CardEvent.REJECTED):
            rejected = event is CardEvent.REJECTED
            with self._lock:
                (self.rejected if rejected else self.ejected).append(card)
            if self.out is not None:
                suffix = "-rejected" if rejected else ""
                card.card.image.save(self.out / "cards" / f"{card.number}-{card.serial}{suffix}.json")

    def _account_card_time(self, seconds: float) -> None:
        with self._lock:
            self.card_seconds += seconds
