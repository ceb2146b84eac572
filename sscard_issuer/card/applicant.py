"""An applicant for a card: what ``sscard sim make-card --applicant FILE.json`` takes.

:meth:`Applicant.from_json` checks every field and reports every problem at once, each naming its
field, so an operator fixes a form in one pass. :meth:`Applicant.records` gives the EF05/EF06
record values, the same bytes for the simulator's card image and for the personaliser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sscard_issuer.card.basic import BasicData
from sscard_issuer.card.codecs import encode_name
from sscard_issuer.card.identifiers import (
    AreaCode,
    CardIdentificationCode,
    CardNumber,
    Sex,
    SocialSecurityNumber,
)
from sscard_issuer.card.ssc import (
    DEFAULT_CARD_CATEGORY,
    DEFAULT_INIT_ORG,
    EF05,
    EF06,
    SPEC_VERSION,
    Records,
)
from sscard_issuer.errors import FieldError, ValidationError

__all__ = ["ETHNICITY_CODES", "Applicant"]

# GB 3304: 01-56 the 56 recognised ethnic groups; 97 other (not yet identified), 98 foreign-born
# person of Chinese nationality.
ETHNICITY_CODES = frozenset([f"{n:02d}" for n in range(1, 57)] + ["97", "98"])

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _parse_date(text: str) -> date:
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise FieldError("date", "a calendar date YYYY-MM-DD", text)


def _parse_sex(text: str) -> Sex:
    try:
        return Sex(text)
    except ValueError:
        raise FieldError("sex", '"1" (male) or "2" (female)', text) from None


def _parse_ethnicity(text: str) -> str:
    if text not in ETHNICITY_CODES:
        raise FieldError("ethnicity", "a two-digit GB 3304 code 01-56, 97 or 98", text)
    return text


def _parse_name(text: str) -> str:
    if not text or text != text.strip() or _CONTROL.search(text):
        raise FieldError("name", "a name without surrounding spaces or control characters", text)
    return text


_PARSERS: dict[str, Callable[[str], object]] = {
    "name": _parse_name,
    "ssn": SocialSecurityNumber,
    "sex": _parse_sex,
    "ethnicity": _parse_ethnicity,
    "birthplace": AreaCode,
    "birth_date": _parse_date,
    "area_code": AreaCode,
    "card_number": CardNumber,
    "issue_date": _parse_date,
    "expiry_date": _parse_date,
}

# The type each field holds once parsed.
_TYPES: dict[str, type[Any]] = {
    "name": str, "ssn": SocialSecurityNumber, "sex": Sex, "ethnicity": str,
    "birthplace": AreaCode, "birth_date": date, "area_code": AreaCode,
    "card_number": CardNumber, "issue_date": date, "expiry_date": date,
}


def _consistency(v: Mapping[str, Any]) -> list[FieldError]:
    """Cross-field checks over the fields that parsed; each error names the field to fix."""
    errors = []
    if "issue_date" in v and "expiry_date" in v and v["expiry_date"] <= v["issue_date"]:
        errors.append(FieldError("expiry_date", "a date after the issue date",
                                 v["expiry_date"].isoformat()))
    if "birth_date" in v and "issue_date" in v and v["birth_date"] > v["issue_date"]:
        errors.append(FieldError("birth_date", "a date not after the issue date",
                                 v["birth_date"].isoformat()))
    if "ssn" in v and "birth_date" in v and v["ssn"].birth_date != v["birth_date"]:
        errors.append(FieldError("birth_date", f"the ssn's birth date {v['ssn'].birth_date}",
                                 v["birth_date"].isoformat()))
    if "ssn" in v and "sex" in v and v["ssn"].sex is not v["sex"]:
        errors.append(FieldError("sex", f"the ssn's sex {v['ssn'].sex.value!r}", v["sex"].value))
    return errors


@dataclass(frozen=True)
class Applicant:
    """A validated application for a card (one person, one card number, one issuing area)."""

    name: str
    ssn: SocialSecurityNumber
    sex: Sex
    ethnicity: str
    birthplace: AreaCode
    birth_date: date
    area_code: AreaCode
    card_number: CardNumber
    issue_date: date
    expiry_date: date

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        good: dict[str, Any] = {}
        for name, kind in _TYPES.items():
            value = getattr(self, name)
            if type(value) is not kind:  # exact: a datetime is not a date, a bool not a str
                errors.append(FieldError(name, f"a {kind.__name__}", value))
                continue
            try:
                if kind is str:  # identifiers validated themselves when built
                    _PARSERS[name](value)
                good[name] = value
            except FieldError as error:
                errors.append(FieldError(name, error.expected, error.got))
        if "name" in good:
            try:  # GB 18030 holds every character; GBK is checked in records()
                encode_name(self.name, encoding="gb18030")
            except FieldError as error:
                errors.append(error)
        errors += _consistency(good)
        if errors:
            raise ValidationError(errors)

    @classmethod
    def from_json(cls, data: Mapping[str, object], *, encoding: str = "gbk") -> Applicant:
        """Parse the JSON object of an application; one :class:`ValidationError` lists all faults.

        Every value is a string. The name must encode in ``encoding`` (GBK unless the region's
        cards take GB 18030) and fit the card's 30+20 bytes.
        """
        if not isinstance(data, Mapping):
            raise ValidationError([FieldError("applicant", "a JSON object", type(data).__name__)])
        errors: list[FieldError] = []
        for key in sorted(str(k) for k in data if k not in _PARSERS):
            errors.append(FieldError(key, f"no such field (known: {', '.join(_PARSERS)})"))
        values: dict[str, Any] = {}
        for key, parse in _PARSERS.items():
            if key not in data:
                errors.append(FieldError(key, "a value (missing)"))
                continue
            raw = data[key]
            if not isinstance(raw, str):
                errors.append(FieldError(key, "a string", raw))
                continue
            try:
                values[key] = parse(raw)
            except FieldError as error:
                errors.append(FieldError(key, error.expected, error.got))
        if "name" in values:
            try:
                encode_name(values["name"], encoding=encoding)
            except FieldError as error:
                errors.append(error)
                del values["name"]
        errors += _consistency(values)
        if errors:
            raise ValidationError(errors)
        return cls(**values)

    def to_json(self) -> dict[str, str]:
        """The JSON object :meth:`from_json` reads back."""
        return {
            "name": self.name, "ssn": str(self.ssn), "sex": self.sex.value,
            "ethnicity": self.ethnicity, "birthplace": str(self.birthplace),
            "birth_date": self.birth_date.isoformat(), "area_code": str(self.area_code),
            "card_number": str(self.card_number), "issue_date": self.issue_date.isoformat(),
            "expiry_date": self.expiry_date.isoformat(),
        }

    def basic_data(self, card_id: CardIdentificationCode, *,
                   version: str = SPEC_VERSION) -> BasicData:
        """What a terminal will read from the card made for this applicant."""
        self._check_card_id(card_id)
        return BasicData(
            area_code=self.area_code, ssn=self.ssn, card_number=self.card_number,
            card_id=card_id, name=self.name, sex=self.sex, birth_date=self.birth_date,
            version=version, issue_date=self.issue_date, expiry_date=self.expiry_date,
        )

    def records(
        self,
        card_id: CardIdentificationCode,
        *,
        version: str = SPEC_VERSION,
        category: str = DEFAULT_CARD_CATEGORY,
        init_org: bytes = DEFAULT_INIT_ORG,
        encoding: str = "gbk",
    ) -> dict[int, dict[int, bytes]]:
        """SFI -> tag -> value bytes for EF05 and EF06, everything a personaliser writes there.

        Record 4E is present only when the name needs it.
        """
        shown = self.basic_data(card_id, version=version).to_records(encoding=encoding)
        shown[Records.CARD_CATEGORY.tag] = Records.CARD_CATEGORY.encode(category)
        shown[Records.INIT_ORG.tag] = Records.INIT_ORG.encode(init_org)
        shown[Records.ETHNICITY.tag] = Records.ETHNICITY.encode(self.ethnicity)
        shown[Records.BIRTHPLACE.tag] = Records.BIRTHPLACE.encode(self.birthplace)
        return {
            ef.sfi: {tag: shown[tag] for tag in ef.tags if tag in shown} for ef in (EF05, EF06)
        }

    def _check_card_id(self, card_id: CardIdentificationCode) -> None:
        if not isinstance(card_id, CardIdentificationCode):
            raise FieldError("card_id", "a CardIdentificationCode", card_id)
        if card_id.area_code != self.area_code:
            raise FieldError("card_id", f"a card identification code of area {self.area_code}",
                             card_id.hex)
