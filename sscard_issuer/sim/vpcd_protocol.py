"""The vpcd wire protocol, sans I/O: frames in, events out, frames back.

vpcd (Debian's ``vsmartcard-vpcd``) is the PC/SC reader driver; a virtual card is a TCP client of
its port. Both directions carry frames of a 2-byte big-endian length followed by the payload. From
vpcd, a 1-byte payload is a control (power off, power on, reset, send ATR); anything longer is a
command APDU. Only "send ATR" and APDUs are answered; an empty ATR answer means "no card".
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from sscard_issuer.errors import SscardError

MAX_FRAME = 0xFFFF


class VpcdProtocolError(SscardError):
    """vpcd sent something the protocol does not allow."""


class Control(enum.IntEnum):
    POWER_OFF = 0x00
    POWER_ON = 0x01
    RESET = 0x02
    ATR = 0x04


@dataclass(frozen=True)
class ControlEvent:
    control: Control


@dataclass(frozen=True)
class ApduEvent:
    apdu: bytes


Event = ControlEvent | ApduEvent


def frame(payload: bytes) -> bytes:
    """One frame as vpcd expects it (send it with a single ``sendall``: see STACK.md)."""
    if len(payload) > MAX_FRAME:
        raise VpcdProtocolError(f"frame of {len(payload)} bytes exceeds {MAX_FRAME}")
    return struct.pack(">H", len(payload)) + payload


class VpcdDecoder:
    """Accumulates bytes from the socket and yields complete events, whatever the chunking."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Event]:
        self._buffer += data
        events: list[Event] = []
        while len(self._buffer) >= 2:
            (length,) = struct.unpack_from(">H", self._buffer)
            if len(self._buffer) < 2 + length:
                break
            payload = bytes(self._buffer[2 : 2 + length])
            del self._buffer[: 2 + length]
            events.append(self._event(payload))
        return events

    @property
    def pending(self) -> int:
        """Bytes received that do not yet make a whole frame."""
        return len(self._buffer)

    @staticmethod
    def _event(payload: bytes) -> Event:
        if len(payload) == 0:
            raise VpcdProtocolError("empty frame from vpcd")
        if len(payload) == 1:
            try:
                return ControlEvent(Control(payload[0]))
            except ValueError:
                raise VpcdProtocolError(f"unknown vpcd control byte {payload[0]:02X}") from None
        return ApduEvent(payload)
