"""The secure channel as a state machine: each role's transitions, and failure closing it for good."""

from __future__ import annotations

import os

import pytest

from sscard_issuer.apdu import CommandApdu, ResponseApdu
from sscard_issuer.channel import (
    CardAuthenticationFailed,
    CardChallenge,
    CardChannel,
    ChannelClosed,
    ChannelState,
    ChannelUsageError,
    CommandMacInvalid,
    ExternalAuthenticationRejected,
    HostAuthenticationFailed,
    HostChannel,
    KeyVersionNotFound,
    MalformedResponse,
    ResponseMacInvalid,
    Scp,
    SecurityLevel,
    SecurityLevelNotSupported,
    StaticKeys,
    scp02,
)
from sscard_issuer.channel.initialize import external_authenticate
from sscard_issuer.crypto import Algorithm

KEY = bytes.fromhex("404142434445464748494A4B4C4D4E4F")
KDD = bytes.fromhex("8699000102030405060708")[:10]
CARD_I = {Scp.SCP02: 0x35, Scp.SCP03: 0x70}
ALL_LEVELS = [(Scp.SCP02, lv) for lv in SecurityLevel if not lv.r_enc] + [(Scp.SCP03, lv) for lv in SecurityLevel]
GET_STATUS = CommandApdu(0x80, 0xF2, 0x40, 0x02, bytes.fromhex("4F00"), le=256)


def keys_for(scp: Scp, key: bytes = KEY) -> StaticKeys:
    return StaticKeys.single(key, Algorithm.DES3 if scp is Scp.SCP02 else Algorithm.AES)


def card_for(scp: Scp, i: int | None = None, key: bytes = KEY) -> CardChannel:
    return CardChannel(scp, keys_for(scp, key), i=CARD_I[scp] if i is None else i, key_version=0x30,
                       key_diversification_data=KDD)


def answer_initialize_update(card: CardChannel, scp: Scp, command: CommandApdu, counter: int = 1) -> ResponseApdu:
    if scp is Scp.SCP02:
        data = card.initialize_update(command, sequence_counter=counter.to_bytes(2, "big"), card_challenge=os.urandom(6))
    else:
        data = card.initialize_update(command, sequence_counter=counter.to_bytes(3, "big"), card_challenge=os.urandom(8))
    return ResponseApdu(data, 0x9000)


def open_pair(scp: Scp, level: SecurityLevel) -> tuple[HostChannel, CardChannel]:
    host, card = HostChannel(scp, level), card_for(scp)
    host.receive_initialize_update(answer_initialize_update(card, scp, host.initialize_update(os.urandom(8))))
    external = host.authenticate(keys_for(scp))
    card.external_authenticate(external)
    host.receive_external_authenticate(ResponseApdu(b"", 0x9000))
    return host, card


def exchange(host: HostChannel, card: CardChannel, command: CommandApdu, answer: bytes,
             sw: int = 0x9000) -> tuple[CommandApdu, ResponseApdu]:
    seen = card.unwrap(host.wrap(command))
    return seen, host.unwrap(ResponseApdu(card.wrap(answer, sw), sw))


@pytest.mark.parametrize(("scp", "level"), ALL_LEVELS)
def test_host_and_card_agree_at_every_level(scp: Scp, level: SecurityLevel) -> None:
    host, card = open_pair(scp, level)
    assert host.state is card.state is ChannelState.OPEN
    for n, data in enumerate([b"", bytes.fromhex("4F00"), os.urandom(200), os.urandom(host.max_command_data)]):
        command = CommandApdu(0x80, 0xE2, 0x00, n, data, le=256 if n % 2 else None)
        answer = os.urandom(n * 37)
        seen, response = exchange(host, card, command, answer)
        assert seen == command
        assert response == ResponseApdu(answer, 0x9000)
    seen, response = exchange(host, card, GET_STATUS, b"", 0x6A88)
    assert response == ResponseApdu(b"", 0x6A88)  # errors carry no R-MAC


