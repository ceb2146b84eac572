"""What an application asks for, checked as a whole before the registry is touched.

:func:`check_request` collects every problem at once (a :class:`ValidationError` whose errors each
name a field, in English and Chinese) so the clerk fixes the form in one go. What needs the
registry (is the person insured, do they already hold a card, does the outlet take this kind of
application) is decided by the registry's service, after these checks pass.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date

from sscard_issuer.applications.codes import check_phone, check_postcode
from sscard_issuer.applications.document_numbers import DocumentError
from sscard_issuer.applications.documents import IdentityDocument, age_on, check_applicable
from sscard_issuer.applications.photo import Photo, PhotoRules, check_photo
from sscard_issuer.errors import FieldError, ValidationError

__all__ = [
    "Agent",
    "Applicant",
    "ApplicationKind",
    "ApplicationRequest",
    "CheckedRequest",
    "Delivery",
    "DeliveryMethod",
    "check_applicant",
    "check_name",
    "check_request",
]

# what the registry's columns hold
_LIMITS = {"school_name": 128, "student_number": 32, "commitment_reference": 128}
_NAME = re.compile(r"[\u3400-\u9fff\u00b7A-Za-z][\u3400-\u9fff\u00b7A-Za-z .'-]{0,62}")


class ApplicationKind(enum.Enum):
    INDIVIDUAL = "individual"  # the applicant in person
    PROXY = "proxy"  # filed by an agent (委托代办): agent's document and signed commitment recorded
    EMPLOYER_BATCH = "employer_batch"  # a row of an employer's batch form (单位批量申请)
    STUDENT = "student"  # a pupil or student (在校学生申领), school and student number recorded
    REPLACEMENT = "replacement"  # the successor of a replaced card (补换)

    def display(self, lang: str = "zh") -> str:
        zh, en = _KIND_NAMES[self]
        return en if lang == "en" else zh


_KIND_NAMES = {
    ApplicationKind.INDIVIDUAL: ("个人申领", "individual"),
    ApplicationKind.PROXY: ("委托代办", "by an agent"),
    ApplicationKind.EMPLOYER_BATCH: ("单位批量申领", "employer batch"),
    ApplicationKind.STUDENT: ("在校学生申领", "student"),
    ApplicationKind.REPLACEMENT: ("补换卡", "replacement"),
}


class DeliveryMethod(enum.Enum):
    COLLECT = "collect"  # at an outlet (instant issuance is a collection on the spot)
    EMS = "ems"  # mailed by China Post EMS, one card per item, paid by the holder


def check_name(value: object, field_name: str = "name") -> str:
    """A name as on the document: Chinese (with · for minority names) or Latin letters."""
    if not isinstance(value, str) or not _NAME.fullmatch(value.strip()):
        raise DocumentError(field_name, "a name in Chinese characters or Latin letters, at most 63 characters",
                            "姓名须为汉字或拉丁字母，不超过 63 个字符", value)
    return value.strip()


def birth_date_with(document_birth: date | None, given: date | None, *,
                    missing: tuple[str, str] = ("the date of birth: this document number does not carry it",
                                                "请填写出生日期：该证件号码中不含出生日期")) -> date | None:
    """The applicant's date of birth from what they gave and what their document number carries
    (``document_birth``): either alone, or both when they agree. ``missing``: the English and
    Chinese of what to ask for when neither says it. :class:`DocumentError` otherwise."""
    if given is None:
        if document_birth is None:
            raise DocumentError("birth_date", *missing)
        return document_birth
    if document_birth is not None and given != document_birth:
        raise DocumentError("birth_date", f"the date in the document number ({document_birth.isoformat()})",
                            f"出生日期须与证件号码中的一致（{document_birth.isoformat()}）", given.isoformat())
    return given


@dataclass(frozen=True, kw_only=True)
class Applicant:
    """The person the card is for, as their document shows them."""

    name: str
    sex: str  # GB/T 2261.1: "1" male, "2" female
    birth_date: date
    document: IdentityDocument
    ethnicity: str | None = None  # GB/T 3304 two digits, citizens only
    phone: str | None = None


@dataclass(frozen=True, kw_only=True)
class Agent:
    """Who files for the applicant (委托代办): their document and the signed commitment (承诺书)."""

    name: str
    document: IdentityDocument
    commitment_signed: bool
    commitment_reference: str  # the scanned, signed commitment's reference in the document store


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """Collection at an outlet (``outlet_code`` None: where the application is filed), or EMS."""

    method: DeliveryMethod = DeliveryMethod.COLLECT
    outlet_code: str | None = None
    recipient_name: str | None = None
    recipient_phone: str | None = None
    address: str | None = None
    postcode: str | None = None


@dataclass(frozen=True, kw_only=True)
class ApplicationRequest:
    kind: ApplicationKind
    applicant: Applicant
    photo: bytes | None = field(default=None, repr=False)
    delivery: Delivery = field(default_factory=Delivery)
    instant: bool = False  # made at the outlet while the applicant waits (即时制卡)
    agent: Agent | None = None
    school_name: str | None = None
    student_number: str | None = None


@dataclass(frozen=True)
class CheckedRequest:
    """A request that passed every check that needs no registry, with its photo decoded."""

    request: ApplicationRequest
    photo: Photo | None
    age: int


def _catch(errors: list[FieldError], check: object, *args: object) -> object:
    try:
        return check(*args)  # type: ignore[operator]
    except FieldError as error:
        errors.append(error)
        return None


def check_request(request: ApplicationRequest, *, on: date, photo_rules: PhotoRules) -> CheckedRequest:
    """Every check that needs no registry; raises :class:`ValidationError` or :class:`PhotoRejected`.

    Field problems come first (all of them); the photo is judged once the form is right, because
    its rules depend on the age the form gives.
    """
    errors: list[FieldError] = []
    if not isinstance(request.kind, ApplicationKind):
        errors.append(FieldError("kind", "an ApplicationKind", request.kind))
    age = _applicant_problems(request.applicant, on, errors, applying=True)
    _check_agent(request, errors)
    _check_student(request, errors)
    _check_delivery(request, errors)
    if errors:
        raise ValidationError(errors)
    photo = check_photo(request.photo, photo_rules, applicant_age=age)
    return CheckedRequest(request, photo, age)


def check_applicant(applicant: Applicant, *, on: date) -> None:
    """The person's own fields, as for an enrolment record: name, sex, birth date (agreeing with the
    document number, not in the future), ethnicity, phone. Raises :class:`ValidationError`."""
    errors: list[FieldError] = []
    _applicant_problems(applicant, on, errors, applying=False)
    if errors:
        raise ValidationError(errors)


def _applicant_problems(applicant: Applicant, on: date, errors: list[FieldError], *, applying: bool) -> int:
    """Add the applicant's field problems to ``errors``; the age on ``on`` (0 if unknown)."""
    _catch(errors, check_name, applicant.name)
    if applicant.sex not in ("1", "2"):
        errors.append(DocumentError("sex", "1 (male) or 2 (female)", "性别须为 1（男）或 2（女）", applicant.sex))
    age = 0
    if not isinstance(applicant.document, IdentityDocument):
        errors.append(FieldError("document", "an IdentityDocument", type(applicant.document).__name__))
    elif isinstance(applicant.birth_date, date):
        age_result = _catch(errors, age_on, applicant.birth_date, on)
        age = age_result if isinstance(age_result, int) else 0
        if applying:  # the household register is for children applying; a record may hold it later
            _catch(errors, check_applicable, applicant.document.type, applicant.birth_date, on)
        born = applicant.document.birth_date
        if born is not None and born != applicant.birth_date:
            errors.append(DocumentError("birth_date", f"the date in the document number ({born.isoformat()})",
                                        f"出生日期须与证件号码中的一致（{born.isoformat()}）", applicant.birth_date.isoformat()))
    else:
        errors.append(FieldError("birth_date", "a date", applicant.birth_date))
    if applicant.ethnicity is not None and not re.fullmatch(r"[0-9]{2}", applicant.ethnicity):
        errors.append(DocumentError("ethnicity", "a two-digit GB/T 3304 code", "民族须为两位代码（GB/T 3304）",
                                    applicant.ethnicity))
    if applicant.phone is not None:
        _catch(errors, check_phone, applicant.phone)
    return age


