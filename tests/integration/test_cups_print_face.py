"""``sscard outlet print-face`` prints a personalised card's face on a face-only printer: a cups-pdf
queue of a private cupsd (tests/cupsd.py); the PDF that comes out is one card-size page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry import Registry
from tests.cupsd import CupsServer, running_cupsd
from tests.unit.offices import applicant, enrolled, hire, individual

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cupsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CupsServer]:
    with running_cupsd(tmp_path_factory.mktemp("cups")) as server:
        yield server


def test_a_cards_face_is_printed_on_a_cups_queue_at_card_size(cupsd: CupsServer, tmp_path: Path) -> None:
    queue = cupsd.unique_name("face")
    pdfs = cupsd.add_pdf_queue(queue)
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    registry = Registry(url)
    office = Office(registry)
    staff = hire(office)
    who = enrolled(office, staff.operator, applicant(5))
    ref = office.apply(staff.operator, individual(who)).card_ref
    office.produce(staff.operator, ref)
    office.record_personalisation(staff.operator, ref, card_number="A00000005", card_id="450100D1560000050000000000000005",
                                  issued_on=date(2026, 3, 2), expires_on=date(2036, 3, 2), bank=False)
    registry.close()
    png = tmp_path / "face.png"
    done = subprocess.run([sys.executable, "-m", "sscard_issuer", "outlet", "print-face", ref, "--queue", queue,
                           "--cups-server", str(cupsd.socket), "--out", str(png), "--database", url,
                           "--operator", "wang.li"], capture_output=True, text=True, timeout=120, cwd=REPO,
                          env={**os.environ, "SSCARD_LANG": "en"}, check=False)
    assert done.returncode == 0, done.stderr
    with Image.open(png) as face:
        assert face.size == (1011, 638)
    deadline = time.monotonic() + 10
    while not list(pdfs.glob("*.pdf")):
        assert time.monotonic() < deadline, "no PDF came out of the queue"
        time.sleep(0.1)
    pdf = next(pdfs.glob("*.pdf")).read_bytes()
    box = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", pdf)
    assert box is not None
    x0, y0, x1, y1 = (float(v) for v in box.groups())
    assert abs((x1 - x0) - 85.60 / 25.4 * 72) < 0.5 and abs((y1 - y0) - 53.98 / 25.4 * 72) < 0.5
    elsewhere = subprocess.run([sys.executable, "-m", "sscard_issuer", "outlet", "print-face", ref,
                                "--out", str(tmp_path / "x.png"), "--database", url, "--operator", "chen.gang"],
                               capture_output=True, text=True, timeout=60, cwd=REPO,
                               env={**os.environ, "SSCARD_LANG": "en"}, check=False)
    assert elsewhere.returncode == 10 and not (tmp_path / "x.png").exists()  # an operator of another outlet