@pytest.mark.parametrize(("scp", "level"), ALL_LEVELS)
def test_the_protections_the_level_names_are_on_the_wire(scp: Scp, level: SecurityLevel) -> None:
    host, card = open_pair(scp, level)
    secret = bytes(range(32))
    wrapped = host.wrap(CommandApdu(0x80, 0xE2, 0x80, 0x00, secret))
    assert wrapped.cla == 0x84
    assert (secret not in wrapped.data) is level.c_dec
    card.unwrap(wrapped)
    on_wire = card.wrap(secret)
    assert (len(on_wire) > len(secret)) is level.r_mac
    assert (secret not in on_wire) is level.r_enc


def test_a_wrong_card_cryptogram_fails_the_channel_for_good() -> None:
    host, card = HostChannel(Scp.SCP03, SecurityLevel.CMAC), card_for(Scp.SCP03, key=bytes(16))
    host.receive_initialize_update(answer_initialize_update(card, Scp.SCP03, host.initialize_update(os.urandom(8))))
    with pytest.raises(CardAuthenticationFailed) as caught:
        host.authenticate(keys_for(Scp.SCP03))
    assert host.state is ChannelState.FAILED
    assert KEY.hex() not in str(caught.value).lower()
    with pytest.raises(ChannelClosed):
        host.wrap(GET_STATUS)
    with pytest.raises(ChannelClosed):
        host.authenticate(keys_for(Scp.SCP03))


def test_a_tampered_card_cryptogram_is_refused() -> None:
    host, card = HostChannel(Scp.SCP02, SecurityLevel.CMAC), card_for(Scp.SCP02)
    answer = answer_initialize_update(card, Scp.SCP02, host.initialize_update(os.urandom(8)))
    host.receive_initialize_update(ResponseApdu(answer.data[:-1] + bytes((answer.data[-1] ^ 1,)), 0x9000))
    with pytest.raises(CardAuthenticationFailed):
        host.authenticate(keys_for(Scp.SCP02))


@pytest.mark.parametrize("scp", list(Scp))
def test_a_bad_r_mac_fails_the_channel(scp: Scp) -> None:
    host, card = open_pair(scp, SecurityLevel.CMAC_RMAC)
    card.unwrap(host.wrap(GET_STATUS))
    data = card.wrap(b"\xe3\x00")
    with pytest.raises(ResponseMacInvalid):
        host.unwrap(ResponseApdu(data[:-1] + bytes((data[-1] ^ 0x80,)), 0x9000))
    assert host.state is ChannelState.FAILED
    with pytest.raises(ChannelClosed):
        host.wrap(GET_STATUS)


def test_a_missing_r_mac_fails_the_channel() -> None:
    host, _card = open_pair(Scp.SCP03, SecurityLevel.CMAC_RMAC)
    host.wrap(GET_STATUS)
    with pytest.raises(ResponseMacInvalid):
        host.unwrap(ResponseApdu(b"\x01\x02", 0x9000))


def test_wrap_after_close_is_refused_and_close_is_idempotent() -> None:
    host, _ = open_pair(Scp.SCP03, SecurityLevel.CMAC)
    host.close()
    host.close()
    assert host.state is ChannelState.CLOSED
    with pytest.raises(ChannelClosed):
        host.wrap(GET_STATUS)
    with pytest.raises(ChannelClosed):
        host.encrypt_sensitive(bytes(16))


def test_calls_out_of_order_are_refused_without_changing_state() -> None:
    host = HostChannel(Scp.SCP03, SecurityLevel.CMAC)
    with pytest.raises(ChannelUsageError, match="wrap is not allowed while the channel is idle"):
        host.wrap(GET_STATUS)
    with pytest.raises(ChannelUsageError):
        host.encrypt_sensitive(bytes(16))
    assert host.state is ChannelState.IDLE
    host, _card = open_pair(Scp.SCP03, SecurityLevel.CMAC)
    host.wrap(GET_STATUS)
    with pytest.raises(ChannelUsageError, match="exchanging"):
        host.wrap(GET_STATUS)  # the previous answer must be unwrapped first
    assert host.state is ChannelState.EXCHANGING


