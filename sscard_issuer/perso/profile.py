"""Personalisation profiles: data, not code (``perso/profiles/*.json``).

A profile says which keys a card gets (class, key id, version) under which algorithm, the PIN
policy, which records are written and under which access conditions, and whether the PKI and bank
applications are personalised (with which GlobalPlatform channel). Loading checks everything: a
profile that names an unknown key class, a record the card description does not have, or access
conditions the card would not enforce is refused with the field's path, before any card is seen.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sscard_issuer.card import ssc
from sscard_issuer.card.model import KEY_IRK, KEY_PUK, KEY_RKSSSE, KEY_RPK, KEY_TK, RecordFileSpec, RecordSpec
from sscard_issuer.card.reader import BASIC_RECORDS
from sscard_issuer.crypto import Algorithm
from sscard_issuer.errors import FieldError, ValidationError
from sscard_issuer.keys import SSSE_CARD_KEYS, KeyClass

PROFILE_FILES = ("ssc3-sm4", "ssc2-3des")
_FILES: dict[str, RecordFileSpec] = {"EF05": ssc.EF05, "EF06": ssc.EF06}
_HEX_BYTE = re.compile(r"[0-9A-Fa-f]{2}")
_SPEC_VERSION = re.compile(r"[0-9]\.[0-9]{2}")  # what EF05 record 03 holds (card.basic)
_NAME_LENGTH = 32  # the registry keeps a job's profile name in 32 characters
# Terminals address these keys by fixed ids (the reader, the PIN services): a card with them
# elsewhere would fail its own read-back, or never have its PIN reloaded.
_TERMINAL_KEY_IDS = {KeyClass.IRK: KEY_IRK.key_id, KeyClass.RKSSSE: KEY_RKSSSE.key_id,
                     KeyClass.RPK: KEY_RPK.key_id, KeyClass.PUK: KEY_PUK.key_id}
# What the read-back after personalisation reads: a profile must write every one of them.
_READ_BACK = {(ssc.EF05.name, ssc.Records.CARD_ID.tag)} | {
    (file.name, spec.tag) for file, specs in BASIC_RECORDS for spec in specs
}


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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _hex_byte(errors: list[FieldError], where: str, text: Any) -> int:
    if isinstance(text, str) and _HEX_BYTE.fullmatch(text):
        return int(text, 16)
    errors.append(FieldError(where, "one byte as two hex digits", text))
    return -1


def _keys(errors: list[FieldError], doc: Any) -> tuple[KeySlot, ...]:
    slots: list[KeySlot] = []
    if not isinstance(doc, list):
        errors.append(FieldError("keys", "a list of {class, key_id, version}", doc))
        doc = []
    class_at: dict[KeyClass, str] = {}
    id_at: dict[int, str] = {}
    for i, entry in enumerate(doc):
        where = f"keys[{i}]"
        if not isinstance(entry, dict):
            errors.append(FieldError(where, "an object {class, key_id, version}", entry))
            continue
        try:
            key_class = KeyClass(entry.get("class"))
            if key_class not in SSSE_CARD_KEYS:  # TK and KMC are never written by a profile
                raise ValueError(key_class)
        except ValueError:
            errors.append(FieldError(f"{where}.class", "a key class of the SSSE: "
                                     + ", ".join(k.value for k in SSSE_CARD_KEYS), entry.get("class")))
            continue
        if key_class in class_at:
            errors.append(FieldError(f"{where}.class", f"each key class once (also at {class_at[key_class]})",
                                     key_class.value))
        class_at.setdefault(key_class, where)
        version: Any = entry.get("version")
        if not _is_int(version) or not 1 <= version <= 3:
            errors.append(FieldError(f"{where}.version", "1, 2 or 3", version))
        key_id = _hex_byte(errors, f"{where}.key_id", entry.get("key_id"))
        if key_id >= 0:
            at, got = f"{where}.key_id", entry.get("key_id")
            if key_id in id_at:
                errors.append(FieldError(at, f"a key id not used already (at {id_at[key_id]})", got))
            elif key_id == KEY_TK.key_id:
                errors.append(FieldError(at, f"not {KEY_TK.key_id:02X} (the blank card's transport key)", got))
            elif key_class in _TERMINAL_KEY_IDS and key_id != _TERMINAL_KEY_IDS[key_class]:
                errors.append(FieldError(at, f"{_TERMINAL_KEY_IDS[key_class]:02X} "
                                         f"(the id terminals use for {key_class.value})", got))
            id_at.setdefault(key_id, where)
        slots.append(KeySlot(key_class, key_id, version))
    missing = [k.value for k in SSSE_CARD_KEYS if k not in class_at]
    if missing:
        errors.append(FieldError("keys", f"each of {', '.join(k.value for k in SSSE_CARD_KEYS)} once",
                                 "missing " + ", ".join(missing)))
    return tuple(slots)


def _pin(errors: list[FieldError], doc: Any) -> PinRule:
    if not isinstance(doc, dict):
        errors.append(FieldError("pin", "an object {initial, retry_limit, min_digits, max_digits}", doc))
        doc = {}
    rule = PinRule(doc.get("initial"), doc.get("retry_limit"), doc.get("min_digits"), doc.get("max_digits"))
    limits_ok = (_is_int(rule.min_digits) and _is_int(rule.max_digits)
                 and 4 <= rule.min_digits <= rule.max_digits <= 16)
    if not limits_ok:
        errors.append(FieldError("pin.min_digits/max_digits", "4 <= min <= max <= 16",
                                 (rule.min_digits, rule.max_digits)))
    low, high = (rule.min_digits, rule.max_digits) if limits_ok else (4, 16)
    # the initial PIN is not echoed: it is a secret of every card made with this profile
    if not (isinstance(rule.initial, str) and rule.initial.isascii() and rule.initial.isdigit()
            and low <= len(rule.initial) <= high):
        errors.append(FieldError("pin.initial", "digits within the PIN length limits"))
    if not _is_int(rule.retry_limit) or not 1 <= rule.retry_limit <= 15:
        errors.append(FieldError("pin.retry_limit", "1 to 15", rule.retry_limit))
    return rule


def _records(errors: list[FieldError], doc: Any) -> tuple[tuple[RecordFileSpec, RecordSpec[Any]], ...]:
    records: list[tuple[RecordFileSpec, RecordSpec[Any]]] = []
    if not isinstance(doc, dict):
        errors.append(FieldError("access", "the records to write, by file and tag", doc))
        return ()
    malformed: set[str] = set()
    for file_name, entries in doc.items():
        file = _FILES.get(file_name)
        if file is None:
            errors.append(FieldError(f"access.{file_name}", "EF05 or EF06"))
            continue
        if not isinstance(entries, dict):
            errors.append(FieldError(f"access.{file_name}", "an object: record tag -> [read, update]", entries))
            malformed.add(file_name)
            continue
        for tag_text, conditions in entries.items():
            where = f"access.{file_name}.{tag_text}"
            if not (isinstance(tag_text, str) and _HEX_BYTE.fullmatch(tag_text)):
                errors.append(FieldError(where, f"a record tag of {file_name} as two hex digits"))
                continue
            tag = int(tag_text, 16)
            if tag not in file.tags:
                errors.append(FieldError(where, f"a record of {file_name}"))
                continue
            spec = file.record(tag)
            if (file, spec) in records:  # "0a" and "0A"
                errors.append(FieldError(where, f"each record of {file_name} once"))
                continue
            wanted = (spec.read.value, spec.update.value)
            if not isinstance(conditions, list) or tuple(conditions) != wanted:
                # the card enforces the description's conditions; a profile may not claim others
                errors.append(FieldError(where, f"{list(wanted)} (what the card enforces)", conditions))
            records.append((file, spec))
    listed = {(file.name, spec.tag) for file, spec in records}
    for file_name, tag in sorted(_READ_BACK - listed):
        if file_name not in malformed:
            errors.append(FieldError(f"access.{file_name}.{tag:02X}",
                                     "to be written: the read-back after personalisation reads this record"))
    return tuple(records)


def _application(errors: list[FieldError], name: str, doc: Any) -> dict[str, Any]:
    """The section of another application; absent means not personalised."""
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        errors.append(FieldError(name, 'an object {"enabled": true or false, ...}', doc))
        return {}
    if not isinstance(doc.get("enabled", False), bool):
        errors.append(FieldError(f"{name}.enabled", "true or false", doc.get("enabled")))
        return {}
    return doc


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
        ("name", lambda v: isinstance(v, str) and 0 < len(v) <= _NAME_LENGTH,
         f"a name of 1 to {_NAME_LENGTH} characters"),
        ("title", lambda v: isinstance(v, str) and v, "a title"),
        ("spec_version", lambda v: isinstance(v, str) and _SPEC_VERSION.fullmatch(v), "a version like 3.00"),
        ("card_category", lambda v: isinstance(v, str) and len(v) == 1 and v.isascii() and v.isprintable(),
         "one printable ASCII character"),
        ("card_number_prefix", lambda v: isinstance(v, str) and len(v) == 1 and "A" <= v <= "Z",
         "one capital letter A-Z"),
        ("validity_years", lambda v: _is_int(v) and 1 <= v <= 20, "1 to 20"),
    ):
        if not check(doc.get(field)):
            errors.append(FieldError(field, expected, doc.get(field)))
    keys = _keys(errors, doc.get("keys"))
    pin = _pin(errors, doc.get("pin"))
    records = _records(errors, doc.get("access"))
    bank = None
    bank_doc = _application(errors, "bank", doc.get("bank"))
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
    pki = bool(_application(errors, "pki", doc.get("pki")).get("enabled"))
    if pki and algorithm is not Algorithm.SM4:
        errors.append(FieldError("pki.enabled", "only on SM4 (third-generation) cards"))
    if errors:
        raise ValidationError(errors)
    return Profile(
        name=doc["name"], title=doc["title"], algorithm=algorithm, spec_version=doc["spec_version"],
        card_category=doc["card_category"], card_number_prefix=doc["card_number_prefix"],
        validity_years=doc["validity_years"], keys=keys, pin=pin, records=records, pki=pki, bank=bank,
    )
