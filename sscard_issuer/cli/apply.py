"""``sscard apply`` and ``sscard person enrol``: an application (or an enrolment) from the counter.

The command line becomes the same request objects the web console builds. Every field problem is
reported at once: those found while reading the options (a document number, a date) together with
those :func:`~sscard_issuer.applications.requests.check_request` finds in the rest of the form,
so the clerk fixes the form in one go. The photo is judged once the form is right.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar, cast

import typer

from sscard_issuer.cli.common import plain_errors
from sscard_issuer.cli.messages import text
from sscard_issuer.cli.registry_common import (
    DatabaseOpt,
    JsonOpt,
    OperatorOpt,
    acting,
    open_office,
    print_json,
    read_file,
    show_fields,
)
from sscard_issuer.errors import FieldError

if TYPE_CHECKING:
    from sscard_issuer.applications.documents import IdentityDocument
    from sscard_issuer.applications.requests import Agent, Applicant, ApplicationRequest, Delivery
    from sscard_issuer.lifecycle.access import Actor
    from sscard_issuer.lifecycle.filing import Filed
    from sscard_issuer.lifecycle.office import Office

T = TypeVar("T")

DOCUMENT_TYPES = ("resident_id_card, temporary_id_card, household_register, hk_macao_travel_permit, "
                  "taiwan_travel_permit, hmt_residence_permit, foreign_passport, foreign_permanent_residence_id")


class Kind(enum.Enum):
    INDIVIDUAL = "individual"
    PROXY = "proxy"
    STUDENT = "student"


class DeliveryChoice(enum.Enum):
    COLLECT = "collect"
    EMS = "ems"


NameOpt = Annotated[str, typer.Option("--name", help="Name as on the document (Chinese, or Latin letters).")]
SexOpt = Annotated[str, typer.Option("--sex", metavar="1|2|male|female", help="1 or male, 2 or female.")]
BirthOpt = Annotated[str | None, typer.Option(
    "--birth-date", metavar="YYYY-MM-DD", help="Date of birth; default: the one in an 18-character number.")]
DocTypeOpt = Annotated[str, typer.Option("--document-type", help=f"One of: {DOCUMENT_TYPES}.")]
DocNumberOpt = Annotated[str, typer.Option("--document-number", help="The document's number.")]
CountryOpt = Annotated[str | None, typer.Option(
    "--country", metavar="ISO3", help="Issuing state of a passport (ISO 3166-1 alpha-3, e.g. DEU).")]
EthnicityOpt = Annotated[str | None, typer.Option("--ethnicity", metavar="NN", help="GB/T 3304 code, citizens.")]
PhoneOpt = Annotated[str | None, typer.Option("--phone", help="The applicant's mobile number.")]
PhotoOpt = Annotated[Path | None, typer.Option(
    "--photo", metavar="FILE", help="The photo (JPEG); none for a child under 7.")]
InstantOpt = Annotated[bool, typer.Option("--instant", help="Instant issuance: made at the outlet while they wait.")]
DeliveryOpt = Annotated[DeliveryChoice, typer.Option("--delivery", help="Collect at an outlet, or mail by EMS.")]
CollectAtOpt = Annotated[str | None, typer.Option(
    "--collect-at", metavar="OUTLET", help="Outlet to collect at; default: where filed.")]
RecipientOpt = Annotated[str | None, typer.Option("--recipient", help="EMS: the recipient's name.")]
RecipientPhoneOpt = Annotated[str | None, typer.Option("--recipient-phone", help="EMS: the recipient's phone.")]
AddressOpt = Annotated[str | None, typer.Option("--address", help="EMS: the full postal address.")]
PostcodeOpt = Annotated[str | None, typer.Option("--postcode", help="EMS: the postcode.")]


class Form:
    """Field errors found while the options become request objects, reported all at once.

    ``placeholders`` names the fields left empty because their option was wrong: the later
    checks would blame them again, in vaguer words, so their complaints are dropped.
    """

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.placeholders: set[str] = set()

    def take(self, build: Callable[[], T]) -> T | None:
        try:
            return build()
        except FieldError as error:
            self.errors.append(error)
            return None

    def blame(self, field: str, expected: str, expected_zh: str, got: object = None) -> None:
        from sscard_issuer.applications.document_numbers import DocumentError

        self.errors.append(DocumentError(field, expected, expected_zh, got))

    def merged(self, more: list[FieldError]) -> list[FieldError]:
        seen = {e.field for e in self.errors} | self.placeholders
        return self.errors + [e for e in more if e.field not in seen]

    def check(self) -> None:
        from sscard_issuer.errors import ValidationError

        if self.errors:
            raise ValidationError(self.errors)


def parse_date(field: str, value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        from sscard_issuer.applications.document_numbers import DocumentError

        raise DocumentError(field, "a date as YYYY-MM-DD", "日期格式须为 YYYY-MM-DD", value) from None


_SEXES = {"1": "1", "2": "2", "male": "1", "female": "2", "m": "1", "f": "2", "男": "1", "女": "2"}


def parse_sex(value: str) -> str:
    code = _SEXES.get(value.strip().lower())
    if code is None:
        from sscard_issuer.applications.document_numbers import DocumentError

        raise DocumentError("sex", "1 or male, 2 or female", "性别须为 1（男）或 2（女）", value)
    return code


def document(doc_type: str, number: str, country: str | None, *, prefix: str = "") -> IdentityDocument:
    """The identity document; an agent's fields are reported as ``agent_...``."""
    from sscard_issuer.applications.document_numbers import DocumentError, DocumentType
    from sscard_issuer.applications.documents import IdentityDocument

    try:
        return IdentityDocument(DocumentType.from_code(doc_type.strip()), number, country)
    except DocumentError as error:
        if not prefix:
            raise
        raise DocumentError(prefix + error.field, error.expected, error.expected_zh, error.got) from None
    except FieldError as error:
        if not prefix:
            raise
        raise FieldError(prefix + error.field, error.expected, error.got) from None


