"""The application and enrolment forms as request objects: the same ones the command line builds.

Parsing reuses the command line's helpers (:mod:`sscard_issuer.cli.apply`): every problem found
while reading the fields is reported together with those the request's own checks find, so the
operator fixes the form in one go; the photo is judged once the form is right.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import cast

from starlette.datastructures import FormData

from sscard_issuer.applications.document_numbers import DocumentType
from sscard_issuer.applications.documents import IdentityDocument
from sscard_issuer.applications.requests import (
    Agent,
    Applicant,
    ApplicationKind,
    ApplicationRequest,
    Delivery,
    DeliveryMethod,
)
from sscard_issuer.cli.apply import Form, document, parse_date
from sscard_issuer.cli.apply import applicant as cli_applicant
from sscard_issuer.errors import FieldError

MAX_PHOTO = 1024 * 1024  # far above the budget: the check then says "too large" in words

FORM_KINDS = (ApplicationKind.INDIVIDUAL, ApplicationKind.PROXY, ApplicationKind.STUDENT)
DOCUMENT_TYPES = tuple(DocumentType)


def value(fields: Mapping[str, str], name: str) -> str | None:
    """A field's text, or None when it was left empty."""
    got = (fields.get(name) or "").strip()
    return got or None


def applicant(form: Form, fields: Mapping[str, str]) -> Applicant:
    """The applicant from the form, read as the command line reads its options; what is wrong goes to ``form``."""
    return cli_applicant(form, name=value(fields, "name") or "", sex=value(fields, "sex") or "",
                         birth_date=value(fields, "birth_date"),
                         document_type=value(fields, "document_type") or "resident_id_card",
                         document_number=value(fields, "document_number") or "", country=value(fields, "country"),
                         ethnicity=value(fields, "ethnicity"), phone=value(fields, "phone"), ask_birth_date=None)


def _agent(form: Form, fields: Mapping[str, str], *, proxy: bool) -> Agent | None:
    name, number = value(fields, "agent_name"), value(fields, "agent_document_number")
    reference, signed = value(fields, "commitment_reference"), fields.get("commitment_signed") == "on"
    if not proxy:  # the agent's fields of a form switched to another kind are ignored
        return None
    doc = None
    if number is None:
        form.blame("agent_document_number", "the agent's document number", "须填写代办人证件号码")
    else:
        doc = form.take(lambda: document(value(fields, "agent_document_type") or "resident_id_card", number,
                                         value(fields, "agent_country"), prefix="agent_"))
    if doc is None:
        form.placeholders.add("agent_document")
    return Agent(name=name or "", document=cast(IdentityDocument, doc), commitment_signed=signed,
                 commitment_reference=reference or "")


def kind_of(form: Form, fields: Mapping[str, str]) -> ApplicationKind:
    chosen = value(fields, "kind") or ApplicationKind.INDIVIDUAL.value
    kind = next((k for k in FORM_KINDS if k.value == chosen), None)
    if kind is None:
        form.blame("kind", "individual, proxy or student", "申领类型须为个人、委托代办或在校学生", chosen)
        return ApplicationKind.INDIVIDUAL
    return kind


def delivery(form: Form, fields: Mapping[str, str]) -> Delivery:
    method = value(fields, "delivery") or DeliveryMethod.COLLECT.value
    if method not in (DeliveryMethod.COLLECT.value, DeliveryMethod.EMS.value):
        form.blame("delivery", "collect or ems", "领卡方式须为网点领取或 EMS 邮寄", method)
        method = DeliveryMethod.COLLECT.value
    if method == DeliveryMethod.COLLECT.value:  # the mailing fields of a form switched back are ignored
        return Delivery(method=DeliveryMethod.COLLECT, outlet_code=value(fields, "collect_at"))
    return Delivery(method=DeliveryMethod.EMS, recipient_name=value(fields, "recipient_name"),
                    recipient_phone=value(fields, "recipient_phone"), address=value(fields, "address"),
                    postcode=value(fields, "postcode"))


def application(fields: Mapping[str, str], photo: bytes | None) -> tuple[ApplicationRequest, Form]:
    """The request the form describes, and what reading it found wrong (reported when filing)."""
    form = Form()
    kind = kind_of(form, fields)
    student = kind is ApplicationKind.STUDENT
    request = ApplicationRequest(
        kind=kind, applicant=applicant(form, fields), photo=photo, delivery=delivery(form, fields),
        instant=fields.get("instant") == "on", agent=_agent(form, fields, proxy=kind is ApplicationKind.PROXY),
        school_name=value(fields, "school_name") if student else None,
        student_number=value(fields, "student_number") if student else None,
    )
    return request, form


def enrolment(fields: Mapping[str, str]) -> tuple[Applicant, date]:
    """The person and the date their insurance began; raises ValidationError with every problem."""
    form = Form()
    person = applicant(form, fields)
    since_text = value(fields, "insured_since")
    since = form.take(lambda: parse_date("insured_since", since_text or "")) if since_text else None
    if since_text is None:
        form.errors.append(FieldError("insured_since", "the date the insurance began (YYYY-MM-DD)"))
    form.check()
    assert since is not None
    return person, since


async def upload(form: FormData, name: str, limit: int) -> bytes | None:
    """An uploaded file's bytes (None: none chosen); one over ``limit`` is refused, not read whole."""
    item = form.get(name)
    if item is None or isinstance(item, str):
        return None
    data = await item.read(limit + 1)
    if not data:
        return None
    if len(data) > limit:
        raise FieldError(name, f"a file of at most {limit // 1024} KB", f"{len(data) // 1024}+ KB")
    return data
