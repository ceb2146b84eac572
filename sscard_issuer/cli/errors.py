"""Turn typed errors into a plain headline, the detail, and an exit code, at the CLI's edge only.

Exit codes: 0 done; 1 unexpected failure (a bug: the traceback is kept); 2 usage (a missing
option, ``--operator`` among them); 3 the card is not genuine; 4 the card refused (wrong or locked
PIN, locked application, other status words); 5 reader or card unavailable (pcscd down, no reader,
no card, removed, mute); 6 invalid input (every field to fix listed, a refused photo with every
reason); 7 key store problem; 8 the card is spoiled (reject it).

The registry's commands add: 9 refused by a rule (the applicant is not eligible, or the action is
not possible in the card's state: the state and the possible actions are named); 10 not allowed
(the member of staff may not do this, or not at this outlet, or is unknown); 11 changed meanwhile
(``--expected-version`` no longer matches: read the card again); 12 the audit log is tampered with
(each problem listed); 13 no such card; 14 the registry database cannot be opened.

The registry's errors are recognised without importing their modules (SQLAlchemy, Pillow): an
instance can only exist once its class's module is loaded, so the class is looked up there. This
keeps ``sscard --help`` and card reading fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sscard_issuer.apdu import (
    ApplicationPermanentlyLocked,
    AuthenticationBlocked,
    CardError,
    FunctionNotSupported,
    WrongPinOrCryptogram,
)
from sscard_issuer.card.reader import CardDataError, PinError, PinLocked, WrongPin
from sscard_issuer.cli.messages import Lang, language, text
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
EXIT_REFUSED = 9
EXIT_FORBIDDEN = 10
EXIT_CONFLICT = 11
EXIT_TAMPERED = 12
EXIT_NOT_FOUND = 13
EXIT_REGISTRY = 14


class RegistryUnavailable(SscardError):
    """The registry database could not be opened (bad URL, server down, unwritable folder)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(f"{url}: {reason}")


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


def field_reason(error: FieldError, lang: Lang) -> str:
    """One field's problem: ``field: what is expected``, in Chinese where the error has it."""
    if lang == "zh":
        expected_zh = getattr(error, "expected_zh", None) or getattr(error, "message_zh", None)
        if isinstance(expected_zh, str):
            shown = "" if error.got is None else f"（填写的是 {error.got!r}）"
            return f"{error.field}: {expected_zh}{shown}"
    return str(error)


def _listed(lines: list[str], lang: Lang, heading: str = "fields_to_fix") -> str:
    return text(heading, lang, count=len(lines)) + "".join(f"\n  - {line}" for line in lines)


def audit_problem_text(problem: Any, lang: Lang) -> str:
    """An :class:`~sscard_issuer.registry.audit.AuditProblem` in the operator's language."""
    if lang == "en":
        return str(problem.message)
    if problem.what == "head":
        unexpected = str(problem.message).startswith("the head hash")
        return text("audit_head_unexpected" if unexpected else "audit_head_wrong", lang, seq=problem.seq)
    key = {"changed": "audit_changed", "reordered": "audit_reordered"}.get(problem.what, "audit_removed")
    return text(key, lang, seq=problem.seq)


def _in_language(error: Any, lang: Lang) -> str:
    zh = getattr(error, "message_zh", None)
    return zh if lang == "zh" and isinstance(zh, str) else str(error)


# (module, class, headline, exit code, the reason in the operator's language), most specific first
_REGISTRY_FAILURES: tuple[tuple[str, str, str, int, Callable[[Any, Lang], str]], ...] = (
    ("sscard_issuer.registry.audit", "AuditTampered", "audit_tampered", EXIT_TAMPERED,
     lambda e, lang: _listed([audit_problem_text(p, lang) for p in e.report.problems], lang, "problems_found")),
    ("sscard_issuer.lifecycle.errors", "ConcurrentChange", "changed_meanwhile", EXIT_CONFLICT, _in_language),
    ("sscard_issuer.lifecycle.errors", "IllegalTransition", "illegal_transition", EXIT_REFUSED,
     lambda e, lang: str(e.display(lang))),
    ("sscard_issuer.lifecycle.errors", "NotEligible", "not_eligible", EXIT_REFUSED, lambda e, lang: str(e.message(lang))),
    ("sscard_issuer.outlet.job", "JobRefused", "not_eligible", EXIT_REFUSED, lambda e, lang: str(e.message(lang))),
    ("sscard_issuer.outlet.printer", "PrinterError", "printer_error", EXIT_READER, lambda e, lang: str(e)),
    ("sscard_issuer.registry.credentials", "EcardError", "not_eligible", EXIT_REFUSED,
     lambda e, lang: str(e.message(lang))),
    ("sscard_issuer.lifecycle.errors", "CardNotFound", "card_not_found", EXIT_NOT_FOUND, lambda e, lang: str(e.key)),
    ("sscard_issuer.lifecycle.access", "Forbidden", "forbidden", EXIT_FORBIDDEN, lambda e, lang: str(e.message(lang))),
    ("sscard_issuer.applications.photo", "PhotoRejected", "photo_rejected", EXIT_INPUT,
     lambda e, lang: _listed(list(e.messages(lang)), lang, "problems_found")),
)


def _registry_failure(error: SscardError, lang: Lang) -> Failure | None:
    if isinstance(error, RegistryUnavailable):
        return Failure(text("registry_unavailable", lang), str(error), EXIT_REGISTRY)
    for module, name, key, code, reason in _REGISTRY_FAILURES:
        kind = getattr(sys.modules.get(module), name, None)
        if isinstance(kind, type) and isinstance(error, kind):
            return Failure(text(key, lang), reason(error, lang), code)
    if isinstance(error, ValidationError):
        return Failure(text("bad_input", lang), _listed([field_reason(e, lang) for e in error.errors], lang),
                       EXIT_INPUT)
    if isinstance(error, FieldError):
        return Failure(text("bad_input", lang), field_reason(error, lang), EXIT_INPUT)
    return None


def describe_failure(error: SscardError, *, context: str | None = None) -> Failure:
    """``context`` says what the command was doing when the card refused ("pin" for VERIFY)."""
    if isinstance(error, CardError):
        return _card_failure(error, context)
    registry = _registry_failure(error, language())
    if registry is not None:
        return registry
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
        (KeyStoreError, "keys", EXIT_KEYS),
        (ImageError, "image", EXIT_INPUT),
        (CardDataError, "card_error", EXIT_CARD),
    )
    for kind, key, code in table:
        if isinstance(error, kind):
            return Failure(text(key), str(error), code)
    return Failure(text("error"), str(error), 1)