_ASK_BIRTH_DATE = ("the date of birth (--birth-date YYYY-MM-DD): the document number does not carry it",
                   "请填写出生日期（--birth-date YYYY-MM-DD）：该证件号码不含出生日期")


def applicant(form: Form, *, name: str, sex: str, birth_date: str | None, document_type: str, document_number: str,
              country: str | None, ethnicity: str | None, phone: str | None,
              ask_birth_date: tuple[str, str] | None = _ASK_BIRTH_DATE) -> Applicant:
    """The applicant from the options (or a form's fields); what is wrong goes to ``form`` (and a
    placeholder in its place). ``ask_birth_date``: the English and Chinese of what to ask for when
    neither the date nor the document number gives it (``None``: the request's own words)."""
    from sscard_issuer.applications.codes import check_phone
    from sscard_issuer.applications.documents import IdentityDocument
    from sscard_issuer.applications.requests import Applicant, birth_date_with, check_name

    form.take(lambda: check_name(name))
    doc = form.take(lambda: document(document_type, document_number, country))
    if doc is None:
        form.placeholders.add("document")
    born = form.take(lambda: parse_date("birth_date", birth_date)) if birth_date is not None else None
    if doc is not None and (birth_date is None or born is not None):  # an unreadable date is reported already
        known, given = doc, born
        born = form.take(lambda: birth_date_with(known.birth_date, given) if ask_birth_date is None
                         else birth_date_with(known.birth_date, given, missing=ask_birth_date))
    code = form.take(lambda: parse_sex(sex))
    if ethnicity is not None and not (len(ethnicity) == 2 and ethnicity.isascii() and ethnicity.isdigit()):
        form.blame("ethnicity", "a two-digit GB/T 3304 code", "民族须为两位代码（GB/T 3304）", ethnicity)
    if phone is not None:
        form.take(lambda: check_phone(phone))
    return Applicant(name=name, sex=code or sex, birth_date=cast(date, born), document=cast(IdentityDocument, doc),
                     ethnicity=ethnicity, phone=phone)


def agent(form: Form, *, proxy: bool, name: str | None, document_type: str, document_number: str | None,
          country: str | None, commitment_ref: str | None, commitment_signed: bool) -> Agent | None:
    """The agent of a proxy application, if any agent option was given (on any other, the form says no)."""
    from sscard_issuer.applications.documents import IdentityDocument
    from sscard_issuer.applications.requests import Agent

    if not (name or document_number or commitment_ref or commitment_signed):
        return None
    doc = None
    if document_number is None:
        if proxy:
            form.blame("agent_document_number", "the agent's document number (--agent-document-number)",
                       "须填写代办人证件号码（--agent-document-number）")
    else:
        doc = form.take(lambda: document(document_type, document_number, country, prefix="agent_"))
    if doc is None:
        form.placeholders.add("agent_document")
    return Agent(name=name or "", document=cast(IdentityDocument, doc), commitment_signed=commitment_signed,
                 commitment_reference=commitment_ref or "")


def delivery(method: DeliveryChoice, *, collect_at: str | None, recipient: str | None, recipient_phone: str | None,
             address: str | None, postcode: str | None) -> Delivery:
    from sscard_issuer.applications.requests import Delivery, DeliveryMethod

    return Delivery(method=DeliveryMethod(method.value), outlet_code=collect_at, recipient_name=recipient,
                    recipient_phone=recipient_phone, address=address, postcode=postcode)


def file_application(office: Office, actor: Actor, request: ApplicationRequest, form: Form,
                     outlet: str | None) -> Filed:
    """File the request; if reading the options found problems, report them with the form's others."""
    from sscard_issuer.applications.photo import PhotoRejected
    from sscard_issuer.applications.requests import check_request
    from sscard_issuer.errors import ValidationError

    if not form.errors:
        return office.apply(actor, request, outlet_code=outlet)
    if request.agent is not None and "document" in form.placeholders:  # nothing to compare the agent's with
        request = dataclasses.replace(request, agent=dataclasses.replace(
            request.agent, document=cast("IdentityDocument", None)))
        form.placeholders.add("agent_document")
    more: list[FieldError] = []
    try:
        check_request(request, on=office.clock().date(), photo_rules=office.settings.photo)
    except ValidationError as error:
        more = error.errors
    except PhotoRejected:  # judged once the form is right
        pass
    raise ValidationError(form.merged(more))


