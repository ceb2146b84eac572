"""The number formats of the identity documents an individual applicant may bring.

:func:`parse_number` checks one number in its document's real format (sources beside each rule)
and returns it in canonical form with what it carries: the nationality and the birth date. Every
refusal is a :class:`DocumentError` (a :class:`FieldError`) with the expected format in English and
Chinese, showing at most the offending part of the input.

Input is normalised before checking: NFKC (full-width ``１２３`` from Chinese input methods becomes
``123``), surrounding spaces stripped, letters upper-cased (``x`` check character, ``h``/``m``
permit prefixes, passport numbers). Inner spaces and dashes are refused, not guessed away.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import Enum

from sscard_issuer.applications.countries import ALPHA3_BY_NUMERIC, NUMERIC_BY_ALPHA3
from sscard_issuer.card.identifiers import AreaCode, SocialSecurityNumber
from sscard_issuer.errors import FieldError

__all__ = ["CHINA", "DocumentError", "DocumentType", "ParsedNumber", "normalise", "parse_number"]


class DocumentError(FieldError):
    """A document field is wrong; ``expected`` in English, ``expected_zh`` in simplified Chinese."""

    def __init__(self, field: str, expected: str, expected_zh: str, got: object = None) -> None:
        super().__init__(field, expected, got)
        self.expected_zh = expected_zh

    def message(self, lang: str = "zh") -> str:
        return self.expected if lang == "en" else self.expected_zh


class DocumentType(Enum):
    """The documents the application page accepts; values are stable codes for storage and APIs.

    No national code list is used on purpose: the ones in circulation (GA/T 517, bank and tax
    systems) disagree; map them onto these codes at the edge.
    """

    RESIDENT_ID_CARD = "resident_id_card"
    TEMPORARY_ID_CARD = "temporary_id_card"
    HOUSEHOLD_REGISTER = "household_register"
    HK_MACAO_TRAVEL_PERMIT = "hk_macao_travel_permit"
    TAIWAN_TRAVEL_PERMIT = "taiwan_travel_permit"
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit"
    FOREIGN_PASSPORT = "foreign_passport"
    FOREIGN_PERMANENT_RESIDENCE_ID = "foreign_permanent_residence_id"

    @classmethod
    def from_code(cls, code: str) -> DocumentType:
        try:
            return cls(code)
        except ValueError:
            raise DocumentError("document_type", "one of " + ", ".join(t.value for t in cls),
                                "不受理的证件类型", code) from None

    @property
    def name_zh(self) -> str:
        return _NAMES[self][0]

    @property
    def name_en(self) -> str:
        return _NAMES[self][1]

    @property
    def foreign(self) -> bool:
        """Held by foreigners (not Chinese citizens)."""
        return self in (DocumentType.FOREIGN_PASSPORT, DocumentType.FOREIGN_PERMANENT_RESIDENCE_ID)


_NAMES: dict[DocumentType, tuple[str, str]] = {
    DocumentType.RESIDENT_ID_CARD: ("居民身份证", "resident identity card"),
    DocumentType.TEMPORARY_ID_CARD: ("临时居民身份证", "temporary resident identity card"),
    DocumentType.HOUSEHOLD_REGISTER: ("户口簿", "household register"),
    DocumentType.HK_MACAO_TRAVEL_PERMIT: (
        "港澳居民来往内地通行证", "mainland travel permit for Hong Kong and Macao residents"),
    DocumentType.TAIWAN_TRAVEL_PERMIT: (
        "台湾居民来往大陆通行证", "mainland travel permit for Taiwan residents"),
    DocumentType.HMT_RESIDENCE_PERMIT: (
        "港澳台居民居住证", "residence permit for Hong Kong, Macao and Taiwan residents"),
    DocumentType.FOREIGN_PASSPORT: ("外国护照", "foreign passport"),
    DocumentType.FOREIGN_PERMANENT_RESIDENCE_ID: (
        "外国人永久居留身份证", "foreign permanent residence ID card"),
}

#: The country of every Chinese document, Hong Kong, Macao and Taiwan residents' included.
CHINA = "CHN"
# GB 11643-style numbers of the 港澳台 residence permit: fixed area codes (国办发〔2018〕81号,
# 《港澳台居民居住证申领发放办法》: 香港 810000, 澳门 820000, 台湾 830000).
_HMT_PREFIXES = frozenset({"810000", "820000", "830000"})

# 港澳居民来往内地通行证 (公安部出入境管理局, 2010 number rules): H (Hong Kong) or M (Macao),
# an 8-digit lifetime number, and on the 1999 card 2 more digits counting renewals (00 first
# issue); the 2013 card prints only the 9 characters. Both are accepted, as printed.
_HK_MACAO = re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?")
# 台湾居民来往大陆通行证 (中新网 2008-09-12, from the exit-entry administration): 8-digit lifetime
# number since 2008-09-25 and on the 2015 card; the 1992 booklet printed 8 digits + 2 issue-count
# digits + the issuing office in brackets, "(B)"; from 2006 some offices dropped the bracket.
_TAIWAN = re.compile(r"[0-9]{8}(?:[0-9]{2}(?:\([0-9A-Z]\))?)?")
_TAIWAN_UNBRACKETED = re.compile(r"([0-9]{10})([A-Z])")
# ICAO 9303 allows more, but a passport number is letters and digits; 5-20 per the brief.
_PASSPORT = re.compile(r"[A-Z0-9]{5,20}")
_GB11643 = re.compile(r"[0-9]{17}[0-9X]")
# 外国人永久居留身份证 before the 2023 card (2004 and 2017 cards): 3 letters (ISO alpha-3
# nationality), 4 digits (accepting office: province + city), YYMMDD birth date, 1 digit
# (sequence; odd men), 1 check digit.
_PR15 = re.compile(r"([A-Z]{3})([0-9]{4})([0-9]{6})[0-9]{2}")


@dataclass(frozen=True)
class ParsedNumber:
    """A number in canonical form and what it carries."""

    number: str
    nationality: str | None = CHINA  # alpha-3 the number carries; CHN for Chinese, None for passports
    birth_digits: str | None = None  # YYYYMMDD, or YYMMDD for the 15-character residence number


def _label(doc_type: DocumentType) -> tuple[str, str]:
    return f"{doc_type.name_en} number: ", f"{doc_type.name_zh}号码"


def normalise(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise DocumentError(field, "text", "须为文本", type(value).__name__)
    return unicodedata.normalize("NFKC", value).strip().upper()


def _gb11643(doc_type: DocumentType, number: str, prefix_ok: bool, prefix_en: str,
             prefix_zh: str) -> ParsedNumber:
    """An 18-character number with a GB 11643 birth date and check character."""
    en, zh = _label(doc_type)
    if len(number) != 18:
        raise DocumentError("document_number", en + "18 characters", zh + "须为18位", number)
    if not _GB11643.fullmatch(number):
        raise DocumentError("document_number", en + "17 digits and a check character 0-9 or X",
                            zh + "须为17位数字加1位校验码（0-9或X）", number)
    if not prefix_ok:
        raise DocumentError("document_number", en + prefix_en, zh + prefix_zh, number[:6])
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise DocumentError("document_number", en + "a calendar date in digits 7-14",
                            zh + "第7-14位须为有效的出生日期", number[6:14]) from None
    expected = SocialSecurityNumber.check_character(number[:17])
    if number[17] != expected:
        raise DocumentError("document_number", en + "a valid GB 11643 check character (digit 18)",
                            zh + "校验码不正确，请核对号码", number[17])
    return ParsedNumber(number, birth_digits=number[6:14])


def _citizen_number(doc_type: DocumentType, number: str) -> ParsedNumber:
    # The 公民身份号码 printed on the resident ID card, the temporary card (公安部令第78号 art. 5)
    # and the household register page of the person: one number, one format.
    other = {"810000": DocumentType.HMT_RESIDENCE_PERMIT, "820000": DocumentType.HMT_RESIDENCE_PERMIT,
             "830000": DocumentType.HMT_RESIDENCE_PERMIT}.get(number[:6])
    if number[:1] == "9":
        other = DocumentType.FOREIGN_PERMANENT_RESIDENCE_ID
    hint_en = f" (this looks like a {other.name_en} number)" if other else ""
    hint_zh = f"（该号码像是{other.name_zh}号码）" if other else ""
    parsed = _gb11643(doc_type, number, other is None, "a mainland area code in digits 1-6" + hint_en,
                      "前6位须为内地行政区划代码" + hint_zh)
    try:
        SocialSecurityNumber(number)  # the GB/T 2260 province prefix; the rest is checked above
    except FieldError as error:
        en, zh = _label(doc_type)
        raise DocumentError("document_number", en + "a GB/T 2260 province code in digits 1-2",
                            zh + "前2位须为省级行政区划代码", number[:2]) from error
    return parsed


def _hmt_residence_permit(doc_type: DocumentType, number: str) -> ParsedNumber:
    return _gb11643(doc_type, number, number[:6] in _HMT_PREFIXES,
                    "digits 1-6 810000 (Hong Kong), 820000 (Macao) or 830000 (Taiwan)",
                    "前6位须为810000（香港）、820000（澳门）或830000（台湾）")


def _hk_macao_travel_permit(doc_type: DocumentType, number: str) -> ParsedNumber:
    en, zh = _label(doc_type)
    if number[:1] not in ("H", "M"):
        raise DocumentError("document_number", en + "first letter H (Hong Kong) or M (Macao)",
                            zh + "首字母须为H（香港）或M（澳门）", number[:1])
    if not _HK_MACAO.fullmatch(number):
        raise DocumentError("document_number", en + "H or M and 8 digits (older cards: 10 digits)",
                            zh + "须为H或M加8位数字（旧版为10位数字）", number)
    return ParsedNumber(number)


def _taiwan_travel_permit(doc_type: DocumentType, number: str) -> ParsedNumber:
    unbracketed = _TAIWAN_UNBRACKETED.fullmatch(number)
    if unbracketed:
        number = f"{unbracketed[1]}({unbracketed[2]})"
    if not _TAIWAN.fullmatch(number):
        en, zh = _label(doc_type)
        raise DocumentError("document_number",
                            en + "8 digits (older booklets: 10 digits, maybe with an office code like (B))",
                            zh + "须为8位数字（旧版为10位数字，可带签发机关代码如(B)）", number)
    return ParsedNumber(number)


def _foreign_passport(doc_type: DocumentType, number: str) -> ParsedNumber:
    if not _PASSPORT.fullmatch(number):
        en, zh = _label(doc_type)
        raise DocumentError("document_number", en + "5 to 20 letters and digits",
                            zh + "须为5至20位字母或数字", number)
    return ParsedNumber(number, nationality=None)  # the issuing state is the ``country`` field


def _province(doc_type: DocumentType, digits: str, where: str, where_zh: str) -> None:
    try:
        AreaCode(digits.ljust(6, "0"))
    except FieldError:
        en, zh = _label(doc_type)
        raise DocumentError("document_number", en + f"a province code of the accepting office in {where}",
                            zh + f"{where_zh}须为受理地省级代码", digits) from None


def _foreign_permanent_residence_id(doc_type: DocumentType, number: str) -> ParsedNumber:
    en, zh = _label(doc_type)
    if len(number) == 18:
        # 2023 card (国家移民管理局, 新版外国人永久居留身份证机读信息规则, in use from 2023-12-01):
        # "9", 2-digit accepting province, 3-digit numeric nationality, GB 11643 birth date,
        # sequence and MOD 11-2 check character computed as for citizens.
        parsed = _gb11643(doc_type, number, number[0] == "9", "first digit 9 (2023 card)",
                          "18位号码首位须为9")
        _province(doc_type, number[1:3], "digits 2-3", "第2-3位")
        nationality = ALPHA3_BY_NUMERIC.get(number[3:6])
        if nationality is None:
            raise DocumentError("document_number", en + "an ISO 3166-1 numeric nationality in digits 4-6",
                                zh + "第4-6位须为国籍数字代码", number[3:6])
        return ParsedNumber(number, nationality, parsed.birth_digits)
    match = _PR15.fullmatch(number)
    if len(number) != 15 or match is None:
        raise DocumentError("document_number",
                            en + "18 digits starting with 9 (2023 card) or 3 letters and 12 digits (earlier cards)",
                            zh + "须为以9开头的18位数字（2023版）或3位字母加12位数字（旧版）", number)
    if match[1] not in NUMERIC_BY_ALPHA3:
        raise DocumentError("document_number", en + "an ISO 3166-1 alpha-3 nationality in letters 1-3",
                            zh + "前3位须为国籍字母代码", match[1])
    _province(doc_type, match[2][:2], "digits 4-5", "第4-5位")
    yymmdd = match[3]
    if not any(_is_date(century + yymmdd) for century in ("19", "20")):
        raise DocumentError("document_number", en + "a birth date YYMMDD in characters 8-13",
                            zh + "第8-13位须为有效的出生日期", yymmdd)
    # The 15th character is a check digit; the only public description found (ICAO 9303 7-3-1
    # weights, one third-party library) is not confirmed officially, so it is not enforced.
    return ParsedNumber(number, match[1], yymmdd)


def _is_date(yyyymmdd: str) -> bool:
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return False
    return True


_VALIDATORS = {
    DocumentType.RESIDENT_ID_CARD: _citizen_number,
    DocumentType.TEMPORARY_ID_CARD: _citizen_number,
    DocumentType.HOUSEHOLD_REGISTER: _citizen_number,
    DocumentType.HK_MACAO_TRAVEL_PERMIT: _hk_macao_travel_permit,
    DocumentType.TAIWAN_TRAVEL_PERMIT: _taiwan_travel_permit,
    DocumentType.HMT_RESIDENCE_PERMIT: _hmt_residence_permit,
    DocumentType.FOREIGN_PASSPORT: _foreign_passport,
    DocumentType.FOREIGN_PERMANENT_RESIDENCE_ID: _foreign_permanent_residence_id,
}


def parse_number(doc_type: DocumentType, text: object) -> ParsedNumber:
    """Normalise and check ``text`` as the number of a ``doc_type`` document."""
    return _VALIDATORS[doc_type](doc_type, normalise(text, "document_number"))