def test_external_authenticate_refused_by_the_card() -> None:
    host, card = HostChannel(Scp.SCP03, SecurityLevel.CMAC), card_for(Scp.SCP03)
    host.receive_initialize_update(answer_initialize_update(card, Scp.SCP03, host.initialize_update(os.urandom(8))))
    host.authenticate(keys_for(Scp.SCP03))
    with pytest.raises(ExternalAuthenticationRejected) as caught:
        host.receive_external_authenticate(ResponseApdu(b"", 0x6300))
    assert caught.value.sw == 0x6300
    assert host.state is ChannelState.FAILED


def test_a_card_error_to_initialize_update_fails_the_channel() -> None:
    host = HostChannel(Scp.SCP03, SecurityLevel.CMAC)
    host.initialize_update(os.urandom(8))
    with pytest.raises(Exception, match="6A88"):
        host.receive_initialize_update(ResponseApdu(b"", 0x6A88))
    assert host.state is ChannelState.FAILED


def test_the_card_answers_another_protocol() -> None:
    host, card = HostChannel(Scp.SCP02, SecurityLevel.CMAC), card_for(Scp.SCP03)
    answer = answer_initialize_update(card, Scp.SCP03, host.initialize_update(os.urandom(8)))
    with pytest.raises(MalformedResponse, match="SCP03"):
        host.receive_initialize_update(answer)


def test_a_level_the_scp03_card_does_not_offer_is_refused_before_authentication() -> None:
    host, card = HostChannel(Scp.SCP03, SecurityLevel.CMAC_RMAC), card_for(Scp.SCP03, i=0x10)
    with pytest.raises(ChannelUsageError, match="does not offer"):
        host.receive_initialize_update(answer_initialize_update(card, Scp.SCP03, host.initialize_update(os.urandom(8))))


# -- the card's role --------------------------------------------------------------------------


def test_the_card_refuses_a_wrong_host_cryptogram_under_a_good_c_mac() -> None:
    host, card = HostChannel(Scp.SCP02, SecurityLevel.CMAC), card_for(Scp.SCP02)
    host.receive_initialize_update(answer_initialize_update(card, Scp.SCP02, host.initialize_update(os.urandom(8))))
    session = scp02.derive_session_keys(keys_for(Scp.SCP02), (1).to_bytes(2, "big"))
    forged = scp02.Scp02Messaging(session).protect_command(external_authenticate(SecurityLevel.CMAC, bytes(8)))
    with pytest.raises(HostAuthenticationFailed):
        card.external_authenticate(forged)
    assert card.state is ChannelState.FAILED


def test_the_card_refuses_external_authenticate_with_a_bad_c_mac() -> None:
    host, card = HostChannel(Scp.SCP03, SecurityLevel.CMAC), card_for(Scp.SCP03)
    host.receive_initialize_update(answer_initialize_update(card, Scp.SCP03, host.initialize_update(os.urandom(8))))
    external = host.authenticate(keys_for(Scp.SCP03))
    with pytest.raises(CommandMacInvalid):
        card.external_authenticate(CommandApdu(0x84, 0x82, 0x01, 0x00, external.data[:8] + bytes(8)))
    assert card.state is ChannelState.FAILED


def test_the_card_refuses_a_bad_c_mac_and_stays_closed() -> None:
    host, card = open_pair(Scp.SCP03, SecurityLevel.CMAC_CDEC)
    wrapped = host.wrap(GET_STATUS)
    with pytest.raises(CommandMacInvalid):
        card.unwrap(CommandApdu(wrapped.cla, wrapped.ins, wrapped.p1, wrapped.p2 ^ 1, wrapped.data, wrapped.le))
    with pytest.raises(ChannelClosed):
        card.unwrap(wrapped)


def test_the_card_refuses_a_command_without_secure_messaging() -> None:
    _, card = open_pair(Scp.SCP02, SecurityLevel.CMAC)
    with pytest.raises(CommandMacInvalid, match="no C-MAC"):
        card.unwrap(GET_STATUS)
    assert card.state is ChannelState.FAILED


