"""CupsPrinter against a real, private cupsd: cups-pdf queues and a test card printer (tests/cupsd.py)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from sscard_issuer.outlet.cups_printer import (
    CARD_CUSTOM_PAGE,
    CARD_MEDIA,
    CannotEncode,
    CupsJobFailed,
    CupsPrinter,
    NoCardMedia,
    QueueNotFound,
    conditions_from,
    face_pdf,
    media_options,
)
from sscard_issuer.outlet.printer import Condition, PrinterError, PrinterFault, PrinterOffline
from tests.cupsd import CupsServer, running_cupsd

pytestmark = pytest.mark.integration

CARD_PT = (85.60 / 25.4 * 72, 53.98 / 25.4 * 72)  # 242.65 × 153.01 points


@pytest.fixture(scope="module")
def cupsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CupsServer]:
    with running_cupsd(tmp_path_factory.mktemp("cups")) as server:
        yield server


@pytest.fixture(scope="module")
def pdf_queue(cupsd: CupsServer) -> tuple[str, Path]:
    name = cupsd.unique_name("pdf")
    return name, cupsd.add_pdf_queue(name)


def a_face() -> Image.Image:
    face = Image.new("RGB", (1011, 638), "white")
    ImageDraw.Draw(face).rectangle((20, 20, 990, 617), outline=(200, 0, 0), width=6)
    return face


def media_box(pdf: bytes) -> tuple[float, float]:
    """The first page's MediaBox width and height in points (no PDF library needed)."""
    match = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", pdf)
    assert match, "no MediaBox in the PDF"
    x0, y0, x1, y1 = (float(v) for v in match.groups())
    return x1 - x0, y1 - y0


def wait_for_file(folder: Path, pattern: str, timeout: float = 10.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob(pattern))
        if found and found[0].stat().st_size > 0:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no {pattern} in {folder} after {timeout} s: {list(folder.iterdir())}")


# -- pure parts ---------------------------------------------------------------------------------------


def test_face_pdf_page_is_the_card() -> None:
    width, height = media_box(face_pdf(a_face()))
    assert width == pytest.approx(CARD_PT[0], abs=0.01)
    assert height == pytest.approx(CARD_PT[1], abs=0.01)


def test_media_prefers_the_card_media_then_a_card_sized_name_then_a_custom_size() -> None:
    assert media_options(["iso_a4_210x297mm", CARD_MEDIA]) == {"media": CARD_MEDIA}
    assert media_options(["iso_a4_210x297mm", "om_cr80_53.98x85.6mm"]) == {"media": "om_cr80_53.98x85.6mm"}
    assert media_options(["iso_a4_210x297mm", "custom_min_0.5x0.5in", "custom_max_100x100in"]) \
        == {"PageSize": CARD_CUSTOM_PAGE}
    with pytest.raises(NoCardMedia, match=CARD_MEDIA):
        media_options(["iso_a4_210x297mm", "na_letter_8.5x11in"])
    with pytest.raises(NoCardMedia):  # custom sizes too large to hold a card
        media_options(["custom_min_100x150mm", "custom_max_300x400mm"])


@pytest.mark.parametrize(("state", "reasons", "expected"), [
    (3, ["none"], set()),
    (3, ["media-empty-error"], {Condition.FEEDER_EMPTY}),
    (3, ["media-needed-warning"], {Condition.FEEDER_EMPTY}),
    (3, ["cover-open"], {Condition.COVER_OPEN}),
    (3, ["marker-supply-empty-error"], {Condition.RIBBON_ENDED}),
    (3, ["marker-supply-low-warning"], {Condition.RIBBON_LOW}),
    (3, ["marker-supply-low-report"], set()),  # reports are informational
    (3, ["media-jam-error", "cover-open-error"], {Condition.JAMMED, Condition.COVER_OPEN}),
    (3, ["offline-report", "offline"], {Condition.OFFLINE}),
    (5, ["paused"], {Condition.OFFLINE}),
    (5, ["none"], {Condition.OFFLINE}),
    (4, ["other-warning", "connecting-to-device"], set()),
])
def test_reasons_map_to_conditions(state: int, reasons: list[str], expected: set[Condition]) -> None:
    assert conditions_from(state, reasons) == expected


