"""APDU traces for people: hex, the status word's meaning, never a PIN or key.

A command built with ``sensitive=True`` (PIN verification, key loading) has its data and its answer
redacted; only lengths are kept, so a trace can be attached to a bug report as it is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sscard_issuer.apdu import CommandApdu, ResponseApdu, describe

REDACTED = "<redacted>"


@dataclass(frozen=True)
class TraceEntry:
    command: CommandApdu
    response: ResponseApdu | None
    seconds: float

    def render(self) -> str:
        cmd = self.command
        header = cmd.header.hex().upper()
        if cmd.data:
            shown = REDACTED if cmd.sensitive else cmd.data.hex().upper()
            out = f">> {header} Lc={len(cmd.data)} {shown}"
        else:
            out = f">> {header}"
        if cmd.le is not None:
            out += f" Le={cmd.le}"
        if self.response is None:
            return out + "\n<< (no answer)"
        resp = self.response
        body = ""
        if resp.data:
            body = (REDACTED if cmd.sensitive else resp.data.hex().upper()) + " "
        ms = self.seconds * 1000
        return f"{out}\n<< {body}{resp.sw:04X} ({describe(resp.sw)}) [{ms:.2f} ms]"


@dataclass
class ApduTrace:
    """Collects the exchanges of a session; optionally echoes each to a sink (a logger, stderr)."""

    sink: Callable[[str], None] | None = None
    entries: list[TraceEntry] = field(default_factory=list)

    def record(self, command: CommandApdu, response: ResponseApdu | None, seconds: float) -> None:
        entry = TraceEntry(command, response, seconds)
        self.entries.append(entry)
        if self.sink is not None:
            self.sink(entry.render())

    def render(self) -> str:
        return "\n".join(e.render() for e in self.entries)

    @classmethod
    def to_logger(cls, logger: logging.Logger, level: int = logging.DEBUG) -> ApduTrace:
        return cls(sink=lambda line: logger.log(level, "%s", line))


def now() -> float:
    return time.perf_counter()
