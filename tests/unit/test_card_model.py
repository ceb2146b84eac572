"""The generic walker over the card description (pySim's test_files.py, for the SSC).

Every record of every file of every application: its examples round-trip through its codec and
have the declared length. Then the few facts card.md states outright.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sscard_issuer.card import ssc
from sscard_issuer.card.codecs import Binary, DecodeError, Numeric
from sscard_issuer.card.model import (
    KEY_IRK,
    KEY_REFS,
    KEY_RKSSSE,
    KEY_RPK,
    KEY_UPDATE_EF05_EF06,
    AccessCondition,
    ApplicationSpec,
    DfSpec,
    FileSpec,
    KeyRef,
    RecordAddressing,
    RecordFileSpec,
    RecordSpec,
    TransparentFileSpec,
)
from sscard_issuer.errors import FieldError

FREE = AccessCondition.FREE
RKSSSE = AccessCondition.RKSSSE
UPDATE_KEY = AccessCondition.UPDATE_KEY


def _files(app: ApplicationSpec) -> Iterator[tuple[str, FileSpec]]:
    for f in app.files:
        yield f"{app.name}/{f.name}", f
    for df in app.dfs:
        for f in df.files:
            yield f"{app.name}/{df.name}/{f.name}", f


RECORD_FILES = [
    (path, f)
    for app in ssc.APPLICATIONS
    for path, f in _files(app)
    if isinstance(f, RecordFileSpec)
]
RECORDS = [(f"{path}/{r.name}", f, r) for path, f in RECORD_FILES for r in f.records]
EXAMPLES = [
    pytest.param(r, value, raw, id=f"{path}#{i}")
    for path, _, r in RECORDS
    for i, (value, raw) in enumerate(r.examples)
]


def test_the_description_is_not_empty() -> None:
    assert len(RECORDS) >= 16 and len(EXAMPLES) >= len(RECORDS)


@pytest.mark.parametrize(("path", "file", "record"), RECORDS, ids=[p for p, _, _ in RECORDS])
def test_every_record_has_examples(
    path: str, file: RecordFileSpec, record: RecordSpec[Any]
) -> None:
    assert record.examples, path


@pytest.mark.parametrize(("record", "value", "raw"), EXAMPLES)
def test_every_example_round_trips(record: RecordSpec[Any], value: object, raw: bytes) -> None:
    assert isinstance(raw, bytes)
    assert len(raw) == record.length == record.codec.length
    assert record.encode(value) == raw
    assert record.decode(raw) == value
    framed = record.wrap(raw)
    assert framed[0] == record.tag and framed[1] == record.length
    assert record.unwrap(framed) == raw


@pytest.mark.parametrize(("path", "file"), RECORD_FILES, ids=[p for p, _ in RECORD_FILES])
def test_tags_unique_and_tag_is_the_record_identifier(path: str, file: RecordFileSpec) -> None:
    assert len(set(file.tags)) == len(file.tags)
    for record in file.records:
        assert file.record(record.tag) is record and file.by_name(record.name) is record
        if file.addressing is RecordAddressing.BY_TAG:
            assert record.record is None  # read as 00 B2 <tag> <SFI<<3>: identifier = tag


def test_ssse_files_are_addressed_by_tag() -> None:
    assert ssc.EF05.addressing is RecordAddressing.BY_TAG
    assert ssc.EF06.addressing is RecordAddressing.BY_TAG
    assert (ssc.EF05.sfi, ssc.EF06.sfi) == (5, 6)
    assert (ssc.EF05.fid, ssc.EF06.fid) == (0xEF05, 0xEF06)


def test_ef05_and_ef06_hold_the_records_of_card_md() -> None:
    lengths05 = {0x01: 16, 0x02: 1, 0x03: 4, 0x04: 12, 0x05: 4, 0x06: 4, 0x07: 9}
    lengths06 = {0x08: 18, 0x09: 30, 0x4E: 20, 0x0A: 1, 0x0B: 1, 0x0C: 3, 0x0D: 4}
    assert {r.tag: r.length for r in ssc.EF05.records} == lengths05
    assert {r.tag: r.length for r in ssc.EF06.records} == lengths06


def test_access_conditions_as_card_md_says() -> None:
    for record in ssc.EF05.records:
        expected = FREE if record.tag in (0x01, 0x03, 0x07) else RKSSSE
        assert record.read is expected, record.name
        assert record.update is UPDATE_KEY
    for record in ssc.EF06.records:
        assert record.read is RKSSSE and record.update is UPDATE_KEY, record.name
    assert ssc.EF07.read is RKSSSE and ssc.EF08.read is RKSSSE


def test_application_identifiers() -> None:
    assert ssc.SSSE.path == (bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF"),)
    assert "sx1.sh.社会保障".encode("gbk") == ssc.SSSE_AID
    assert ssc.PKI.path == ("PKI.社会保障".encode("gbk"), b"SS.CERT.ADF1")
    assert ssc.BANK.path == (bytes.fromhex("A000000333010101"),)
    assert ssc.SSSE_ALGORITHM == 0x03


def test_dfs_declared_with_aids_and_update_key_classes_and_no_records() -> None:
    aids = {df.name: df.aid.hex().upper() for df in ssc.SSSE.dfs}
    assert aids == {
        "DF01": "D15600000500", "DF02": "D15600000501", "DF03": "D15600000502",
        "DF04": "D15600000503",
    }
    for df in ssc.SSSE.dfs:
        assert df.files == () and df.update_key_class == f"STK-{df.name}"
        assert ssc.SSSE.df(df.name) is df


def test_pki_files() -> None:
    key = ssc.PKI.file("sign_public_key")
    assert isinstance(key, TransparentFileSpec)
    assert (key.fid, key.size, key.read, key.update) == (0x0012, 64, FREE, AccessCondition.NEVER)
    for name, fid in (("sign_certificate", 0x0018), ("encryption_certificate", 0x0019)):
        cert = ssc.PKI.file(name)
        assert isinstance(cert, TransparentFileSpec)
        assert (cert.fid, cert.size, cert.update) == (fid, 2048, UPDATE_KEY)


def test_bank_pan_record() -> None:
    pan_file = ssc.BANK.record_file(2)
    assert pan_file.addressing is RecordAddressing.EMV_TEMPLATE and pan_file.fid is None
    assert pan_file.record_number(0x5A) == 1 and pan_file.record_number(0x57) == 1
    assert pan_file.record(0x5A).codec == Numeric(10)


def test_photo_and_fingerprint_sizes() -> None:
    assert ssc.EF08.size == 51200 and ssc.EF07.size == ssc.FINGERPRINT_SIZE


def test_record_numbers_follow_the_order() -> None:
    assert [ssc.EF05.record_number(t) for t in ssc.EF05.tags] == list(range(1, 8))
    assert ssc.EF06.record_number(0x08) == 1 and ssc.EF06.record_number(0x09) == 2


def test_key_references() -> None:
    assert {k.name: k.key_id for k in KEY_REFS} == {
        "RKSSSE": 0x0A, "UK-EF05-EF06": 0x04, "RPK": 0x06, "IRK": 0x00, "TK": 0x01, "PUK": 0x07,
    }
    assert KEY_RKSSSE.key_id == 0x0A and KEY_UPDATE_EF05_EF06.key_id == 0x04
    assert KEY_RPK.key_id == 0x06 and KEY_IRK.key_id == 0x00


def test_lookups_of_missing_things_raise_key_error() -> None:
    with pytest.raises(KeyError):
        ssc.EF05.record(0x08)
    with pytest.raises(KeyError):
        ssc.EF05.by_name("ssn")
    with pytest.raises(KeyError):
        ssc.SSSE.file("EF09")
    with pytest.raises(KeyError):
        ssc.SSSE.df("DF09")
    with pytest.raises(KeyError):
        ssc.SSSE.record_file(9)


def test_record_encode_names_the_record() -> None:
    with pytest.raises(FieldError) as caught:
        ssc.Records.VERSION.encode("3.0")
    assert caught.value.field == "version"
    with pytest.raises(DecodeError, match="version"):
        ssc.Records.VERSION.decode(b"3.0")


@pytest.mark.parametrize("record", ["0104332E3030", "0304332E30", "0305332E303030", ""])
def test_unwrap_refuses_wrong_framing(record: str) -> None:
    with pytest.raises(DecodeError):
        ssc.Records.VERSION.unwrap(bytes.fromhex(record))


# -- the vocabulary refuses a bad description when it is built --------------------------------

def _rec(tag: int = 0x01, name: str = "a", **kw: Any) -> RecordSpec[bytes]:
    return RecordSpec(tag, name, "", Binary(1), FREE, FREE, ((b"\x00", b"\x00"),), **kw)


@pytest.mark.parametrize(
    "build",
    [
        lambda: _rec(tag=0x00),
        lambda: _rec(tag=0xFF),
        lambda: _rec(name="not an identifier"),
        lambda: RecordSpec(1, "a", "", "codec", FREE, FREE),  # type: ignore[arg-type]
        lambda: RecordSpec(1, "a", "", Binary(1), "free", FREE),  # type: ignore[arg-type]
        lambda: RecordSpec(1, "a", "", Binary(256), FREE, FREE),
        lambda: RecordFileSpec(0xEF05, 5, "F", (_rec(), _rec(name="b"))),  # duplicate tag
        lambda: RecordFileSpec(0xEF05, 5, "F", (_rec(), _rec(tag=2))),  # duplicate name
        lambda: RecordFileSpec(0xEF05, 31, "F", (_rec(),)),  # SFI is 5 bits, 1-30
        lambda: RecordFileSpec(0xEF05, 5, "F", ()),
        lambda: RecordFileSpec(0x10000, 5, "F", (_rec(),)),
        lambda: RecordFileSpec(0xEF05, 5, "F", (_rec(record=1),)),  # tag-addressed: no number
        lambda: RecordFileSpec(None, 2, "F", (_rec(),), addressing=RecordAddressing.EMV_TEMPLATE),
        lambda: TransparentFileSpec(0xEF08, "P", 0, FREE, FREE),
        lambda: DfSpec("DF", b"\xd1\x56", "", (), "STK"),  # AID shorter than 5 bytes
        lambda: ApplicationSpec("A", (), "", ()),
        lambda: ApplicationSpec("A", bytes(17), "", ()),
        lambda: KeyRef("K", 0x100, ""),
        lambda: KeyRef("", 0x01, ""),
    ],
)
def test_bad_description_refused(build: Any) -> None:
    with pytest.raises(ValueError):
        build()
