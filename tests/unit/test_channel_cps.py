"""EMV CPS: DGI encoding, STORE DATA blocks (the 255-byte boundary), reassembly on the card."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sscard_issuer.apdu import CommandApdu
from sscard_issuer.channel import (
    CpsError,
    Dgi,
    Scp,
    SecurityLevel,
    StoreDataReceiver,
    count_store_data_blocks,
    decode_dgis,
    encode_dgis,
    is_sensitive,
    store_data_block_count,
    store_data_commands,
)
from sscard_issuer.channel.cps import encode_length


def fake_encrypt(block: int) -> Callable[[bytes], bytes]:
    """A stand-in DEK: pads like the channel does, then flips every bit."""
    def encrypt(data: bytes) -> bytes:
        padded = data if len(data) % block == 0 else data + b"\x80" + bytes(-(len(data) + 1) % block)
        return bytes(b ^ 0xFF for b in padded)
    return encrypt


@pytest.mark.parametrize(("length", "encoded"), [
    (0, "00"), (1, "01"), (254, "FE"), (255, "FF00FF"), (256, "FF0100"), (65535, "FFFFFF"),
])
def test_dgi_lengths(length: int, encoded: str) -> None:
    assert encode_length(length) == bytes.fromhex(encoded)
    dgi = Dgi(0x0201, bytes(length))
    assert dgi.encode()[:2] == b"\x02\x01"
    assert decode_dgis(dgi.encode()) == [dgi]


def test_dgis_round_trip_and_refuse_bad_values() -> None:
    dgis = [Dgi(0x0101, b"\x70\x00"), Dgi(0x8000, bytes(48)), Dgi(0x9000, bytes(300))]
    assert decode_dgis(encode_dgis(dgis)) == dgis
    assert decode_dgis(bytes.fromhex("0201FF0002ABCD")) == [Dgi(0x0201, b"\xab\xcd")]  # long form accepted
    for bad in (b"\x02", b"\x02\x01\x05abc", b"\x02\x01\xff\x01"):
        with pytest.raises(CpsError):
            decode_dgis(bad)
    with pytest.raises(CpsError):
        Dgi(0x10000, b"")
    with pytest.raises(CpsError):
        Dgi(0x0201, bytes(65536))


def test_sensitive_dgis_follow_the_cps_convention_unless_told() -> None:
    assert is_sensitive(0x8000) and is_sensitive(0x8010) and is_sensitive(0x8FFF)
    assert not is_sensitive(0x9000) and not is_sensitive(0x0201) and not is_sensitive(0x7FFF)
    assert Dgi(0x8000, b"").encrypted is True and Dgi(0x9010, b"").encrypted is False
    assert Dgi(0x0301, b"", encrypted=True).sensitive
    secret = bytes.fromhex("0123456789ABCDEF")
    assert secret.hex().upper() not in repr(Dgi(0x8000, secret))
    assert "redacted" in repr(Dgi(0x8000, secret))


def test_sensitive_data_is_never_sent_without_a_dek() -> None:
    with pytest.raises(CpsError, match="8010"):
        store_data_commands([Dgi(0x8010, bytes(8))], capacity=247)


@pytest.mark.parametrize(("data_length", "blocks"), [
    (252, 1),   # 2 + 1 + 252 = 255: exactly one full block
    (253, 2),   # 256 bytes
    (251, 1),
    (254, 2),   # 257
    (255, 2),   # long form: 2 + 3 + 255 = 260
    (505, 2),   # 2 + 3 + 505 = 510 = 2 x 255
    (506, 3),
])
def test_blocks_at_the_255_byte_boundary(data_length: int, blocks: int) -> None:
    dgis = [Dgi(0x0201, os.urandom(data_length))]
    commands = store_data_commands(dgis, capacity=255)
    assert len(commands) == blocks == count_store_data_blocks(dgis, capacity=255, cipher_block_size=8)
    assert all(len(c.data) == 255 for c in commands[:-1])
    assert b"".join(c.data for c in commands) == encode_dgis(dgis)
    assert [c.p2 for c in commands] == list(range(blocks))
    assert [c.p1 & 0x80 for c in commands] == [0] * (blocks - 1) + [0x80]
    assert all(c.header[:2] == b"\x80\xe2" and c.le is None for c in commands)


def test_blocks_fill_up_across_dgis() -> None:
    dgis = [Dgi(0x0100 + n, bytes(97)) for n in range(1, 11)]  # 10 x 100 bytes
    commands = store_data_commands(dgis, capacity=239)
    assert [len(c.data) for c in commands] == [239, 239, 239, 239, 44]
    assert count_store_data_blocks(dgis, capacity=239, cipher_block_size=16) == 5


@pytest.mark.parametrize(("scp", "level", "capacity"), [
    (Scp.SCP02, SecurityLevel.CMAC, 247), (Scp.SCP02, SecurityLevel.CMAC_CDEC_RMAC, 239),
    (Scp.SCP03, SecurityLevel.CMAC_RMAC, 247), (Scp.SCP03, SecurityLevel.CMAC_CDEC_RMAC_RENC, 239),
])
def test_the_block_count_of_a_channel(scp: Scp, level: SecurityLevel, capacity: int) -> None:
    block = 8 if scp is Scp.SCP02 else 16
    dgis = [Dgi(0x0201, bytes(capacity - 3)), Dgi(0x8010, bytes(8)), Dgi(0x8000, bytes(48))]
    commands = store_data_commands(dgis, capacity=capacity, encrypt=fake_encrypt(block))
    assert store_data_block_count(dgis, scp, level) == len(commands) == 2
    assert store_data_block_count([Dgi(0x0201, bytes(capacity - 3))], scp, level) == 1
    assert store_data_block_count([], scp, level) == 0


def test_encryption_indicators_and_redaction() -> None:
    dgis = [Dgi(0x0201, bytes(10)), Dgi(0x8000, bytes(48)), Dgi(0x8010, bytes(8))]
    commands = store_data_commands(dgis, capacity=40, encrypt=fake_encrypt(16))
    # 13 plain bytes, then 51 + 19 encrypted bytes (8010 padded to 16): 83 bytes in 3 blocks
    assert [c.p1 for c in commands] == [0x20, 0x60, 0xE0]
    assert [c.sensitive for c in commands] == [True, True, True]
    plain_only = store_data_commands([Dgi(0x0201, bytes(10))], capacity=40)
    assert [(c.p1, c.sensitive) for c in plain_only] == [(0x80, False)]
    assert b"".join(c.data for c in commands)[13 + 3 : 13 + 3 + 48] == b"\xff" * 48


def test_more_than_256_blocks_is_refused() -> None:
    with pytest.raises(CpsError, match="P2"):
        store_data_commands([Dgi(0x0201, bytes(60000))], capacity=200)


def test_the_card_reassembles_dgis_cut_anywhere() -> None:
    dgis = [Dgi(0x0201, os.urandom(300)), Dgi(0x0202, b""), Dgi(0x9000, os.urandom(20))]
    for capacity in (2, 3, 4, 5, 7, 64, 255):
        receiver = StoreDataReceiver()
        got: list[Dgi] = []
        for command in store_data_commands(dgis, capacity=capacity):
            block = receiver.receive(command)
            got.extend(block.dgis)
        assert got == dgis and receiver.finished and block.last


def test_the_card_refuses_bad_sequences() -> None:
    commands = store_data_commands([Dgi(0x0201, bytes(300))], capacity=200)
    receiver = StoreDataReceiver()
    with pytest.raises(CpsError, match="expected 00"):
        receiver.receive(commands[1])
    receiver = StoreDataReceiver()
    receiver.receive(commands[0])
    truncated = CommandApdu(0x80, 0xE2, 0x80, 0x01, commands[1].data[:-1])
    with pytest.raises(CpsError, match="inside a DGI"):
        receiver.receive(truncated)
    receiver = StoreDataReceiver()
    for command in commands:
        receiver.receive(command)
    with pytest.raises(CpsError, match="after the last"):
        receiver.receive(commands[0])
    with pytest.raises(CpsError, match="RFU"):
        StoreDataReceiver().receive(CommandApdu(0x80, 0xE2, 0x88, 0x00, b"\x01\x01\x00"))


@given(st.binary(max_size=600))
def test_any_bytes_decode_as_dgis_or_raise_cps_error(raw: bytes) -> None:
    try:
        dgis = decode_dgis(raw)
    except CpsError:
        return
    assert sum(len(d.encode()) for d in dgis) <= len(raw)


@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=300)), max_size=6),
       st.integers(8, 255))  # at most 6 x 305 bytes: 256 blocks of 8 always suffice
def test_dgis_survive_any_block_size(items: list[tuple[int, bytes]], capacity: int) -> None:
    dgis = [Dgi(number, data, encrypted=False) for number, data in items]
    receiver = StoreDataReceiver()
    got: list[Dgi] = []
    for command in store_data_commands(dgis, capacity=capacity):
        got.extend(receiver.receive(command).dgis)
    assert [(d.number, d.data) for d in got] == items
