"""The card manager through the real stack: ``sscard gp`` as a process -> pcscd -> vpcd -> the
simulated card's ISD, and the personalisation client through PC/SC."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from applets import GpApplet
from sscard_issuer.apdu import find_path, read_record, select_by_name
from sscard_issuer.card import ssc
from sscard_issuer.channel import Dgi, Scp, SecurityLevel
from sscard_issuer.cli.demo import sample_applicant
from sscard_issuer.crypto import Algorithm
from sscard_issuer.gp import personalise_bank
from sscard_issuer.keys import DevKeyStore
from sscard_issuer.sim.make_card import make_card
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.sim.vpcd import VpcdLink
from sscard_issuer.transport.pcsc import PcscTransport

Attach = Callable[..., VpcdLink]
SSCARD = [sys.executable, "-m", "sscard_issuer"]
READER = "Virtual PCD 00 00"
GP_TEST_KEY = bytes.fromhex("404142434445464748494A4B4C4D4E4F")
PAN = "6217000000000000004"


def card_with_isd(scp: Scp, *, dev_kmc: bool) -> SimulatedCard:
    """A made card plus an ISD (the blank-card maker will do this for real)."""
    image = make_card(sample_applicant(), algorithm=Algorithm.DES3, serial=os.urandom(8))
    kdd = GpApplet.key_diversification_data(image.atr)
    if dev_kmc:
        alg, template = (Algorithm.DES3, "emv") if scp is Scp.SCP02 else (Algorithm.AES, "kdf3")
        keys = DevKeyStore.default().gp_static_keys(alg, template, kdd)
        image.applets[GpApplet.name] = GpApplet.blank_state(int(scp), keys)
    else:
        image.applets[GpApplet.name] = GpApplet.blank_state(int(scp), GP_TEST_KEY)
    return SimulatedCard(image)


def sscard(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SSCARD_LANG": "en"}
    return subprocess.run([*SSCARD, *args], capture_output=True, text=True, env=env, timeout=60)


def test_gp_list_as_a_process_scp03_dev_kmc(attach: Attach) -> None:
    attach(card_with_isd(Scp.SCP03, dev_kmc=True), READER)
    result = sscard("gp", "list", "--reader", READER, "--scp", "03", "--level", "33", "--dev-kmc")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ISD: A000000151000000 (INITIALIZED)")
    assert [line.split()[1] for line in lines[1:]] == [
        ssc.SSSE_AID.hex().upper(), ssc.PKI_AID.hex().upper(), ssc.BANK_AID.hex().upper()
    ]


def test_gp_apdu_as_a_process_scp02_test_key(attach: Attach) -> None:
    card = card_with_isd(Scp.SCP02, dev_kmc=False)
    attach(card, READER)
    install = "80E62000" + "0D" + "0000" + "08" + ssc.BANK_AID.hex() + "000000"
    store = "80E28000" + "11" + "0201" + "0E" + "700C5A0A" + PAN + "F"
    result = sscard("gp", "apdu", "80CA00E000", install, store, "--reader", READER, "--scp", "02", "--level", "13")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "E012C00401208010C00402208010C00403208010 9000 success", "00 9000 success", "9000 success",
    ]
    assert card.image.applets["bank"]["records"]["0201"].startswith("700C5A0A" + PAN)


def test_gp_list_with_wrong_keys_exits_4(attach: Attach) -> None:
    attach(card_with_isd(Scp.SCP03, dev_kmc=True), READER)
    result = sscard("gp", "list", "--reader", READER)
    assert result.returncode == 4
    assert "card cryptogram does not verify" in result.stderr


def test_personalise_bank_through_pcsc_then_read_the_pan(attach: Attach) -> None:
    card = card_with_isd(Scp.SCP03, dev_kmc=True)
    attach(card, READER)
    store = DevKeyStore.default()
    dgis = [Dgi(0x0201, bytes.fromhex("700C5A0A" + PAN + "F")), Dgi(0x8000, os.urandom(48)),
            Dgi(0x8010, bytes.fromhex("241234FFFFFFFFFF"))]
    with PcscTransport(READER) as transport:
        count = personalise_bank(transport, lambda kdd: store.gp_static_keys(Algorithm.AES, "kdf3", kdd),
                                 Scp.SCP03, SecurityLevel.CMAC_CDEC_RMAC_RENC, dgis)
        assert count == 5  # SELECT, INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, INSTALL, STORE DATA (Le asked: no GET RESPONSE)
        assert transport.send(select_by_name(ssc.BANK_AID)).sw == 0x9000
        response = transport.send(read_record(1, (2 << 3) | 4))
    assert response.sw == 0x9000
    pan = find_path(response.data, 0x70, 0x5A)
    assert pan is not None and pan.value.hex().upper().rstrip("F") == PAN
    assert card.image.applets["bank"]["dgis"]["8000"] == dgis[1].data.hex().upper()
