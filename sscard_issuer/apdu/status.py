"""Status words (SW1 SW2): what each one means and the typed error it becomes.

The table is the one place a status word gets a meaning: ``describe`` reads it for traces and
``error_for`` for exceptions, so a trace and an error can never disagree. Rows come from the
card specification (spec/card.md section 3) and the common ISO/IEC 7816-4 words. Each error
class is the reaction a caller may want to choose (retry with a PIN, select again, give up);
several words may share a class, and ``CardError.sw`` always keeps the exact word.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import SscardError

SW_OK = 0x9000


class ApduFormatError(SscardError, ValueError):
    """Bytes or fields that cannot form an APDU; the message names what was expected.

    Messages never contain the data field: it may hold a PIN or key material.
    """


class CardError(SscardError):
    """The card answered with a status word other than ``9000``.

    ``sw`` is the exact word, ``meaning`` its plain-English description; ``str()`` gives
    ``"6982: security status not satisfied"``.
    """

    def __init__(self, sw: int, meaning: str | None = None) -> None:
        if isinstance(sw, bool) or not isinstance(sw, int) or not 0 <= sw <= 0xFFFF:
            raise ValueError(f"sw: expected an int 0000..FFFF, got {sw!r}")
        self.sw = sw
        self.meaning = describe(sw) if meaning is None else meaning
        super().__init__(f"{sw:04X}: {self.meaning}")

    def __reduce__(self) -> tuple[type[CardError], tuple[int, str]]:
        # Exceptions pickle through their args; ours are (sw, meaning), not the message.
        return (type(self), (self.sw, self.meaning))


class CardWarning(CardError):
    """62xx / 63xx (other than 63Cx): the card warns; callers expecting 9000 must not go on."""


class MemoryFailure(CardError):
    """6581 memory failure; 6A84 not enough memory space in the file."""


class WrongLength(CardError):
    """6700 wrong length; 6A87 Lc inconsistent with P1-P2."""


class WrongFileType(CardError):
    """6981: the command does not fit the structure of the current file."""


class SecurityStatusNotSatisfied(CardError):
    """6982: authenticate (PIN, external authentication) before this command."""


class AuthenticationBlocked(CardError):
    """6983: the PIN or key is blocked; only an unblock or reload can help."""


class ReferenceDataInvalid(CardError):
    """6984: the referenced data (PIN, key, challenge) is unusable."""


class ConditionsNotSatisfied(CardError):
    """6985: the card's state does not allow the command now (e.g. no challenge fetched)."""


class NoCurrentEF(CardError):
    """6986: select an EF first."""


class SecureMessagingError(CardError):
    """6988 secure-messaging data objects wrong (usually a bad MAC); 6882 SM not supported."""


class WrongData(CardError):
    """6A80: the data field is wrong."""


class FunctionNotSupported(CardError):
    """6A81: function not supported, or the application is locked."""


class FileNotFound(CardError):
    """6A82: no file or application with that identifier."""


class RecordNotFound(CardError):
    """6A83: no record with that number or tag."""


class IncorrectP1P2(CardError):
    """6A86 incorrect P1-P2; 6B00 wrong parameters P1-P2."""


class KeyNotFound(CardError):
    """6A88: the referenced key or data is not on the card."""


class WrongLe(CardError):
    """6Cxx: wrong Le; ``correct_le`` is the length the card offers (``00`` means 256)."""

    def __init__(self, sw: int, meaning: str | None = None) -> None:
        if isinstance(sw, int) and sw >> 8 != 0x6C:
            raise ValueError(f"sw: WrongLe needs 6Cxx, got {sw:04X}")
        super().__init__(sw, meaning)
        self.correct_le = (sw & 0xFF) or 256


class ClassNotSupported(CardError):
    """6E00 class not supported; 6883 (68xx: a function of the CLA byte not supported)."""


class InstructionNotSupported(CardError):
    """6D00: the INS is unknown to the selected application."""


class ApplicationPermanentlyLocked(CardError):
    """9303: the application is locked for good."""


class WrongPinOrCryptogram(CardError):
    """63Cx: PIN or cryptogram wrong; ``tries_left`` is x. The PIN itself is never known here."""

    def __init__(self, sw: int, meaning: str | None = None) -> None:
        if isinstance(sw, int) and sw & 0xFFF0 != 0x63C0:
            raise ValueError(f"sw: WrongPinOrCryptogram needs 63Cx, got {sw:04X}")
        super().__init__(sw, meaning)
        self.tries_left = sw & 0x0F


