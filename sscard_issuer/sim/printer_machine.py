"""The simulated Evolis printer's mechanics, sans I/O: a command in, a reply and effects out.

:class:`PrinterMachine` holds what a desktop card printer holds (a feeder of blank cards, a ribbon,
a reject box, a cover, at most one card and where it is) and answers each command of
:mod:`sscard_issuer.outlet.evolis` as the real printer does, in the host-handles-errors mode
(``Pem;2``): a move that cannot be done answers ``ERR ...`` and leaves the card where it was.
It does no I/O and keeps no clock: :class:`Outcome` says how many simulated seconds the command
takes and what happened to cards (:class:`CardEvent`); the server in :mod:`sscard_issuer.sim.printer`
waits, moves the card in or out of the encoder's reader, saves prints and answers.

Replies this simulator chooses where the guide is silent: a jam answers ``Rlr;p`` with
``ERR CARD JAM``; ``Rlr;h`` answers ``OK`` or ``FULL``; a move with no card answers ``ERR NO CARD``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from sscard_issuer.outlet.evolis import POSITION_REPLIES, Command, Panel
from sscard_issuer.outlet.evolis_framing import FrameError
from sscard_issuer.outlet.printer import CardPosition
from sscard_issuer.sim.runtime import SimulatedCard

FIRMWARE = "SIM-1.0"
MODEL = "Evolis Primacy (simulated)"
VOLTS_ON, VOLTS_OFF = "5,00 Volts", "0,00 Volts"


class Fault(enum.Enum):
    """Trouble a tester can inject and clear while the simulator runs."""

    FEEDER_EMPTY = "feeder_empty"  # the feeder reads empty whatever it holds
    RIBBON_ENDED = "ribbon_ended"  # the ribbon reads 0 prints left
    COVER_OPEN = "cover_open"
    JAM = "jam"  # the card (if any) is stuck; every move and print fails
    REJECT_BOX_FULL = "reject_box_full"
    MUTE = "mute"  # commands are neither done nor answered


@dataclass(frozen=True)
class Timings:
    """Seconds the mechanics take; ``scale`` multiplies them (0 for tests, 0.1 for a quick demo)."""

    move_seconds: float = 1.0
    print_seconds: float = 20.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        if min(self.move_seconds, self.print_seconds, self.scale) < 0:
            raise ValueError("timings must be >= 0 seconds")


@dataclass
class SimCard:
    """A card that went through the simulated printer."""

    number: int  # 1 for the first card taken from the feeder
    serial: str  # the chip serial, hex
    card: SimulatedCard = field(repr=False)
    face: dict[Panel, bytes] | None = field(default=None, repr=False)  # the panels printed on the front


class CardEvent(enum.Enum):
    TO_ENCODER = "to_encoder"  # the card arrived at the contact station
    FROM_ENCODER = "from_encoder"  # it left the contact station
    PRINTED = "printed"
    EJECTED = "ejected"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Outcome:
    """What a command did: its reply (None: no answer), simulated seconds, card events in order."""

    reply: str | None
    seconds: float = 0.0
    events: tuple[tuple[CardEvent, SimCard], ...] = ()


CardFactory = Callable[[], tuple[str, SimulatedCard]]  # a fresh blank card: (serial hex, card)

_SETTINGS = {  # the parameter values this simulator accepts, per setting
    "Pem": {"0", "1", "2"},
    "Pr": {"ymcko", "ymckos", "ymckok", "k", "ko"},
    "Pmi": {"F", "M", "B"},
    "Pneab": {"E", "A"},
    "Pcrm": {"D", "F", "B"},
}
_MOVES = {"Si": CardPosition.PRINT, "Sis": CardPosition.CONTACT, "Sic": CardPosition.CONTACTLESS}


class Refused(Exception):
    """Internal: the command cannot be done; ``reply`` is the printer's answer."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


