"""The Evolis card printer command language, sans I/O: commands to bytes, bytes to replies.

From the Evolis programming guide (A5013) as summarised in spec/outlet.md section 2: a command is
``ESC`` + name + ``;``-separated parameters + ``CR``; a reply is short ASCII (``OK``, a value such
as ``5,00 Volts``, or an error beginning ``ERR`` / ``ERROR CDE`` / ``ERROR PARAMETERS``).

Reply framing, decided here: over Linux usblp a reply ends with a NUL byte (the guide says so);
over TCP the guide says nothing and integrator code reads replies bare. :class:`~.evolis_framing.ReplyDecoder`
therefore ends a reply at any of CR, LF or NUL (runs of them count once) and, for a printer that
sends no terminator at all, hands over what it holds when the link has been quiet for a moment
(:meth:`~.evolis_framing.ReplyDecoder.flush`). The simulator ends TCP replies with CR and usblp replies with NUL.

Panel download, decided here: ``Db;<panel>;<levels>;<data>`` carries a colour panel (``32``) at
one byte per dot and a K or O panel (``2``) at one bit per dot, 81 bytes a line, 1016 lines. The
binary data may hold any byte, so :class:`~.evolis_framing.CommandDecoder` (the printer's side, for the simulator)
reads it by length rather than up to ``CR``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sscard_issuer.outlet.printer import CardPosition, Condition, PrinterError, PrinterStatus

ESC = 0x1B
CR = 0x0D
NUL = 0x00
REPLY_TERMINATORS = b"\r\n\x00"

PANEL_WIDTH = 648  # dots a line: the card's short side (the host image is turned a quarter turn)
PANEL_HEIGHT = 1016  # lines: the card's long side
MONO_LINE_BYTES = PANEL_WIDTH // 8  # 81
MAX_HEADER = 256  # bytes of command name and text parameters
MAX_REPLY = 4096

RIBBON_LOW = 20  # prints left at which integrators warn the operator
VOLTS_PRESENT = 2.5  # a sensor reading above this sees its card / its closed cover


class ProtocolError(PrinterError):
    """Bytes that are not the Evolis command language (garbled frame, unreadable value)."""


class CommandRefused(PrinterError):
    """The printer answered a command with an error."""

    def __init__(self, command: Command, reply: Reply) -> None:
        self.command = command
        self.reply = reply
        super().__init__(f"printer refused {command.text}: {reply.text}")


class UnknownCommand(CommandRefused):
    """``ERROR CDE``: this printer or firmware does not know the command."""


class BadParameters(CommandRefused):
    """``ERROR PARAMETERS``: the command is known but its parameters are not allowed."""


class PrinterReportedError(CommandRefused):
    """``ERR ...``: the printer could not do it (no card in the feeder, cover open, jam...)."""

    @property
    def conditions(self) -> frozenset[Condition]:
        return conditions_in_error(self.reply.text)


class Panel(enum.Enum):
    """The panels of a YMCKO ribbon, in the order they are printed."""

    YELLOW = "y"
    MAGENTA = "m"
    CYAN = "c"
    BLACK = "k"
    OVERLAY = "o"

    @property
    def levels(self) -> int:
        return 2 if self in (Panel.BLACK, Panel.OVERLAY) else 32

    @property
    def data_length(self) -> int:
        return panel_data_length(self.levels)


def panel_data_length(levels: int) -> int:
    """Bytes of a downloaded panel: one bit per dot at 2 levels, one byte per dot otherwise."""
    if levels == 2:
        return MONO_LINE_BYTES * PANEL_HEIGHT
    return PANEL_WIDTH * PANEL_HEIGHT


_NAME = re.compile(r"[A-Za-z]{1,8}")
_PARAM = re.compile(r"[\x20-\x3A\x3C-\x7E]*")  # printable ASCII without ';'


@dataclass(frozen=True)
class Command:
    """One command; ``data`` is the binary last parameter of a panel download."""

    name: str
    params: tuple[str, ...] = ()
    data: bytes | None = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ProtocolError(f"command name {self.name!r}: expected 1-8 ASCII letters")
        for param in self.params:
            if not _PARAM.fullmatch(param):
                raise ProtocolError(f"{self.name} parameter {param!r}: expected printable ASCII without ';'")
        if self.data is not None and self.name != "Db":
            raise ProtocolError(f"{self.name} takes no binary data (only Db does)")

    @classmethod
    def parse(cls, text: str) -> Command:
        """``"Rlr;p"`` -> Command("Rlr", ("p",)); text commands only."""
        name, *params = text.split(";")
        return cls(name, tuple(params))

    @property
    def text(self) -> str:
        """The command as people write it; binary data shown by its size."""
        parts = [self.name, *self.params]
        if self.data is not None:
            parts.append(f"<{len(self.data)} bytes>")
        return ";".join(parts)

    def encode(self) -> bytes:
        body = ";".join([self.name, *self.params]).encode("ascii")
        if self.data is not None:
            body += b";" + self.data
        return bytes([ESC]) + body + bytes([CR])


# -- the commands this toolkit sends --------------------------------------------------------------

HOST_HANDLES_ERRORS = Command("Pem", ("2",))
RIBBON_YMCKO = Command("Pr", ("ymcko",))
FEED_FROM_FEEDER = Command("Pmi", ("F",))
NO_EJECT_AFTER_PRINT = Command("Pneab", ("E",))  # newer firmware
REJECTS_TO_BOX = Command("Pcrm", ("D",))  # newer firmware
SETTINGS = (HOST_HANDLES_ERRORS, RIBBON_YMCKO, FEED_FROM_FEEDER, NO_EJECT_AFTER_PRINT, REJECTS_TO_BOX)
NEWER_FIRMWARE_SETTINGS = frozenset({NO_EJECT_AFTER_PRINT, REJECTS_TO_BOX})

TO_PRINT = Command("Si")
TO_CONTACT = Command("Sis")
TO_CONTACTLESS = Command("Sic")
EJECT = Command("Se")
REJECT = Command("Ser")

START_SEQUENCE = Command("Ss")
FRONT = Command("Sr")  # the panels that follow are for the front (recto)
BACK = Command("Sv")  # turn to the back (verso): the front is printed; its reply comes when done


def download(panel: Panel, data: bytes) -> Command:
    if len(data) != panel.data_length:
        raise ProtocolError(f"panel {panel.value}: expected {panel.data_length} bytes, got {len(data)}")
    return Command("Db", (panel.value, str(panel.levels)), data)


def front_print_job(panels: Mapping[Panel, bytes]) -> tuple[Command, ...]:
    """Print the front from all five YMCKO panels; the card stays at the print head (``Pneab;E``)."""
    missing = [p.value for p in Panel if p not in panels]
    if missing:
        raise ProtocolError(f"a YMCKO print needs every panel; missing {', '.join(missing)}")
    return (START_SEQUENCE, FRONT, *(download(p, panels[p]) for p in Panel), BACK)


class Reading(enum.Enum):
    """The status reads, named by what they tell."""

    POSITION = "Rlr;p"
    FEEDER = "Rse;f"
    COVER = "Rse;o"
    REJECT_BOX = "Rlr;h"
    RIBBON = "Rrt;count"
    FIRMWARE = "Rfv"
    SERIAL = "Rsn"
    MODEL = "Rtp"

    @property
    def command(self) -> Command:
        return Command.parse(self.value)


STATUS_READS = (Reading.POSITION, Reading.FEEDER, Reading.COVER, Reading.REJECT_BOX, Reading.RIBBON)
IDENTITY_READS = (Reading.FIRMWARE, Reading.SERIAL, Reading.MODEL)


# -- replies --------------------------------------------------------------------------------------

_VOLTS = re.compile(r"(-?\d+)(?:[.,](\d+))?\s*(?:V|Volts?)", re.IGNORECASE)


@dataclass(frozen=True)
class Reply:
    """One reply, its terminator stripped."""

    text: str

    @classmethod
    def parse(cls, raw: bytes) -> Reply:
        return cls(raw.strip(REPLY_TERMINATORS + b" \t").decode("ascii", errors="replace"))

    @property
    def ok(self) -> bool:
        return self.text == "OK"

    @property
    def error(self) -> bool:
        return self.text.startswith("ERR")

    def volts(self) -> float:
        """``"5,00 Volts"`` -> 5.0 (the printer writes a decimal comma)."""
        match = _VOLTS.fullmatch(self.text)
        if match is None:
            raise ProtocolError(f"expected a voltage such as '5,00 Volts', got {self.text!r}")
        whole, fraction = match.group(1), match.group(2) or "0"
        return float(f"{whole}.{fraction}")

    def count(self) -> int:
        if not self.text.isdigit():
            raise ProtocolError(f"expected a count, got {self.text!r}")
        return int(self.text)

    def checked(self, command: Command) -> Reply:
        """This reply, or the typed error if it is one."""
        if not self.error:
            return self
        if self.text.startswith("ERROR CDE"):
            raise UnknownCommand(command, self)
        if self.text.startswith("ERROR PARAMETERS"):
            raise BadParameters(command, self)
        raise PrinterReportedError(command, self)


_ERROR_WORDS: tuple[tuple[tuple[str, ...], Condition], ...] = (
    (("FEEDER",), Condition.FEEDER_EMPTY),
    (("COVER",), Condition.COVER_OPEN),
    (("RIB",), Condition.RIBBON_ENDED),
    (("JAM", "BLOCKED", "MECHANICAL"), Condition.JAMMED),
    (("REJECT", "HOPPER"), Condition.REJECT_BOX_FULL),
)


def conditions_in_error(text: str) -> frozenset[Condition]:
    """The conditions an ``ERR ...`` reply names (``ERR RIB DETECTION`` -> ribbon ended)."""
    if not text.startswith("ERR") or text.startswith(("ERROR CDE", "ERROR PARAMETERS")):
        return frozenset()
    words = text.upper()
    return frozenset(cond for keys, cond in _ERROR_WORDS if any(k in words for k in keys))


_POSITIONS = {
    "OK": CardPosition.NONE,
    "CARD": CardPosition.PRINT,
    "SMART CARD": CardPosition.CONTACT,
    "CONTACTLESS CARD": CardPosition.CONTACTLESS,
}
POSITION_REPLIES = {position: text for text, position in _POSITIONS.items()}


def status_from_readings(readings: Mapping[Reading, Reply], *, ribbon_low: int = RIBBON_LOW) -> PrinterStatus:
    """A :class:`PrinterStatus` from the replies to the status reads (missing reads are skipped).

    A read this firmware does not know (``ERROR CDE``) tells nothing; any other ``ERR`` reply adds
    the conditions it names (a jam shows as an error in place of the card position).
    """
    conditions: set[Condition] = set()
    card = CardPosition.NONE
    ribbon_left: int | None = None
    for reading, reply in readings.items():
        if reply.error:
            conditions |= conditions_in_error(reply.text)  # ERR RIB DETECTION: no ribbon
            continue
        if reading is Reading.POSITION:
            try:
                card = _POSITIONS[reply.text]
            except KeyError:
                raise ProtocolError(f"unknown card position reply {reply.text!r}") from None
        elif reading is Reading.FEEDER and reply.volts() < VOLTS_PRESENT:
            conditions.add(Condition.FEEDER_EMPTY)
        elif reading is Reading.COVER and reply.volts() < VOLTS_PRESENT:
            conditions.add(Condition.COVER_OPEN)
        elif reading is Reading.REJECT_BOX:
            if "FULL" in reply.text.upper():
                conditions.add(Condition.REJECT_BOX_FULL)
            elif reply.text not in ("OK", "EMPTY"):
                raise ProtocolError(f"unknown reject box reply {reply.text!r}")
        elif reading is Reading.RIBBON:
            ribbon_left = reply.count()
            if ribbon_left == 0:
                conditions.add(Condition.RIBBON_ENDED)
            elif ribbon_left <= ribbon_low:
                conditions.add(Condition.RIBBON_LOW)
    ok_text = {r: readings[r].text for r in IDENTITY_READS if r in readings and not readings[r].error}
    return PrinterStatus(
        conditions=frozenset(conditions),
        card=card,
        ribbon_left=ribbon_left,
        model=ok_text.get(Reading.MODEL, ""),
        serial=ok_text.get(Reading.SERIAL, ""),
        firmware=ok_text.get(Reading.FIRMWARE, ""),
        details=tuple(f"{r.value}={reply.text}" for r, reply in readings.items()),
    )
