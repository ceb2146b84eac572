"""The in-process transport: power, the ATR, the exchange rules, counting, closing, failures."""

from __future__ import annotations

import pytest

from sscard_issuer.apdu import CommandApdu, FileNotFound, select_by_name
from sscard_issuer.card import ssc
from sscard_issuer.sim.runtime import PlannedPowerCut, PowerCut, SimulatedCard
from sscard_issuer.transport.errors import TransportClosed
from sscard_issuer.transport.inprocess import InProcessTransport
from sscard_issuer.transport.trace import ApduTrace
from tests.unit.cards import new_image

SELECT_SSSE = select_by_name(ssc.SSSE_AID)


def test_opening_powers_the_card_and_gives_its_atr() -> None:
    card = SimulatedCard(new_image(None))
    assert not card.powered
    transport = InProcessTransport(card)
    assert card.powered
    assert transport.atr == card.image.atr


def test_61xx_is_followed_so_the_caller_gets_the_fci_and_9000() -> None:
    trace = ApduTrace()
    transport = InProcessTransport(SimulatedCard(new_image(None)), trace=trace)
    response = transport.send(SELECT_SSSE)
    assert response.sw == 0x9000
    assert response.data.startswith(b"\x6f") and ssc.SSSE_AID in response.data
    assert [e.command.ins for e in trace.entries] == [0xA4, 0xC0]
    assert transport.apdu_count == 2


def test_send_checked_raises_the_typed_error() -> None:
    transport = InProcessTransport(SimulatedCard(new_image(None)))
    with pytest.raises(FileNotFound) as caught:
        transport.send_checked(select_by_name(bytes.fromhex("A000000099")))
    assert caught.value.sw == 0x6A82


def test_closing_powers_off_and_forgets_authentication() -> None:
    card = SimulatedCard(new_image(None))
    with InProcessTransport(card) as transport:
        transport.send_checked(SELECT_SSSE)
    assert not card.powered
    with pytest.raises(TransportClosed):
        transport.send(SELECT_SSSE)
    with pytest.raises(TransportClosed):
        _ = transport.atr
    transport.close()  # closing twice is fine


def test_a_card_can_be_opened_again_after_close() -> None:
    card = SimulatedCard(new_image(None))
    InProcessTransport(card).close()
    again = InProcessTransport(card)
    assert again.send(SELECT_SSSE).sw == 0x9000
    # The previous session's selection did not survive the power cycle.
    again.close()
    third = InProcessTransport(card)
    assert third.send(CommandApdu(0x00, 0xB2, 0x01, 0x28, le=256)).sw == 0x6985


def test_a_power_cut_reaches_the_caller_and_the_trace_says_no_answer() -> None:
    card = SimulatedCard(new_image(None))
    trace = ApduTrace()
    transport = InProcessTransport(card, trace=trace)
    card.planned_cut = PlannedPowerCut(at_apdu=1)
    with pytest.raises(PowerCut):
        transport.send(SELECT_SSSE)
    assert trace.entries[-1].response is None
    assert trace.render().endswith("<< (no answer)")
    assert transport.apdu_count == 0
