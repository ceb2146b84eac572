"""What the issuance job needs from a card printer, whatever the brand or the wire.

A printer moves one card at a time: from the feeder to the contact station (where the host
personalises the chip through an ordinary PC/SC reader), to the print head, out of the front, or
into the reject box. Drivers (:mod:`sscard_issuer.outlet.evolis` natively, CUPS for face-only
printers) implement :class:`Printer`; the job and the console only read :class:`PrinterStatus`.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sscard_issuer.errors import SscardError

if TYPE_CHECKING:
    from PIL.Image import Image


class Condition(enum.Enum):
    """One thing a printer can report; several may hold at once."""

    FEEDER_EMPTY = "feeder_empty"
    RIBBON_LOW = "ribbon_low"
    RIBBON_ENDED = "ribbon_ended"
    COVER_OPEN = "cover_open"
    REJECT_BOX_FULL = "reject_box_full"
    JAMMED = "jammed"
    OFFLINE = "offline"

    @property
    def blocking(self) -> bool:
        """Whether the printer cannot take a new job until an operator acts."""
        return self is not Condition.RIBBON_LOW

    @property
    def advice(self) -> tuple[str, str]:
        """What the operator should do, in simplified Chinese and in English."""
        return _ADVICE[self]


_ADVICE: dict[Condition, tuple[str, str]] = {
    Condition.FEEDER_EMPTY: ("请在进卡盒中放入空白卡", "Load blank cards into the feeder"),
    Condition.RIBBON_LOW: ("色带即将用完，请准备新色带", "The ribbon is nearly used up: have a new one ready"),
    Condition.RIBBON_ENDED: ("请更换色带（旧色带含持卡人信息，须按规定销毁）",
                             "Replace the ribbon (the used one holds holder data: destroy it as required)"),
    Condition.COVER_OPEN: ("请关闭打印机上盖", "Close the printer cover"),
    Condition.REJECT_BOX_FULL: ("请清空废卡盒，废卡登记后在双人监督下销毁",
                                "Empty the reject box; record the spoiled cards and destroy them under dual control"),
    Condition.JAMMED: ("卡片卡住：打开上盖取出卡片，放入废卡盒后关闭上盖",
                       "A card is jammed: open the cover, take the card out into the reject box, close the cover"),
    Condition.OFFLINE: ("打印机无响应：检查电源和网线/USB 连接", "The printer does not answer: check its power and cable"),
}


class CardPosition(enum.Enum):
    """Where the card inside the printer is, if there is one."""

    NONE = "none"
    PRINT = "print"  # under the print head
    CONTACT = "contact"  # at the contact station (the encoder's PC/SC reader)
    CONTACTLESS = "contactless"


@dataclass(frozen=True)
class PrinterStatus:
    """A printer's state as read from it, in words the job and the console use."""

    conditions: frozenset[Condition] = frozenset()
    card: CardPosition = CardPosition.NONE
    ribbon_left: int | None = None  # prints left on the ribbon, if the printer says
    model: str = ""
    serial: str = ""
    firmware: str = ""
    details: tuple[str, ...] = field(default=())  # raw readings, for the log

    @property
    def blocking(self) -> frozenset[Condition]:
        return frozenset(c for c in self.conditions if c.blocking)

    @property
    def ready(self) -> bool:
        """Ready for a new job: nothing blocking and no card left inside."""
        return not self.blocking and self.card is CardPosition.NONE


class PrinterError(SscardError):
    """The printer refused or failed a command."""


class PrinterFault(PrinterError):
    """The printer stopped for a condition an operator must fix (load cards, replace the ribbon...).

    ``conditions`` says what; :attr:`Condition.advice` says what to do. The job pauses the printer
    and resumes once a status read shows the conditions gone.
    """

    def __init__(self, conditions: frozenset[Condition] | set[Condition], message: str = "") -> None:
        self.conditions = frozenset(conditions)
        names = ", ".join(sorted(c.value for c in self.conditions)) or "unknown"
        super().__init__(message or f"printer stopped: {names}")


class PrinterOffline(PrinterFault):
    """The printer did not answer in time, or the connection dropped."""

    def __init__(self, message: str) -> None:
        super().__init__({Condition.OFFLINE}, message)


class Printer(abc.ABC):
    """One card printer. Calls block until the printer has done the move or the print."""

    #: whether the printer can hold a card at a contact station for the chip to be written
    encodes: bool = True

    @abc.abstractmethod
    def status(self) -> PrinterStatus:
        """Read the printer's state now. Raises :class:`PrinterOffline` if it does not answer."""

    @abc.abstractmethod
    def prepare(self) -> None:
        """Send the settings the job relies on (host handles errors, feed from the feeder...)."""

    @abc.abstractmethod
    def load_for_encoding(self) -> None:
        """Take a blank card from the feeder to the contact station."""

    @abc.abstractmethod
    def print_face(self, face: Image) -> None:
        """Print ``face`` (at :attr:`canvas`) on the front of the card inside, feeding one if none."""

    @abc.abstractmethod
    def eject(self) -> None:
        """Hand the card inside out of the front."""

    @abc.abstractmethod
    def reject(self) -> None:
        """Drop the card inside into the reject box."""

    @property
    @abc.abstractmethod
    def canvas(self) -> tuple[int, int]:
        """The face image size this printer prints, in pixels (width, height), landscape."""

    def close(self) -> None:
        """Release the connection (idempotent)."""