def test_not_accepting_jobs_is_offline() -> None:
    assert conditions_from(3, ["none"], accepting=False) == {Condition.OFFLINE}


# -- against the private cupsd ------------------------------------------------------------------------


def test_print_face_writes_a_card_sized_pdf(cupsd: CupsServer, pdf_queue: tuple[str, Path]) -> None:
    name, out = pdf_queue
    printer = CupsPrinter(name, server=str(cupsd.socket), job_timeout=30)
    assert printer.encodes is False
    assert printer.canvas == (1011, 638)
    printer.prepare()
    before = set(out.glob("job_*.pdf"))
    printer.print_face(a_face())  # returns once CUPS says the job completed
    made = set(out.glob("job_*.pdf")) - before
    assert len(made) == 1, made
    pdf = wait_for_file(out, next(iter(made)).name).read_bytes()
    assert pdf.startswith(b"%PDF")
    width, height = media_box(pdf)  # ghostscript's PDF, from cups-pdf: the card, landscape
    assert width == pytest.approx(CARD_PT[0], abs=0.5)
    assert height == pytest.approx(CARD_PT[1], abs=0.5)
    printer.close()


def test_status_of_an_idle_queue_is_ready(cupsd: CupsServer, pdf_queue: tuple[str, Path]) -> None:
    status = CupsPrinter(pdf_queue[0], server=str(cupsd.socket)).status()
    assert status.ready
    assert status.conditions == frozenset()
    assert "CUPS-PDF" in status.model


def test_stopped_queue_is_offline_and_refuses_to_print(cupsd: CupsServer) -> None:
    name = cupsd.unique_name("stopped")
    out = cupsd.add_pdf_queue(name)
    cupsd.run("cupsdisable", name)
    printer = CupsPrinter(name, server=str(cupsd.socket))
    status = printer.status()
    assert status.conditions == {Condition.OFFLINE}
    assert not status.ready
    assert any("paused" in d for d in status.details)
    with pytest.raises(PrinterOffline, match="stopped"):
        printer.print_face(a_face())
    cupsd.run("cupsenable", name)
    assert printer.status().ready
    printer.print_face(a_face())
    assert list(out.glob("job_*.pdf"))


def test_queue_not_accepting_jobs_is_offline(cupsd: CupsServer) -> None:
    name = cupsd.unique_name("reject")
    cupsd.add_pdf_queue(name)
    cupsd.run("cupsreject", name)
    assert CupsPrinter(name, server=str(cupsd.socket)).status().conditions == {Condition.OFFLINE}


def test_missing_queue_is_a_typed_error(cupsd: CupsServer) -> None:
    printer = CupsPrinter("no-such-queue", server=str(cupsd.socket))
    with pytest.raises(QueueNotFound, match="no-such-queue"):
        printer.status()
    with pytest.raises(QueueNotFound):
        printer.print_face(a_face())
    with pytest.raises(QueueNotFound):
        printer.prepare()


def test_unreachable_server_is_offline(tmp_path: Path) -> None:
    printer = CupsPrinter("any", server=str(tmp_path / "no-cupsd.sock"))
    with pytest.raises(PrinterOffline) as caught:
        printer.status()
    assert caught.value.conditions == {Condition.OFFLINE}
    with pytest.raises(PrinterOffline):
        printer.print_face(a_face())