def apply(
    name: NameOpt,
    sex: SexOpt,
    document_number: DocNumberOpt,
    kind: Annotated[Kind, typer.Option("--kind", help="In person, by an agent, or a student.")] = Kind.INDIVIDUAL,
    birth_date: BirthOpt = None,
    document_type: DocTypeOpt = "resident_id_card",
    country: CountryOpt = None,
    ethnicity: EthnicityOpt = None,
    phone: PhoneOpt = None,
    photo: PhotoOpt = None,
    agent_name: Annotated[str | None, typer.Option("--agent-name", help="Proxy: the agent's name.")] = None,
    agent_document_type: Annotated[str, typer.Option(
        "--agent-document-type", help="Proxy: the agent's document type.")] = "resident_id_card",
    agent_document_number: Annotated[str | None, typer.Option(
        "--agent-document-number", help="Proxy: the agent's document number.")] = None,
    agent_country: Annotated[str | None, typer.Option(
        "--agent-country", metavar="ISO3", help="Proxy: the agent's passport's state.")] = None,
    commitment_ref: Annotated[str | None, typer.Option(
        "--commitment-ref", metavar="REF", help="Proxy: reference of the signed commitment's scan.")] = None,
    commitment_signed: Annotated[bool, typer.Option(
        "--commitment-signed", help="Proxy: the agent signed the commitment.")] = False,
    school: Annotated[str | None, typer.Option("--school", help="Student: the school's name.")] = None,
    student_number: Annotated[str | None, typer.Option("--student-number", help="Student: 学籍号.")] = None,
    instant: InstantOpt = False,
    delivery_method: DeliveryOpt = DeliveryChoice.COLLECT,
    collect_at: CollectAtOpt = None,
    recipient: RecipientOpt = None,
    recipient_phone: RecipientPhoneOpt = None,
    address: AddressOpt = None,
    postcode: PostcodeOpt = None,
    outlet: Annotated[str | None, typer.Option(
        "--outlet", metavar="CODE", help="Outlet filing it; default: the operator's.")] = None,
    database: DatabaseOpt = None,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """File an application for a card (individual, by an agent, or a student). 申领社会保障卡。"""
    with plain_errors(), open_office(database) as office:
        from sscard_issuer.applications.requests import ApplicationKind, ApplicationRequest

        actor = acting(office, operator)
        form = Form()
        request = ApplicationRequest(
            kind=ApplicationKind(kind.value),
            applicant=applicant(form, name=name, sex=sex, birth_date=birth_date, document_type=document_type,
                                document_number=document_number, country=country, ethnicity=ethnicity, phone=phone),
            photo=form.take(lambda: read_file(photo, "photo")) if photo is not None else None,
            delivery=delivery(delivery_method, collect_at=collect_at, recipient=recipient,
                              recipient_phone=recipient_phone, address=address, postcode=postcode),
            instant=instant,
            agent=agent(form, proxy=kind is Kind.PROXY, name=agent_name, document_type=agent_document_type,
                        document_number=agent_document_number, country=agent_country,
                        commitment_ref=commitment_ref, commitment_signed=commitment_signed),
            school_name=school, student_number=student_number,
        )  # fmt: skip
        filed = file_application(office, actor, request, form, outlet)
    if as_json:
        print_json({"application_id": filed.application_id, "card_ref": filed.card_ref,
                    "person_id": filed.person_id})
    else:
        show_fields(text("application_filed"), [(text("application_id"), filed.application_id),
                                                (text("card_ref"), filed.card_ref)])


person_app = typer.Typer(help="People enrolled in social insurance. 参保人员。", no_args_is_help=True)


@person_app.command("enrol")
def enrol(
    name: NameOpt,
    sex: SexOpt,
    document_number: DocNumberOpt,
    insured_since: Annotated[str, typer.Option(
        "--insured-since", metavar="YYYY-MM-DD", help="Date the insurance began.")],
    birth_date: BirthOpt = None,
    document_type: DocTypeOpt = "resident_id_card",
    country: CountryOpt = None,
    ethnicity: EthnicityOpt = None,
    phone: PhoneOpt = None,
    database: DatabaseOpt = None,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a person's social insurance enrolment (what makes them eligible). 参保登记。"""
    with plain_errors(), open_office(database) as office:
        actor = acting(office, operator)
        form = Form()
        person = applicant(form, name=name, sex=sex, birth_date=birth_date, document_type=document_type,
                           document_number=document_number, country=country, ethnicity=ethnicity, phone=phone)
        since = form.take(lambda: parse_date("insured_since", insured_since))
        form.check()
        assert since is not None
        person_id = office.enrol(actor, person, insured_since=since)
    if as_json:
        print_json({"person_id": person_id, "insured_since": since.isoformat()})
    else:
        show_fields(text("enrolled"), [(text("person_id"), person_id), (text("name"), person.name),
                                       (text("insured_since"), since.isoformat())])
