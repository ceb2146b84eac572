"""Why a personalisation stopped: light to import, so interfaces can name them cheaply."""

from __future__ import annotations

from sscard_issuer.errors import SscardError


class PersoError(SscardError):
    """Personalisation could not start or go on (the card or the request is not right for it)."""


class PersoInterrupted(PersoError):
    """The card went away mid-way (power, removal, reader); run again on the same card to resume."""


class CardSpoiled(PersoError):
    """The card cannot be personalised; it goes to the reject box. ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"card spoiled: {reason}")