@pytest.mark.parametrize(("reason", "condition"), [
    ("media-empty-error", Condition.FEEDER_EMPTY),
    ("marker-supply-empty-error", Condition.RIBBON_ENDED),
    ("media-jam-error", Condition.JAMMED),
])
def test_aborted_job_and_reported_condition(cupsd: CupsServer, reason: str, condition: Condition) -> None:
    """The test card printer fails the job and leaves its reason on the queue, as real drivers do."""
    name = cupsd.unique_name("faulty")
    cupsd.add_faulty_queue(name, reason, policy="abort-job")
    printer = CupsPrinter(name, server=str(cupsd.socket), job_timeout=30)
    with pytest.raises(PrinterFault) as caught:  # a new condition: the operator has to act
        printer.print_face(a_face())
    assert caught.value.conditions == {condition}
    assert reason in str(caught.value)  # the printer's own message is passed on
    assert printer.status().conditions == {condition}
    # CUPS still shows the reason (the driver never clears it): the next job is sent all the same,
    # and fails plainly when the printer fails it again
    with pytest.raises(CupsJobFailed, match="aborted") as again:
        printer.print_face(a_face())
    assert again.value.job_id > 0
    assert condition.value in str(again.value)
    assert not_finished_jobs(cupsd, name) == []


def test_queue_stopped_by_a_failed_job_is_offline_and_the_job_cancelled(cupsd: CupsServer) -> None:
    """CUPS's default error policy stops the queue and keeps the job pending: give it up, say why."""
    name = cupsd.unique_name("stopper")
    cupsd.add_faulty_queue(name, "none", policy="stop-printer")  # fails the job, reports nothing
    printer = CupsPrinter(name, server=str(cupsd.socket), job_timeout=30)
    started = time.monotonic()
    with pytest.raises(PrinterOffline, match="cancelled") as caught:
        printer.print_face(a_face())
    assert time.monotonic() - started < 10  # not the job timeout
    assert caught.value.conditions == {Condition.OFFLINE}
    assert not_finished_jobs(cupsd, name) == []
    assert printer.status().conditions == {Condition.OFFLINE}
    cupsd.run("cupsenable", name)  # the operator fixed the printer
    assert printer.status().ready


def test_condition_appearing_during_the_job_is_a_fault(cupsd: CupsServer) -> None:
    name = cupsd.unique_name("cover")
    cupsd.add_faulty_queue(name, "cover-open-error", stall=30)
    printer = CupsPrinter(name, server=str(cupsd.socket), job_timeout=30)
    started = time.monotonic()
    with pytest.raises(PrinterFault) as caught:
        printer.print_face(a_face())
    assert time.monotonic() - started < 10
    assert caught.value.conditions == {Condition.COVER_OPEN}
    assert not_finished_jobs(cupsd, name) == []


def test_job_not_done_in_time_is_cancelled(cupsd: CupsServer) -> None:
    name = cupsd.unique_name("slow")
    cupsd.add_faulty_queue(name, "none", stall=30)
    printer = CupsPrinter(name, server=str(cupsd.socket), job_timeout=1.0)
    with pytest.raises(CupsJobFailed, match=r"still processing after 1 s .*cancelled") as caught:
        printer.print_face(a_face())
    assert caught.value.job_id > 0
    assert not_finished_jobs(cupsd, name) == []


def not_finished_jobs(cupsd: CupsServer, queue: str) -> list[str]:
    return [line for line in cupsd.run("lpstat", "-o", queue).splitlines() if line.strip()]


def test_cannot_encode_and_moves_are_no_ops(cupsd: CupsServer, pdf_queue: tuple[str, Path]) -> None:
    printer = CupsPrinter(pdf_queue[0], server=str(cupsd.socket))
    with pytest.raises(CannotEncode, match="cannot hold a card"):
        printer.load_for_encoding()
    assert isinstance(CannotEncode("x"), PrinterError)
    printer.eject()
    printer.reject()
    printer.close()
    printer.close()


def test_face_of_the_wrong_size_is_refused(cupsd: CupsServer, pdf_queue: tuple[str, Path]) -> None:
    printer = CupsPrinter(pdf_queue[0], server=str(cupsd.socket))
    with pytest.raises(PrinterError, match="1011 × 638"):
        printer.print_face(Image.new("RGB", (1016, 648), "white"))
