"""The batch application form (申领表（批量）) as data: its columns, how each cell is read, the blank form.

The form is one worksheet (the first of the workbook): a title row, the organisation row
(单位名称 and 统一社会信用代码 labels, each followed by its value), a note, the header row, then one
applicant per row. Headers are bilingual (``*姓名 / Name``; the star marks a required column) and
are matched by either language, so a form whose columns were moved or whose headers lost one
language still reads; a header the form does not know is refused rather than its column ignored.

Cells are read as a clerk types them: dates as dates or ``1985-06-15``/``19850615``/``1985年6月15日``;
sex as 男/女, 1/2, M/F; the document type by its Chinese name, a common short name (身份证, 护照)
or its :class:`DocumentType` code; ethnicity by name (壮族 or 壮) or GB/T 3304 code; delivery as
到网点领取/collect or 邮寄/EMS (blank: collected). A document number Excel turned into a number
with rounding (more than 15 digits) is refused with the reason, never repaired.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sscard_issuer.applications.document_numbers import DocumentError, DocumentType
from sscard_issuer.applications.requests import ApplicationKind, DeliveryMethod

EMPLOYER, STUDENT = ApplicationKind.EMPLOYER_BATCH, ApplicationKind.STUDENT
BATCH_KINDS = (EMPLOYER, STUDENT)
HEADER_SEARCH_ROWS = 20  # the header row must be among the first rows
TEXT_FORMAT = "@"


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    required: bool = False
    kinds: tuple[ApplicationKind, ...] = BATCH_KINDS  # the forms that have it
    width: int = 14
    text: bool = False  # formatted as text in the blank form (numbers Excel must not round)
    aliases: tuple[str, ...] = ()

    def label(self, kind: ApplicationKind | None = None) -> str:
        star = "*" if self.required or (kind is STUDENT and self.key == "student_number") else ""
        return f"{star}{self.zh} / {self.en}"

    def name(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


COLUMNS: tuple[Column, ...] = (
    Column("seq", "序号", "No.", width=6),
    Column("name", "姓名", "Name", required=True),
    Column("sex", "性别", "Sex", required=True, width=8),
    Column("birth_date", "出生日期", "Date of birth", required=True, width=14),
    Column("ethnicity", "民族", "Ethnicity", width=10, text=True),
    Column("document_type", "证件类型", "Document type", required=True, width=16),
    Column("document_number", "证件号码", "Document number", required=True, width=22, text=True,
           aliases=("证件号", "身份证号码", "身份证号", "公民身份号码")),
    Column("country", "国籍", "Country", width=8),
    Column("phone", "联系电话", "Phone", width=15, text=True, aliases=("手机号码", "电话")),
    Column("photo_file", "照片文件", "Photo file", width=24, aliases=("照片", "照片文件名")),
    Column("school", "学校名称", "School", kinds=(STUDENT,), width=24, aliases=("学校",)),
    Column("student_number", "学籍号", "Student number", kinds=(STUDENT,), width=20, text=True),
    Column("delivery", "领卡方式", "Delivery", width=12),
    Column("recipient_name", "收件人", "Recipient", width=10),
    Column("recipient_phone", "收件人电话", "Recipient phone", width=15, text=True),
    Column("address", "邮寄地址", "Postal address", width=30, aliases=("收件地址", "地址")),
    Column("postcode", "邮政编码", "Postcode", width=10, text=True, aliases=("邮编",)),
)
BY_KEY = {c.key: c for c in COLUMNS}
REQUIRED = tuple(c.key for c in COLUMNS if c.required)

ORGANISATION_NAME = ("单位名称", "Organisation name")
ORGANISATION_CODE = ("统一社会信用代码", "Unified social credit code")


class BatchFormError(DocumentError):
    """The file is not a usable batch form (not a workbook, no header, unknown columns...)."""


def _norm(value: str) -> str:
    return re.sub(r"[\s*＊:：()（）_.-]", "", unicodedata.normalize("NFKC", value)).lower()


_LABELS: dict[str, str] = {}
for _c in COLUMNS:
    for _name in (_c.zh, _c.en, _c.key, *_c.aliases):
        _LABELS[_norm(_name)] = _c.key
_ORG_LABELS = {_norm(n): "name" for n in (*ORGANISATION_NAME, "单位全称", "Organization name")} | {
    _norm(n): "code" for n in ORGANISATION_CODE}


def _label_keys(label: object, table: dict[str, str]) -> set[str]:
    """What a label names in ``table``, in either language or both (split by ``/`` or a new line)."""
    if not isinstance(label, str) or not label.strip():
        return set()
    parts = [_norm(p) for p in re.split(r"[/／\n]", label) if p.strip()] + [_norm(label)]
    return {table[p] for p in parts if p in table}


def header_key(label: object) -> str | None:
    """The column a header cell names; ``None`` for a blank, unknown or ambiguous label."""
    keys = _label_keys(label, _LABELS)
    return keys.pop() if len(keys) == 1 else None


# -- cells ------------------------------------------------------------------------------------------

def _error(key: str, en: str, zh: str, got: object = None) -> DocumentError:
    return DocumentError(key, en, zh, got)


def cell_text(value: object, key: str) -> str | None:
    """A cell as the text the clerk meant; ``None`` when blank. Rounded numbers are refused."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _error(key, "text, not TRUE/FALSE", "须填写文字，不能是逻辑值", value)
    if isinstance(value, float):
        if not value.is_integer() or abs(value) >= 1e15:
            raise _error(key, "text: Excel stored this as a number and may have rounded it; format the column as "
                         "text and type it again", "该单元格被 Excel 存为数字（超过15位会被截断），请将该列设为文本格式后重新录入",
                         f"{value:.15g}")
        value = int(value)
    if isinstance(value, int):
        text = str(value)
        # a postcode typed as a number loses its leading zero (010000 becomes 10000)
        return text.zfill(6) if key == "postcode" and 0 < value < 100000 else text
    if isinstance(value, datetime | date):
        return (value.date() if isinstance(value, datetime) else value).isoformat()
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def parse_date(value: object, key: str = "birth_date") -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value, key) or ""
    match = _DATE.fullmatch(text) or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    try:
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        pass
    raise _error(key, "a date such as 1985-06-15", "须为有效日期，如 1985-06-15", text[:20])


