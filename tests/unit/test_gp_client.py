"""The terminal's GlobalPlatform client and the development key store's GP keys (TEST ONLY)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from applets import GpApplet
from sscard_issuer.apdu import CommandApdu
from sscard_issuer.channel import (
    ChannelState,
    ChannelUsageError,
    DiversificationTemplate,
    ResponseMacInvalid,
    Scp,
    SecurityLevel,
    StaticKeys,
    diversify,
)
from sscard_issuer.crypto import Algorithm
from sscard_issuer.gp import GpClient
from sscard_issuer.keys import DevKeyStore, KeyClass, KeyStoreError
from sscard_issuer.keys.dev import DEFAULT_KEYSET
from sscard_issuer.sim.runtime import PlannedPowerCut, PowerCut, SimulatedCard
from sscard_issuer.transport.inprocess import InProcessTransport
from sscard_issuer.transport.trace import ApduTrace
from tests.unit.cards import new_image

GP_TEST_KEY = bytes.fromhex("404142434445464748494A4B4C4D4E4F")
KDD = bytes.fromhex("86990123456789ABCDEF")
GET_STATUS = CommandApdu(0x80, 0xF2, 0x40, 0x02, bytes.fromhex("4F00"), le=256)


def gp_card(scp: Scp = Scp.SCP03) -> tuple[SimulatedCard, InProcessTransport, ApduTrace]:
    image = new_image(None)
    image.applets[GpApplet.name] = GpApplet.blank_state(int(scp), GP_TEST_KEY)
    card = SimulatedCard(image)
    trace = ApduTrace()
    return card, InProcessTransport(card, trace=trace), trace


def test_open_sends_exactly_the_host_challenge_and_key_version() -> None:
    _, transport, trace = gp_card()
    gp = GpClient(transport)
    gp.select_isd()
    channel = gp.open(StaticKeys.single(GP_TEST_KEY, Algorithm.AES), Scp.SCP03, SecurityLevel.CMAC,
                      bytes.fromhex("0001020304050607"), key_version=0x30)
    assert channel.state is ChannelState.OPEN and gp.channel is channel
    assert trace.entries[1].command.encode() == bytes.fromhex("80503000080001020304050607") + b"\x00"
    assert trace.entries[2].command.header == bytes.fromhex("84820100")


def test_send_before_open_is_refused() -> None:
    _, transport, _ = gp_card()
    with pytest.raises(ChannelUsageError, match="open"):
        GpClient(transport).send(GET_STATUS)


def test_a_transport_failure_closes_the_channel() -> None:
    card, transport, _ = gp_card()
    gp = GpClient(transport)
    gp.select_isd()
    gp.open(StaticKeys.single(GP_TEST_KEY, Algorithm.AES), Scp.SCP03, SecurityLevel.CMAC)
    card.planned_cut = PlannedPowerCut(at_apdu=card.apdu_count + 1)
    with pytest.raises(PowerCut):
        gp.send(GET_STATUS)
    assert gp.channel is None
    with pytest.raises(ChannelUsageError):
        gp.send(GET_STATUS)


def test_a_forged_answer_fails_the_channel() -> None:
    class Forger(InProcessTransport):
        def _transmit_raw(self, apdu: bytes) -> bytes:
            raw = super()._transmit_raw(apdu)
            return raw if apdu[1] != 0xF2 else bytes((raw[0] ^ 1,)) + raw[1:]

    image = new_image(None)
    image.applets[GpApplet.name] = GpApplet.blank_state(3, GP_TEST_KEY)
    gp = GpClient(Forger(SimulatedCard(image)))
    gp.select_isd()
    gp.open(StaticKeys.single(GP_TEST_KEY, Algorithm.AES), Scp.SCP03, SecurityLevel.CMAC_RMAC)
    with pytest.raises(ResponseMacInvalid):
        gp.send(GET_STATUS)
    assert gp.channel is None


def test_selecting_the_isd_closes_an_open_channel() -> None:
    _, transport, _ = gp_card(Scp.SCP02)
    with GpClient(transport) as gp:
        gp.select_isd()
        channel = gp.open(StaticKeys.single(GP_TEST_KEY, Algorithm.DES3), Scp.SCP02, SecurityLevel.CMAC)
        gp.select_isd()
        assert channel.state is ChannelState.CLOSED and gp.channel is None


# -- DevKeyStore.gp_static_keys ---------------------------------------------------------------


@pytest.mark.parametrize(("alg", "template"), [(Algorithm.DES3, "emv"), (Algorithm.DES3, "visa2"),
                                               (Algorithm.AES, "kdf3"), (Algorithm.AES, "none")])
def test_dev_store_diversifies_the_kmc(alg: Algorithm, template: str) -> None:
    document: dict[str, Any] = json.loads(DEFAULT_KEYSET.read_text(encoding="utf-8"))
    master = next(bytes.fromhex(e["key"]) for e in document["keys"]
                  if (e["key_class"], e["algorithm"]) == (KeyClass.KMC.value, alg.value))
    keys = DevKeyStore(DEFAULT_KEYSET).gp_static_keys(alg, template, KDD)
    expected = diversify(DiversificationTemplate(template), master, KDD, algorithm=alg)
    assert keys.same_as(expected)
    assert master.hex() not in repr(keys).lower()


def test_dev_store_refuses_what_does_not_fit() -> None:
    store = DevKeyStore(DEFAULT_KEYSET)
    with pytest.raises(KeyStoreError, match="kdf3 derives AES"):
        store.gp_static_keys(Algorithm.DES3, "kdf3", KDD)
    with pytest.raises(KeyStoreError, match="diversification"):
        store.gp_static_keys(Algorithm.AES, "visa", KDD)
    with pytest.raises(KeyStoreError, match="10 bytes"):
        store.gp_static_keys(Algorithm.AES, "kdf3", bytes(8))
    with pytest.raises(KeyStoreError):
        store.gp_static_keys(Algorithm.SM4, "none", KDD)


def test_dev_store_refuses_gp_keys_from_an_unmarked_key_set(tmp_path: Path) -> None:
    document: dict[str, Any] = json.loads(DEFAULT_KEYSET.read_text(encoding="utf-8"))
    path = tmp_path / "keyset.json"
    path.write_text(json.dumps({k: v for k, v in document.items() if k != "warning"}), encoding="utf-8")
    with pytest.raises(KeyStoreError, match="refusing to export"):
        DevKeyStore(path).gp_static_keys(Algorithm.AES, "kdf3", KDD)