class UnknownStatus(CardError):
    """A status word this table does not know."""


# Exact words: (meaning, error class). A class of None means "no error" (only 9000); CardError
# itself is used where no caller would react differently from any other failure.
_EXACT: dict[int, tuple[str, type[CardError] | None]] = {
    0x9000: ("success", None),
    0x6281: ("warning: part of the returned data may be corrupted", CardWarning),
    0x6283: ("warning: the selected file is deactivated", CardWarning),
    0x6400: ("execution error, non-volatile memory unchanged", CardError),
    0x6581: ("memory failure", MemoryFailure),
    0x6700: ("wrong length", WrongLength),
    0x6882: ("secure messaging not supported", SecureMessagingError),
    0x6883: ("last command of the chain expected", ClassNotSupported),
    0x6981: ("command incompatible with the file structure (wrong file type)", WrongFileType),
    0x6982: ("security status not satisfied", SecurityStatusNotSatisfied),
    0x6983: ("authentication blocked", AuthenticationBlocked),
    0x6984: ("reference data invalid", ReferenceDataInvalid),
    0x6985: ("conditions of use not satisfied", ConditionsNotSatisfied),
    0x6986: ("command not allowed: no current EF", NoCurrentEF),
    0x6988: ("secure messaging data objects incorrect", SecureMessagingError),
    0x6A80: ("wrong data", WrongData),
    0x6A81: ("function not supported or application locked", FunctionNotSupported),
    0x6A82: ("file not found", FileNotFound),
    0x6A83: ("record not found", RecordNotFound),
    0x6A84: ("not enough memory space in the file", MemoryFailure),
    0x6A86: ("incorrect parameters P1-P2", IncorrectP1P2),
    0x6A87: ("Lc inconsistent with P1-P2", WrongLength),
    0x6A88: ("key or referenced data not found", KeyNotFound),
    0x6B00: ("wrong parameters P1-P2", IncorrectP1P2),
    0x6D00: ("instruction not supported", InstructionNotSupported),
    0x6E00: ("class not supported (wrong CLA)", ClassNotSupported),
    0x6F00: ("no precise diagnosis", CardError),
    0x9303: ("application permanently locked", ApplicationPermanentlyLocked),
}


def _tries(sw: int) -> str:
    n = sw & 0x0F
    return f"wrong PIN or cryptogram, {n} {'try' if n == 1 else 'tries'} left"


# Families, tried in order after the exact words: (mask, value, meaning, error class).
_FAMILIES: tuple[tuple[int, int, Callable[[int], str], type[CardError]], ...] = (
    (0xFFF0, 0x63C0, _tries, WrongPinOrCryptogram),
    (0xFF00, 0x6100, lambda sw: f"{(sw & 0xFF) or 256} response bytes still available (GET RESPONSE fetches them)",
     CardError),
    (0xFF00, 0x6C00, lambda sw: f"wrong Le, exact length is {(sw & 0xFF) or 256}", WrongLe),
    (0xFF00, 0x6200, lambda sw: "warning: non-volatile memory unchanged", CardWarning),
    (0xFF00, 0x6300, lambda sw: "warning: non-volatile memory changed", CardWarning),
)


def _lookup(sw: int) -> tuple[str, type[CardError] | None]:
    if isinstance(sw, bool) or not isinstance(sw, int) or not 0 <= sw <= 0xFFFF:
        raise ValueError(f"sw: expected an int 0000..FFFF, got {sw!r}")
    if sw in _EXACT:
        return _EXACT[sw]
    for mask, value, meaning, error in _FAMILIES:
        if sw & mask == value:
            return meaning(sw), error
    return "unknown status word", UnknownStatus


def describe(sw: int) -> str:
    """The meaning of ``sw`` in plain English (``"unknown status word"`` if not in the table)."""
    return _lookup(sw)[0]


def error_for(sw: int) -> CardError:
    """The typed error for a failing ``sw``; ``9000`` is not a failure and raises ValueError."""
    meaning, error = _lookup(sw)
    if error is None:
        raise ValueError(f"sw: {sw:04X} means success, there is no error for it")
    return error(sw, meaning)
