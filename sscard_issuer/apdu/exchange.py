"""One command's full exchange with the card: the single place where 61xx and 6Cxx are handled.

A sans-I/O state machine in the style of h11: the caller sends what ``first()`` and
``receive()`` return and feeds back what the card answered; the machine never touches a reader.
Every transport (PC/SC, vpcd, in-process) uses it, so the rules below hold for all of them:

- ``61xx``: data is kept and ``GET RESPONSE`` asks for the xx bytes left (``00`` = 256), at most
  ``max_get_response`` times per command;
- ``6Cxx``: the command just sent is sent again with ``le = xx`` (``00`` = 256), once; a second
  6Cxx in answer to that corrected command means the card is looping;
- anything else ends the exchange: ``result`` is all data gathered plus that final status word.

After an ``ExchangeError`` the exchange stays ``FAILED``: the card's state is unknown, so
nothing is retried silently.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import NoReturn

from ..errors import SscardError
from .command import CommandApdu, get_response
from .response import ResponseApdu

_MAX_DATA = 65536


class ExchangeError(SscardError):
    """The card did not finish a command sensibly (looped), or the exchange was misused."""


class ExchangeState(enum.Enum):
    READY = "ready"  # first() not called yet
    AWAITING_RESPONSE = "awaiting response"  # a command was handed out, its answer is due
    DONE = "done"  # result is available
    FAILED = "failed"  # an ExchangeError was raised; final


def default_get_response_cla(cla: int) -> int:
    """The CLA for GET RESPONSE after a command sent with ``cla``.

    GET RESPONSE is an interindustry command that is never secured: it goes out in plain
    class ``00`` (what this card family and its PSAMs expect, spec/card.md section 3) on the
    command's logical channel. So secure-messaging and chaining bits are cleared, the channel
    bits of an interindustry CLA are kept, and a proprietary CLA (``80``, ``84``) gives ``00``.
    """
    if cla & 0x80:
        return 0x00
    if cla & 0x40:  # further interindustry class: channel 4..19 in b4-b1
        return cla & 0x4F
    return cla & 0x03  # first interindustry class: channel 0..3 in b2-b1


class Exchange:
    """Drive one command to its final answer; see the module docstring for the rules."""

    def __init__(
        self,
        command: CommandApdu,
        *,
        max_get_response: int = 64,
        get_response_cla: int | None = None,
    ) -> None:
        if not isinstance(command, CommandApdu):
            raise TypeError(f"command: expected a CommandApdu, got {type(command).__name__}")
        if isinstance(max_get_response, bool) or not isinstance(max_get_response, int) \
                or max_get_response < 0:
            raise ValueError(f"max_get_response: expected an int >= 0, got {max_get_response!r}")
        if get_response_cla is None:
            cla = default_get_response_cla(command.cla)
        elif isinstance(get_response_cla, bool) or not isinstance(get_response_cla, int) \
                or not 0 <= get_response_cla <= 0xFF:
            raise ValueError(f"get_response_cla: expected an int 0..255, got {get_response_cla!r}")
        else:
            cla = get_response_cla
        self._command = command
        self._max_get_response = max_get_response
        self._gr_cla = cla
        self._state = ExchangeState.READY
        self._sent = command
        self._sent_is_correction = False  # the last command sent answered a 6Cxx
        self._get_responses = 0
        self._chunks: list[bytes] = []
        self._size = 0
        self._result: ResponseApdu | None = None

    @property
    def state(self) -> ExchangeState:
        return self._state

    @property
    def command(self) -> CommandApdu:
        return self._command

    def first(self) -> CommandApdu:
        """The command to send first (the command itself); once."""
        if self._state is not ExchangeState.READY:
            self._fail(f"first() called in state {self._state.value}")
        self._state = ExchangeState.AWAITING_RESPONSE
        return self._command

    def receive(self, response: ResponseApdu) -> CommandApdu | None:
        """Take the card's answer to the last command; return the next command, or None."""
        if self._state is not ExchangeState.AWAITING_RESPONSE:
            self._fail(f"receive() called in state {self._state.value}")
        if not isinstance(response, ResponseApdu):
            self._fail(f"receive() expects a ResponseApdu, got {type(response).__name__}")
        if response.sw1 == 0x61:
            self._keep(response.data)
            self._get_responses += 1
            if self._get_responses > self._max_get_response:
                self._fail(
                    f"card asked for GET RESPONSE more than {self._max_get_response} times"
                )
            return self._send(get_response(response.sw2 or 256, cla=self._gr_cla), False)
        if response.sw1 == 0x6C:
            if self._sent_is_correction:
                self._fail(
                    f"card answered {response.sw:04X} again after Le was corrected "
                    f"to {self._sent.le}"
                )
            return self._send(self._sent.with_le(response.sw2 or 256), True)
        self._keep(response.data)
        self._result = ResponseApdu(b"".join(self._chunks), response.sw)
        self._chunks = []
        self._state = ExchangeState.DONE
        return None

    @property
    def result(self) -> ResponseApdu:
        """All response data, concatenated, with the final status word (not checked here)."""
        if self._result is None:
            raise ExchangeError(f"no result yet: exchange is {self._state.value}")
        return self._result

    def _send(self, command: CommandApdu, correction: bool) -> CommandApdu:
        self._sent = command
        self._sent_is_correction = correction
        return command

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > _MAX_DATA:
            self._fail(f"card returned more than {_MAX_DATA} bytes for one command")
        if data:
            self._chunks.append(data)

    def _fail(self, reason: str) -> NoReturn:
        self._state = ExchangeState.FAILED
        self._chunks = []
        raise ExchangeError(reason)


def run_exchange(
    command: CommandApdu,
    transmit: Callable[[bytes], bytes],
    *,
    max_get_response: int = 64,
    get_response_cla: int | None = None,
    trace: Callable[[CommandApdu, ResponseApdu], None] | None = None,
) -> ResponseApdu:
    """Run ``command`` to its end through ``transmit`` (bytes out, bytes back) and return
    the gathered response; its status word is not checked (call ``raise_for_status``).

    ``trace`` sees every step as objects, so a tracer can honour ``CommandApdu.sensitive``,
    which the raw bytes given to ``transmit`` no longer carry.
    """
    exchange = Exchange(
        command, max_get_response=max_get_response, get_response_cla=get_response_cla
    )
    next_command: CommandApdu | None = exchange.first()
    while next_command is not None:
        response = ResponseApdu.decode(transmit(next_command.encode()))
        if trace is not None:
            trace(next_command, response)
        next_command = exchange.receive(response)
    return exchange.result