@dataclass
class PrinterMachine:
    new_card: CardFactory
    blanks: int = 100
    ribbon: int | None = 250  # prints left; None: no ribbon fitted
    reject_capacity: int = 50
    timings: Timings = field(default_factory=Timings)
    serial: str = "SIM0000001"
    reject_count: int = 0
    faults: set[Fault] = field(default_factory=set)
    card: SimCard | None = None
    position: CardPosition = CardPosition.NONE
    settings: dict[str, str] = field(default_factory=dict)
    fed: int = 0  # cards taken from the feeder so far
    _job: dict[Panel, bytes] | None = field(default=None, init=False, repr=False)  # panels of a sequence

    # -- what an operator (or a test) does -------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        self.faults.add(fault)

    def clear(self, fault: Fault) -> None:
        self.faults.discard(fault)

    def load_blanks(self, count: int) -> None:
        self.blanks += count

    def replace_ribbon(self, prints: int) -> None:
        self.ribbon = prints
        self.faults.discard(Fault.RIBBON_ENDED)

    def empty_reject_box(self) -> None:
        self.reject_count = 0
        self.faults.discard(Fault.REJECT_BOX_FULL)

    @property
    def feeder_empty(self) -> bool:
        return self.blanks == 0 or Fault.FEEDER_EMPTY in self.faults

    @property
    def reject_box_full(self) -> bool:
        return self.reject_count >= self.reject_capacity or Fault.REJECT_BOX_FULL in self.faults

    # -- the protocol ------------------------------------------------------------------------------

    def handle(self, command: Command | FrameError) -> Outcome:
        if Fault.MUTE in self.faults:
            return Outcome(None)
        if isinstance(command, FrameError):
            return Outcome("ERROR PARAMETERS")
        handler = self._HANDLERS.get(command.name)
        if handler is None:
            return Outcome("ERROR CDE")
        try:
            return handler(self, command)
        except Refused as refused:
            return Outcome(refused.reply)

    def _setting(self, command: Command) -> Outcome:
        if len(command.params) != 1 or command.params[0] not in _SETTINGS[command.name]:
            return Outcome("ERROR PARAMETERS")
        self.settings[command.name] = command.params[0]
        return Outcome("OK")

    def _read(self, command: Command) -> Outcome:
        key = ";".join([command.name, *command.params])
        readers: dict[str, Callable[[], str]] = {
            "Rlr;p": lambda: "ERR CARD JAM" if Fault.JAM in self.faults else POSITION_REPLIES[self.position],
            "Rse;f": lambda: VOLTS_OFF if self.feeder_empty else VOLTS_ON,
            "Rse;o": lambda: VOLTS_OFF if Fault.COVER_OPEN in self.faults else VOLTS_ON,
            "Rlr;h": lambda: "FULL" if self.reject_box_full else "OK",
            "Rrt;count": self._ribbon_reading,
            "Rfv": lambda: FIRMWARE,
            "Rsn": lambda: self.serial,
            "Rtp": lambda: MODEL,
        }
        reader = readers.get(key)
        return Outcome(reader() if reader is not None else "ERROR PARAMETERS")

    def _ribbon_reading(self) -> str:
        if self.ribbon is None:
            return "ERR RIB DETECTION"
        return "0" if Fault.RIBBON_ENDED in self.faults else str(self.ribbon)

    def _check_mechanics(self) -> None:
        if Fault.COVER_OPEN in self.faults:
            raise Refused("ERR COVER OPEN")
        if Fault.JAM in self.faults:
            raise Refused("ERR CARD JAM")

    def _take_card(self) -> SimCard:
        """The card inside, or a blank from the feeder."""
        if self.card is not None:
            return self.card
        if self.feeder_empty:
            raise Refused("ERR FEEDER EMPTY")
        serial, card = self.new_card()
        self.blanks -= 1
        self.fed += 1
        self.card = SimCard(self.fed, serial, card)
        return self.card

    def _go(self, target: CardPosition, events: list[tuple[CardEvent, SimCard]]) -> float:
        """Move the card (feeding one if none) to ``target``; the seconds it takes."""
        card = self._take_card()
        if self.position is target:
            return 0.0
        if self.position is CardPosition.CONTACT:
            events.append((CardEvent.FROM_ENCODER, card))
        self.position = target
        if target is CardPosition.CONTACT:
            events.append((CardEvent.TO_ENCODER, card))
        return self.timings.move_seconds

    def _move(self, command: Command) -> Outcome:
        if command.params:
            return Outcome("ERROR PARAMETERS")
        self._check_mechanics()
        events: list[tuple[CardEvent, SimCard]] = []
        seconds = self._go(_MOVES[command.name], events)
        return Outcome("OK", seconds, tuple(events))

    def _out(self, command: Command) -> Outcome:
        """``Se`` out of the front, ``Ser`` into the reject box."""
        if command.params:
            return Outcome("ERROR PARAMETERS")
        self._check_mechanics()
        card = self.card
        if card is None:
            raise Refused("ERR NO CARD")
        rejecting = command.name == "Ser"
        if rejecting and self.reject_box_full:
            raise Refused("ERR REJECT BOX FULL")
        events = [(CardEvent.FROM_ENCODER, card)] if self.position is CardPosition.CONTACT else []
        events.append((CardEvent.REJECTED if rejecting else CardEvent.EJECTED, card))
        if rejecting:
            self.reject_count += 1
        self.card, self.position = None, CardPosition.NONE
        return Outcome("OK", self.timings.move_seconds, tuple(events))

    def _sequence(self, command: Command) -> Outcome:
        """``Ss`` starts a job, ``Sr`` selects the front, ``Sv`` prints the front (then the back)."""
        if command.params:
            return Outcome("ERROR PARAMETERS")
        if command.name == "Ss":
            self._job = {}
            return Outcome("OK")
        if self._job is None:
            return Outcome("ERROR PARAMETERS")  # Sr / Sv outside a sequence
        if command.name == "Sr" or not self._job:
            return Outcome("OK")
        return self._print()

    def _download(self, command: Command) -> Outcome:
        panel = next((p for p in Panel if command.params[:1] == (p.value,)), None)
        ok = (
            self._job is not None
            and panel is not None
            and command.params == (panel.value, str(panel.levels))
            and command.data is not None
            and len(command.data) == panel.data_length
        )
        if not ok or panel is None or command.data is None or self._job is None:
            return Outcome("ERROR PARAMETERS")
        self._job[panel] = command.data
        return Outcome("OK")

    def _print(self) -> Outcome:
        job, self._job = self._job or {}, None
        if set(job) != set(Panel):
            return Outcome("ERROR PARAMETERS")  # this simulator prints YMCKO only
        self._check_mechanics()
        if self.ribbon is None:
            raise Refused("ERR RIB DETECTION")
        if self.ribbon == 0 or Fault.RIBBON_ENDED in self.faults:
            raise Refused("ERR RIBBON ENDED")
        events: list[tuple[CardEvent, SimCard]] = []
        seconds = self._go(CardPosition.PRINT, events)
        card = self._take_card()
        card.face = job
        self.ribbon -= 1
        events.append((CardEvent.PRINTED, card))
        seconds += self.timings.print_seconds
        if self.settings.get("Pneab") != "E":  # the factory setting ejects after printing
            self.card, self.position = None, CardPosition.NONE
            events.append((CardEvent.EJECTED, card))
            seconds += self.timings.move_seconds
        return Outcome("OK", seconds, tuple(events))

    _HANDLERS: ClassVar[dict[str, Callable[[PrinterMachine, Command], Outcome]]] = {
        **dict.fromkeys(_SETTINGS, _setting),
        **dict.fromkeys(("Rlr", "Rse", "Rrt", "Rfv", "Rsn", "Rtp"), _read),
        **dict.fromkeys(_MOVES, _move),
        "Se": _out,
        "Ser": _out,
        "Ss": _sequence,
        "Sr": _sequence,
        "Sv": _sequence,
        "Db": _download,
    }
