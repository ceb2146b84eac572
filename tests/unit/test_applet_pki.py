"""The PKI application: selected by its AID then its ADF; certificate files read freely."""

from __future__ import annotations

from sscard_issuer.card import ssc
from sscard_issuer.sim.runtime import SimulatedCard
from tests.unit.cards import Terminal, new_image


def pki_terminal(files: dict[str, str] | None = None) -> Terminal:
    image = new_image(None)
    if files is not None:
        image.applets["pki"]["files"] = files
    t = Terminal.open(SimulatedCard(image))
    assert t.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_AID).sw == 0x9000
    return t


def test_the_adf_is_selected_by_name_after_the_application() -> None:
    t = pki_terminal()
    response = t.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_ADF_AID)
    assert response.sw == 0x9000
    assert ssc.PKI_ADF_AID in response.data


def test_the_adf_alone_is_not_an_application() -> None:
    t = Terminal.open(SimulatedCard(new_image(None)))
    assert t.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_ADF_AID).sw == 0x6A82


def test_files_are_found_only_inside_the_adf() -> None:
    t = pki_terminal()
    assert t.send(0x00, 0xA4, 0x02, 0x00, b"\x00\x18").sw == 0x6A82
    t.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_ADF_AID)
    assert t.send(0x00, 0xA4, 0x02, 0x00, b"\x00\x18").sw == 0x9000
    assert t.send(0x00, 0xA4, 0x02, 0x00, b"\x00\x99").sw == 0x6A82


def test_a_certificate_reads_back_with_offsets() -> None:
    certificate = bytes(range(256)) + bytes(range(44))
    t = pki_terminal({"0018": certificate.hex()})
    t.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_ADF_AID)
    t.send(0x00, 0xA4, 0x02, 0x00, b"\x00\x18")
    head = t.send(0x00, 0xB0, 0x00, 0x00, le=256)
    tail = t.send(0x00, 0xB0, 0x01, 0x00, le=256)
    assert (head.data + tail.data, head.sw, tail.sw) == (certificate, 0x9000, 0x9000)
    assert t.send(0x00, 0xB0, 0x02, 0x00, le=256).sw == 0x6B00  # past the end


def test_read_binary_needs_a_selected_file() -> None:
    t = pki_terminal()
    t.send(0x00, 0xA4, 0x04, 0x00, ssc.PKI_ADF_AID)
    assert t.send(0x00, 0xB0, 0x00, 0x00, le=256).sw == 0x6986


def test_an_unknown_instruction_or_class_is_refused() -> None:
    t = pki_terminal()
    assert t.send(0x00, 0xDC, 0x01, 0x00, b"\x00").sw == 0x6D00
    assert t.send(0x80, 0xB0, 0x00, 0x00, le=256).sw == 0x6E00
