"""The simulated printer's contact station is a vpcd reader: the host reaches the chip through pcscd,
exactly as with a real printer's built-in reader."""

from __future__ import annotations

from PIL import Image

from sscard_issuer.apdu import CommandApdu
from sscard_issuer.outlet.evolis_driver import EvolisPrinter
from sscard_issuer.outlet.printer import CardPosition
from sscard_issuer.sim.printer import PrinterSimulator, VpcdEncoder
from sscard_issuer.sim.printer_machine import Timings
from sscard_issuer.sim.vpcd import DEBIAN_VPCD_READERS
from sscard_issuer.transport.pcsc import PcscTransport, wait_for_reader_state
from sscard_issuer.transport.pcscd import Pcscd

READER = "Virtual PCD 00 01"


def test_cards_at_the_contact_station_are_in_the_vpcd_reader(pcscd: Pcscd) -> None:
    wait_for_reader_state(READER, present=False)
    encoder = VpcdEncoder(port=DEBIAN_VPCD_READERS[READER])
    assert encoder.reader == READER  # moves answer once pcscd has seen the card come or go
    with PrinterSimulator(blanks=2, timings=Timings(scale=0), encoder=encoder) as sim:
        printer = EvolisPrinter.tcp("127.0.0.1", sim.port, move_timeout=20.0)
        try:
            printer.prepare()
            printer.load_for_encoding()
            assert printer.status().card is CardPosition.CONTACT
            inside = sim.machine.card
            assert inside is not None
            with PcscTransport(READER, card_timeout=5.0, transmit_timeout=5.0) as transport:
                assert transport.atr == inside.card.atr
                answer = transport.send(CommandApdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("A000000003"), 256))
                assert answer.sw
            assert sim.card_seconds > 0

            printer.print_face(Image.new("RGB", printer.canvas, "white"))  # to the print head
            wait_for_reader_state(READER, present=False, timeout=0.5)
            printer.eject()
            assert [c.number for c in sim.ejected] == [1]

            printer.load_for_encoding()  # the next blank: a different chip
            with PcscTransport(READER, card_timeout=5.0) as transport:
                second_atr = transport.atr
            assert second_atr != inside.card.atr
            printer.reject()
            wait_for_reader_state(READER, present=False, timeout=0.5)
            assert [c.card.atr for c in sim.rejected] == [second_atr]
        finally:
            printer.close()
    wait_for_reader_state(READER, present=False)