_SEXES = {"男": "1", "女": "2", "1": "1", "2": "2", "m": "1", "f": "2", "male": "1", "female": "2"}


def parse_sex(text: str) -> str:
    sex = _SEXES.get(text.lower())
    if sex is None:
        raise _error("sex", "男/女, 1/2 or M/F", "须填写“男”或“女”", text[:10])
    return sex


_DOCUMENT_ALIASES = {
    "身份证": DocumentType.RESIDENT_ID_CARD, "临时身份证": DocumentType.TEMPORARY_ID_CARD,
    "户口本": DocumentType.HOUSEHOLD_REGISTER, "港澳通行证": DocumentType.HK_MACAO_TRAVEL_PERMIT,
    "台胞证": DocumentType.TAIWAN_TRAVEL_PERMIT, "居住证": DocumentType.HMT_RESIDENCE_PERMIT,
    "护照": DocumentType.FOREIGN_PASSPORT, "永久居留证": DocumentType.FOREIGN_PERMANENT_RESIDENCE_ID,
    "外国人永久居留证": DocumentType.FOREIGN_PERMANENT_RESIDENCE_ID,
}
_DOCUMENT_TYPES = {_norm(k): v for k, v in _DOCUMENT_ALIASES.items()} | {
    _norm(name): t for t in DocumentType for name in (t.value, t.name_zh, t.name_en)}


def parse_document_type(text: str) -> DocumentType:
    found = _DOCUMENT_TYPES.get(_norm(text))
    if found is None:
        raise _error("document_type", "one of: " + ", ".join(t.value for t in DocumentType),
                     "须为：" + "、".join(t.name_zh for t in DocumentType), text[:20])
    return found


# GB/T 3304-1991, codes 01-56 in this order; 97 other, 98 of foreign origin (as card/applicant.py)
ETHNICITIES = (
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼", "哈萨克",
    "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌",
    "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固",
    "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
)
_ETHNIC_CODES = {f"{i:02d}": f"{i:02d}" for i in range(1, 57)} | {"97": "97", "98": "98"}
_ETHNIC_NAMES = {name: f"{i:02d}" for i, name in enumerate(ETHNICITIES, 1)} | {
    "其他": "97", "外国血统": "98", "外国血统中国籍人士": "98"}


def parse_ethnicity(text: str) -> str:
    code = _ETHNIC_CODES.get(text.zfill(2)) if text.isdigit() else None
    code = code or _ETHNIC_NAMES.get(text) or _ETHNIC_NAMES.get(text.removesuffix("族"))
    if code is None:
        raise _error("ethnicity", "an ethnic group by name (e.g. 壮族) or GB/T 3304 code 01-56, 97, 98",
                     "须为民族名称（如“壮族”）或两位民族代码", text[:12])
    return code


