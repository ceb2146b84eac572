"""Framing of the Evolis command language, both sides, sans I/O: :class:`ReplyDecoder` (the host's
side: bytes from the printer in, replies out) and :class:`CommandDecoder` (the printer's side, for
the simulator: bytes from the host in, commands out, a ``Db`` panel's binary data read by length).
The framing rules are in :mod:`sscard_issuer.outlet.evolis`'s docstring.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sscard_issuer.outlet.evolis import (
    CR,
    ESC,
    MAX_HEADER,
    MAX_REPLY,
    REPLY_TERMINATORS,
    Command,
    Panel,
    ProtocolError,
    Reply,
    panel_data_length,
)


class ReplyDecoder:
    """The host's side: bytes from the printer in, complete replies out, whatever the chunking."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Reply]:
        self._buffer += data
        replies: list[Reply] = []
        while True:
            end = next((i for i, b in enumerate(self._buffer) if b in REPLY_TERMINATORS), -1)
            if end < 0:
                break
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if raw.strip(b" \t"):
                replies.append(Reply.parse(raw))
        if len(self._buffer) > MAX_REPLY:
            raise ProtocolError(f"no reply terminator in {len(self._buffer)} bytes from the printer")
        return replies

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def flush(self) -> Reply | None:
        """The bytes held so far as one bare reply (the link has been quiet), or None."""
        raw, self._buffer = bytes(self._buffer), bytearray()
        return Reply.parse(raw) if raw.strip(b" \t") else None


@dataclass(frozen=True)
class FrameError:
    """Bytes the printer could not read as a command; it answers ``ERROR PARAMETERS``."""

    reason: str


class _State(enum.Enum):
    IDLE = "idle"  # waiting for ESC
    HEADER = "header"  # name and text parameters, up to CR (or a Db's third ';')
    DATA = "data"  # a Db's binary panel, read by length, then CR


class CommandDecoder:
    """The printer's side (for the simulator): bytes from the host in, commands out."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._state = _State.IDLE
        self._header = ""
        self._need = 0
        self._events: list[Command | FrameError] = []

    def feed(self, data: bytes) -> list[Command | FrameError]:
        self._buffer += data
        while self._step():
            pass
        events, self._events = self._events, []
        return events

    def _step(self) -> bool:
        """One transition; False when more bytes are needed."""
        buf = self._buffer
        if self._state is _State.IDLE:
            start = buf.find(bytes([ESC]))
            junk = bytes(buf if start < 0 else buf[:start])
            del buf[: len(buf) if start < 0 else start + 1]
            if junk.strip(REPLY_TERMINATORS + b" \t"):
                self._events.append(FrameError(f"{len(junk)} bytes outside a command"))
            if start < 0:
                return False
            self._state = _State.HEADER
            return True
        if self._state is _State.HEADER:
            return self._header_step()
        if len(buf) < self._need + 1:
            return False
        data, end = bytes(buf[: self._need]), buf[self._need]
        del buf[: self._need + 1]
        self._state = _State.IDLE
        if end != CR:
            self._events.append(FrameError(f"panel data not followed by CR ({self._header})"))
        else:
            name, *params = self._header.split(";")
            self._events.append(Command(name, tuple(params), data))
        return True

    def _header_step(self) -> bool:
        buf = self._buffer
        end = buf.find(bytes([CR]))
        if buf.startswith(b"Db;"):
            semis = [i for i, b in enumerate(buf[: MAX_HEADER + 1]) if b == ord(";")]
            if len(semis) >= 3 and (end < 0 or end > semis[2]):
                self._start_data(bytes(buf[: semis[2]]))
                return True
        if end < 0:
            if len(buf) > MAX_HEADER:
                del buf[:]
                self._state = _State.IDLE
                self._events.append(FrameError(f"no CR in {MAX_HEADER} bytes of command"))
            return False
        raw = bytes(buf[:end])
        del buf[: end + 1]
        self._state = _State.IDLE
        try:
            self._events.append(Command.parse(raw.decode("ascii")))
        except (UnicodeDecodeError, ProtocolError) as exc:
            self._events.append(FrameError(f"bad command {raw[:32]!r}: {exc}"))
        return True

    def _start_data(self, header: bytes) -> None:
        del self._buffer[: len(header) + 1]
        self._header = header.decode("ascii", errors="replace")
        _name, panel, levels = self._header.split(";")
        if panel not in {p.value for p in Panel} or levels not in ("2", "32"):
            self._state = _State.IDLE  # the data cannot be skipped by length: resynchronise on ESC
            self._events.append(FrameError(f"unknown panel download {self._header}"))
            return
        self._need = panel_data_length(int(levels))
        self._state = _State.DATA
