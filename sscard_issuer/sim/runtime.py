"""The simulator's card runtime: hosts applets, routes APDUs, keeps updates atomic.

An applet sees three things: the command APDU, its own persistent state (a JSON-able dict inside
the card image) and a few card services (random numbers, the ATR, "I changed persistent state").
The runtime does what a card OS does for every applet: SELECT by name, T=0 style ``61xx`` /
``6Cxx`` answers and GET RESPONSE, status words from typed errors, and one atomic commit of the
card image per APDU. A simulated power cut discards the APDU's uncommitted changes, exactly what a
card's transaction mechanism guarantees.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

from sscard_issuer.apdu import ApduFormatError, CardError, CommandApdu, error_for
from sscard_issuer.sim.image import CardImage
from sscard_issuer.transport.errors import CardRemoved

SW_OK = 0x9000
INS_SELECT = 0xA4
INS_GET_RESPONSE = 0xC0


def _more_data(length: int) -> int:
    """``61xx``: xx bytes are still available, ``6100`` for 256 or more."""
    return 0x6100 | (min(length, 256) & 0xFF)


def fail(sw: int) -> NoReturn:
    """Abort the current command with status word ``sw`` (an applet's way to answer an error)."""
    raise error_for(sw)


class PowerCut(CardRemoved):
    """Raised out of :meth:`SimulatedCard.transmit` when a planned power cut happens.

    To a terminal, a card that lost power mid-command is a card that left the reader.
    """


@dataclass(frozen=True)
class PlannedPowerCut:
    """Cut the power during APDU number ``at_apdu`` (1-based, counted from power-on).

    after_commit: False loses the APDU's update; True keeps it but loses the answer.
    """

    at_apdu: int
    after_commit: bool = False


class Applet(abc.ABC):
    """A card-side application. Subclasses live in the top-level ``applets`` package."""

    name: ClassVar[str]
    aids: ClassVar[tuple[bytes, ...]]

    def __init__(self, state: dict[str, Any], card: SimulatedCard) -> None:
        self.state = state
        self.card = card
        self.reset()

    def reset(self) -> None:
        """Forget volatile state (authentications, current file); called on power-on and reset."""

    def owns_name(self, name: bytes) -> bool:
        """True for a DF name inside this application that SELECT may reach once it is selected."""
        return False

    @abc.abstractmethod
    def select(self, name: bytes) -> bytes:
        """Become current by ``name`` (one of ``aids`` or an owned DF name); return the FCI."""

    @abc.abstractmethod
    def process(self, command: CommandApdu) -> bytes:
        """Execute a command; return the response data, or raise via :func:`fail`."""

    def changed(self) -> None:
        """Tell the runtime that persistent state changed, so this APDU commits the image."""
        self.card.dirty = True


class SimulatedCard:
    """A card: an image (persistent) plus the applets that run on it (see ``applets.ALL``)."""

    def __init__(self, image: CardImage, applet_types: Sequence[type[Applet]] | None = None) -> None:
        if applet_types is None:
            import applets  # the card-side code; imported late so the runtime has no fixed list

            applet_types = applets.ALL
        self.image = image
        self._applet_types = tuple(applet_types)
        self.dirty = False
        self.powered = False
        self.apdu_count = 0
        self.planned_cut: PlannedPowerCut | None = None
        self._committed = image.snapshot()
        self._pending: bytes = b""
        self._current: Applet | None = None
        self._applets: list[Applet] = []
        self._instantiate()

    # -- what vpcd and the in-process transport call -------------------------------------------

    @property
    def atr(self) -> bytes:
        return self.image.atr

    def power_on(self) -> None:
        if not self.powered:
            self.powered = True
            self.apdu_count = 0  # PlannedPowerCut counts from power-on
            self._volatile_reset()

    def reset(self) -> None:
        self.powered = True
        self.apdu_count = 0
        self._volatile_reset()

    def power_off(self) -> None:
        self.powered = False
        self._volatile_reset()

    def random(self, length: int) -> bytes:
        return os.urandom(length)

    def transmit(self, raw: bytes) -> bytes:
        if not self.powered:
            self.power_on()  # vpcd's "power on" can race the first APDU after a reset
        self.apdu_count += 1
        self.dirty = False
        data, sw = self._dispatch(raw)
        cut = self.planned_cut
        if cut is not None and cut.at_apdu == self.apdu_count:
            self.planned_cut = None
            if cut.after_commit:
                self._commit()
            else:
                self._rollback()
            self.power_off()
            raise PowerCut(f"power cut during APDU {self.apdu_count}")
        try:
            self._commit()
        except OSError:
            # The EEPROM write failed: undo the command, as a card answers a failed write.
            self._rollback()
            return b"\x65\x81"
        return data + sw.to_bytes(2, "big")

    # -- internals ----------------------------------------------------------------------------

    def _instantiate(self) -> None:
        self._applets = [t(self.image.applets.setdefault(t.name, {}), self) for t in self._applet_types]
        self._current = None

    def _volatile_reset(self) -> None:
        self._pending = b""
        self._current = None
        for applet in self._applets:
            applet.reset()

    def _commit(self) -> None:
        if self.dirty:
            self.image.save()
            self._committed = self.image.snapshot()
            self.dirty = False

    def _rollback(self) -> None:
        self.image.restore(self._committed)
        self._instantiate()
        self.dirty = False

    def _dispatch(self, raw: bytes) -> tuple[bytes, int]:
        try:
            command = CommandApdu.decode(raw)
        except ApduFormatError:
            return b"", 0x6700
        try:
            if command.ins == INS_GET_RESPONSE and command.cla & 0x80 == 0:
                return self._get_response(command)
            self._pending = b""
            if command.ins == INS_SELECT and command.p1 == 0x04 and command.cla & 0x80 == 0:
                data = self._select_by_name(command.data)
            else:
                if self._current is None:
                    fail(0x6985)
                data = self._current.process(command)
        except CardError as exc:
            # What the applet persisted before failing stays (a wrong PIN's lower retry counter):
            # applets validate first and change state only when the change is meant.
            return b"", exc.sw
        return self._deliver(command, data)

    def _deliver(self, command: CommandApdu, data: bytes) -> tuple[bytes, int]:
        """T=0 behaviour: announce data with 61xx when no Le came, ask for the right Le with 6Cxx."""
        if not data:
            return b"", SW_OK
        if command.le is None:
            self._pending = data
            return b"", _more_data(len(data))
        if command.le < len(data) and len(data) <= 256:
            return b"", 0x6C00 | (len(data) & 0xFF)
        if command.le < len(data):  # more than 6Cxx can name: what was asked for, then 61xx
            self._pending = data[command.le :]
            return data[: command.le], _more_data(len(self._pending))
        return data, SW_OK

    def _get_response(self, command: CommandApdu) -> tuple[bytes, int]:
        if not self._pending:
            fail(0x6985)
        le = command.le or 256
        chunk, self._pending = self._pending[:le], self._pending[le:]
        if self._pending:
            return chunk, _more_data(len(self._pending))
        return chunk, SW_OK

    def _select_by_name(self, name: bytes) -> bytes:
        if self._current is not None and self._current.owns_name(name):
            return self._current.select(name)
        self._current = None  # an application that refuses selection (9303) is not current
        for applet in self._applets:
            if name in applet.aids:
                fci = applet.select(name)
                self._current = applet
                return fci
        fail(0x6A82)