_DELIVERY = {_norm(k): v for k, v in (
    ("到网点领取", DeliveryMethod.COLLECT), ("网点领取", DeliveryMethod.COLLECT), ("领取", DeliveryMethod.COLLECT),
    ("自取", DeliveryMethod.COLLECT), ("collect", DeliveryMethod.COLLECT), ("邮寄", DeliveryMethod.EMS),
    ("EMS", DeliveryMethod.EMS), ("邮寄EMS", DeliveryMethod.EMS), ("mail", DeliveryMethod.EMS))}


def parse_delivery(text: str | None) -> DeliveryMethod:
    if text is None:
        return DeliveryMethod.COLLECT
    method = _DELIVERY.get(_norm(text))
    if method is None:
        raise _error("delivery", "到网点领取/collect or 邮寄/EMS", "须为“到网点领取”或“邮寄”", text[:12])
    return method


# -- reading ----------------------------------------------------------------------------------------

@dataclass
class FormRow:
    """One applicant row: its number in the sheet, the cells by column key, cells under no header."""

    number: int
    values: tuple[Any, ...]  # the row as read, for the report
    cells: dict[str, Any]
    stray: list[tuple[int, Any]] = field(default_factory=list)  # (1-based column, value)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class FormReader:
    """The form, streamed: ``openpyxl`` read-only mode, one row in memory at a time.

    Opening reads the top rows up to the header; :meth:`rows` goes on from there. Wholly blank
    rows (or rows with only a 序号) are skipped: they carry no applicant.
    """

    def __init__(self, path: Path, kind: ApplicationKind) -> None:
        import openpyxl  # a dependency of batch work only
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (OSError, InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise BatchFormError("file", f"an .xlsx workbook (the batch form): {exc}",
                                 "须为 .xlsx 格式的批量申领表", path.name) from None
        try:
            self._rows = enumerate(self._book.worksheets[0].iter_rows(values_only=True), 1)
            self.organisation_name: str | None = None
            self.organisation_code: str | None = None
            self.header_row, self.labels, self.keys = self._find_header(kind)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._book.close()

    def __enter__(self) -> FormReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _find_header(self, kind: ApplicationKind) -> tuple[int, tuple[str, ...], tuple[str | None, ...]]:
        for number, values in self._rows:
            keys = tuple(header_key(v) for v in values)
            if sum(k is not None for k in keys) >= 3:
                return number, tuple("" if _blank(v) else str(v).strip() for v in values), self._check_header(
                    values, keys, kind)
            self._top_row(values)
            if number >= HEADER_SEARCH_ROWS:
                break
        raise BatchFormError("header", f"a header row (姓名 / Name, 证件号码 / Document number...) within the "
                             f"first {HEADER_SEARCH_ROWS} rows of the first sheet",
                             f"第一个工作表的前 {HEADER_SEARCH_ROWS} 行中没有找到表头（姓名、证件号码等），请使用标准模板")

    def _top_row(self, values: tuple[Any, ...]) -> None:
        for i, value in enumerate(values):
            found = _label_keys(value, _ORG_LABELS)
            which = found.pop() if len(found) == 1 else None
            given = next((v for v in values[i + 1:] if not _blank(v)), None)
            if _label_keys(given, _ORG_LABELS):
                given = None  # the next label: this one was left blank
            if which and given is not None:
                setattr(self, f"organisation_{which}", str(given).strip())

    @staticmethod
    def _check_header(values: tuple[Any, ...], keys: tuple[str | None, ...],
                      kind: ApplicationKind) -> tuple[str | None, ...]:
        unknown = [str(v).strip() for v, k in zip(values, keys, strict=True) if k is None and not _blank(v)]
        if unknown:
            raise BatchFormError("header", "only the form's columns: unknown " + ", ".join(unknown),
                                 "表头中有本表没有的栏目：" + "、".join(unknown), unknown[0])
        present = [k for k in keys if k]
        twice = sorted({k for k in present if present.count(k) > 1})
        if twice:
            raise BatchFormError("header", "each column once: twice " + ", ".join(BY_KEY[k].en for k in twice),
                                 "栏目重复：" + "、".join(BY_KEY[k].zh for k in twice), twice[0])
        needed = [*REQUIRED, *(("student_number",) if kind is STUDENT else ())]
        missing = [BY_KEY[k] for k in needed if k not in present]
        if missing:
            raise BatchFormError("header", "the required columns: missing " + ", ".join(c.en for c in missing),
                                 "缺少必填栏目：" + "、".join(c.zh for c in missing), missing[0].key)
        return keys

    def rows(self) -> Iterator[FormRow]:
        width = len(self.keys)
        for number, values in self._rows:
            cells = {k: v for k, v in zip(self.keys, values, strict=False) if k is not None and not _blank(v)}
            stray = [(i + 1, v) for i, v in enumerate(values)
                     if not _blank(v) and (i >= width or self.keys[i] is None)]
            if not stray and not (cells.keys() - {"seq"}):
                continue
            yield FormRow(number, tuple(values), cells, stray)


# -- the blank form ---------------------------------------------------------------------------------

def columns_for(kind: ApplicationKind) -> tuple[Column, ...]:
    return tuple(c for c in COLUMNS if kind in c.kinds)


def write_template(path: Path, kind: ApplicationKind = EMPLOYER, *, organisation_name: str | None = None,
                   organisation_code: str | None = None) -> Path:
    """Write a blank form for ``kind``; the organisation's name and code, if given, fill its top row."""
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    if kind not in BATCH_KINDS:
        raise BatchFormError("kind", "employer_batch or student", "批量申领类型须为单位或学生", kind)
    columns = columns_for(kind)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "申领表 Form"
    title = ("广西壮族自治区社会保障卡申领表（批量） / Social security card application form (batch)" if kind is EMPLOYER
             else "在校学生社会保障卡申领表（批量） / Social security card application form (students, batch)")
    sheet.append([title])
    sheet.append([f"{ORGANISATION_NAME[0]} / {ORGANISATION_NAME[1]}", organisation_name, None,
                  f"{ORGANISATION_CODE[0]} / {ORGANISATION_CODE[1]}", organisation_code])
    sheet.append(["带 * 为必填项；证件号码按文本填写；照片文件不填时按“证件号码.jpg”查找；领卡方式不填为到网点领取。 "
                  "* required; type document numbers as text; without a photo file name the photo is "
                  "<document number>.jpg; no delivery means collected at the outlet."])
    sheet.append([c.label(kind) for c in columns])
    sheet["A1"].font = Font(bold=True, size=14)
    for cell in sheet[4]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    sheet.freeze_panes = "A5"
    lists = {"sex": "男,女", "document_type": ",".join(t.name_zh for t in DocumentType), "delivery": "到网点领取,邮寄"}
    for index, column in enumerate(columns, 1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        if column.text:
            sheet.column_dimensions[letter].number_format = TEXT_FORMAT
        if column.key in lists:
            check = DataValidation(type="list", formula1=f'"{lists[column.key]}"', allow_blank=True)
            sheet.add_data_validation(check)
            check.add(f"{letter}5:{letter}20000")
    notes = book.create_sheet("填写说明 Notes")
    notes.append(["栏目 / Column", "必填 / Required", "说明 / Notes"])
    for column in columns:
        notes.append([column.label(kind), "是 / yes" if "*" in column.label(kind) else "", _NOTES.get(column.key, "")])
    notes.column_dimensions["A"].width, notes.column_dimensions["C"].width = 28, 90
    book.save(path)
    return path


_NOTES = {
    "sex": "男/女（或 1/2、M/F）",
    "birth_date": "日期，如 1985-06-15 / a date such as 1985-06-15",
    "ethnicity": "民族名称或代码：" + " ".join(f"{i:02d}{n}" for i, n in enumerate(ETHNICITIES, 1)) + " 97其他 98外国血统",
    "document_type": "、".join(t.name_zh for t in DocumentType) + " / or the codes " + ", ".join(t.value for t in DocumentType),
    "document_number": "按文本填写（Excel 会把超过15位的数字截断）/ typed as text: Excel rounds numbers of more than 15 digits",
    "school": "不填时为上方的单位名称 / blank: the organisation named above",
    "country": "外国护照须填签发国三位字母代码，如 DEU / the issuing state of a passport, ISO alpha-3",
    "photo_file": "白底免冠彩色证件照 358×441 JPEG；照片放在同一文件夹或 zip 中 / JPEG photos in a folder or a .zip",
    "delivery": "到网点领取 / collect, 邮寄 / EMS（邮寄须填写收件人、电话、地址、邮编）",
}
