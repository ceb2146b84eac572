"""An in-process transport: the simulator's card called directly, for fast tests and the demo."""

from __future__ import annotations

from typing import Protocol

from sscard_issuer.transport.base import Transport
from sscard_issuer.transport.errors import TransportClosed
from sscard_issuer.transport.trace import ApduTrace


class VirtualCard(Protocol):
    """What a transport or the vpcd link needs of a simulated card: an ATR, power, APDUs."""

    @property
    def atr(self) -> bytes: ...

    def power_on(self) -> None: ...

    def power_off(self) -> None: ...

    def reset(self) -> None: ...

    def transmit(self, apdu: bytes) -> bytes: ...


class InProcessTransport(Transport):
    """Talks to a simulated card object in this process, with the same exchange rules as PC/SC."""

    def __init__(self, card: VirtualCard, *, trace: ApduTrace | None = None) -> None:
        super().__init__(trace=trace)
        self._card: VirtualCard | None = card
        card.power_on()

    @property
    def atr(self) -> bytes:
        return self._live().atr

    def _live(self) -> VirtualCard:
        if self._card is None:
            raise TransportClosed("the in-process transport is closed")
        return self._card

    def _transmit_raw(self, apdu: bytes) -> bytes:
        return self._live().transmit(apdu)

    def close(self) -> None:
        if self._card is not None:
            self._card.power_off()
            self._card = None