def _check_agent(request: ApplicationRequest, errors: list[FieldError]) -> None:
    agent = request.agent
    if request.kind is not ApplicationKind.PROXY:
        if agent is not None:
            errors.append(DocumentError("agent", "no agent: only a proxy application has one",
                                        "只有委托代办需要填写代办人", agent.name))
        return
    if agent is None:
        errors.append(DocumentError("agent", "the agent's name, identity document and signed commitment",
                                    "委托代办须提供代办人姓名、有效身份证件原件和代办人签字的承诺书"))
        return
    _catch(errors, check_name, agent.name, "agent_name")
    if not isinstance(agent.document, IdentityDocument):
        errors.append(FieldError("agent_document", "an IdentityDocument", type(agent.document).__name__))
    elif agent.document == request.applicant.document or (
            agent.document.type, agent.document.number) == (request.applicant.document.type,
                                                            request.applicant.document.number):
        errors.append(DocumentError("agent_document", "the agent's own document, not the applicant's",
                                    "代办人须出示本人的有效身份证件，不能是申请人的证件"))
    if agent.commitment_signed is not True:
        errors.append(DocumentError("commitment_signed", "the commitment signed by the agent",
                                    "承诺书须由代办人签字"))
    if isinstance(agent.commitment_reference, str) and len(agent.commitment_reference.strip()) > _LIMITS["commitment_reference"]:
        errors.append(DocumentError("commitment_reference", f"at most {_LIMITS['commitment_reference']} characters",
                                    f"承诺书编号不能超过 {_LIMITS['commitment_reference']} 个字符",
                                    agent.commitment_reference[:40]))
    elif not isinstance(agent.commitment_reference, str) or not agent.commitment_reference.strip():
        errors.append(DocumentError("commitment_reference", "the reference of the signed commitment's scan",
                                    "须登记已签字承诺书的扫描件编号"))


