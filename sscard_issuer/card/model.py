"""The vocabulary in which the card is described: applications, files, records, access, keys.

In the manner of pySim's ``filesystem.py``: a file is data (its identifiers, its records, each
record's codec, access conditions and round-trip examples), not code. The one description built
from these classes lives in :mod:`sscard_issuer.card.ssc`; the reader, the personaliser and the
simulator all read it. Runtime state (the selected file, authentication status) belongs to them,
never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from sscard_issuer.card.codecs import Codec, DecodeError
from sscard_issuer.errors import FieldError

__all__ = [
    "ALG_DES3",
    "ALG_SM4",
    "ALG_SSF33",
    "KEY_IRK",
    "KEY_PUK",
    "KEY_REFS",
    "KEY_RKSSSE",
    "KEY_RPK",
    "KEY_TK",
    "KEY_UPDATE_EF05_EF06",
    "AccessCondition",
    "ApplicationSpec",
    "DfSpec",
    "FileSpec",
    "KeyRef",
    "RecordAddressing",
    "RecordFileSpec",
    "RecordSpec",
    "TransparentFileSpec",
]

T = TypeVar("T")

# Algorithm identifier, tag 86 inside 9F0C of the SSSE FCI (card.md §1). The algorithm objects
# themselves live in the crypto layer; the model only names the byte.
ALG_DES3 = 0x01
ALG_SSF33 = 0x02
ALG_SM4 = 0x03


class AccessCondition(Enum):
    """What a terminal must have done before a read or an update is allowed."""

    FREE = "free"
    PIN = "pin"  # the holder's social security PIN verified
    RKSSSE = "rksse"  # external authentication with the read key RKSSSE (key id 0x0A)
    UPDATE_KEY = "update_key"  # external authentication with key id 0x04; writes MAC-protected
    DF_KEY = "df_key"  # the DF's own update key (STK-DFxx)
    NEVER = "never"


@dataclass(frozen=True)
class KeyRef:
    """A card key as a terminal refers to it in EXTERNAL/INTERNAL AUTHENTICATE (P2)."""

    name: str
    key_id: int
    purpose: str

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a key reference needs a name")
        if not isinstance(self.key_id, int) or not 0 <= self.key_id <= 0xFF:
            raise ValueError(f"key id must be one byte, got {self.key_id!r}")


# Key ids seen on real cards (card.md §3). Readers and the simulator take a KeyRef as a parameter,
# so a region whose cards differ passes its own.
KEY_RKSSSE = KeyRef("RKSSSE", 0x0A, "external authentication releasing protected SSSE records")
KEY_UPDATE_EF05_EF06 = KeyRef("UK-EF05-EF06", 0x04, "external authentication before writing "
                              "EF05/EF06 (MAC-protected UPDATE RECORD)")
KEY_RPK = KeyRef("RPK", 0x06, "external authentication before a PIN reload")
KEY_IRK = KeyRef("IRK", 0x00, "internal authentication: is the card genuine")  # 0x00 (inferred)
# Not seen in public traces: our choices, kept as data (a profile names its own key ids).
KEY_TK = KeyRef("TK", 0x01, "external authentication of the personaliser on a blank card")  # (inferred)
KEY_PUK = KeyRef("PUK", 0x07, "PIN unblock")  # (inferred)
KEY_REFS: tuple[KeyRef, ...] = (KEY_IRK, KEY_TK, KEY_UPDATE_EF05_EF06, KEY_RPK, KEY_PUK, KEY_RKSSSE)


def _check_byte_range(what: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{what} must be in {low:#x}..{high:#x}, got {value!r}")


@dataclass(frozen=True)
class RecordSpec(Generic[T]):
    """One record of a linear record file: its tag, its codec, who may read and write it.

    On the SSC the tag is also the record identifier (``00 B2 <tag> <SFI<<3>``) and the record
    body is simple TLV ``tag len value``; :meth:`wrap` and :meth:`unwrap` handle that framing.
    ``examples`` are (value, encoded bytes) pairs that the generic test round-trips.
    """

    tag: int
    name: str
    title_zh: str
    codec: Codec[T]
    read: AccessCondition
    update: AccessCondition
    examples: tuple[tuple[T, bytes], ...] = ()
    record: int | None = None  # record number, only where records are not addressed by tag

    def __post_init__(self) -> None:
        _check_byte_range("record tag", self.tag, 0x01, 0xFE)
        if not self.name.isidentifier():
            raise ValueError(f"record name must be an identifier, got {self.name!r}")
        if not isinstance(self.codec, Codec):
            raise ValueError(f"record {self.name}: codec must be a Codec")
        if not 1 <= self.codec.length <= 0xFF:  # one length byte in simple TLV
            raise ValueError(f"record {self.name}: value length {self.codec.length} not 1..255")
        if not isinstance(self.read, AccessCondition) or not isinstance(
            self.update, AccessCondition
        ):
            raise ValueError(f"record {self.name}: access conditions must be AccessCondition")
        if self.record is not None:
            _check_byte_range("record number", self.record, 1, 0xFE)

    @property
    def length(self) -> int:
        return self.codec.length

    def encode(self, value: T) -> bytes:
        """The record's value bytes; a refused value names this record as the field."""
        try:
            return self.codec.encode(value)
        except FieldError as error:
            raise FieldError(self.name, error.expected, error.got) from None

    def decode(self, raw: bytes) -> T:
        try:
            return self.codec.decode(raw)
        except DecodeError as error:
            raise DecodeError(f"{self.name} (tag {self.tag:02X}): {error}") from None

    def wrap(self, raw: bytes) -> bytes:
        """``tag len value``: the record as stored and as UPDATE RECORD carries it."""
        if len(raw) != self.length:
            raise FieldError(self.name, f"{self.length} bytes", raw)
        return bytes((self.tag, self.length)) + raw

    def unwrap(self, record: bytes) -> bytes:
        """The value bytes of a record read from a card, checking its tag and length."""
        if len(record) != 2 + self.length or record[0] != self.tag or record[1] != self.length:
            raise DecodeError(
                f"{self.name}: expected {self.tag:02X} {self.length:02X} and {self.length} bytes, "
                f"got {bytes(record[:2]).hex().upper()} and {max(len(record) - 2, 0)} bytes"
            )
        return bytes(record[2:])


