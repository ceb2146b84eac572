"""Typed transport failures: each says what happened at the reader, in plain words."""

from __future__ import annotations

from sscard_issuer.errors import SscardError


class TransportError(SscardError):
    """The APDU did not make it to the card and back."""


class ServiceUnavailable(TransportError):
    """pcscd is not running (or was restarted and this connection is stale)."""


class NoReaders(TransportError):
    """pcscd runs but has no reader."""


class ReaderNotFound(TransportError):
    """The reader asked for is not among pcscd's readers."""

    def __init__(self, name: str, available: list[str]) -> None:
        self.name = name
        self.available = available
        shown = ", ".join(repr(r) for r in available) or "none"
        super().__init__(f"no reader named {name!r}; readers present: {shown}")


class NoCard(TransportError):
    """No card came into the reader within the time allowed."""


class CardRemoved(TransportError):
    """The card left the reader (or was reset by someone else) during the session."""


class CardMute(TransportError):
    """The card did not answer within the time allowed; the session is unusable until reconnect."""


class TransportClosed(TransportError):
    """The transport was closed, or broken by an earlier failure; reconnect first."""
