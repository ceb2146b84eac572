"""Turn typed errors into a plain headline, the detail, and an exit code, at the CLI's edge only.

Exit codes: 0 done; 1 unexpected failure (a bug: the traceback is kept); 2 usage; 3 the card is
not genuine; 4 the card refused (wrong or locked PIN, locked application, other status words);
5 reader or card unavailable (pcscd down, no reader, no card, removed, mute); 6 invalid input;
7 key store problem; 8 the card is spoiled (reject it).
"""

from __future__ import annotations

from dataclasses import dataclass

from sscard_issuer.apdu import (
    ApplicationPermanentlyLocked,
    AuthenticationBlocked,
    CardError,
    FunctionNotSupported,
    WrongPinOrCryptogram,
)
from sscard_issuer.card.reader import CardDataError, PinError, PinLocked, WrongPin
from sscard_issuer.cli.messages import text
from sscard_issuer.errors import FieldError, SscardError, ValidationError
from sscard_issuer.keys import KeyStoreError
from sscard_issuer.perso.errors import CardSpoiled, PersoError, PersoInterrupted
from sscard_issuer.sim.image import ImageError
from sscard_issuer.transport.errors import (
    CardMute,
    CardRemoved,
    NoCard,
    NoReaders,
    ReaderNotFound,
    ServiceUnavailable,
    TransportError,
)

EXIT_NOT_GENUINE = 3
EXIT_CARD = 4
EXIT_READER = 5
EXIT_INPUT = 6
EXIT_KEYS = 7
EXIT_SPOILED = 8


@dataclass(frozen=True)
class Failure:
    headline: str
    detail: str
    exit_code: int


def _card_failure(error: CardError, context: str | None) -> Failure:
    # Only VERIFY's refusals are about the PIN: a refused cryptogram in the same session is not.
    pin = isinstance(error, (WrongPin, PinLocked)) or context == "pin"
    if isinstance(error, WrongPinOrCryptogram):
        if pin:
            if error.tries_left == 0:
                return Failure(text("pin_locked"), str(error), EXIT_CARD)
            return Failure(text("wrong_pin", tries=error.tries_left), str(error), EXIT_CARD)
        return Failure(text("card_error"), str(error), EXIT_CARD)
    if isinstance(error, AuthenticationBlocked) and pin:
        return Failure(text("pin_locked"), str(error), EXIT_CARD)
    if isinstance(error, (ApplicationPermanentlyLocked, FunctionNotSupported)):
        return Failure(text("card_locked"), str(error), EXIT_CARD)
    return Failure(text("card_error"), str(error), EXIT_CARD)


def describe_failure(error: SscardError, *, context: str | None = None) -> Failure:
    """``context`` says what the command was doing when the card refused ("pin" for VERIFY)."""
    if isinstance(error, CardError):
        return _card_failure(error, context)
    table: tuple[tuple[type[SscardError], str, int], ...] = (
        (CardSpoiled, "spoiled", EXIT_SPOILED),
        (PersoInterrupted, "interrupted", EXIT_READER),
        (PersoError, "perso", EXIT_INPUT),
        (ServiceUnavailable, "no_service", EXIT_READER),
        (NoReaders, "no_readers", EXIT_READER),
        (ReaderNotFound, "reader_not_found", EXIT_READER),
        (NoCard, "no_card", EXIT_READER),
        (CardRemoved, "card_removed", EXIT_READER),
        (CardMute, "card_mute", EXIT_READER),
        (TransportError, "transport", EXIT_READER),
        (PinError, "bad_input", EXIT_INPUT),
        (ValidationError, "bad_input", EXIT_INPUT),
        (FieldError, "bad_input", EXIT_INPUT),
        (KeyStoreError, "keys", EXIT_KEYS),
        (ImageError, "image", EXIT_INPUT),
        (CardDataError, "card_error", EXIT_CARD),
    )
    for kind, key, code in table:
        if isinstance(error, kind):
            return Failure(text(key), str(error), code)
    return Failure(text("error"), str(error), 1)
