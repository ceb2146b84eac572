#!/usr/bin/env python3
"""Benchmark: importing an employer's batch form of 10,000 rows, about 2 % of them bad.

The tool enrols the people first (a bulk insert, not measured), makes a folder of photos (each
row's file a hard link to one of a few generated portraits), writes the form, then measures
:func:`sscard_issuer.lifecycle.batch.import_batch` end to end: reading, checking every row and
its photo, filing, the report. In the same run it measures two references: openpyxl alone
streaming the same file, and the photo check alone on a sample of the rows (scaled to all rows),
the part of the work fixed by the photo rules. Every row's outcome is checked against what the
generator meant, so a figure never comes from a broken import.

Usage: ``python3 tools/bench_batch.py [--rows 10000] [--bad 0.02] [--database-url URL | --postgres]
[--keep DIR] [--json FILE]``. SQLite in a temporary folder by default; ``--postgres`` starts a
throw-away cluster (tests/pg.py, PostgreSQL installed by tools/setup.sh).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageEnhance
from sqlalchemy import insert, select

from sscard_issuer.applications.codes import unified_credit_check_character
from sscard_issuer.applications.document_numbers import DocumentType
from sscard_issuer.applications.documents import IdentityDocument
from sscard_issuer.applications.photo import PhotoRules, check_photo
from sscard_issuer.applications.requests import Applicant, ApplicationKind, ApplicationRequest
from sscard_issuer.card.identifiers import SocialSecurityNumber
from sscard_issuer.lifecycle.batch import import_batch
from sscard_issuer.lifecycle.batch_form import EMPLOYER, ORGANISATION_CODE, ORGANISATION_NAME, columns_for
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry import IdentityDocumentRow, Person, Registry, Role

REPO = Path(__file__).resolve().parents[1]
SAMPLE_PHOTO = REPO / "sscard_issuer" / "data" / "sample_photo.jpg"
ORGANISATION = "南宁市示例物流有限公司"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐韦覃蓝莫陆"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰海燕华红梅玉"
# the bad rows, in turn; each with the reason code the import must give it
BAD_KINDS = ("check_digit", "household_register", "no_photo", "not_insured", "duplicate", "bad_phone",
             "pending", "details_differ")
EXPECTED = {"check_digit": "invalid_document_number", "household_register": "invalid_document_type",
            "no_photo": "photo_missing", "not_insured": "not_insured", "duplicate": "duplicate_in_file",
            "bad_phone": "invalid_phone", "pending": "pending_application", "details_differ": "details_differ"}


def organisation_code() -> str:
    first17 = "91450100MA5K" + "7Q3B2"
    return first17 + unified_credit_check_character(first17)


def id_number(rng: random.Random, birth: date, serial: int) -> str:
    first17 = f"450103{birth:%Y%m%d}{serial % 1000:03d}"
    return first17 + SocialSecurityNumber.check_character(first17)


def portraits(count: int) -> list[bytes]:
    """``count`` distinct valid photos: the sample with the figure's tone shifted a little."""
    base = Image.open(SAMPLE_PHOTO).convert("RGB")
    made = []
    for i in range(count):
        image = ImageEnhance.Color(base).enhance(0.85 + 0.05 * i)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85 + i % 3 * 4)
        data = out.getvalue()
        check_photo(data, PhotoRules(), applicant_age=30)  # each must pass, or the benchmark is wrong
        made.append(data)
    return made


def people(rng: random.Random, n: int) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = []
    numbers: set[str] = set()
    while len(made) < n:
        birth = date(rng.randint(1965, 2004), rng.randint(1, 12), rng.randint(1, 28))
        number = id_number(rng, birth, rng.randint(0, 999))
        if number in numbers:
            continue
        numbers.add(number)
        sex = "1" if int(number[16]) % 2 else "2"
        made.append({"name": rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
                     "sex": sex, "birth": birth, "number": number, "phone": f"13{rng.randint(0, 999999999):09d}"})
    return made


