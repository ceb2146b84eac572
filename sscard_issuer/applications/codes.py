"""Small formats an application carries besides the identity document, each with its real check.

- EMS tracking numbers: UPU S10 (two letters, eight digits, a check digit, the country code), the
  check digit with weights 8 6 4 2 3 5 9 7, 11 minus the sum mod 11, 10 -> 0 and 11 -> 5.
- Unified social credit codes of employers and schools (统一社会信用代码, GB 32100-2015): 18
  characters over 0-9 and the letters without I, O, Z, S, V; the check character with weights
  3^i mod 31, as 31 minus the sum mod 31.
- Mainland mobile numbers (11 digits from 13-19) and fixed lines with their area code; postcodes
  (6 digits).
"""

from __future__ import annotations

import re

from sscard_issuer.applications.document_numbers import DocumentError, normalise

__all__ = ["check_phone", "check_postcode", "check_tracking_number", "check_unified_credit_code",
           "s10_check_digit", "unified_credit_check_character"]

_S10 = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_FIXED = re.compile(r"0[1-9][0-9]{1,2}-?[2-9][0-9]{6,7}")
_POSTCODE = re.compile(r"[0-9]{6}")


def s10_check_digit(serial8: str) -> str:
    total = sum(int(d) * w for d, w in zip(serial8, _S10_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "0" if check == 10 else "5" if check == 11 else str(check)


def check_tracking_number(value: object) -> str:
    """An EMS item number as printed on the label, e.g. ``EA123456785CN``."""
    number = normalise(value, "tracking_number")
    if not _S10.fullmatch(number):
        raise DocumentError("tracking_number", "an EMS item number: 2 letters, 9 digits, 2 letters (e.g. EA123456785CN)",
                            "邮件号须为 2 位字母、9 位数字、2 位字母（如 EA123456785CN）", number[:20])
    if s10_check_digit(number[2:10]) != number[10]:
        raise DocumentError("tracking_number", "an EMS item number whose check digit (the 11th character) is right",
                            "邮件号校验位（第 11 位）不正确，请核对", number)
    return number


def unified_credit_check_character(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def check_unified_credit_code(value: object) -> str:
    """An organisation's 统一社会信用代码 (GB 32100), check character verified."""
    code = normalise(value, "organisation_code")
    if not _USCC.fullmatch(code):
        raise DocumentError("organisation_code",
                            "an 18-character unified social credit code (digits and capitals without I, O, S, V, Z)",
                            "统一社会信用代码须为 18 位（数字和除 I、O、S、V、Z 以外的大写字母）", code[:24])
    if unified_credit_check_character(code[:17]) != code[17]:
        raise DocumentError("organisation_code", "a unified social credit code whose last (check) character is right",
                            "统一社会信用代码校验位不正确，请核对", code)
    return code


def check_phone(value: object, field: str = "phone") -> str:
    phone = normalise(value, field)
    if not (_MOBILE.fullmatch(phone) or _FIXED.fullmatch(phone)):
        raise DocumentError(field, "an 11-digit mobile number or a fixed line with its area code (e.g. 0771-12333xx)",
                            "联系电话须为 11 位手机号码，或带区号的固定电话", phone[:20])
    return phone


def check_postcode(value: object) -> str:
    code = normalise(value, "postcode")
    if not _POSTCODE.fullmatch(code):
        raise DocumentError("postcode", "a 6-digit postcode", "邮政编码须为 6 位数字", code[:12])
    return code