class RecordAddressing(Enum):
    """How a record file's items are found."""

    BY_TAG = "by_tag"  # SSC: one simple-TLV item per record, record identifier = tag
    EMV_TEMPLATE = "emv_template"  # EMV: a record number holds a '70' template of several tags


@dataclass(frozen=True)
class RecordFileSpec:
    """A linear record file (EF05, EF06, the bank's SFI 2)."""

    fid: int | None  # None for files reached only by SFI (EMV)
    sfi: int
    name: str
    records: tuple[RecordSpec[Any], ...]
    title_zh: str = ""
    addressing: RecordAddressing = RecordAddressing.BY_TAG

    def __post_init__(self) -> None:
        if self.fid is not None:
            _check_byte_range("file identifier", self.fid, 0x0001, 0xFFFE)
        _check_byte_range("short file identifier", self.sfi, 1, 30)
        if not self.records:
            raise ValueError(f"{self.name}: a record file needs records")
        tags = [r.tag for r in self.records]
        names = [r.name for r in self.records]
        if len(set(tags)) != len(tags) or len(set(names)) != len(names):
            raise ValueError(f"{self.name}: record tags and names must be unique")
        numbered = [r.record is not None for r in self.records]
        if self.addressing is RecordAddressing.BY_TAG and any(numbered):
            raise ValueError(f"{self.name}: records addressed by tag carry no record number")
        if self.addressing is RecordAddressing.EMV_TEMPLATE and not all(numbered):
            raise ValueError(f"{self.name}: EMV records need their record number")

    def record(self, tag: int) -> RecordSpec[Any]:
        for spec in self.records:
            if spec.tag == tag:
                return spec
        raise KeyError(f"{self.name} has no record with tag {tag:02X}")

    def by_name(self, name: str) -> RecordSpec[Any]:
        for spec in self.records:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no record named {name!r}")

    @property
    def tags(self) -> tuple[int, ...]:
        return tuple(r.tag for r in self.records)

    def record_number(self, tag: int) -> int:
        """The record's position (1-based): what ``00 B2 rr 04`` reads (order inferred)."""
        spec = self.record(tag)
        if spec.record is not None:
            return spec.record
        return self.records.index(spec) + 1