def _check_student(request: ApplicationRequest, errors: list[FieldError]) -> None:
    student = request.kind is ApplicationKind.STUDENT
    for name, label_zh in (("school_name", "学校名称"), ("student_number", "学籍号")):
        value = getattr(request, name)
        if student and (not isinstance(value, str) or not value.strip()):
            errors.append(DocumentError(name, f"the {name.replace('_', ' ')} of a student application",
                                        f"学生申领须填写{label_zh}"))
        elif student and len(value) > _LIMITS[name]:
            errors.append(DocumentError(name, f"at most {_LIMITS[name]} characters",
                                        f"{label_zh}不能超过 {_LIMITS[name]} 个字符", value[:40]))
        elif not student and value is not None:
            errors.append(DocumentError(name, "nothing: only a student application has it",
                                        f"只有学生申领填写{label_zh}", value))


def _check_delivery(request: ApplicationRequest, errors: list[FieldError]) -> None:
    delivery = request.delivery
    if delivery.method is DeliveryMethod.EMS:
        if request.instant:
            errors.append(DocumentError("instant", "collection at the outlet: an instant card is handed over on the spot",
                                        "即时制卡须现场领取，不能邮寄"))
        if not delivery.recipient_name:
            errors.append(DocumentError("recipient_name", "the recipient's name for EMS", "邮寄须填写收件人姓名"))
        else:
            _catch(errors, check_name, delivery.recipient_name, "recipient_name")
        if not delivery.recipient_phone:
            errors.append(DocumentError("recipient_phone", "the recipient's phone for EMS", "邮寄须填写收件人电话"))
        else:
            _catch(errors, check_phone, delivery.recipient_phone, "recipient_phone")
        if not delivery.address or len(delivery.address.strip()) < 6 or len(delivery.address) > 256:
            errors.append(DocumentError("address", "the full postal address (6 to 256 characters)",
                                        "邮寄须填写完整的收件地址（6 至 256 个字符）", delivery.address))
        if not delivery.postcode:
            errors.append(DocumentError("postcode", "the postcode for EMS", "邮寄须填写邮政编码"))
        else:
            _catch(errors, check_postcode, delivery.postcode)
        if delivery.outlet_code is not None:
            errors.append(DocumentError("outlet_code", "no collection outlet for a mailed card",
                                        "邮寄的卡不需要领卡网点", delivery.outlet_code))
    elif delivery.method is DeliveryMethod.COLLECT:
        for name in ("recipient_name", "recipient_phone", "address", "postcode"):
            if getattr(delivery, name) is not None:
                errors.append(DocumentError(name, "nothing: the card is collected, not mailed",
                                            "到网点领卡不需要填写邮寄信息", getattr(delivery, name)))
        if request.instant and delivery.outlet_code is not None:
            errors.append(DocumentError("outlet_code", "the outlet that makes the card: an instant card is collected there",
                                        "即时制卡在办理网点现场领取，不能指定其他领卡网点", delivery.outlet_code))
    else:
        errors.append(FieldError("delivery", "DeliveryMethod.COLLECT or DeliveryMethod.EMS", delivery.method))