def enrol_bulk(registry: Registry, rows: list[dict[str, Any]]) -> None:
    """Enrol ``rows`` in one transaction (what Office.enrol records, without its audit entries)."""
    now = datetime.now(UTC)
    with registry.transaction() as session:
        session.execute(insert(Person), [{
            "name": p["name"], "sex": p["sex"], "birth_date": p["birth"], "nationality": "CHN", "ethnicity": "01",
            "social_security_number": p["number"], "insured_since": date(2020, 1, 1), "phone": p["phone"],
            "version": 1, "created_at": now} for p in rows])
        ids = {ssn: pid for ssn, pid in session.execute(select(Person.social_security_number, Person.id))}
        session.execute(insert(IdentityDocumentRow), [{
            "person_id": ids[p["number"]], "type": DocumentType.RESIDENT_ID_CARD.value, "number": p["number"],
            "country": "CHN"} for p in rows])


def make_batch(folder: Path, n: int, bad_share: float, seed: int) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The rows of the form (with what each should become) and the photos folder."""
    rng = random.Random(seed)
    crowd = people(rng, n)
    photos = folder / "photos"
    photos.mkdir()
    originals: list[Path] = []
    for i, data in enumerate(portraits(6)):
        originals.append(folder / f"portrait{i}.jpg")
        originals[-1].write_bytes(data)
    bad_every = max(1, round(1 / bad_share)) if bad_share > 0 else n + 1
    expected: dict[int, str] = {}  # sheet row -> the reason code it must be refused for
    rows: list[dict[str, Any]] = []
    for i, person in enumerate(crowd):
        row = {**person, "type": "居民身份证", "enrol": True, "photo": True, "apply_first": False}
        sheet_row = 5 + i
        if i % bad_every == bad_every // 2:
            kind = BAD_KINDS[(i // bad_every) % len(BAD_KINDS)]
            expected[sheet_row] = EXPECTED[kind]
            if kind == "check_digit":
                row["number"] = row["number"][:17] + ("0" if row["number"][17] != "0" else "1")
            elif kind == "household_register":
                row["type"] = "户口簿"
            elif kind == "no_photo":
                row["photo"] = False
            elif kind == "not_insured":
                row["enrol"] = False
            elif kind == "duplicate":
                row = {**rows[i - 1], "duplicate": True}
            elif kind == "bad_phone":
                row["phone"] = "0771-123"
            elif kind == "pending":
                row["apply_first"] = True
            elif kind == "details_differ":
                row["record_name"] = row["name"] + "某"
        rows.append(row)
        if row["photo"] and not row.get("duplicate"):
            target = photos / f"{row['number']}.jpg"
            try:
                os.link(originals[i % len(originals)], target)
            except OSError:
                shutil.copyfile(originals[i % len(originals)], target)
    return rows, expected


def write_form(path: Path, rows: list[dict[str, Any]]) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("申领表 Form")
    columns = columns_for(EMPLOYER)
    sheet.append(["广西壮族自治区社会保障卡申领表（批量） / Social security card application form (batch)"])
    sheet.append([" / ".join(ORGANISATION_NAME), ORGANISATION, None, " / ".join(ORGANISATION_CODE), organisation_code()])
    sheet.append(["benchmark"])
    sheet.append([c.label(EMPLOYER) for c in columns])
    for i, row in enumerate(rows, 1):
        cells = {"seq": i, "name": row["name"], "sex": "男" if row["sex"] == "1" else "女", "birth_date": row["birth"],
                 "ethnicity": "汉族", "document_type": row["type"], "document_number": row["number"],
                 "phone": row["phone"]}
        sheet.append([cells.get(c.key) for c in columns])
    book.save(path)


def read_alone(path: Path) -> tuple[float, int]:
    import openpyxl

    started = time.perf_counter()
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    count = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
    book.close()
    return time.perf_counter() - started, count


def photo_check_alone(folder: Path, rows: list[dict[str, Any]], sample: int = 500) -> float:
    """Seconds the photo check alone would take for all rows (timed on ``sample`` of them)."""
    files = [folder / "photos" / f"{r['number']}.jpg" for r in rows[:sample] if r["photo"]]
    rules = PhotoRules()
    started = time.perf_counter()
    for file in files:
        check_photo(file.read_bytes(), rules, applicant_age=30)
    return (time.perf_counter() - started) / len(files) * len(rows)


def report_sample(path: Path, count: int = 3) -> list[str]:
    """The first refused rows of the report as a clerk reads them (row, reasons in Chinese)."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    lines = book["明细 Rows"].iter_rows(min_row=2, values_only=True)
    sample = [f"row {line[0]}: {line[5]}" for line in lines if line[2] == "refused"][:count]
    book.close()
    return sample


