"""The card manager on the simulated card, driven by the terminal's own client in-process.

Cards are built as the brief of issue 3 says until the blank-card maker exists: a personalised
image from ``make_card`` plus an ISD from ``GpApplet.blank_state`` with the development KMC
diversified for the card (SCP02: emv, SCP03: kdf3).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from applets import GpApplet
from sscard_issuer.apdu import CommandApdu, ResponseApdu, find_path, read_record, select_by_name
from sscard_issuer.card import ssc
from sscard_issuer.channel import (
    ISD_AID,
    CardAuthenticationFailed,
    ChannelUsageError,
    Dgi,
    ExternalAuthenticationRejected,
    RegistryKind,
    Scp,
    SecurityLevel,
    StaticKeys,
    store_data_commands,
)
from sscard_issuer.crypto import Algorithm
from sscard_issuer.gp import GpClient, personalise_bank
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.transport.inprocess import InProcessTransport
from tests.unit.cards import keys, new_image

PAN = "6217000000000000004"
PAN_RECORD = bytes.fromhex("700C5A0A" + PAN + "F")
TEMPLATE = {Scp.SCP02: "emv", Scp.SCP03: "kdf3"}
ALGORITHM = {Scp.SCP02: Algorithm.DES3, Scp.SCP03: Algorithm.AES}
LEVELS = [(Scp.SCP02, lv) for lv in SecurityLevel if not lv.r_enc] + [(Scp.SCP03, lv) for lv in SecurityLevel]
CARD_KEYS = bytes(range(48))  # the bank application's 3DES keys, DGI 8000
PIN_BLOCK = bytes.fromhex("241234FFFFFFFFFF")


def card_keys(scp: Scp, kdd: bytes) -> StaticKeys:
    return keys().gp_static_keys(ALGORITHM[scp], TEMPLATE[scp], kdd)


def gp_image(scp: Scp, path: Path | None = None, **blank: int) -> CardImage:
    image = new_image(path)
    kdd = GpApplet.key_diversification_data(image.atr)
    image.applets[GpApplet.name] = GpApplet.blank_state(int(scp), card_keys(scp, kdd), **blank)
    if path is not None:
        image.save(path)
    return image


def client(image: CardImage) -> tuple[GpClient, InProcessTransport, SimulatedCard]:
    card = SimulatedCard(image)
    transport = InProcessTransport(card)
    return GpClient(transport), transport, card


def opened(scp: Scp, level: SecurityLevel = SecurityLevel.CMAC, image: CardImage | None = None
           ) -> tuple[GpClient, InProcessTransport, SimulatedCard]:
    gp, transport, card = client(image or gp_image(scp))
    gp.select_isd()
    gp.open(lambda kdd: card_keys(scp, kdd), scp, level)
    return gp, transport, card


def read_pan(transport: InProcessTransport) -> ResponseApdu:
    assert transport.send(select_by_name(ssc.BANK_AID)).sw == 0x9000
    return transport.send(read_record(1, (2 << 3) | 4))


@pytest.mark.parametrize(("scp", "level"), LEVELS)
def test_personalise_the_bank_application_at_every_level(scp: Scp, level: SecurityLevel) -> None:
    gp, transport, card = opened(scp, level)
    gp.install_for_personalization(ssc.BANK_AID)
    sent = gp.store_data([Dgi(0x0201, PAN_RECORD), Dgi(0x8000, CARD_KEYS), Dgi(0x8010, PIN_BLOCK),
                          Dgi(0x9000, bytes.fromhex("AABBCC"))])
    assert sent == 1
    gp.close()
    response = read_pan(transport)
    assert response.sw == 0x9000
    pan = find_path(response.data, 0x70, 0x5A)
    assert pan is not None and pan.value.hex().upper().rstrip("F") == PAN
    bank = card.image.applets["bank"]
    assert bank["dgis"] == {"8000": CARD_KEYS.hex().upper(), "8010": PIN_BLOCK.hex().upper(), "9000": "AABBCC"}
    assert bank["personalised"] is True


def test_personalise_bank_counts_its_apdus_and_persists(tmp_path: Path) -> None:
    image = gp_image(Scp.SCP03, tmp_path / "card.json")
    transport = InProcessTransport(SimulatedCard(image))
    big = [Dgi(0x0100 + n, bytes.fromhex("7003800100") + bytes(200)) for n in range(1, 4)]
    count = personalise_bank(transport, lambda kdd: card_keys(Scp.SCP03, kdd), Scp.SCP03,
                             SecurityLevel.CMAC_CDEC_RMAC, [Dgi(0x0201, PAN_RECORD), *big])
    # SELECT, INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, INSTALL, 3 STORE DATA: the client asks
    # for the R-MAC'd answers with Le, so no GET RESPONSE follows
    assert count == 1 + 1 + 1 + 1 + 3
    again = SimulatedCard(CardImage.load(tmp_path / "card.json"))
    pan = find_path(read_pan(InProcessTransport(again)).data, 0x70, 0x5A)
    assert pan is not None


def test_get_status_lists_the_security_domain_and_the_applications() -> None:
    gp, _, _ = opened(Scp.SCP02, SecurityLevel.CMAC_RMAC)
    entries = gp.list_applications()
    assert [(e.kind, e.aid) for e in entries] == [
        (RegistryKind.ISSUER_SECURITY_DOMAIN, ISD_AID),
        (RegistryKind.APPLICATIONS, ssc.SSSE_AID),
        (RegistryKind.APPLICATIONS, ssc.PKI_AID),
        (RegistryKind.APPLICATIONS, ssc.BANK_AID),
    ]
    assert [e.life_cycle_name for e in entries] == ["INITIALIZED", "PERSONALIZED", "SELECTABLE", "SELECTABLE"]
    legacy = gp.send(CommandApdu(0x80, 0xF2, 0x40, 0x00, bytes.fromhex("4F05A000000333"), le=256))
    assert legacy == ResponseApdu(bytes([8]) + ssc.BANK_AID + b"\x07\x00", 0x9000)
    assert gp.send(CommandApdu(0x80, 0xF2, 0x20, 0x02, bytes.fromhex("4F00"), le=256)).sw == 0x6A88


def test_the_sequence_counter_is_kept_and_counts(tmp_path: Path) -> None:
    for scp, expected in ((Scp.SCP02, [0, 1, 2]), (Scp.SCP03, [1, 2, 3])):
        path = tmp_path / f"{scp.name}.json"
        gp_image(scp, path)
        seen = []
        for _ in range(3):
            gp, _, _ = opened(scp, image=CardImage.load(path))
            assert gp.channel is not None and gp.channel.card_challenge is not None
            counter = gp.channel.card_challenge.sequence_counter
            assert counter is not None
            seen.append(int.from_bytes(counter, "big"))
        assert seen == expected


def test_the_card_answers_its_key_diversification_data() -> None:
    image = gp_image(Scp.SCP03)
    gp, _, _ = opened(Scp.SCP03, image=image)
    assert gp.channel is not None and gp.channel.card_challenge is not None
    kdd = gp.channel.card_challenge.key_diversification_data
    assert kdd == bytes.fromhex("8699") + image.atr[-8:] == GpApplet.key_diversification_data(image.atr)


def test_wrong_keys_are_found_out_by_the_card_cryptogram() -> None:
    gp, _, _ = client(gp_image(Scp.SCP03))
    gp.select_isd()
    with pytest.raises(CardAuthenticationFailed):
        gp.open(StaticKeys.single(bytes(16), Algorithm.AES), Scp.SCP03, SecurityLevel.CMAC)
    assert gp.channel is None


def test_the_card_refuses_a_level_its_i_does_not_offer() -> None:
    gp, _, _ = client(gp_image(Scp.SCP02, i=0x15))
    gp.select_isd()
    with pytest.raises(ExternalAuthenticationRejected) as caught:
        gp.open(lambda kdd: card_keys(Scp.SCP02, kdd), Scp.SCP02, SecurityLevel.CMAC_RMAC)
    assert caught.value.sw == 0x6A86


def test_management_commands_need_an_open_channel() -> None:
    _, transport, _ = client(gp_image(Scp.SCP03))
    assert transport.send(select_by_name(ISD_AID, le=256)).sw == 0x9000
    assert transport.send(CommandApdu(0x80, 0xF2, 0x40, 0x02, bytes.fromhex("4F00"), le=256)).sw == 0x6982
    assert transport.send(CommandApdu(0x84, 0x82, 0x01, 0x00, bytes(16))).sw == 0x6985
    key_info = transport.send(CommandApdu(0x80, 0xCA, 0x00, 0xE0, le=256))
    assert key_info.sw == 0x9000 and key_info.data.startswith(bytes.fromhex("E012C00401308810"))


def test_a_command_without_secure_messaging_ends_the_session() -> None:
    gp, transport, _ = opened(Scp.SCP03)
    assert transport.send(CommandApdu(0x80, 0xF2, 0x40, 0x02, bytes.fromhex("4F00"), le=256)).sw == 0x6982
    assert gp.send(CommandApdu(0x80, 0xF2, 0x40, 0x02, bytes.fromhex("4F00"), le=256)).sw == 0x6982


def test_selecting_the_isd_again_ends_the_session() -> None:
    gp, transport, _ = opened(Scp.SCP02)
    assert transport.send(select_by_name(ISD_AID, le=256)).sw == 0x9000
    assert gp.send(CommandApdu(0x80, 0xF2, 0x40, 0x02, bytes.fromhex("4F00"), le=256)).sw == 0x6982


def test_install_for_personalization_names_only_the_bank_application() -> None:
    gp, _, _ = opened(Scp.SCP03)
    with pytest.raises(Exception, match="6985"):
        gp.install_for_personalization(ssc.SSSE_AID)
    with pytest.raises(Exception, match="6A88"):
        gp.install_for_personalization(bytes.fromhex("A0000000041010"))
    assert gp.send(CommandApdu(0x80, 0xE6, 0x0C, 0x00, bytes(10))).sw == 0x6A86


def test_store_data_needs_install_and_well_formed_blocks() -> None:
    gp, _, card = opened(Scp.SCP03, SecurityLevel.CMAC_CDEC)
    assert gp.send(store_data_commands([Dgi(0x0201, PAN_RECORD)], capacity=239)[0]).sw == 0x6985
    gp.install_for_personalization(ssc.BANK_AID)
    not_a_record = store_data_commands([Dgi(0x0201, b"\x5a\x01\x00")], capacity=239)[0]
    assert gp.send(not_a_record).sw == 0x6A80
    assert "records" not in card.image.applets["bank"]


def test_a_sensitive_dgi_in_a_block_marked_plain_is_refused() -> None:
    gp, _, card = opened(Scp.SCP02, SecurityLevel.CMAC_CDEC)
    gp.install_for_personalization(ssc.BANK_AID)
    plain = CommandApdu(0x80, 0xE2, 0x80, 0x00, Dgi(0x8010, PIN_BLOCK, encrypted=False).encode())
    assert gp.send(plain).sw == 0x6A80
    assert "dgis" not in card.image.applets["bank"]
    assert gp.send(plain).sw == 0x6985  # the refused block ended the personalisation session


def test_blank_state_checks_what_it_is_given() -> None:
    state = GpApplet.blank_state(2, bytes.fromhex("404142434445464748494A4B4C4D4E4F"))
    assert (state["scp"], state["i"], state["key_version"], state["keys"]["algorithm"]) == (2, 0x35, 0x20, "3DES")
    assert GpApplet.blank_state(3, bytes(16))["i"] == 0x70
    with pytest.raises(ChannelUsageError):
        GpApplet.blank_state(3, StaticKeys.single(bytes(16), Algorithm.DES3))
    with pytest.raises(ChannelUsageError):
        GpApplet.blank_state(3, bytes(16), i=0x35)
    with pytest.raises(ValueError):
        GpApplet.blank_state(1, bytes(16))


def test_a_card_without_a_card_manager_does_not_select_one() -> None:
    transport = InProcessTransport(SimulatedCard(new_image(None)))
    assert transport.send(select_by_name(ISD_AID, le=256)).sw == 0x6A82


def test_the_isd_fci_names_itself_and_its_block_size() -> None:
    _, transport, _ = client(gp_image(Scp.SCP02))
    fci = transport.send(select_by_name(ISD_AID, le=256))
    assert find_path(fci.data, 0x6F, 0x84) is not None
    block = find_path(fci.data, 0x6F, 0xA5, 0x9F65)
    assert block is not None and block.value == b"\xff"
