"""The native Evolis driver against the printer simulator, over TCP and over a usblp-like device."""

from __future__ import annotations

import os
import pty
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from sscard_issuer.apdu import CommandApdu
from sscard_issuer.outlet.evolis import PrinterReportedError
from sscard_issuer.outlet.evolis_driver import EvolisPrinter, TcpLink, UsbLink
from sscard_issuer.outlet.printer import CardPosition, Condition, PrinterFault, PrinterOffline
from sscard_issuer.sim.printer import InProcessEncoder, PrinterSimulator
from sscard_issuer.sim.printer_machine import Fault, PrinterMachine, Timings
from sscard_issuer.transport.errors import NoCard

NO_WAIT = Timings(scale=0)


def face() -> Image.Image:
    image = Image.new("RGB", (1016, 648), (230, 240, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((700, 120, 950, 420), fill=(120, 90, 60))
    draw.text((100, 500), "ZHANG SAN 450100199001011234", fill=(0, 0, 0))
    return image


class Rig:
    def __init__(self, tmp_path: Path, **options: object) -> None:
        self.encoder = InProcessEncoder()
        settings: dict[str, object] = {"blanks": 3, "timings": NO_WAIT, "encoder": self.encoder, "out": tmp_path}
        settings.update(options)
        self.sim = PrinterSimulator(**settings).start()  # type: ignore[arg-type]
        self.printer = EvolisPrinter(TcpLink("127.0.0.1", self.sim.port), command_timeout=2.0)

    def close(self) -> None:
        self.printer.close()
        self.sim.close()


@pytest.fixture
def make_rig(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def _make(**options: object) -> Rig:
        rig = Rig(tmp_path, **options)
        rigs.append(rig)
        return rig

    yield _make
    for rig in rigs:
        rig.close()


@pytest.fixture
def rig(make_rig: Callable[..., Rig]) -> Rig:
    rig = make_rig()
    rig.printer.prepare()
    return rig


def test_print_and_encode_cycle(rig: Rig, tmp_path: Path) -> None:
    printer, sim, encoder = rig.printer, rig.sim, rig.encoder
    status = printer.status()
    assert status.ready and status.ribbon_left == 250
    assert status.model.startswith("Evolis") and status.serial and status.firmware
    assert printer.canvas == (1016, 648)

    printer.load_for_encoding()
    assert printer.status().card is CardPosition.CONTACT
    assert encoder.card is not None
    transport = encoder.transport()
    assert transport.atr[:1] == b"\x3b"
    answer = transport.send(CommandApdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("A000000003"), 256))
    assert answer.sw  # the blank card answers its APDUs
    assert sim.card_seconds > 0
    assert sim.machine.blanks == 2

    printer.print_face(face())
    assert encoder.card is None  # left the contact station for the print head
    with pytest.raises(NoCard):
        encoder.transport()
    status = printer.status()
    assert status.card is CardPosition.PRINT and status.ribbon_left == 249

    printer.eject()
    assert printer.status().ready
    [card] = sim.ejected
    assert card.card.atr == transport.atr and card.face is not None
    assert (tmp_path / "cards" / f"1-{card.serial}.json").exists()
    printed = Image.open(tmp_path / "prints" / "1-front.png").convert("RGB")
    assert sum(ImageStat.Stat(ImageChops.difference(printed, face())).mean) / 3 < 1.0


def test_print_feeds_a_card_when_none_is_inside(rig: Rig) -> None:
    rig.printer.print_face(face())
    assert rig.printer.status().card is CardPosition.PRINT
    assert rig.encoder.card is None and rig.sim.machine.fed == 1


def test_without_prepare_the_printer_ejects_after_printing(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    rig.printer.print_face(face())  # no Pneab;E: the factory setting ejects
    assert rig.printer.status().card is CardPosition.NONE
    assert len(rig.sim.ejected) == 1


def test_reject_box_counts(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(reject_capacity=1)
    rig.printer.prepare()
    rig.printer.load_for_encoding()
    rig.printer.reject()
    assert rig.sim.machine.reject_count == 1 and len(rig.sim.rejected) == 1
    assert rig.encoder.card is None
    assert Condition.REJECT_BOX_FULL in rig.printer.status().conditions
    rig.printer.load_for_encoding()
    with pytest.raises(PrinterFault) as fault:
        rig.printer.reject()
    assert Condition.REJECT_BOX_FULL in fault.value.conditions
    rig.sim.operate(PrinterMachine.empty_reject_box)
    rig.printer.reject()
    assert len(rig.sim.rejected) == 2


def test_feeder_runs_out(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(blanks=1)
    rig.printer.prepare()
    rig.printer.load_for_encoding()
    rig.printer.eject()
    assert rig.printer.status().conditions == {Condition.FEEDER_EMPTY}
    with pytest.raises(PrinterFault) as fault:
        rig.printer.load_for_encoding()
    assert fault.value.conditions == {Condition.FEEDER_EMPTY}
    assert "请在进卡盒中放入空白卡" in Condition.FEEDER_EMPTY.advice[0]
    rig.sim.operate(lambda m: m.load_blanks(5))
    rig.printer.load_for_encoding()
    assert rig.sim.machine.blanks == 4


def test_ribbon_runs_low_then_out(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(ribbon=1)
    rig.printer.prepare()
    assert rig.printer.status().conditions == {Condition.RIBBON_LOW}
    rig.printer.print_face(face())
    rig.printer.eject()
    assert rig.printer.status().conditions == {Condition.RIBBON_ENDED}
    with pytest.raises(PrinterFault) as fault:
        rig.printer.print_face(face())
    assert Condition.RIBBON_ENDED in fault.value.conditions


def test_no_ribbon_fitted(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(ribbon=None)
    status = rig.printer.status()
    assert status.conditions == {Condition.RIBBON_ENDED} and status.ribbon_left is None


def load(printer: EvolisPrinter) -> None:
    printer.load_for_encoding()


def print_after_load(printer: EvolisPrinter) -> None:
    printer.print_face(face())


def reject_after_load(printer: EvolisPrinter) -> None:
    printer.reject()


@pytest.mark.parametrize(
    ("fault", "condition", "action", "load_first"),
    [
        (Fault.FEEDER_EMPTY, Condition.FEEDER_EMPTY, load, False),
        (Fault.COVER_OPEN, Condition.COVER_OPEN, load, False),
        (Fault.JAM, Condition.JAMMED, load, False),
        (Fault.RIBBON_ENDED, Condition.RIBBON_ENDED, print_after_load, True),
        (Fault.REJECT_BOX_FULL, Condition.REJECT_BOX_FULL, reject_after_load, True),
    ],
)
def test_injected_faults_stop_the_job_and_clear(
    rig: Rig, fault: Fault, condition: Condition, action: Callable[[EvolisPrinter], None], load_first: bool
) -> None:
    if load_first:
        rig.printer.load_for_encoding()
    rig.sim.inject(fault)
    assert condition in rig.printer.status().blocking
    with pytest.raises(PrinterFault) as stopped:
        action(rig.printer)
    assert condition in stopped.value.conditions
    assert stopped.value.conditions <= {condition, Condition.JAMMED}
    rig.sim.clear(fault)
    assert condition not in rig.printer.status().conditions
    action(rig.printer)


def test_mute_printer_is_offline_within_the_timeout_and_comes_back(rig: Rig) -> None:
    rig.printer.command_timeout = 0.3
    rig.sim.inject(Fault.MUTE)
    started = time.monotonic()
    with pytest.raises(PrinterOffline) as offline:
        rig.printer.status()
    assert 0.25 < time.monotonic() - started < 2.0
    assert offline.value.conditions == {Condition.OFFLINE}
    assert "Rlr;p" in str(offline.value) or "Rfv" in str(offline.value)
    rig.sim.clear(Fault.MUTE)
    assert rig.printer.status().ready  # the driver reconnected; the late replies were not taken


def test_printer_gone_is_offline(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    rig.sim.close()
    with pytest.raises(PrinterOffline):
        rig.printer.status()


def test_unknown_error_stays_a_refusal(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    with pytest.raises(PrinterReportedError, match="ERR NO CARD"):
        rig.printer.eject()  # no card inside: nothing for an operator to fix


def test_simulated_seconds_are_counted(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(timings=Timings(move_seconds=0.01, print_seconds=0.02))
    rig.printer.prepare()
    rig.printer.load_for_encoding()  # feed to the contact station: one move
    rig.printer.print_face(face())  # to the print head, then print
    rig.printer.eject()
    assert rig.sim.simulated_seconds == pytest.approx(0.05)


# -- usblp: NUL-ended replies over a device file ------------------------------------------------------


def test_usb_link_over_a_pty(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    encoder = InProcessEncoder()
    sim = PrinterSimulator(blanks=2, timings=NO_WAIT, encoder=encoder, out=tmp_path)
    sim.serve_fds(master, master)
    printer = EvolisPrinter(UsbLink(os.ttyname(slave)), command_timeout=2.0)
    try:
        printer.prepare()
        assert printer.status().ready
        printer.load_for_encoding()
        assert encoder.card is not None
        printer.print_face(face())  # 2 MB of panels through the raw tty, every byte value
        printer.eject()
        assert len(sim.ejected) == 1 and (tmp_path / "prints" / "1-front.png").exists()
    finally:
        printer.close()
        sim.close()
        os.close(slave)
        os.close(master)


def test_usb_replies_end_with_nul_and_driver_reads_them_from_pipes() -> None:
    to_printer_r, to_printer_w = os.pipe()
    to_host_r, to_host_w = os.pipe()
    sim = PrinterSimulator(blanks=1, timings=NO_WAIT)
    sim.serve_fds(to_printer_r, to_host_w)
    try:
        os.write(to_printer_w, b"\x1bRse;f\r")
        raw = b""
        while not raw.endswith(b"\x00"):
            raw += os.read(to_host_r, 100)
        assert raw == b"5,00 Volts\x00"
        printer = EvolisPrinter(UsbLink.from_fds(to_host_r, to_printer_w), command_timeout=2.0)
        printer.load_for_encoding()
        assert printer.status().card is CardPosition.CONTACT
        sim.inject(Fault.MUTE)
        printer.move_timeout = 0.2  # moves wait longer than reads
        started = time.monotonic()
        with pytest.raises(PrinterOffline):
            printer.eject()
        assert time.monotonic() - started < 1.0
    finally:
        sim.close()
        for fd in (to_printer_r, to_printer_w, to_host_r, to_host_w):
            os.close(fd)


def test_bare_reply_is_taken_after_a_quiet_gap() -> None:
    """A printer that ends its replies with nothing at all (seen over TCP) still answers."""
    from_printer_r, from_printer_w = os.pipe()
    to_printer_r, to_printer_w = os.pipe()
    try:
        os.write(from_printer_w, b"OK")
        printer = EvolisPrinter(UsbLink.from_fds(from_printer_r, to_printer_w), command_timeout=2.0)
        started = time.monotonic()
        printer.eject()
        assert time.monotonic() - started < 1.0
        assert os.read(to_printer_r, 100) == b"\x1bSe\r"
    finally:
        for fd in (from_printer_r, from_printer_w, to_printer_r, to_printer_w):
            os.close(fd)
