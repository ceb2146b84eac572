"""SCP02 and SCP03 against the published vectors (spec/vectors.md), byte for byte.

Further vectors, named by source: openjavacard-tools GPKeySetTest (SCP02 and SCP03 session keys
and EMV diversification of the GlobalPlatform test key) and GlobalPlatformPro TestSCP03 (KDF3).
"""

from __future__ import annotations

import pytest

from sscard_issuer.apdu import CommandApdu, ResponseApdu
from sscard_issuer.channel import (
    DiversificationTemplate,
    HostChannel,
    Scp,
    SecurityLevel,
    StaticKeys,
    diversify,
    scp02,
    scp03,
)
from sscard_issuer.crypto import Algorithm

H = bytes.fromhex
GP_TEST_KEY = H("404142434445464748494A4B4C4D4E4F")

SCP02_KEYS = StaticKeys(
    H("100102030405060708090a0b0c0d0e0f"),
    H("101102030405060708090a0b0c0d0e0f"),
    H("102102030405060708090a0b0c0d0e0f"),
    Algorithm.DES3,
)
SCP03_KEYS = StaticKeys(
    H("000102030405060708090a0b0c0d0e0f"),
    H("101112131415161718191a1b1c1d1e1f"),
    H("202122232425262728292a2b2c2d2e2f"),
    Algorithm.AES,
)


def open_channel(scp: Scp, level: SecurityLevel, keys: StaticKeys, host_challenge: bytes,
                 answer: bytes, key_version: int = 0) -> tuple[HostChannel, CommandApdu, CommandApdu]:
    channel = HostChannel(scp, level, key_version=key_version)
    initialize = channel.initialize_update(host_challenge)
    channel.receive_initialize_update(ResponseApdu(answer, 0x9000))
    external = channel.authenticate(keys)
    channel.receive_external_authenticate(ResponseApdu(b"", 0x9000))
    return channel, initialize, external


def test_scp02_i15_external_authenticate_and_c_mac_chain() -> None:
    channel, initialize, external = open_channel(
        Scp.SCP02, SecurityLevel.CMAC, SCP02_KEYS, H("40A62C37FA6304F8"),
        H("00000000000000000000700200016B4524ABEE7CF32EA3838BC148F3"),
    )
    assert initialize.encode() == H("805000000840A62C37FA6304F800")
    assert external.encode() == H("8482010010BA6961667737C5BCEBECE14C7D6A4376")
    first = channel.wrap(CommandApdu.decode(H("80F22002")))
    assert first.encode() == H("84F220020814DB34FA4341DCA8")
    channel.unwrap(ResponseApdu(b"", 0x9000))
    second = channel.wrap(CommandApdu.decode(H("80CA006600")))
    assert second.encode() == H("84CA00660855ED7C5FF069512B00")


def test_scp02_card_challenge_fields() -> None:
    channel, _, _ = open_channel(
        Scp.SCP02, SecurityLevel.CMAC, SCP02_KEYS, H("40A62C37FA6304F8"),
        H("00000000000000000000700200016B4524ABEE7CF32EA3838BC148F3"),
    )
    challenge = channel.card_challenge
    assert challenge is not None
    assert challenge.key_diversification_data == bytes(10)
    assert (challenge.key_version, challenge.scp, challenge.i) == (0x70, Scp.SCP02, None)
    assert challenge.sequence_counter == H("0001")
    assert challenge.card_challenge == H("6B4524ABEE7C")


SCP03_GET_DATA = CommandApdu.decode(H("80E2910006BF3E035C015A00"))


def test_scp03_level_11_session_keys_external_authenticate_wrap_and_r_mac() -> None:
    channel, initialize, external = open_channel(
        Scp.SCP03, SecurityLevel.CMAC_RMAC, SCP03_KEYS, H("b13e5f938fc108c4"),
        H("000000000000000000003003703eb51047495b249f66c484c1d2ef1948000002"), key_version=0x30,
    )
    assert initialize.encode() == H("8050300008b13e5f938fc108c400")
    assert external.encode() == H("84821100107d5f5826a993ebc89eea24957fa0b3ce")
    session = scp03.derive_session_keys(SCP03_KEYS, H("b13e5f938fc108c4"), H("3eb51047495b249f"))
    assert session.enc == H("C4E87149F2114DA66BB015A567D751F9")
    assert session.mac == H("8B2635556E987A6B84F43D9FFC197D3F")
    assert session.rmac == H("3F6B2CE3B3ABD9A99BD4453AFA54CC7B")
    assert channel.wrap(SCP03_GET_DATA).encode() == H("84e291000ebf3e035c015a558d036518a2829700")
    data = H("bf3e125a1089882119900000000000000000000005")
    plain = channel.unwrap(ResponseApdu(data + H("971be68992dbbdfa"), 0x9000))
    assert plain == ResponseApdu(data, 0x9000)