def test_the_card_refuses_a_level_its_i_does_not_offer() -> None:
    host, card = HostChannel(Scp.SCP02, SecurityLevel.CMAC_RMAC), card_for(Scp.SCP02, i=0x15)
    host.receive_initialize_update(answer_initialize_update(card, Scp.SCP02, host.initialize_update(os.urandom(8))))
    with pytest.raises(SecurityLevelNotSupported):
        card.external_authenticate(host.authenticate(keys_for(Scp.SCP02)))


def test_the_card_refuses_an_unknown_key_version() -> None:
    host, card = HostChannel(Scp.SCP03, SecurityLevel.CMAC, key_version=0x31), card_for(Scp.SCP03)
    with pytest.raises(KeyVersionNotFound):
        answer_initialize_update(card, Scp.SCP03, host.initialize_update(os.urandom(8)))


# -- values and inputs ------------------------------------------------------------------------


def test_keys_never_show_in_repr_or_str() -> None:
    secret = bytes.fromhex("0F1E2D3C4B5A69788796A5B4C3D2E1F0")
    keys = StaticKeys(secret, secret[::-1], bytes(16), Algorithm.AES)
    host, card = open_pair(Scp.SCP03, SecurityLevel.CMAC)
    for shown in (repr(keys), str(keys), repr(host), repr(card)):
        assert secret.hex() not in shown.lower() and secret.hex().upper() not in shown
    assert "kcv" in repr(keys)
    with pytest.raises(TypeError):
        __import__("pickle").dumps(keys)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"enc": bytes(8)}, "got 8"),
    ({"mac": bytes(24)}, "3DES keys are 16 bytes, got 24"),
])
def test_static_keys_refuse_bad_lengths_without_echoing_them(kwargs: dict[str, bytes], message: str) -> None:
    fields = {"enc": KEY, "mac": KEY, "dek": KEY, **kwargs}
    with pytest.raises(ChannelUsageError, match=message) as caught:
        StaticKeys(fields["enc"], fields["mac"], fields["dek"], Algorithm.DES3)
    assert KEY.hex() not in str(caught.value).lower()


def test_levels_and_protocols_parse_as_globalplatform_writes_them() -> None:
    assert SecurityLevel.parse("1") is SecurityLevel.CMAC
    assert SecurityLevel.parse("0x33") is SecurityLevel.CMAC_CDEC_RMAC_RENC
    assert Scp.parse("02") is Scp.SCP02 and Scp.parse("SCP03") is Scp.SCP03
    for bad in ("2", "ff", "x"):
        with pytest.raises(ChannelUsageError):
            SecurityLevel.parse(bad)
    with pytest.raises(ChannelUsageError):
        Scp.parse("01")
    with pytest.raises(ChannelUsageError, match="R-ENCRYPTION"):
        HostChannel(Scp.SCP02, SecurityLevel.CMAC_CDEC_RMAC_RENC)
    with pytest.raises(ChannelUsageError, match="i"):
        HostChannel(Scp.SCP02, SecurityLevel.CMAC, i=0x14)


def test_a_command_too_long_for_the_level_is_refused() -> None:
    host, _ = open_pair(Scp.SCP02, SecurityLevel.CMAC_CDEC)
    assert host.max_command_data == 239
    with pytest.raises(ChannelUsageError, match="239"):
        host.wrap(CommandApdu(0x80, 0xE2, 0, 0, bytes(240)))
    assert host.state is ChannelState.OPEN


def test_any_initialize_update_answer_parses_or_raises_malformed_response() -> None:
    good = bytes.fromhex("000000000000000000003003703eb51047495b249f66c484c1d2ef1948000002")
    assert CardChallenge.decode(good).encode() == good
    samples = [good[:n] for n in range(len(good))] + [os.urandom(n) for n in range(40) for _ in range(20)]
    samples += [good[:12] + bytes((i,)) + good[13:] for i in range(256)]
    for raw in samples:
        try:
            challenge = CardChallenge.decode(raw)
        except MalformedResponse:
            continue
        assert challenge.encode() == raw
