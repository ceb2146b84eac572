"""The files around a batch form: the photos handed in with it, and the report given back.

Photos come as a folder (searched with its sub-folders) or a ``.zip``, one JPEG per applicant,
named by the document number (``450103198506151231.jpg``) or by the form's 照片文件 column. Names
are matched without regard to case or extension, and only by the file's own name: a cell holding
a path never opens anything outside the folder or archive. Zip archives made on Chinese Windows
often store GBK names without saying so; those are decoded as GBK.

The report (openpyxl write-only mode, rows streamed as they are decided) has a summary sheet first
and one line per input row, its status and reasons first, then the cells as the clerk gave them.
Text is written as text: a cell that begins with ``=`` stays a string, never a formula. The file
is written beside its final name and moved into place when complete.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePath
from typing import Any

from sscard_issuer.lifecycle.batch_form import BatchFormError

#: Files bigger than this are not read at all (a photo's budget is tens of KB).
PHOTO_READ_LIMIT = 2 * 1024 * 1024
_JPEG_SUFFIXES = (".jpg", ".jpeg")


class PhotoMissing(Exception):
    """Internal: the named photo file is not among those handed in (``ambiguous``: several are)."""

    def __init__(self, name: str, ambiguous: bool = False) -> None:
        super().__init__(name)
        self.name = name
        self.ambiguous = ambiguous


class PhotoTooLarge(Exception):
    def __init__(self, name: str, size: int) -> None:
        super().__init__(name)
        self.name = name
        self.size = size


def _zip_name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & 0x800:  # the archive says the name is UTF-8
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


class PhotoSource:
    """The photos of one batch, indexed by file name and by name without extension."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        entries: list[tuple[str, Any, int]] = []  # (name, how to read it, size)
        try:
            if path.is_dir():
                for file in path.rglob("*"):  # (hidden files, e.g. a Mac's ._ companions, are not photos)
                    if file.is_file() and not file.name.startswith("."):
                        entries.append((file.name, file, file.stat().st_size))
            elif zipfile.is_zipfile(path):
                self._zip = zipfile.ZipFile(path)
                for info in self._zip.infolist():
                    name = _zip_name(info).replace("\\", "/")
                    if not (info.is_dir() or PurePath(name).name.startswith(".") or "__MACOSX/" in name):
                        entries.append((PurePath(name).name, info, info.file_size))
            else:
                raise BatchFormError("photos", "a folder or a .zip of the applicants' JPEG photos",
                                     "照片须为文件夹或 .zip 压缩包", path.name)
        except (OSError, zipfile.BadZipFile) as exc:
            raise BatchFormError("photos", f"a readable folder or .zip of photos ({exc})",
                                 "无法读取照片文件夹或压缩包", path.name) from None
        self._by_name: dict[str, list[tuple[str, Any, int]]] = {}
        self._by_stem: dict[str, list[tuple[str, Any, int]]] = {}
        for entry in entries:
            pure = PurePath(entry[0])
            self._by_name.setdefault(pure.name.lower(), []).append(entry)
            self._by_stem.setdefault(pure.stem.lower(), []).append(entry)

    def __len__(self) -> int:
        return sum(len(found) for found in self._by_name.values())

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> PhotoSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def find(self, photo_file: str | None, document_number: str | None) -> tuple[str, bytes] | None:
        """The photo named in the row, else the one named by the document number (``None``: not
        given and not found; a photo the row names but that is missing raises :class:`PhotoMissing`)."""
        if photo_file is not None:
            name = PurePath(photo_file.replace("\\", "/")).name
            found = self._by_name.get(name.lower()) or (
                self._by_stem.get(name.lower(), []) if not PurePath(name).suffix else [])
            if not found:
                raise PhotoMissing(name)
        else:
            if not document_number:
                return None
            found = self._by_stem.get(document_number.lower(), [])
            jpeg = [e for e in found if e[0].lower().endswith(_JPEG_SUFFIXES)]
            found = jpeg or found
            if not found:
                return None
        if len(found) > 1:
            raise PhotoMissing(found[0][0], ambiguous=True)
        name, where, size = found[0]
        if size > PHOTO_READ_LIMIT:
            raise PhotoTooLarge(name, size)
        data = self._zip.read(where) if self._zip is not None else Path(where).read_bytes()
        return name, data


# -- the report -------------------------------------------------------------------------------------

class ReportWriter:
    """The report workbook, streamed: the summary sheet is filled last but comes first."""

    STATUS_HEADERS = ("行号 / Row", "状态", "Status", "申请编号 / Application no.", "卡片编号 / Card reference",
                      "退回原因", "Reasons")

    def __init__(self, path: Path, form_labels: Sequence[str]) -> None:
        import openpyxl
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        self.path = path
        try:  # the place for the report is taken first: a report that cannot be written is known before filing
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise BatchFormError("report", f"a report file that can be written ({exc.strerror})",
                                 "无法在该位置写入结果文件", str(path)) from None
        os.close(handle)
        self._temporary = Path(temporary)
        self._cell, self._illegal = WriteOnlyCell, ILLEGAL_CHARACTERS_RE
        self._book = openpyxl.Workbook(write_only=True)
        self._summary = self._book.create_sheet("汇总 Summary")
        self._rows = self._book.create_sheet("明细 Rows")
        for letter, width in zip("ABCDEFG", (8, 8, 10, 14, 38, 60, 60), strict=True):
            self._rows.column_dimensions[letter].width = width
        self._summary.column_dimensions["A"].width = 28
        self._summary.column_dimensions["B"].width = 48
        self._rows.append([self._text(self._rows, v) for v in (*self.STATUS_HEADERS, *form_labels)])

    def _text(self, sheet: Any, value: object) -> object:
        if not isinstance(value, str):
            return value
        text: str = self._illegal.sub("", value)
        if not text.startswith("="):
            return text
        cell = self._cell(sheet, value=text)
        cell.data_type = "s"  # text, not a formula
        return cell

    def row(self, number: int, accepted: bool, application_id: int | None, card_ref: str | None,
            reasons_zh: str, reasons_en: str, values: Iterable[object]) -> None:
        status = ("受理", "accepted") if accepted else ("退回", "refused")
        line = (number, *status, application_id, card_ref, reasons_zh or None, reasons_en or None, *values)
        self._rows.append([self._text(self._rows, v) for v in line])

    def summary(self, lines: Iterable[Sequence[object]]) -> None:
        for line in lines:
            self._summary.append([self._text(self._summary, v) for v in line])

    def save(self) -> Path:
        """Write the workbook beside ``path`` and move it into place (a reader never sees half)."""
        try:
            self._book.save(self._temporary)
            os.replace(self._temporary, self.path)
        finally:
            self.discard()
        return self.path

    def discard(self) -> None:
        self._temporary.unlink(missing_ok=True)

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.discard()
