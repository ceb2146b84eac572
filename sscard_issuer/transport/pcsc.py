"""PC/SC through pyscard: the real reader edge.

Uses pyscard's thin ``smartcard.scard`` layer rather than its object layer, because a session here
needs what that layer hides: waiting for a card with a time limit, mapping each PC/SC return code
to a plain error, and a transmit that cannot hang the caller (a mute card blocks ``SCardTransmit``
and even ``SCardDisconnect`` until the card leaves the reader; see STACK.md).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from smartcard import scard

from sscard_issuer.transport.base import Transport
from sscard_issuer.transport.errors import (
    CardMute,
    CardRemoved,
    NoCard,
    NoReaders,
    ReaderNotFound,
    ServiceUnavailable,
    TransportClosed,
    TransportError,
)
from sscard_issuer.transport.trace import ApduTrace

_SERVICE_GONE = {scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED, scard.SCARD_E_INVALID_HANDLE}
_CARD_GONE = {
    scard.SCARD_W_REMOVED_CARD,
    scard.SCARD_E_NO_SMARTCARD,
    scard.SCARD_W_RESET_CARD,
    scard.SCARD_E_NOT_TRANSACTED,
    scard.SCARD_W_UNPOWERED_CARD,
    scard.SCARD_W_UNRESPONSIVE_CARD,
    scard.SCARD_E_READER_UNAVAILABLE,
}
_NO_READERS = getattr(scard, "SCARD_E_NO_READERS_AVAILABLE", 0x8010002E)


def _u32(hresult: int) -> int:
    return hresult & 0xFFFFFFFF


def _error(hresult: int, action: str) -> TransportError:
    code = _u32(hresult)
    text = f"{action}: {scard.SCardGetErrorMessage(hresult)} (0x{code:08X})"
    if code in {_u32(c) for c in _SERVICE_GONE}:
        return ServiceUnavailable(f"{text}; is pcscd running?")
    if code in {_u32(c) for c in _CARD_GONE}:
        return CardRemoved(text)
    if code == _u32(_NO_READERS):
        return NoReaders(text)
    return TransportError(text)


def list_readers() -> list[str]:
    """The readers pcscd knows now (an empty list when it has none)."""
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise _error(hresult, "connecting to pcscd")
    try:
        return _readers(context)
    finally:
        scard.SCardReleaseContext(context)


def _readers(context: int) -> list[str]:
    hresult, readers = scard.SCardListReaders(context, [])
    if _u32(hresult) == _u32(_NO_READERS):
        return []
    if hresult != scard.SCARD_S_SUCCESS:
        raise _error(hresult, "listing readers")
    return list(readers)


def wait_for_reader_state(reader: str, *, present: bool, timeout: float = 5.0) -> None:
    """Wait until pcscd sees a card in ``reader`` (or sees it empty).

    pcscd polls vpcd readers about twice a second, so a card swapped faster than that looks like
    the same card; whoever inserts and removes cards (tests, the demo) waits here in between.
    """
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise _error(hresult, "connecting to pcscd")
    try:
        states = [(reader, scard.SCARD_STATE_UNAWARE)]
        deadline = time.monotonic() + timeout
        while True:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            hresult, states = scard.SCardGetStatusChange(context, remaining_ms, states)
            if hresult == scard.SCARD_S_SUCCESS:
                state = states[0][1]
                if state & scard.SCARD_STATE_UNKNOWN:
                    raise ReaderNotFound(reader, _readers(context))
                if bool(state & scard.SCARD_STATE_PRESENT) == present:
                    return
                states = [(reader, state & ~scard.SCARD_STATE_CHANGED)]
            elif _u32(hresult) != _u32(scard.SCARD_E_TIMEOUT):
                raise _error(hresult, f"watching {reader!r}")
            if time.monotonic() >= deadline:
                wanted = "a card" if present else "no card"
                raise NoCard(f"{reader!r} did not show {wanted} within {timeout:g} s")
    finally:
        scard.SCardReleaseContext(context)


class _Watchdog:
    """A daemon thread that runs each transmit, so the caller can stop waiting for a mute card.

    Daemon on purpose: a transmit stuck in pcscd must not keep the process alive at exit
    (a ThreadPoolExecutor's worker would, since the interpreter joins those).
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], bytes], threading.Event, list[Any]] | None]
        self._jobs = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="pcsc-transmit", daemon=True).start()

    def call(self, job: Callable[[], bytes], timeout: float) -> bytes:
        done = threading.Event()
        box: list[Any] = []  # [result] or [None, exception]
        self._jobs.put((job, done, box))
        if not done.wait(timeout):
            raise TimeoutError
        if len(box) == 2:
            raise box[1]
        return box[0]  # type: ignore[no-any-return]

    def stop(self) -> None:
        self._jobs.put(None)

    def _loop(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, done, box = item
            try:
                box.append(job())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                box.extend((None, exc))
            done.set()


class PcscTransport(Transport):
    """A session with the card in one PC/SC reader.

    reader: exact reader name; None takes the first reader holding a card (waiting for one).
    card_timeout: seconds to wait for a card when connecting.
    transmit_timeout: seconds one APDU may take; None trusts the card and skips the watchdog thread.
    """

    def __init__(
        self,
        reader: str | None = None,
        *,
        card_timeout: float = 5.0,
        transmit_timeout: float | None = 10.0,
        trace: ApduTrace | None = None,
    ) -> None:
        super().__init__(trace=trace)
        self.requested_reader = reader
        self.card_timeout = card_timeout
        self.transmit_timeout = transmit_timeout
        self.reader: str | None = None
        self._context: int | None = None
        self._card: int | None = None
        self._protocol = 0
        self._atr = b""
        self._worker: _Watchdog | None = None
        self._broken: str | None = None
        self._connect()

    # -- session ------------------------------------------------------------------------------

    @property
    def atr(self) -> bytes:
        self._usable()
        return self._atr

    def reconnect(self) -> None:
        """Start a fresh session: after the card was removed and put back, or pcscd restarted."""
        self._release(stuck=self._broken is not None)
        self._broken = None
        self._connect()

    def close(self) -> None:
        self._release(stuck=self._broken is not None)
        self._broken = "the transport is closed"

    def _connect(self) -> None:
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise _error(hresult, "connecting to pcscd")
        self._context = context
        try:
            self.reader = self._wait_for_card(context)
            hresult, card, protocol = scard.SCardConnect(
                context,
                self.reader,
                scard.SCARD_SHARE_SHARED,
                scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
            )
            if hresult != scard.SCARD_S_SUCCESS:
                raise _error(hresult, f"connecting to the card in {self.reader!r}")
            self._card, self._protocol = card, protocol
            hresult, _name, _state, _proto, atr = scard.SCardStatus(card)
            if hresult != scard.SCARD_S_SUCCESS:
                raise _error(hresult, "reading the card's ATR")
            self._atr = bytes(atr)
        except BaseException:
            self._release(stuck=False)
            raise
        if self.transmit_timeout is not None:
            self._worker = _Watchdog()

    def _wait_for_card(self, context: int) -> str:
        readers = _readers(context)
        if not readers:
            raise NoReaders("pcscd has no reader: plug one in, or attach the simulator (sscard sim card)")
        if self.requested_reader is not None:
            if self.requested_reader not in readers:
                raise ReaderNotFound(self.requested_reader, readers)
            readers = [self.requested_reader]
        states = [(name, scard.SCARD_STATE_UNAWARE) for name in readers]
        deadline = time.monotonic() + self.card_timeout
        while True:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            hresult, states = scard.SCardGetStatusChange(context, remaining_ms, states)
            if _u32(hresult) == _u32(scard.SCARD_E_TIMEOUT):
                raise NoCard(
                    f"no card in {' or '.join(repr(r) for r in readers)} after {self.card_timeout:g} s"
                )
            if hresult != scard.SCARD_S_SUCCESS:
                raise _error(hresult, "waiting for a card")
            for name, event_state, _atr in states:
                if event_state & scard.SCARD_STATE_PRESENT and not event_state & scard.SCARD_STATE_MUTE:
                    return str(name)
            # feed back what we saw, so the next call waits for a change
            states = [(name, event_state & ~scard.SCARD_STATE_CHANGED) for name, event_state, _ in states]
            if time.monotonic() >= deadline:
                raise NoCard(f"no card in {' or '.join(repr(r) for r in readers)} after {self.card_timeout:g} s")

    def _release(self, *, stuck: bool) -> None:
        # A handle stuck in SCardTransmit would hang Disconnect/Release too: abandon it instead.
        if not stuck:
            if self._card is not None:
                scard.SCardDisconnect(self._card, scard.SCARD_LEAVE_CARD)
            if self._context is not None:
                scard.SCardReleaseContext(self._context)
        if self._worker is not None:
            self._worker.stop()
        self._card = self._context = self._worker = None

    def _usable(self) -> int:
        if self._broken is not None or self._card is None:
            raise TransportClosed(self._broken or "not connected")
        return self._card

    # -- APDUs --------------------------------------------------------------------------------

    def _transmit_raw(self, apdu: bytes) -> bytes:
        card = self._usable()
        if self._worker is None:
            return self._transmit_now(card, apdu)
        try:
            return self._worker.call(lambda: self._transmit_now(card, apdu), self.transmit_timeout or 0)
        except TimeoutError:
            self._broken = (
                f"the card in {self.reader!r} did not answer within {self.transmit_timeout:g} s;"
                " remove it and reconnect"
            )
            raise CardMute(self._broken) from None

    def _transmit_now(self, card: int, apdu: bytes) -> bytes:
        hresult, response = scard.SCardTransmit(card, self._protocol, list(apdu))
        if hresult != scard.SCARD_S_SUCCESS:
            raise _error(hresult, "sending an APDU")
        return bytes(response)
