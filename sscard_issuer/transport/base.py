"""The transport base: one place where every caller's APDUs go through the exchange rules.

Subclasses move raw bytes (``_transmit_raw``); this class turns a :class:`CommandApdu` into a
:class:`ResponseApdu`, following ``61xx`` and ``6Cxx`` through :class:`sscard_issuer.apdu.Exchange`
(pure protocol), counting APDUs and writing the trace.
"""

from __future__ import annotations

import abc
import time
from dataclasses import replace
from types import TracebackType

from sscard_issuer.apdu import CommandApdu, Exchange, ResponseApdu
from sscard_issuer.transport.errors import CardRemoved
from sscard_issuer.transport.trace import ApduTrace


class Transport(abc.ABC):
    """A connection to one card."""

    def __init__(self, *, trace: ApduTrace | None = None) -> None:
        self.trace = trace
        self.apdu_count = 0

    @property
    @abc.abstractmethod
    def atr(self) -> bytes:
        """The card's answer to reset, as the reader reported it."""

    @abc.abstractmethod
    def _transmit_raw(self, apdu: bytes) -> bytes:
        """Send one encoded command APDU, return the card's raw answer (data and status word)."""

    def close(self) -> None:
        """Release the connection (idempotent)."""

    def send(self, command: CommandApdu) -> ResponseApdu:
        """Send a command; follow GET RESPONSE / wrong-Le rounds; return the final response."""
        exchange = Exchange(command)
        next_command: CommandApdu | None = exchange.first()
        while next_command is not None:
            if command.sensitive and not next_command.sensitive:
                # GET RESPONSE fetches a sensitive command's answer: the trace must redact it too
                next_command = replace(next_command, sensitive=True)
            response = self._round(next_command)
            next_command = exchange.receive(response)
        return exchange.result

    def send_checked(self, command: CommandApdu) -> ResponseApdu:
        """:meth:`send`, then raise the typed :class:`~sscard_issuer.apdu.CardError` unless 9000."""
        return self.send(command).raise_for_status()

    def _round(self, command: CommandApdu) -> ResponseApdu:
        started = time.perf_counter()
        try:
            raw = self._transmit_raw(command.encode())
        except Exception:
            if self.trace is not None:
                self.trace.record(command, None, time.perf_counter() - started)
            raise
        self.apdu_count += 1
        if len(raw) < 2:
            # pcscd answers an empty, "successful" transmit when a mute card is pulled mid-command
            raise CardRemoved("the card gave no status word (it was removed during the command)")
        response = ResponseApdu.decode(raw)
        if self.trace is not None:
            self.trace.record(command, response, time.perf_counter() - started)
        return response

    def __enter__(self) -> Transport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
