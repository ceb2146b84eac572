"""The status-word table: each word maps to its meaning and its error class."""

from __future__ import annotations

import pickle

import pytest

import sscard_issuer.apdu as apdu
from sscard_issuer.apdu import (
    ApplicationPermanentlyLocked,
    AuthenticationBlocked,
    CardError,
    CardWarning,
    ClassNotSupported,
    ConditionsNotSatisfied,
    FileNotFound,
    FunctionNotSupported,
    IncorrectP1P2,
    InstructionNotSupported,
    KeyNotFound,
    MemoryFailure,
    NoCurrentEF,
    RecordNotFound,
    ReferenceDataInvalid,
    SecureMessagingError,
    SecurityStatusNotSatisfied,
    UnknownStatus,
    WrongData,
    WrongFileType,
    WrongLe,
    WrongLength,
    WrongPinOrCryptogram,
    describe,
    error_for,
)
from sscard_issuer.errors import SscardError

TABLE: list[tuple[int, type[CardError], str]] = [
    # spec/card.md section 3
    (0x63C2, WrongPinOrCryptogram, "wrong PIN or cryptogram, 2 tries left"),
    (0x6581, MemoryFailure, "memory failure"),
    (0x6700, WrongLength, "wrong length"),
    (0x6981, WrongFileType, "command incompatible with the file structure (wrong file type)"),
    (0x6982, SecurityStatusNotSatisfied, "security status not satisfied"),
    (0x6983, AuthenticationBlocked, "authentication blocked"),
    (0x6984, ReferenceDataInvalid, "reference data invalid"),
    (0x6985, ConditionsNotSatisfied, "conditions of use not satisfied"),
    (0x6986, NoCurrentEF, "command not allowed: no current EF"),
    (0x6988, SecureMessagingError, "secure messaging data objects incorrect"),
    (0x6A80, WrongData, "wrong data"),
    (0x6A81, FunctionNotSupported, "function not supported or application locked"),
    (0x6A82, FileNotFound, "file not found"),
    (0x6A83, RecordNotFound, "record not found"),
    (0x6A86, IncorrectP1P2, "incorrect parameters P1-P2"),
    (0x6A88, KeyNotFound, "key or referenced data not found"),
    (0x6C1E, WrongLe, "wrong Le, exact length is 30"),
    (0x6E00, ClassNotSupported, "class not supported (wrong CLA)"),
    (0x9303, ApplicationPermanentlyLocked, "application permanently locked"),
    # common ISO 7816-4 words
    (0x6D00, InstructionNotSupported, "instruction not supported"),
    (0x6A84, MemoryFailure, "not enough memory space in the file"),
    (0x6A87, WrongLength, "Lc inconsistent with P1-P2"),
    (0x6B00, IncorrectP1P2, "wrong parameters P1-P2"),
    (0x6F00, CardError, "no precise diagnosis"),
    (0x6281, CardWarning, "warning: part of the returned data may be corrupted"),
    (0x6283, CardWarning, "warning: the selected file is deactivated"),
    (0x6400, CardError, "execution error, non-volatile memory unchanged"),
    (0x6882, SecureMessagingError, "secure messaging not supported"),
    (0x6883, ClassNotSupported, "last command of the chain expected"),
    (0x6110, CardError, "16 response bytes still available"),
    # families and unknowns
    (0x6200, CardWarning, "warning: non-volatile memory unchanged"),
    (0x6300, CardWarning, "warning: non-volatile memory changed"),
    (0x6A99, UnknownStatus, "unknown status word"),
    (0x9F10, UnknownStatus, "unknown status word"),
    (0x0000, UnknownStatus, "unknown status word"),
]


@pytest.mark.parametrize(("sw", "cls", "meaning"), TABLE)
def test_each_word_maps_to_its_class_and_meaning(
    sw: int, cls: type[CardError], meaning: str
) -> None:
    error = error_for(sw)
    assert type(error) is cls
    assert isinstance(error, SscardError)
    assert error.sw == sw
    assert error.meaning.startswith(meaning)
    assert describe(sw) == error.meaning
    assert str(error) == f"{sw:04X}: {error.meaning}"


def test_message_format() -> None:
    assert str(error_for(0x6982)) == "6982: security status not satisfied"


def test_success_is_not_an_error() -> None:
    assert describe(0x9000) == "success"
    with pytest.raises(ValueError, match="success"):
        error_for(0x9000)


@pytest.mark.parametrize("sw", [-1, 0x10000, True, "6982"])
def test_out_of_range_words_refused(sw: object) -> None:
    with pytest.raises(ValueError):
        describe(sw)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        error_for(sw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("sw", "tries"), [(0x63C0, 0), (0x63C1, 1), (0x63C2, 2), (0x63CF, 15)])
def test_tries_left(sw: int, tries: int) -> None:
    error = error_for(sw)
    assert isinstance(error, WrongPinOrCryptogram)
    assert error.tries_left == tries


def test_tries_wording() -> None:
    assert describe(0x63C1) == "wrong PIN or cryptogram, 1 try left"
    assert describe(0x63C0) == "wrong PIN or cryptogram, 0 tries left"


@pytest.mark.parametrize(("sw", "le"), [(0x6C08, 8), (0x6C1E, 30), (0x6C00, 256)])
def test_wrong_le_carries_the_correct_le(sw: int, le: int) -> None:
    error = error_for(sw)
    assert isinstance(error, WrongLe)
    assert error.correct_le == le


def test_classes_check_their_family() -> None:
    with pytest.raises(ValueError):
        WrongLe(0x6A82)
    with pytest.raises(ValueError):
        WrongPinOrCryptogram(0x6300)
    with pytest.raises(ValueError):
        CardError(0x10000)


def test_errors_can_be_raised_directly_with_default_meaning() -> None:
    assert str(FileNotFound(0x6A82)) == "6A82: file not found"
    assert WrongPinOrCryptogram(0x63C1).tries_left == 1


@pytest.mark.parametrize("sw", [0x6A82, 0x63C2, 0x6C1E, 0x6F00, 0x6A99])
def test_errors_pickle(sw: int) -> None:
    error = error_for(sw)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert (again.sw, again.meaning, str(again)) == (error.sw, error.meaning, str(error))
    assert getattr(again, "tries_left", None) == getattr(error, "tries_left", None)
    assert getattr(again, "correct_le", None) == getattr(error, "correct_le", None)


def test_every_card_error_class_is_exported_and_distinct() -> None:
    classes = {obj for obj in vars(apdu).values()
               if isinstance(obj, type) and issubclass(obj, CardError)}
    assert len(classes) == 23  # CardError, CardWarning and the 21 named ones
    assert {cls for _, cls, _ in TABLE} <= classes
    assert not issubclass(KeyNotFound, LookupError)  # no clash with the builtin KeyError family