def test_scp03_level_03_encrypts_with_the_counter_icv() -> None:
    channel, initialize, external = open_channel(
        Scp.SCP03, SecurityLevel.CMAC_CDEC, SCP03_KEYS, H("8e1552d0513c60f3"),
        H("0000000000000000000030037030760cd2c47c1dd395065fe5ead8a9d7000001"), key_version=0x30,
    )
    assert initialize.encode() == H("80503000088e1552d0513c60f300")
    assert external.encode() == H("8482030010fd4721a14d9b07003c451d2f8ae6bb21")
    wrapped = channel.wrap(SCP03_GET_DATA)
    assert wrapped.encode() == H("84e2910018ca9c00f6713d79bc8baa642bdff51c3f6a4082d3bd9ad26c00")


@pytest.mark.parametrize(("counter", "enc", "mac", "dek"), [
    ("0000", "010b0371d78377b801f2d62afc671d95", "d1c28c601652a4770d67ad82d2d2e1c4", "e11987ee331b417a5d67d760692f89d4"),
    ("0001", "25c9794a1205ff244f5fa0378d2f8d59", "9bed98891580c3b245fe9ec58bfa8d2a", "0e51fdf196141f227a57bd154012fd39"),
    ("FFFF", "e75adaaf916de18a01ab9acc6ef84b8b", "66f6b778a1fafccc9de6c253233be33d", "3c750e0f60899ffc8f0d26d860ae6c95"),
])
def test_scp02_session_keys_of_the_test_key(counter: str, enc: str, mac: str, dek: str) -> None:
    session = scp02.derive_session_keys(StaticKeys.single(GP_TEST_KEY, Algorithm.DES3), H(counter))
    assert (session.enc, session.mac, session.dek) == (H(enc), H(mac), H(dek))


def test_scp03_session_keys_of_the_test_key() -> None:
    keys = StaticKeys.single(GP_TEST_KEY, Algorithm.AES)
    session = scp03.derive_session_keys(keys, H("A7F76C713F0A713D"), H("31900058C1C451A2"))
    assert session.enc == H("258a78866f41482bef482dc8ca976ccd")
    assert session.mac == H("053db6abc7fdf3b63a0d965ee16b0255")
    assert session.rmac == H("eda0b4f2ec0345bfc50f3bc59cfef936")


@pytest.mark.parametrize(("kdd", "enc", "mac", "dek"), [
    ("00000000000000000000", "5d9a62e01df1fa7a93f231000f4ac272", "13179f2220fc6bce5e740387eb78db5c",
     "8bbe5457944d18df460af68730f570a2"),
    ("0102030405060708090A", "6438a05ac377df302423bc5e2038fb5b", "5a9402ddabc5b9497bbece0884929b83",
     "acb4c129b3912fb782a4eaee043bae95"),
])
def test_emv_diversification_of_the_test_key(kdd: str, enc: str, mac: str, dek: str) -> None:
    keys = diversify(DiversificationTemplate.EMV, GP_TEST_KEY, H(kdd))
    assert (keys.enc, keys.mac, keys.dek, keys.algorithm) == (H(enc), H(mac), H(dek), Algorithm.DES3)


def test_kdf3_diversification_of_an_aes_256_master() -> None:
    master = H("8C72C72CF908411653018807950D82FBAD947562F0828A0B10B8B9606ABF3BCD")
    keys = diversify(DiversificationTemplate.KDF3, master, H("D9B1DE5D0362DEDCE4FB"))
    assert keys.enc == H("9AAC5D0B3601F89438A0D9D0B6B256CFB47E6462DFA5228D3420C4AC7C224781")
    assert keys.algorithm is Algorithm.AES and len(keys.mac) == len(keys.dek) == 32


def test_gp_test_key_check_value() -> None:
    assert StaticKeys.single(GP_TEST_KEY, Algorithm.DES3).check_values[0] == H("8BAF47")
