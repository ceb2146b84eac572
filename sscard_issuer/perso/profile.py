"""Personalisation profiles: data, not code (``perso/profiles/*.json``).

A profile says which keys a card gets (class, key id, version) under which algorithm, the PIN
policy, which records are written and under which access conditions, and whether the PKI and bank
applications are personalised (with which GlobalPlatform channel). Loading checks everything: a
profile that names an unknown key class, a record the card description does not have, or access
conditions the card would not enforce is refused with the field's path, before any card is seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sscard_issuer.card import ssc
from sscard_issuer.card.model import RecordFileSpec, RecordSpec
from sscard_issuer.crypto import Algorithm
from sscard_issuer.errors import FieldError, ValidationError
from sscard_issuer.keys import SSSE_CARD_KEYS, KeyClass

PROFILE_FILES = ("ssc3-sm4", "ssc2-3des")
_FILES: dict[str, RecordFileSpec] = {"EF05": ssc.EF05, "EF06": ssc.EF06}


@dataclass(frozen=True)
class KeySlot:
    key_class: KeyClass
    key_id: int
    version: int


@dataclass(frozen=True)
class PinRule:
    initial: str
    retry_limit: int
    min_digits: int
    max_digits: int


@dataclass(frozen=True)
class BankSettings:
    scp: int  # 0x02 or 0x03
    level: int  # GlobalPlatform security level, e.g. 0x03 or 0x33
    diversify: str  # key diversification template: emv, visa2, kdf3, none


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    algorithm: Algorithm
    spec_version: str
    card_category: str
    card_number_prefix: str
    validity_years: int
    keys: tuple[KeySlot, ...]
    pin: PinRule
    records: tuple[tuple[RecordFileSpec, RecordSpec[Any]], ...]
    pki: bool
    bank: BankSettings | None

    def key_slot(self, key_class: KeyClass) -> KeySlot:
        return next(slot for slot in self.keys if slot.key_class is key_class)


def profile_names() -> list[str]:
    return list(PROFILE_FILES)


def load_profile(name_or_path: str | Path) -> Profile:
    """A shipped profile by name, or a profile file by path."""
    path = Path(name_or_path)
    if path.suffix == ".json" and path.exists():
        text = path.read_text(encoding="utf-8")
    elif str(name_or_path) in PROFILE_FILES:
        text = resources.files("sscard_issuer.perso").joinpath(f"profiles/{name_or_path}.json").read_text("utf-8")
    else:
        raise FieldError("profile", f"one of {', '.join(PROFILE_FILES)} or a profile .json file", str(name_or_path))
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise FieldError("profile", f"valid JSON ({exc})") from None
    return parse_profile(doc)


def _hex_byte(errors: list[FieldError], where: str, text: Any) -> int:
    try:
        value = int(text, 16)
        if isinstance(text, str) and len(text) == 2:
            return value
    except (TypeError, ValueError):
        pass
    errors.append(FieldError(where, "one byte as two hex digits", text))
    return -1


def _keys(errors: list[FieldError], doc: Any) -> tuple[KeySlot, ...]:
    slots: list[KeySlot] = []
    for i, entry in enumerate(doc if isinstance(doc, list) else []):
        where = f"keys[{i}]"
        try:
            key_class = KeyClass(entry.get("class"))
        except (ValueError, AttributeError):
            errors.append(FieldError(f"{where}.class", "a key class of the SSSE", entry))
            continue
        version = entry.get("version")
        if not isinstance(version, int) or not 1 <= version <= 3:
            errors.append(FieldError(f"{where}.version", "1, 2 or 3", version))
        slots.append(KeySlot(key_class, _hex_byte(errors, f"{where}.key_id", entry.get("key_id")), version))
    classes = [slot.key_class for slot in slots]
    missing = [k.value for k in SSSE_CARD_KEYS if k not in classes]
    if missing or len(set(classes)) != len(classes):
        errors.append(FieldError("keys", f"each of {', '.join(k.value for k in SSSE_CARD_KEYS)} once",
                                 ", ".join(missing) or "duplicates"))
    ids = [slot.key_id for slot in slots]
    if len(set(ids)) != len(ids):
        errors.append(FieldError("keys", "distinct key ids", ids))
    return tuple(slots)


def _pin(errors: list[FieldError], doc: Any) -> PinRule:
    doc = doc if isinstance(doc, dict) else {}
    rule = PinRule(doc.get("initial"), doc.get("retry_limit"), doc.get("min_digits"), doc.get("max_digits"))
    if not (isinstance(rule.min_digits, int) and isinstance(rule.max_digits, int)
            and 4 <= rule.min_digits <= rule.max_digits <= 16):
        errors.append(FieldError("pin.min_digits/max_digits", "4 <= min <= max <= 16"))
    elif not (isinstance(rule.initial, str) and rule.initial.isdigit()
              and rule.min_digits <= len(rule.initial) <= rule.max_digits):
        errors.append(FieldError("pin.initial", "digits within the PIN length limits"))
    if not isinstance(rule.retry_limit, int) or not 1 <= rule.retry_limit <= 15:
        errors.append(FieldError("pin.retry_limit", "1 to 15", rule.retry_limit))
    return rule


def _records(errors: list[FieldError], doc: Any) -> tuple[tuple[RecordFileSpec, RecordSpec[Any]], ...]:
    records: list[tuple[RecordFileSpec, RecordSpec[Any]]] = []
    for file_name, entries in (doc if isinstance(doc, dict) else {}).items():
        file = _FILES.get(file_name)
        if file is None:
            errors.append(FieldError(f"access.{file_name}", "EF05 or EF06"))
            continue
        for tag_text, conditions in entries.items():
            tag = _hex_byte(errors, f"access.{file_name}.{tag_text}", tag_text)
            if tag not in file.tags:
                errors.append(FieldError(f"access.{file_name}.{tag_text}", f"a record of {file_name}"))
                continue
            spec = file.record(tag)
            wanted = (spec.read.value, spec.update.value)
            if not isinstance(conditions, list) or tuple(conditions) != wanted:
                # the card enforces the description's conditions; a profile may not claim others
                errors.append(FieldError(f"access.{file_name}.{tag_text}", f"{list(wanted)} (what the card enforces)",
                                         conditions))
            records.append((file, spec))
    if not records:
        errors.append(FieldError("access", "the records to write, by file and tag"))
    return tuple(records)


def parse_profile(doc: Any) -> Profile:
    errors: list[FieldError] = []
    if not isinstance(doc, dict):
        raise ValidationError([FieldError("profile", "a JSON object")])
    try:
        algorithm = {"SM4": Algorithm.SM4, "3DES": Algorithm.DES3}[str(doc.get("algorithm"))]
    except KeyError:
        errors.append(FieldError("algorithm", "SM4 or 3DES", doc.get("algorithm")))
        algorithm = Algorithm.SM4
    for field, check, expected in (
        ("name", lambda v: isinstance(v, str) and v, "a name"),
        ("title", lambda v: isinstance(v, str) and v, "a title"),
        ("spec_version", lambda v: isinstance(v, str) and len(v) == 4, "a version like 3.00"),
        ("card_category", lambda v: isinstance(v, str) and len(v) == 1, "one character"),
        ("card_number_prefix", lambda v: isinstance(v, str) and len(v) == 1 and v.isalpha() and v.isupper(),
         "one capital letter"),
        ("validity_years", lambda v: isinstance(v, int) and 1 <= v <= 20, "1 to 20"),
    ):
        if not check(doc.get(field)):
            errors.append(FieldError(field, expected, doc.get(field)))
    keys = _keys(errors, doc.get("keys"))
    pin = _pin(errors, doc.get("pin"))
    records = _records(errors, doc.get("access"))
    bank = None
    bank_doc = doc.get("bank") or {}
    if bank_doc.get("enabled"):
        scp, level = bank_doc.get("scp"), bank_doc.get("level")
        if scp not in ("02", "03"):
            errors.append(FieldError("bank.scp", "02 or 03", scp))
        if level not in ("01", "03", "11", "13", "33"):
            errors.append(FieldError("bank.level", "01, 03, 11, 13 or 33", level))
        if bank_doc.get("diversify") not in ("emv", "visa2", "kdf3", "none"):
            errors.append(FieldError("bank.diversify", "emv, visa2, kdf3 or none", bank_doc.get("diversify")))
        if not errors and isinstance(scp, str) and isinstance(level, str):
            bank = BankSettings(int(scp, 16), int(level, 16), bank_doc["diversify"])
    pki = bool((doc.get("pki") or {}).get("enabled"))
    if pki and algorithm is not Algorithm.SM4:
        errors.append(FieldError("pki.enabled", "only on SM4 (third-generation) cards"))
    if errors:
        raise ValidationError(errors)
    return Profile(
        name=doc["name"], title=doc["title"], algorithm=algorithm, spec_version=doc["spec_version"],
        card_category=doc["card_category"], card_number_prefix=doc["card_number_prefix"],
        validity_years=doc["validity_years"], keys=keys, pin=pin, records=records, pki=pki, bank=bank,
    )