def run(args: argparse.Namespace, url: str, work: Path) -> dict[str, Any]:
    rows, expected = make_batch(work, args.rows, args.bad, args.seed)
    form = work / "batch.xlsx"
    write_form(form, rows)
    registry = Registry(url)
    office = Office(registry)
    admin = office.add_operator(None, username="admin", display_name="管理员", role=Role.ADMINISTRATOR)
    clerk = office.add_operator(admin, username="clerk", display_name="经办员", role=Role.OPERATOR, outlet_code="NN01")
    enrol_bulk(registry, [{**r, "name": r.get("record_name", r["name"])} for r in rows
                          if r["enrol"] and not r.get("duplicate")])
    photo = (work / "portrait0.jpg").read_bytes()
    for r in rows:
        if r["apply_first"]:
            document = IdentityDocument(DocumentType.RESIDENT_ID_CARD, r["number"])
            office.apply(clerk, ApplicationRequest(kind=ApplicationKind.INDIVIDUAL, photo=photo, applicant=Applicant(
                name=r["name"], sex=r["sex"], birth_date=r["birth"], document=document)))
    read_seconds, sheet_rows = read_alone(form)
    photo_seconds = photo_check_alone(work, rows)
    started, cpu = time.perf_counter(), time.process_time()
    result = import_batch(office, clerk, form, photos=work / "photos", organisation_name=ORGANISATION,
                          organisation_code=organisation_code(), report_path=work / "batch.report.xlsx")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    registry.close()
    wrong = {row: (code, result.refused.get(row)) for row, code in expected.items()
             if code not in result.refused.get(row, ())}
    unexpected = sorted(set(result.refused) - set(expected))
    if wrong or unexpected or result.rows_total != len(rows):
        raise SystemExit(f"the import did not do what the generator meant: wrong {wrong}, "
                         f"unexpected refusals {unexpected[:10]}, rows {result.rows_total}/{len(rows)}")
    return {"database": url.split(":", 1)[0], "sample_refusals": report_sample(result.report_path), "rows": result.rows_total, "accepted": result.rows_accepted,
            "refused": result.rows_refused, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
            "rows_per_second": round(result.rows_total / seconds, 1),
            "openpyxl_read_seconds": round(read_seconds, 2), "sheet_rows": sheet_rows,
            "import_over_read": round(seconds / read_seconds, 1),
            "photo_check_seconds_estimate": round(photo_seconds, 2),
            "reasons": dict(Counter(result.reasons).most_common()), "report": str(result.report_path)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--bad", type=float, default=0.02, help="share of bad rows (default 0.02)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database-url", help="a registry URL (an empty database); default SQLite in a temp folder")
    parser.add_argument("--postgres", action="store_true", help="start a throw-away PostgreSQL cluster (tests/pg.py)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (form, photos, report)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    cluster = None
    try:
        url = args.database_url or f"sqlite:///{work / 'registry.sqlite3'}"
        if args.postgres:
            sys.path.insert(0, str(REPO))
            from tests.pg import PostgresCluster

            cluster = PostgresCluster.start()
            url = cluster.url(cluster.create_database())
        figures = run(args, url, work)
    finally:
        if cluster is not None:
            cluster.stop()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    for key, value in figures.items():
        if isinstance(value, list):
            print(f"{key:>30}:", *value, sep="\n    ")
        else:
            print(f"{key:>30}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
