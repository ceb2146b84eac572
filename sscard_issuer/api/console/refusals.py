"""Typed errors as the operator reads them: a headline, the rule or each reason, and an HTTP status.

The same words as the command line's (:mod:`sscard_issuer.cli.errors`): the headlines come from its
catalogue, the reasons from the errors themselves (each carries Chinese and English). Fields are
named as the form labels them. Errors that are not the toolkit's are bugs and are not caught here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sscard_issuer.api.console.i18n import Lang, field_label, text
from sscard_issuer.api.console.throttle import TooManySignIns
from sscard_issuer.applications.photo import PhotoRejected
from sscard_issuer.cli.errors import audit_problem_text
from sscard_issuer.errors import FieldError, SscardError, ValidationError
from sscard_issuer.lifecycle.access import Forbidden
from sscard_issuer.lifecycle.errors import CardNotFound, ConcurrentChange, IllegalTransition, NotEligible
from sscard_issuer.outlet.job import JobRefused
from sscard_issuer.registry.audit import AuditTampered


@dataclass(frozen=True)
class Refusal:
    headline: str
    reasons: tuple[str, ...]
    status: int

    @property
    def text(self) -> str:
        return "\n".join((self.headline, *self.reasons))


def field_reason(error: FieldError, lang: Lang) -> str:
    """``label: what is expected``, in the operator's language where the error has it."""
    label = field_label(error.field, lang)
    if lang == "zh":
        expected_zh = getattr(error, "expected_zh", None) or getattr(error, "message_zh", None)
        if isinstance(expected_zh, str):
            shown = "" if error.got is None else f"（填写的是 {_short(error.got)}）"
            return f"{label}：{expected_zh}{shown}"
        shown = "" if error.got is None else f"（填写的是 {_short(error.got)}）"
        return f"{label}：须为 {error.expected}{shown}"
    shown = "" if error.got is None else f" (got {_short(error.got)})"
    return f"{label}: expected {error.expected}{shown}"


def _short(value: object) -> str:
    shown = str(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def explain(error: SscardError, lang: Lang) -> Refusal:
    """What went wrong, in words an operator (and the applicant in front of them) understands."""
    if isinstance(error, TooManySignIns):
        return Refusal(text("too_many_sign_ins", lang), (error.message(lang),), 429)
    if isinstance(error, Forbidden):
        return Refusal(text("forbidden", lang), (error.message(lang),), 403)
    if isinstance(error, IllegalTransition):
        return Refusal(text("illegal_transition", lang), (error.display(lang),), 409)
    if isinstance(error, NotEligible):
        return Refusal(text("not_eligible", lang), (error.message(lang),), 409)
    if isinstance(error, ConcurrentChange):
        return Refusal(text("changed_meanwhile", lang), (error.message_zh if lang == "zh" else str(error),), 409)
    if isinstance(error, CardNotFound):
        return Refusal(text("card_not_found", lang), (error.message_zh if lang == "zh" else str(error),), 404)
    if isinstance(error, JobRefused):
        return Refusal(text("job_refused", lang), (error.message(lang),), 409)
    if isinstance(error, PhotoRejected):
        return Refusal(text("photo_rejected", lang), tuple(error.messages(lang)), 422)
    if isinstance(error, ValidationError):
        return Refusal(text("bad_input", lang), tuple(field_reason(e, lang) for e in error.errors), 422)
    if isinstance(error, FieldError):
        return Refusal(text("bad_input", lang), (field_reason(error, lang),), 422)
    if isinstance(error, AuditTampered):
        return Refusal(text("audit_tampered", lang),
                       tuple(audit_problem_text(p, lang) for p in error.report.problems), 409)
    message = getattr(error, "message_zh", None)
    return Refusal(text("error_other", lang), (message if lang == "zh" and isinstance(message, str) else str(error),),
                   400)
