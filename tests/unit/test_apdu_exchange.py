"""The exchange state machine: 61xx chains, 6Cxx resends, and cards that loop."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sscard_issuer.apdu import (
    ApduFormatError,
    CommandApdu,
    Exchange,
    ExchangeError,
    ExchangeState,
    ResponseApdu,
    default_get_response_cla,
    read_record,
    run_exchange,
    select_by_name,
)
from sscard_issuer.errors import SscardError

h = bytes.fromhex
SSSE_AID = h("7378312E73682EC9E7BBE1B1A3D5CF")
FCI = h("6F1C840F7378312E73682EC9E7BBE1B1A3D5CFA50988011E9F0C03860103")


def script(*steps: tuple[str, str]) -> Callable[[bytes], bytes]:
    """A card that expects exactly these commands (hex) and answers these responses (hex)."""
    remaining = list(steps)

    def transmit(raw: bytes) -> bytes:
        expected, answer = remaining.pop(0)
        assert raw.hex().upper() == expected
        return h(answer)

    transmit.remaining = remaining  # type: ignore[attr-defined]
    return transmit


def drive(exchange: Exchange, *answers: str) -> list[bytes]:
    """Feed answers in order; return every command sent, encoded."""
    sent = [exchange.first().encode()]
    for answer in answers:
        nxt = exchange.receive(ResponseApdu.decode(h(answer)))
        if nxt is None:
            break
        sent.append(nxt.encode())
    return sent


def test_plain_success() -> None:
    exchange = Exchange(read_record(1, 4))
    states = [exchange.state]
    assert exchange.first() == read_record(1, 4)
    states.append(exchange.state)
    assert exchange.receive(ResponseApdu(h("0103332E3030"), 0x9000)) is None
    states.append(exchange.state)
    assert states == [ExchangeState.READY, ExchangeState.AWAITING_RESPONSE, ExchangeState.DONE]
    assert exchange.result == ResponseApdu(h("0103332E3030"), 0x9000)


def test_select_ssse_under_t0_fetches_the_fci() -> None:
    transmit = script(
        ("00A404000F7378312E73682EC9E7BBE1B1A3D5CF", "611E"),
        ("00C000001E", FCI.hex() + "9000"),
    )
    result = run_exchange(select_by_name(SSSE_AID), transmit)
    assert result == ResponseApdu(FCI, 0x9000)
    assert transmit.remaining == []  # type: ignore[attr-defined]


def test_61xx_chain_accumulates_data() -> None:
    exchange = Exchange(CommandApdu(0x00, 0xB0, 0, 0, le=256))
    sent = drive(exchange, "6110", "00" * 16 + "6108", "11" * 8 + "6100", "22" * 256 + "9000")
    assert sent == [h("00B0000000"), h("00C0000010"), h("00C0000008"), h("00C0000000")]
    assert exchange.result.data == bytes(16) + b"\x11" * 8 + b"\x22" * 256
    assert exchange.result.sw == 0x9000


def test_data_sent_with_61xx_is_kept() -> None:
    exchange = Exchange(CommandApdu(0x00, 0xB0, 0, 0, le=256))
    drive(exchange, "AABB6102", "CCDD9000")
    assert exchange.result.data == h("AABBCCDD")


def test_final_error_after_a_chain_keeps_data_and_status() -> None:
    exchange = Exchange(CommandApdu(0x00, 0xB0, 0, 0, le=256))
    drive(exchange, "AA6102", "6A82")
    assert exchange.result == ResponseApdu(h("AA"), 0x6A82)


def test_6cxx_resends_the_command_with_the_right_le() -> None:
    transmit = script(("00B2010400", "6C1E"), ("00B201041E", "01" * 30 + "9000"))
    assert run_exchange(read_record(1, 4), transmit).data == b"\x01" * 30


def test_6c00_means_256() -> None:
    exchange = Exchange(read_record(1, 4, le=8))
    assert drive(exchange, "6C00", "9000")[1] == h("00B2010400")


def test_6cxx_on_a_case_3_command_adds_le_and_keeps_sensitive() -> None:
    verify = CommandApdu(0x00, 0x20, 0x00, 0x00, h("123456"), sensitive=True)
    exchange = Exchange(verify)
    exchange.first()
    resent = exchange.receive(ResponseApdu(b"", 0x6C02))
    assert resent is not None
    assert resent.encode() == h("002000000312345602")
    assert resent.sensitive


def test_6cxx_twice_is_a_loop() -> None:
    exchange = Exchange(read_record(1, 4))
    exchange.first()
    exchange.receive(ResponseApdu(b"", 0x6C1E))
    with pytest.raises(ExchangeError, match="again after Le was corrected to 30"):
        exchange.receive(ResponseApdu(b"", 0x6C1E))
    assert exchange.state is ExchangeState.FAILED
    with pytest.raises(ExchangeError):  # failed for good
        exchange.receive(ResponseApdu(b"", 0x9000))
    with pytest.raises(ExchangeError):
        exchange.result


def test_6cxx_on_get_response_corrects_the_get_response() -> None:
    exchange = Exchange(CommandApdu(0x00, 0xB0, 0, 0, le=256))
    sent = drive(exchange, "AA6110", "6C04", "BBBBBBBB9000")
    assert sent == [h("00B0000000"), h("00C0000010"), h("00C0000004")]
    assert exchange.result.data == h("AABBBBBBBB")


def test_6cxx_again_after_a_61xx_is_a_new_correction() -> None:
    exchange = Exchange(CommandApdu(0x00, 0xB0, 0, 0, le=256))
    sent = drive(exchange, "6C10", "6110", "6C08", "00" * 8 + "9000")
    assert sent == [h("00B0000000"), h("00B0000010"), h("00C0000010"), h("00C0000008")]
    assert exchange.result.data == bytes(8)


def test_too_many_get_responses_is_a_loop() -> None:
    exchange = Exchange(CommandApdu(0x00, 0xB0, 0, 0, le=256), max_get_response=2)
    with pytest.raises(ExchangeError, match="more than 2 times"):
        drive(exchange, "AA6101", "BB6101", "CC6101")
    assert exchange.state is ExchangeState.FAILED


def test_default_limit_is_64() -> None:
    exchange = Exchange(CommandApdu(0x00, 0xB0, 0, 0, le=256))
    with pytest.raises(ExchangeError, match="more than 64 times"):
        drive(exchange, *["6101"] * 65)


def test_zero_get_responses_allowed() -> None:
    exchange = Exchange(CommandApdu(0x00, 0xB0, 0, 0, le=256), max_get_response=0)
    exchange.first()
    with pytest.raises(ExchangeError):
        exchange.receive(ResponseApdu(b"", 0x6110))


def test_more_data_than_any_command_can_carry_is_refused() -> None:
    exchange = Exchange(CommandApdu(0x00, 0xB0, 0, 0, le=256), max_get_response=1000)
    exchange.first()
    with pytest.raises(ExchangeError, match="more than 65536 bytes"):
        for _ in range(300):
            exchange.receive(ResponseApdu(bytes(256), 0x6100))


def test_misuse_is_refused() -> None:
    exchange = Exchange(read_record(1, 4))
    with pytest.raises(ExchangeError, match="no result yet"):
        exchange.result
    assert exchange.state is ExchangeState.READY  # reading result early changes nothing
    with pytest.raises(ExchangeError, match="receive"):
        exchange.receive(ResponseApdu(b"", 0x9000))
    again = Exchange(read_record(1, 4))
    again.first()
    with pytest.raises(ExchangeError, match="first"):
        again.first()
    done = Exchange(read_record(1, 4))
    drive(done, "9000")
    with pytest.raises(ExchangeError):
        done.receive(ResponseApdu(b"", 0x9000))
    assert issubclass(ExchangeError, SscardError)


def test_bad_arguments_refused() -> None:
    with pytest.raises(TypeError):
        Exchange(h("00B2010400"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Exchange(read_record(1, 4), max_get_response=-1)
    with pytest.raises(ValueError):
        Exchange(read_record(1, 4), get_response_cla=0x100)


@pytest.mark.parametrize(
    ("cla", "expected"),
    [
        (0x00, 0x00),
        (0x04, 0x00),  # MAC-protected UPDATE RECORD
        (0x0C, 0x00),
        (0x80, 0x00),  # proprietary: CHANGE PIN
        (0x84, 0x00),  # proprietary with SM: RELOAD PIN
        (0x01, 0x01),  # logical channel 1
        (0x0F, 0x03),  # SM on channel 3
        (0x13, 0x03),  # chaining on channel 3
        (0x40, 0x40),  # channel 4
        (0x65, 0x45),  # SM and further channel 9
    ],
)
def test_get_response_class(cla: int, expected: int) -> None:
    assert default_get_response_cla(cla) == expected
    exchange = Exchange(CommandApdu(cla, 0xB0, 0, 0, le=256))
    exchange.first()
    nxt = exchange.receive(ResponseApdu(b"", 0x6108))
    assert nxt is not None and nxt.cla == expected and nxt.ins == 0xC0


def test_get_response_class_override() -> None:
    transmit = script(("80CA9F7F00", "6108"), ("80C0000008", "00" * 8 + "9000"))
    command = CommandApdu(0x80, 0xCA, 0x9F, 0x7F, le=256)
    assert run_exchange(command, transmit, get_response_cla=0x80).data == bytes(8)


def test_run_exchange_traces_every_step_as_objects() -> None:
    seen: list[tuple[CommandApdu, ResponseApdu]] = []
    verify = CommandApdu(0x00, 0x20, 0x00, 0x00, h("123456"), sensitive=True)
    transmit = script(("0020000003123456", "6C02"), ("002000000312345602", "63C2"))
    result = run_exchange(verify, transmit, trace=lambda c, r: seen.append((c, r)))
    assert result.sw == 0x63C2
    assert [r.sw for _, r in seen] == [0x6C02, 0x63C2]
    assert all(c.sensitive for c, _ in seen)


def test_run_exchange_refuses_a_broken_answer() -> None:
    with pytest.raises(ApduFormatError):
        run_exchange(read_record(1, 4), lambda raw: b"\x90")


def test_run_exchange_does_not_check_the_status() -> None:
    assert run_exchange(read_record(9, 4), script(("00B2090400", "6A83"))).sw == 0x6A83
