"""THE description of the third-generation social security card: one fact, one place.

Applications, files, records, encodings and access conditions from card.md sections 1-2, as data
built from :mod:`sscard_issuer.card.model`. The reader, the personaliser and the simulator all
read this module; none of them restates a tag, a length or an AID.

Facts marked (inferred) are our best reading of public code, not confirmed by the (non-public)
LD/T 32 texts; each is a named constant so that a regional profile can override it.
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from sscard_issuer.card.codecs import (
    Alphanumeric,
    AsciiFixed,
    BcdDate,
    BcdDigits,
    Binary,
    Codec,
    GbkText,
    Mapped,
    Numeric,
)
from sscard_issuer.card.identifiers import (
    AreaCode,
    CardIdentificationCode,
    CardNumber,
    Sex,
    SocialSecurityNumber,
)
from sscard_issuer.card.model import (
    ALG_SM4,
    AccessCondition,
    ApplicationSpec,
    DfSpec,
    RecordAddressing,
    RecordFileSpec,
    RecordSpec,
    TransparentFileSpec,
)

__all__ = [
    "APPLICATIONS",
    "BANK",
    "BANK_AID",
    "BANK_PAN_FILE",
    "DEFAULT_CARD_CATEGORY",
    "DEFAULT_INIT_ORG",
    "DF_AID_PREFIX",
    "EF05",
    "EF06",
    "EF07",
    "EF08",
    "FINGERPRINT_SIZE",
    "PHOTO_SIZE",
    "PHOTO_WRITABLE",
    "PKI",
    "PKI_ADF_AID",
    "PKI_AID",
    "SPEC_VERSION",
    "SSSE",
    "SSSE_AID",
    "SSSE_ALGORITHM",
    "Records",
]

FREE = AccessCondition.FREE
RKSSSE = AccessCondition.RKSSSE
UPDATE_KEY = AccessCondition.UPDATE_KEY
NEVER = AccessCondition.NEVER

SSSE_AID = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")  # GBK bytes of "sx1.sh.社会保障"
SSSE_ALGORITHM = ALG_SM4  # what a third-generation SSSE announces in its FCI (tag 86)
PKI_AID = bytes.fromhex("504B492EC9E7BBE1B1A3D5CF")  # "PKI.社会保障"
PKI_ADF_AID = bytes.fromhex("53532E434552542E41444631")  # "SS.CERT.ADF1"
BANK_AID = bytes.fromhex("A000000333010101")  # UnionPay debit (PBOC 3.0)
DF_AID_PREFIX = bytes.fromhex("D156000005")

SPEC_VERSION = "3.00"  # EF05 record 03 on third-generation cards
# EF05 record 02: the value set is not public; "1" is a placeholder a profile overrides.
DEFAULT_CARD_CATEGORY = "1"  # (inferred)
# EF05 record 04: the initialising organisation's 12-byte number, assigned per region; zeros
# mark "not assigned" on simulated cards.
DEFAULT_INIT_ORG = bytes(12)  # (inferred)

# The photo: 358 x 441 JPEG, regional budgets 9-50 KB (card.md §7); the file is sized for the
# largest common budget, 50 KiB. Above 0x7FFF bytes READ BINARY needs the odd-INS (B1) form.
PHOTO_SIZE = 51200  # (inferred)
# What plain UPDATE BINARY reaches (15-bit offsets) with 255-byte chunks: larger photos would
# need the odd-INS forms, which the personaliser does not use yet.
PHOTO_WRITABLE = 0x7FFF
# Two finger minutiae templates of up to 512 bytes each.
FINGERPRINT_SIZE = 1024  # (inferred)

V = TypeVar("V")
P = TypeVar("P")


def _typed(inner: Codec[P], value_type: type[V], load: Any, dump: Any) -> Mapped[P, V]:
    """A record whose value is one of the identifier types, validated when read."""
    return Mapped(inner=inner, load=load, dump=dump, value_type=value_type)


def _zh(text: str) -> bytes:
    return text.encode("gbk")


def _pad(data: bytes, length: int, fill: bytes = b"\x00") -> bytes:
    return data.ljust(length, fill)


_CIC = CardIdentificationCode(bytes.fromhex("110100D1560000050123456789ABCDEF"))
_SSN_A = SocialSecurityNumber("11010519491231002X")
_SSN_B = SocialSecurityNumber("440524188001010014")
_INIT_ORG = bytes.fromhex("110100000000000000000001")
# PAN, separator D, expiry YYMM, service code, discretionary data: 38 nibbles.
_TRACK2 = bytes.fromhex("6217000000000000001D340322000000000000")


class Records:
    """The EF05/EF06 records, typed, for code that reads or writes one item by name."""

    CARD_ID: RecordSpec[CardIdentificationCode] = RecordSpec(
        0x01, "card_id", "卡识别码",
        _typed(Binary(16), CardIdentificationCode, CardIdentificationCode, bytes),
        FREE, UPDATE_KEY,
        ((_CIC, _CIC.raw),),
    )
    CARD_CATEGORY: RecordSpec[str] = RecordSpec(
        0x02, "card_category", "卡的类别", Alphanumeric(1), RKSSSE, UPDATE_KEY,
        (("1", b"1"), ("", b"\x00")),
    )
    VERSION: RecordSpec[str] = RecordSpec(
        0x03, "version", "规范版本", AsciiFixed(4), FREE, UPDATE_KEY,
        (("3.00", b"3.00"), ("2.00", b"2.00")),
    )
    INIT_ORG: RecordSpec[bytes] = RecordSpec(
        0x04, "init_org", "初始化机构编号", Binary(12), RKSSSE, UPDATE_KEY,
        ((_INIT_ORG, _INIT_ORG),),
    )
    ISSUE_DATE: RecordSpec[date] = RecordSpec(
        0x05, "issue_date", "发卡日期", BcdDate(), RKSSSE, UPDATE_KEY,
        ((date(2024, 3, 15), bytes.fromhex("20240315")),),
    )
    EXPIRY_DATE: RecordSpec[date] = RecordSpec(
        0x06, "expiry_date", "卡有效期", BcdDate(), RKSSSE, UPDATE_KEY,
        ((date(2034, 3, 15), bytes.fromhex("20340315")),),
    )
    CARD_NUMBER: RecordSpec[CardNumber] = RecordSpec(
        0x07, "card_number", "卡号", _typed(AsciiFixed(9), CardNumber, CardNumber, str),
        FREE, UPDATE_KEY,
        ((CardNumber("A12345678"), b"A12345678"), (CardNumber("AB1234567"), b"AB1234567"),
         (CardNumber("123456789"), b"123456789")),
    )
    SSN: RecordSpec[SocialSecurityNumber] = RecordSpec(
        0x08, "ssn", "社会保障号码",
        _typed(AsciiFixed(18), SocialSecurityNumber, SocialSecurityNumber, str),
        RKSSSE, UPDATE_KEY,
        ((_SSN_A, b"11010519491231002X"), (_SSN_B, b"440524188001010014")),
    )
    NAME: RecordSpec[str] = RecordSpec(
        0x09, "name", "姓名", GbkText(30), RKSSSE, UPDATE_KEY,
        (("张三", _pad(_zh("张三"), 30)), ("欧阳娜娜", _pad(_zh("欧阳娜娜"), 30)),
         ("ZHANG San", _pad(b"ZHANG San", 30))),
    )
    NAME_EXTENSION: RecordSpec[str] = RecordSpec(
        0x4E, "name_extension", "姓名扩展", GbkText(20), RKSSSE, UPDATE_KEY,
        (("阿卜杜拉", _pad(_zh("阿卜杜拉"), 20)),),
    )
    SEX: RecordSpec[Sex] = RecordSpec(
        0x0A, "sex", "性别", _typed(AsciiFixed(1), Sex, Sex, lambda s: s.value),
        RKSSSE, UPDATE_KEY,
        ((Sex.MALE, b"1"), (Sex.FEMALE, b"2")),
    )
    ETHNICITY: RecordSpec[str] = RecordSpec(
        0x0B, "ethnicity", "民族", BcdDigits(2), RKSSSE, UPDATE_KEY,
        (("01", b"\x01"), ("56", b"\x56")),
    )
    BIRTHPLACE: RecordSpec[AreaCode] = RecordSpec(
        0x0C, "birthplace", "出生地", _typed(BcdDigits(6), AreaCode, AreaCode, str),
        RKSSSE, UPDATE_KEY,
        ((AreaCode("440524"), bytes.fromhex("440524")),),
    )
    BIRTH_DATE: RecordSpec[date] = RecordSpec(
        0x0D, "birth_date", "出生日期", BcdDate(), RKSSSE, UPDATE_KEY,
        ((date(1949, 12, 31), bytes.fromhex("19491231")),),
    )


# On a 3.00 card records 01, 03 and 07 read in clear, everything else after RKSSSE (card.md §3).
EF05 = RecordFileSpec(
    fid=0xEF05, sfi=5, name="EF05", title_zh="发卡机构数据",
    records=(Records.CARD_ID, Records.CARD_CATEGORY, Records.VERSION, Records.INIT_ORG,
             Records.ISSUE_DATE, Records.EXPIRY_DATE, Records.CARD_NUMBER),
)
# Record order = record number for `00 B2 rr 04` (inferred): public readers read record 1 as the
# SSN and record 2 as the name; 4E, added for the third generation, is put last so that the
# second-generation numbers stay valid. Address records by tag where possible.
EF06 = RecordFileSpec(
    fid=0xEF06, sfi=6, name="EF06", title_zh="持卡人基本信息",
    records=(Records.SSN, Records.NAME, Records.SEX, Records.ETHNICITY, Records.BIRTHPLACE,
             Records.BIRTH_DATE, Records.NAME_EXTENSION),
)
EF07 = TransparentFileSpec(
    fid=0xEF07, name="EF07", size=FINGERPRINT_SIZE, read=RKSSSE, update=UPDATE_KEY,
    title_zh="指纹信息",
)
EF08 = TransparentFileSpec(
    fid=0xEF08, name="EF08", size=PHOTO_SIZE, read=RKSSSE, update=UPDATE_KEY, title_zh="照片",
)


def _df(number: int, suffix: int, title_zh: str) -> DfSpec:
    # The DF record layouts are not public: the DFs are declared with no files.
    return DfSpec(
        name=f"DF{number:02d}", aid=DF_AID_PREFIX + bytes([suffix]), title_zh=title_zh, files=(),
        update_key_class=f"STK-DF{number:02d}",
    )


# card.md lists AID suffixes by meaning (00 public, 01 employment, 02 social insurance 1,
# 03 social insurance 2 = medical, 04 personnel) and DFs by meaning (DF01 public, DF02
# employment, DF03 insurance other than medical, DF04 medical). Matching the meanings gives
# DFnn -> suffix nn-1 (inferred; a reader trace also selects D15600000500 first).
SSSE = ApplicationSpec(
    name="SSSE", aid=SSSE_AID, title_zh="社会保障应用环境", files=(EF05, EF06, EF07, EF08),
    dfs=(
        _df(1, 0x00, "公共信息"),
        _df(2, 0x01, "就业和失业"),
        _df(3, 0x02, "社会保险（医疗除外）"),
        _df(4, 0x03, "医疗保险"),
    ),
)

# The signing public key is generated on the card: nobody writes it. Certificates are public
# (FREE to read); their sizes hold one SM2 certificate with room to spare (inferred).
PKI = ApplicationSpec(
    name="PKI", aid=(PKI_AID, PKI_ADF_AID), title_zh="社会保障PKI应用",
    files=(
        TransparentFileSpec(0x0012, "sign_public_key", 64, FREE, NEVER, "签名公钥"),
        TransparentFileSpec(0x0018, "sign_certificate", 2048, FREE, UPDATE_KEY, "签名证书"),
        TransparentFileSpec(0x0019, "encryption_certificate", 2048, FREE, UPDATE_KEY, "加密证书"),
    ),
)

# SFI 2 record 1 is an EMV '70' template holding 5A (PAN, cn, up to 10 bytes) and 57 (track 2
# equivalent, b, up to 19 bytes): EMV addressing, not the SSC's tag-as-record-identifier. The
# model holds each at its maximum length. Written by the bank's own issuance, never by us.
BANK_PAN_FILE = RecordFileSpec(
    fid=None, sfi=2, name="SFI2", title_zh="银行卡号", addressing=RecordAddressing.EMV_TEMPLATE,
    records=(
        RecordSpec(0x5A, "pan", "主账号", Numeric(10), FREE, NEVER,
                   (("6217000000000000001", bytes.fromhex("6217000000000000001F")),), record=1),
        RecordSpec(0x57, "track2", "二磁道等效数据", Binary(19), FREE, NEVER,
                   ((_TRACK2, _TRACK2),),
                   record=1),
    ),
)
BANK = ApplicationSpec(name="BANK", aid=BANK_AID, title_zh="金融应用", files=(BANK_PAN_FILE,))

APPLICATIONS: tuple[ApplicationSpec, ...] = (SSSE, PKI, BANK)
