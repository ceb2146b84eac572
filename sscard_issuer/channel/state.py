"""The channel's states and the one table of allowed transitions, for both roles.

Host:  IDLE -initialize_update-> INITIALIZING -card challenge-> CHALLENGED -authenticate->
       AUTHENTICATING -authenticated-> OPEN -wrap-> EXCHANGING -unwrap-> OPEN ...
Card:  IDLE -initialize_update-> AUTHENTICATING -external authenticate-> OPEN -unwrap->
       EXCHANGING -wrap-> OPEN ...

Any state may be closed (CLOSED); a failure lands in FAILED. Neither ever leaves: a channel that
saw a bad MAC or cryptogram is closed for good, and a new session is a new object.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager

from sscard_issuer.apdu import CardError
from sscard_issuer.channel.errors import ChannelClosed, ChannelError, ChannelUsageError


class ChannelState(enum.Enum):
    IDLE = "idle"
    INITIALIZING = "initializing"  # host: INITIALIZE UPDATE sent
    CHALLENGED = "challenged"  # host: the card's challenge read; keys not yet applied
    AUTHENTICATING = "authenticating"  # EXTERNAL AUTHENTICATE sent (host) / awaited (card)
    OPEN = "open"
    EXCHANGING = "exchanging"  # host: a wrapped command awaits its response; card: the reverse
    CLOSED = "closed"
    FAILED = "failed"


class Role(enum.Enum):
    HOST = "host"
    CARD = "card"


class Event(enum.Enum):
    INITIALIZE_UPDATE = "INITIALIZE UPDATE"
    CARD_CHALLENGE = "the card's challenge"
    EXTERNAL_AUTHENTICATE = "EXTERNAL AUTHENTICATE"
    AUTHENTICATED = "the card's acceptance of EXTERNAL AUTHENTICATE"
    WRAP = "wrap"
    UNWRAP = "unwrap"


S, E = ChannelState, Event
TRANSITIONS: dict[Role, dict[tuple[ChannelState, Event], ChannelState]] = {
    Role.HOST: {
        (S.IDLE, E.INITIALIZE_UPDATE): S.INITIALIZING,
        (S.INITIALIZING, E.CARD_CHALLENGE): S.CHALLENGED,
        (S.CHALLENGED, E.EXTERNAL_AUTHENTICATE): S.AUTHENTICATING,
        (S.AUTHENTICATING, E.AUTHENTICATED): S.OPEN,
        (S.OPEN, E.WRAP): S.EXCHANGING,
        (S.EXCHANGING, E.UNWRAP): S.OPEN,
    },
    Role.CARD: {
        (S.IDLE, E.INITIALIZE_UPDATE): S.AUTHENTICATING,
        (S.AUTHENTICATING, E.EXTERNAL_AUTHENTICATE): S.OPEN,
        (S.OPEN, E.UNWRAP): S.EXCHANGING,
        (S.EXCHANGING, E.WRAP): S.OPEN,
    },
}
del S, E


class StateMachine:
    """One channel's state; ``advance`` refuses any transition the table does not hold."""

    __slots__ = ("_role", "_state")

    def __init__(self, role: Role) -> None:
        self._role = role
        self._state = ChannelState.IDLE

    @property
    def state(self) -> ChannelState:
        return self._state

    def check(self, event: Event) -> ChannelState:
        """The state ``event`` leads to, or the error for trying it now (nothing changes)."""
        if self._state in (ChannelState.CLOSED, ChannelState.FAILED):
            raise ChannelClosed(f"the channel is {self._state.value}: open a new one")
        target = TRANSITIONS[self._role].get((self._state, event))
        if target is None:
            raise ChannelUsageError(f"{event.value} is not allowed while the channel is {self._state.value}")
        return target

    def advance(self, event: Event) -> None:
        self._state = self.check(event)

    @contextmanager
    def failing(self) -> Iterator[None]:
        """Within it, a channel or card error fails the channel for good before propagating."""
        try:
            yield
        except (ChannelError, CardError):
            self.fail()
            raise

    def fail(self) -> None:
        self._state = ChannelState.FAILED

    def close(self) -> None:
        if self._state is not ChannelState.FAILED:
            self._state = ChannelState.CLOSED
