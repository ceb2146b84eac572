"""Identity documents an individual applicant may bring, and the rules across their fields.

The accepted documents are the Nanning application page's list (居民身份证; 临时身份证; 户口簿 for
children under 16; 港澳台 travel or residence permits; 护照 or 永久居留证 for foreigners). An
:class:`IdentityDocument` is checked when built: the number in its real format
(:mod:`.document_numbers`), the country, and the birth date inside the number against the
applicant's. The household register only under 16 (:func:`applicable`), and the social security
number a document yields (:func:`social_security_number_for`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sscard_issuer.applications.countries import NUMERIC_BY_ALPHA3
from sscard_issuer.applications.document_numbers import (
    DocumentError,
    DocumentType,
    ParsedNumber,
    normalise,
    parse_number,
)
from sscard_issuer.card.identifiers import SocialSecurityNumber

__all__ = [
    "HOUSEHOLD_REGISTER_AGE_LIMIT",
    "IdentityDocument",
    "age_on",
    "applicable",
    "check_applicable",
    "social_security_number_for",
]

#: The household register is accepted for children who have not reached this age (seed page).
HOUSEHOLD_REGISTER_AGE_LIMIT = 16

# A foreign passport is not issued by China; Hong Kong, Macao and Taiwan residents bring permits.
_NOT_FOREIGN = frozenset({"CHN", "HKG", "MAC", "TWN"})


def _country(doc_type: DocumentType, given: object, parsed: ParsedNumber) -> str:
    """The document's country (ISO alpha-3): CHN for Chinese documents, else the holder's state."""
    carried = parsed.nationality
    if given is None and carried is not None:
        return carried
    country = normalise(given, "country") if given is not None else ""
    if carried is None:  # a passport: the country is the issuing state, and required
        if country not in NUMERIC_BY_ALPHA3:
            raise DocumentError("country", "the issuing state as an ISO 3166-1 alpha-3 code (e.g. DEU, not D)",
                                "须填写签发国家的三位字母代码（ISO 3166-1，如 DEU）", country or None)
        if country in _NOT_FOREIGN:
            raise DocumentError("country", "a foreign issuing state; Chinese citizens, including Hong Kong, "
                                "Macao and Taiwan residents, bring an ID card or permit",
                                "须为外国签发的护照；中国公民（含港澳台居民）请提供身份证件或通行证、居住证",
                                country)
        return country
    if country != carried:
        if doc_type.foreign:
            raise DocumentError("country", f"{carried}, the nationality in the number",
                                f"须与证件号码中的国籍一致（{carried}）", country)
        raise DocumentError("country", "CHN or nothing: this is a Chinese document",
                            "中国证件的国籍须为 CHN 或不填", country)
    return country


@dataclass(frozen=True)
class IdentityDocument:
    """One identity document as presented: type, number, and for foreigners the country.

    ``country`` is stored for every document: CHN for Chinese documents (given as ``None`` or
    ``"CHN"``), the nationality carried by a permanent residence number (checked if also given),
    the issuing state of a passport (required). ``holder_birth_date``, when given, must agree with
    the birth date inside the number.
    """

    type: DocumentType
    number: str
    country: str | None = None
    holder_birth_date: date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.type, DocumentType):
            raise DocumentError("document_type", "a DocumentType", "证件类型不正确", self.type)
        parsed = parse_number(self.type, self.number)
        object.__setattr__(self, "number", parsed.number)
        object.__setattr__(self, "country", _country(self.type, self.country, parsed))
        birth = self.holder_birth_date
        if birth is None:
            return
        if not isinstance(birth, date) or isinstance(birth, datetime):
            raise DocumentError("birth_date", "a date", "出生日期须为日期", type(birth).__name__)
        embedded = parsed.birth_digits
        if embedded is not None and embedded != birth.strftime("%Y%m%d" if len(embedded) == 8 else "%y%m%d"):
            raise DocumentError("document_number",
                                f"{self.type.name_en} number: the applicant's date of birth inside it",
                                f"{self.type.name_zh}号码中的出生日期与申请人出生日期不一致", embedded)

    @property
    def birth_date(self) -> date | None:
        """The birth date carried by an 18-character number, else ``None``."""
        if self.type not in _GB11643_TYPES or len(self.number) != 18:
            return None
        return date(int(self.number[6:10]), int(self.number[10:12]), int(self.number[12:14]))


def age_on(birth_date: date, on: date) -> int:
    """Completed years on ``on``; the birthday itself counts (29 February: from 1 March)."""
    if birth_date > on:
        raise DocumentError("birth_date", "a date not after the application date",
                            "出生日期不能晚于申请日期", birth_date.isoformat())
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def applicable(doc_type: DocumentType, birth_date: date, on: date) -> bool:
    """Whether ``doc_type`` is accepted from someone born on ``birth_date``, applying on ``on``."""
    if doc_type is DocumentType.HOUSEHOLD_REGISTER:
        return age_on(birth_date, on) < HOUSEHOLD_REGISTER_AGE_LIMIT
    age_on(birth_date, on)  # refuses a birth date in the future for every type
    return True


def check_applicable(doc_type: DocumentType, birth_date: date, on: date) -> None:
    """:func:`applicable`, raising a :class:`DocumentError` on ``document_type`` instead of False."""
    if not applicable(doc_type, birth_date, on):
        raise DocumentError("document_type",
                            f"a resident identity card: the household register is accepted only under "
                            f"{HOUSEHOLD_REGISTER_AGE_LIMIT}",
                            f"年满{HOUSEHOLD_REGISTER_AGE_LIMIT}周岁须提供居民身份证，户口簿仅适用于"
                            f"{HOUSEHOLD_REGISTER_AGE_LIMIT}周岁以下", doc_type.value)


def social_security_number_for(document: IdentityDocument) -> SocialSecurityNumber | None:
    """The social security number the document yields, or ``None`` if it carries none.

    Citizens: the 公民身份号码 (Social Insurance Law art. 58) on the resident ID card, temporary
    card or household register. 港澳台 residents and foreigners without one get a number "by the
    national rule" (人社部令第16号 art. 10, 外国人社会保障号码编制规则): here the 18-character
    residence permit or 2023 permanent residence number is used as it is. Travel permits,
    passports and the 15-character residence number yield ``None``: the number is then assigned
    elsewhere by that national rule (not implemented here).
    """
    if not isinstance(document, IdentityDocument):
        raise DocumentError("document", "an IdentityDocument", "证件信息不正确", type(document).__name__)
    if document.type not in _GB11643_TYPES or len(document.number) != 18:
        return None
    return SocialSecurityNumber(document.number)


# The types whose 18-character numbers follow GB 11643 (birth date in digits 7-14, check character).
_GB11643_TYPES = frozenset({
    DocumentType.RESIDENT_ID_CARD,
    DocumentType.TEMPORARY_ID_CARD,
    DocumentType.HOUSEHOLD_REGISTER,
    DocumentType.HMT_RESIDENCE_PERMIT,
    DocumentType.FOREIGN_PERMANENT_RESIDENCE_ID,
})
