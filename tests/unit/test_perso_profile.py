"""Personalisation profiles: the shipped ones load; a bad one is refused with every fault at once,
each by its path, before any card is seen."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from sscard_issuer.card import ssc
from sscard_issuer.card.model import KEY_IRK, KEY_PUK, KEY_RKSSSE, KEY_RPK
from sscard_issuer.crypto import Algorithm
from sscard_issuer.errors import FieldError, ValidationError
from sscard_issuer.keys import SSSE_CARD_KEYS, KeyClass
from sscard_issuer.perso import Profile, load_profile, profile_names
from sscard_issuer.perso.profile import parse_profile

Doc = dict[str, Any]


def shipped(name: str) -> Doc:
    text = resources.files("sscard_issuer.perso").joinpath(f"profiles/{name}.json").read_text("utf-8")
    doc: Doc = json.loads(text)
    return doc


def fields_of(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [error.field for error in exc.value.errors]


def refused(doc: Any) -> list[FieldError]:
    with pytest.raises(ValidationError) as exc:
        parse_profile(doc)
    return exc.value.errors


def key_index(doc: Doc, key_class: str) -> int:
    return next(i for i, entry in enumerate(doc["keys"]) if entry["class"] == key_class)


# -- the shipped profiles ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ssc3-sm4", "ssc2-3des"])
def test_each_shipped_profile_loads_with_every_key_and_record(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert {slot.key_class for slot in profile.keys} == set(SSSE_CARD_KEYS)
    assert len({slot.key_id for slot in profile.keys}) == len(profile.keys)
    written = {(file.name, spec.tag) for file, spec in profile.records}
    assert written == {(f.name, tag) for f in (ssc.EF05, ssc.EF06) for tag in f.tags}
    # the profile's records ARE the card description's, with the conditions the card enforces
    for file, spec in profile.records:
        assert spec is file.record(spec.tag)
    assert profile.validity_years == 10
    assert profile.pin.initial.isdigit()
    assert profile.pin.min_digits <= len(profile.pin.initial) <= profile.pin.max_digits


def test_the_third_generation_profile_is_sm4_with_pki_and_an_scp03_bank() -> None:
    profile = load_profile("ssc3-sm4")
    assert profile.algorithm is Algorithm.SM4
    assert profile.spec_version == "3.00"
    assert profile.pki is True
    assert profile.bank is not None
    assert (profile.bank.scp, profile.bank.level, profile.bank.diversify) == (0x03, 0x33, "kdf3")


def test_the_second_generation_profile_is_3des_without_pki_and_an_scp02_bank() -> None:
    profile = load_profile("ssc2-3des")
    assert profile.algorithm is Algorithm.DES3
    assert profile.spec_version == "2.00"
    assert profile.pki is False
    assert profile.bank is not None
    assert (profile.bank.scp, profile.bank.level, profile.bank.diversify) == (0x02, 0x03, "emv")


def test_profile_names_are_the_shipped_files() -> None:
    assert sorted(profile_names()) == ["ssc2-3des", "ssc3-sm4"]


def test_a_profile_file_loads_by_path_like_the_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "regional.json"
    path.write_text(json.dumps(shipped("ssc3-sm4"), ensure_ascii=False), encoding="utf-8")
    assert load_profile(path) == load_profile("ssc3-sm4")
    assert load_profile(str(path)) == load_profile("ssc3-sm4")


def test_an_unknown_profile_name_says_which_exist(tmp_path: Path) -> None:
    with pytest.raises(FieldError) as exc:
        load_profile("ssc9-none")
    assert exc.value.field == "profile"
    assert "ssc3-sm4" in exc.value.expected and "ssc2-3des" in exc.value.expected
    with pytest.raises(FieldError):
        load_profile(tmp_path / "missing.json")


def test_a_profile_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"name": "broken",', encoding="utf-8")
    with pytest.raises(FieldError) as exc:
        load_profile(path)
    assert exc.value.field == "profile"
    assert "JSON" in exc.value.expected


# -- one fault at a time: the path that names it -------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return change


def _drop_key(key_class: str) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        del doc["keys"][key_index(doc, key_class)]
    return change


def _drop_record(file: str, tag: str) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        del doc["access"][file][tag]
    return change


def _add_record(file: str, tag: str, conditions: list[str]) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        doc["access"][file][tag] = conditions
    return change


def _add_key(entry: Doc) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        doc["keys"].append(entry)
    return change


ONE_FAULT: list[tuple[str, Callable[[Doc], None], str]] = [
    ("unknown key class", _add_key({"class": "MASTER", "key_id": "30", "version": 1}), "keys[9].class"),
    ("the transport key is the card factory's", _add_key({"class": "TK", "key_id": "30", "version": 1}),
     "keys[9].class"),
    ("the GlobalPlatform master is the card manager's", _add_key({"class": "KMC", "key_id": "30", "version": 1}),
     "keys[9].class"),
    ("key class twice", _add_key({"class": "UK", "key_id": "24", "version": 1}), "keys[9].class"),
    ("missing key class", _drop_key("PUK"), "keys"),
    ("duplicate key id", _set("keys.5.key_id", "12"), "keys[6].key_id"),
    ("key id not a hex byte", _set("keys.2.key_id", "4"), "keys[2].key_id"),
    ("key id negative", _set("keys.2.key_id", "-1"), "keys[2].key_id"),
    ("key id as a number", _set("keys.2.key_id", 4), "keys[2].key_id"),
    ("key id of the transport key", _set("keys.5.key_id", "01"), "keys[5].key_id"),
    ("RKSSSE where terminals do not look", _set("keys.1.key_id", "0B"), "keys[1].key_id"),
    ("key version 4", _set("keys.3.version", 4), "keys[3].version"),
    ("key version true", _set("keys.3.version", True), "keys[3].version"),
    ("PIN shorter than allowed", _set("pin.initial", "123"), "pin.initial"),
    ("PIN not digits", _set("pin.initial", "12345a"), "pin.initial"),
    ("PIN in full-width digits", _set("pin.initial", "１２３４５６"), "pin.initial"),
    ("PIN limits reversed", _set("pin.max_digits", 3), "pin.min_digits/max_digits"),
    ("initial PIN shorter than the profile's minimum", _set("pin.min_digits", 8), "pin.initial"),
    ("PIN limit beyond 16", _set("pin.max_digits", 17), "pin.min_digits/max_digits"),
    ("no PIN tries", _set("pin.retry_limit", 0), "pin.retry_limit"),
    ("too many PIN tries", _set("pin.retry_limit", 16), "pin.retry_limit"),
    ("SSN readable in clear", _set("access.EF06.08", ["free", "update_key"]), "access.EF06.08"),
    ("card number writable freely", _set("access.EF05.07", ["free", "free"]), "access.EF05.07"),
    ("conditions not a list", _set("access.EF05.02", "rksse"), "access.EF05.02"),
    ("unknown record tag", _add_record("EF06", "99", ["rksse", "update_key"]), "access.EF06.99"),
    ("record tag not hex", _add_record("EF06", "zz", ["rksse", "update_key"]), "access.EF06.zz"),
    ("record listed twice", _add_record("EF06", "0a", ["rksse", "update_key"]), "access.EF06.0a"),
    ("unknown file", _set("access.EF09", {"01": ["free", "update_key"]}), "access.EF09"),
    ("a record the read-back needs left out", _drop_record("EF05", "07"), "access.EF05.07"),
    ("bank scp 04", _set("bank.scp", "04"), "bank.scp"),
    ("bank scp as a number", _set("bank.scp", 3), "bank.scp"),
    ("bank level 07", _set("bank.level", "07"), "bank.level"),
    ("bank diversification unknown", _set("bank.diversify", "magic"), "bank.diversify"),
    ("bank enabled as a string", _set("bank.enabled", "false"), "bank.enabled"),
    ("PKI on a 3DES profile", _set("algorithm", "3DES"), "pki.enabled"),
    ("algorithm unknown", _set("algorithm", "AES"), "algorithm"),
    ("version not like 3.00", _set("spec_version", "3.0a"), "spec_version"),
    ("card category of two", _set("card_category", "12"), "card_category"),
    ("card category not ASCII", _set("card_category", "中"), "card_category"),
    ("card number prefix lower case", _set("card_number_prefix", "a"), "card_number_prefix"),
    ("card number prefix not A-Z", _set("card_number_prefix", "Ä"), "card_number_prefix"),
    ("validity zero", _set("validity_years", 0), "validity_years"),
    ("name empty", _set("name", ""), "name"),
    ("name longer than the registry keeps", _set("name", "x" * 33), "name"),
]


@pytest.mark.parametrize(("fault", "change", "path"), ONE_FAULT, ids=[f for f, _, _ in ONE_FAULT])
def test_one_fault_is_refused_by_its_path(fault: str, change: Callable[[Doc], None], path: str) -> None:
    doc = shipped("ssc3-sm4")
    parse_profile(copy.deepcopy(doc))  # the unchanged document is fine
    change(doc)
    errors = refused(doc)
    assert [e.field for e in errors] == [path], fault
    assert errors[0].expected


def test_key_ids_follow_what_terminals_use_for_the_keys_they_address() -> None:
    fixed = {"IRK": KEY_IRK.key_id, "RKSSSE": KEY_RKSSSE.key_id, "RPK": KEY_RPK.key_id, "PUK": KEY_PUK.key_id}
    for key_class, key_id in fixed.items():
        doc = shipped("ssc3-sm4")
        doc["keys"][key_index(doc, key_class)]["key_id"] = f"{key_id + 0x20:02X}"
        errors = refused(doc)
        assert [e.field for e in errors] == [f"keys[{key_index(doc, key_class)}].key_id"]
        assert f"{key_id:02X}" in errors[0].expected
    # the update key is addressed through the profile: another id is fine
    doc = shipped("ssc3-sm4")
    doc["keys"][key_index(doc, "UK")]["key_id"] = "24"
    assert parse_profile(doc).key_slot(KeyClass.UK).key_id == 0x24


def test_the_expected_access_conditions_are_the_card_descriptions() -> None:
    doc = shipped("ssc3-sm4")
    doc["access"]["EF06"]["08"] = ["free", "update_key"]
    (error,) = refused(doc)
    assert error.expected.startswith("['rksse', 'update_key']")
    assert error.got == ["free", "update_key"]


def test_a_pin_policy_error_does_not_echo_the_initial_pin() -> None:
    doc = shipped("ssc3-sm4")
    doc["pin"]["initial"] = "98765x"
    (error,) = refused(doc)
    assert "98765x" not in str(error)


# -- every fault at once --------------------------------------------------------------------------------


def test_a_profile_with_every_kind_of_fault_reports_them_all_at_once() -> None:
    doc = shipped("ssc3-sm4")
    doc["algorithm"] = "3DES"  # ... while pki stays enabled
    doc["keys"][key_index(doc, "IRK")]["class"] = "MASTER"  # unknown, and so IRK is missing
    doc["keys"][key_index(doc, "STK-DF02")]["key_id"] = "11"  # the id of STK-DF01
    doc["pin"] = {"initial": "12", "retry_limit": 0, "min_digits": 4, "max_digits": 16}
    doc["access"]["EF05"]["02"] = ["free", "update_key"]
    doc["access"]["EF06"]["99"] = ["rksse", "update_key"]
    doc["bank"] = {"enabled": True, "scp": "04", "level": "07", "diversify": "magic"}
    with pytest.raises(ValidationError) as exc:
        parse_profile(doc)
    assert sorted(fields_of(exc)) == sorted([
        "keys[0].class", "keys", "keys[6].key_id", "pin.initial", "pin.retry_limit",
        "access.EF05.02", "access.EF06.99", "bank.scp", "bank.level", "bank.diversify", "pki.enabled",
    ])
    message = str(exc.value)
    for path in ("keys[0].class", "pin.retry_limit", "access.EF06.99", "bank.diversify", "pki.enabled"):
        assert path in message


def test_load_profile_reports_a_bad_file_with_every_fault(tmp_path: Path) -> None:
    doc = shipped("ssc2-3des")
    doc["pki"] = {"enabled": True}
    doc["bank"]["scp"] = "01"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        load_profile(path)
    assert sorted(fields_of(exc)) == ["bank.scp", "pki.enabled"]


# -- any shape of document: a ValidationError, never a crash ---------------------------------------


def _paths(node: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


@pytest.mark.parametrize("name", ["ssc3-sm4", "ssc2-3des"])
def test_any_value_of_the_wrong_shape_is_a_validation_error(name: str) -> None:
    base = shipped(name)
    tried = 0
    for path in _paths(base):
        replacements: tuple[Any, ...] = (None, True, 7, "zz", [], {})
        for replacement in replacements:
            doc = copy.deepcopy(base)
            node: Any = doc
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = replacement
            try:
                result = parse_profile(doc)
            except ValidationError as exc:
                assert all(e.field for e in exc.errors)
            else:
                assert isinstance(result, Profile)
            tried += 1
    assert tried > 300
    not_profiles: tuple[Any, ...] = (None, [], "ssc3-sm4", 3)
    for not_a_profile in not_profiles:
        assert fields_of_plain(not_a_profile) == ["profile"]


def fields_of_plain(doc: Any) -> list[str]:
    return [e.field for e in refused(doc)]