@dataclass(frozen=True)
class TransparentFileSpec:
    """A binary file read and written with READ/UPDATE BINARY (photo, fingerprint, certificates)."""

    fid: int
    name: str
    size: int
    read: AccessCondition
    update: AccessCondition
    title_zh: str = ""

    def __post_init__(self) -> None:
        _check_byte_range("file identifier", self.fid, 0x0001, 0xFFFE)
        # READ BINARY (B0) reaches offset 0x7FFF; a larger file needs the odd-INS B1 form.
        _check_byte_range("file size", self.size, 1, 0xFFFF)
        if not isinstance(self.read, AccessCondition) or not isinstance(
            self.update, AccessCondition
        ):
            raise ValueError(f"{self.name}: access conditions must be AccessCondition")


FileSpec = RecordFileSpec | TransparentFileSpec


def _check_aid(aid: bytes) -> None:
    if not isinstance(aid, bytes) or not 5 <= len(aid) <= 16:  # ISO/IEC 7816-4 application id
        raise ValueError(f"an AID is 5 to 16 bytes, got {aid!r}")


def _find_file(owner: str, files: tuple[FileSpec, ...], name: str) -> FileSpec:
    for spec in files:
        if spec.name == name:
            return spec
    raise KeyError(f"{owner} has no file named {name!r}")


@dataclass(frozen=True)
class DfSpec:
    """A dedicated file inside an application, selected by its AID.

    ``update_key_class`` names the DF's own update key (STK-DFxx, card.md §4).
    """

    name: str
    aid: bytes
    title_zh: str
    files: tuple[FileSpec, ...]
    update_key_class: str

    def __post_init__(self) -> None:
        _check_aid(self.aid)

    def file(self, name: str) -> FileSpec:
        return _find_file(self.name, self.files, name)


@dataclass(frozen=True)
class ApplicationSpec:
    """An application on the chip; ``aid`` is one AID, or the path of AIDs selected in turn."""

    name: str
    aid: bytes | tuple[bytes, ...]
    title_zh: str
    files: tuple[FileSpec, ...]
    dfs: tuple[DfSpec, ...] = ()

    def __post_init__(self) -> None:
        for aid in self.path:
            _check_aid(aid)
        if not self.path:
            raise ValueError(f"{self.name}: an application needs an AID")
        names = [f.name for f in self.files] + [d.name for d in self.dfs]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: file and DF names must be unique")

    @property
    def path(self) -> tuple[bytes, ...]:
        """The AIDs to SELECT by name, in order (one for most applications)."""
        return (self.aid,) if isinstance(self.aid, bytes) else tuple(self.aid)

    def file(self, name: str) -> FileSpec:
        return _find_file(self.name, self.files, name)

    def df(self, name: str) -> DfSpec:
        for spec in self.dfs:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no DF named {name!r}")

    def record_file(self, sfi: int) -> RecordFileSpec:
        for spec in self.files:
            if isinstance(spec, RecordFileSpec) and spec.sfi == sfi:
                return spec
        raise KeyError(f"{self.name} has no record file with SFI {sfi}")
