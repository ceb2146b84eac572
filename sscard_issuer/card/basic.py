"""The card's basic data, as the national terminal interface reads it.

:class:`BasicData` is the ten items every reader shows (card.md §2). It converts to and from the
record values of EF05/EF06 only through the record specs of :mod:`sscard_issuer.card.ssc`, so
encodings are stated once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sscard_issuer.card.codecs import DecodeError, decode_name, encode_name
from sscard_issuer.card.identifiers import (
    AreaCode,
    CardIdentificationCode,
    CardNumber,
    Sex,
    SocialSecurityNumber,
)
from sscard_issuer.card.model import RecordSpec
from sscard_issuer.card.ssc import Records
from sscard_issuer.errors import FieldError, ValidationError

__all__ = ["BasicData"]

_VERSION = re.compile(r"[0-9]\.[0-9]{2}")

# Names are checked against GB 18030, which encodes every character: if a name does not fit in
# 30+20 bytes there, it fits in no encoding a card uses. GBK is checked when records are made.
_WIDEST_ENCODING = "gb18030"


def _check_type(errors: list[FieldError], field: str, value: object, kind: type[Any]) -> bool:
    # bool is not a date, but datetime is a date: refuse it, the card stores days only.
    if not isinstance(value, kind) or (kind is date and type(value) is not date):
        errors.append(FieldError(field, f"a {kind.__name__}", value))
        return False
    return True


@dataclass(frozen=True)
class BasicData:
    """What a national terminal reads from EF05/EF06; ``area_code`` is the card ID's area."""

    area_code: AreaCode
    ssn: SocialSecurityNumber
    card_number: CardNumber
    card_id: CardIdentificationCode
    name: str
    sex: Sex
    birth_date: date
    version: str
    issue_date: date
    expiry_date: date

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        kinds: dict[str, type[Any]] = {
            "area_code": AreaCode, "ssn": SocialSecurityNumber, "card_number": CardNumber,
            "card_id": CardIdentificationCode, "name": str, "sex": Sex, "birth_date": date,
            "version": str, "issue_date": date, "expiry_date": date,
        }
        ok = {f: _check_type(errors, f, getattr(self, f), k) for f, k in kinds.items()}
        if ok["name"]:
            try:
                encode_name(self.name, encoding=_WIDEST_ENCODING)
            except FieldError as error:
                errors.append(error)
        if ok["version"] and not _VERSION.fullmatch(self.version):
            errors.append(FieldError("version", "a version like 3.00", self.version))
        if ok["area_code"] and ok["card_id"] and self.area_code != self.card_id.area_code:
            errors.append(FieldError(
                "area_code", f"the card identification code's area {self.card_id.area_code}",
                str(self.area_code),
            ))
        if ok["issue_date"] and ok["expiry_date"] and self.expiry_date <= self.issue_date:
            errors.append(FieldError("expiry_date", "a date after the issue date",
                                     self.expiry_date.isoformat()))
        if errors:
            raise ValidationError(errors)

    def to_records(self, *, encoding: str = "gbk") -> dict[int, bytes]:
        """Tag -> value bytes for the EF05/EF06 records this data fills; 4E only when needed."""
        b09, b4e = encode_name(self.name, encoding=encoding)
        records = {
            Records.CARD_ID.tag: Records.CARD_ID.encode(self.card_id),
            Records.VERSION.tag: Records.VERSION.encode(self.version),
            Records.ISSUE_DATE.tag: Records.ISSUE_DATE.encode(self.issue_date),
            Records.EXPIRY_DATE.tag: Records.EXPIRY_DATE.encode(self.expiry_date),
            Records.CARD_NUMBER.tag: Records.CARD_NUMBER.encode(self.card_number),
            Records.SSN.tag: Records.SSN.encode(self.ssn),
            Records.NAME.tag: b09,
            Records.SEX.tag: Records.SEX.encode(self.sex),
            Records.BIRTH_DATE.tag: Records.BIRTH_DATE.encode(self.birth_date),
        }
        if b4e is not None:
            records[Records.NAME_EXTENSION.tag] = b4e
        return records

    @classmethod
    def from_records(
        cls, records: Mapping[int, bytes], *, encoding: str = "gbk"
    ) -> BasicData:
        """Build from record values read from a card (tag -> value bytes, framing removed).

        Any missing, malformed or inconsistent record is a :class:`DecodeError`: the card, not
        the caller, is at fault.
        """

        def value(spec: RecordSpec[Any]) -> Any:
            if spec.tag not in records:
                raise DecodeError(f"{spec.name} (tag {spec.tag:02X}) missing")
            return spec.decode(records[spec.tag])

        card_id: CardIdentificationCode = value(Records.CARD_ID)
        if Records.NAME.tag not in records:
            raise DecodeError(f"name (tag {Records.NAME.tag:02X}) missing")
        name = decode_name(records[Records.NAME.tag], records.get(Records.NAME_EXTENSION.tag),
                           encoding=encoding)
        try:
            return cls(
                area_code=card_id.area_code, ssn=value(Records.SSN),
                card_number=value(Records.CARD_NUMBER), card_id=card_id, name=name,
                sex=value(Records.SEX), birth_date=value(Records.BIRTH_DATE),
                version=value(Records.VERSION), issue_date=value(Records.ISSUE_DATE),
                expiry_date=value(Records.EXPIRY_DATE),
            )
        except ValidationError as error:
            raise DecodeError(f"inconsistent basic data: {error}") from None
