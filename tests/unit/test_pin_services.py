"""The terminal side of the PIN services (sscard_issuer/card/pin.py) against in-process cards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sscard_issuer.apdu import SecureMessagingError, WrongPinOrCryptogram
from sscard_issuer.card import cos
from sscard_issuer.card.pin import (
    CardNotGenuine,
    InitialPinRefused,
    PinFormatError,
    PinMismatch,
    PinPolicy,
    PinStatus,
    SamePinRefused,
    change,
    confirm_new_pin,
    open_session,
    pin_status,
    reset,
    tries_left,
    unblock,
    verify,
)
from sscard_issuer.card.reader import PinError, PinLocked, SsseSession, WrongPin
from sscard_issuer.crypto import Algorithm
from sscard_issuer.sim.image import CardImage
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.transport.inprocess import InProcessTransport
from sscard_issuer.transport.trace import ApduTrace
from tests.unit.cards import PIN, keys, new_image

POLICY = PinPolicy()
NEW_PIN = "80246"
WRONG_PIN = "97531864"


@dataclass
class Card:
    path: Path
    trace: ApduTrace
    session: SsseSession

    def again(self) -> SsseSession:
        """A new session on the same card, from what its image holds."""
        transport = InProcessTransport(SimulatedCard(CardImage.load(self.path)), trace=self.trace)
        return open_session(transport, keys())

    def sent(self, ins: int) -> bool:
        return any(entry.command.ins == ins for entry in self.trace.entries)


@pytest.fixture(params=[Algorithm.SM4, Algorithm.DES3], ids=lambda a: a.value)
def card(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Card]:
    path = tmp_path / "card.json"
    new_image(path, algorithm=request.param)
    trace = ApduTrace()
    transport = InProcessTransport(SimulatedCard(CardImage.load(path)), trace=trace)
    with transport:
        yield Card(path, trace, open_session(transport, keys()))


def lock(session: SsseSession) -> None:
    for _ in range(3):
        with pytest.raises(WrongPin):
            verify(session, WRONG_PIN)


def secrets_of(*pins: str) -> list[str]:
    """Each PIN as typed and as VERIFY carries it in BCD (F-padded)."""
    out: list[str] = []
    for pin in pins:
        out += [pin, pin + ("F" if len(pin) % 2 else "")]
    return out


def assert_absent(text: str, *pins: str) -> None:
    for secret in secrets_of(*pins):
        assert secret not in text.upper()


# -- policy ----------------------------------------------------------------------------------------


def test_the_policy_hides_the_initial_pin_and_refuses_impossible_settings() -> None:
    assert "123456" not in repr(POLICY)
    for bad in ({"min_digits": 3}, {"max_digits": 17}, {"min_digits": 8, "max_digits": 6},
                {"initial_pin": "12ab"}, {"min_digits": True}):
        with pytest.raises(ValueError):
            PinPolicy(**bad)


def test_the_policy_refuses_the_initial_pin_and_wrong_forms_without_saying_them() -> None:
    with pytest.raises(InitialPinRefused) as initial:
        POLICY.check_new("123456")
    for bad in ("123", "12345678901234567", "12a456", "１２３４５６", ""):
        with pytest.raises(PinFormatError) as caught:
            POLICY.check_new(bad)
        assert str(caught.value) == "new PIN: a PIN is 4 to 16 digits"
        assert isinstance(caught.value, PinError)
    assert "123456" not in str(initial.value) + repr(initial.value)
    with pytest.raises(PinFormatError):
        PinPolicy(min_digits=6).check_new("2468")


def test_two_entries_must_agree() -> None:
    assert confirm_new_pin("2468", "2468") == "2468"
    with pytest.raises(PinMismatch) as caught:
        confirm_new_pin("2468", "2469")
    assert_absent(str(caught.value) + repr(caught.value), "2468", "2469")


# -- tries left --------------------------------------------------------------------------------------


def test_the_tries_left_are_read_without_spending_one(card: Card) -> None:
    assert [tries_left(card.session) for _ in range(4)] == [3, 3, 3, 3]
    with pytest.raises(WrongPin) as caught:
        verify(card.session, WRONG_PIN)
    assert caught.value.tries_left == 2
    assert [tries_left(card.session) for _ in range(3)] == [2, 2, 2]
    assert pin_status(card.session) == PinStatus(verified=False, tries_left=2)


def test_after_a_verify_the_tries_left_are_read_after_a_new_selection(card: Card) -> None:
    with pytest.raises(WrongPin):
        verify(card.session, WRONG_PIN)
    verify(card.session, PIN)
    assert pin_status(card.session) == PinStatus(verified=True, tries_left=None)
    assert tries_left(card.session) == 3


def test_the_limit_locks_the_pin_and_the_right_pin_no_longer_helps(card: Card) -> None:
    lock(card.session)
    assert tries_left(card.session) == 0
    assert pin_status(card.session) == PinStatus(verified=False, tries_left=0)
    with pytest.raises(PinLocked):
        verify(card.session, PIN)
    with pytest.raises(PinLocked):
        change(card.session, PIN, NEW_PIN, POLICY)
    with pytest.raises(PinLocked):
        verify(card.again(), PIN)


# -- verify and change --------------------------------------------------------------------------------


def test_verify_the_right_pin(card: Card) -> None:
    verify(card.session, PIN)
    assert tries_left(card.session) == 3


@pytest.mark.parametrize("pin", ["123", "12345678901234567", "12 456", "abcd"])
def test_verify_refuses_a_malformed_pin_before_the_card_sees_it(card: Card, pin: str) -> None:
    with pytest.raises(PinFormatError):
        verify(card.session, pin)
    assert not card.sent(0x20)


def test_change_then_the_old_pin_fails_and_the_new_one_verifies(card: Card) -> None:
    change(card.session, PIN, NEW_PIN, POLICY)
    session = card.again()
    with pytest.raises(WrongPin):
        verify(session, PIN)
    verify(session, NEW_PIN)


def test_change_with_a_wrong_old_pin_costs_a_try(card: Card) -> None:
    with pytest.raises(WrongPin) as caught:
        change(card.session, WRONG_PIN, NEW_PIN, POLICY)
    assert caught.value.tries_left == 2
    verify(card.session, PIN)


def test_change_back_to_the_initial_pin_is_refused_before_anything_is_sent(card: Card) -> None:
    change(card.session, PIN, NEW_PIN, POLICY)
    before = len(card.trace.entries)
    with pytest.raises(InitialPinRefused):
        change(card.session, NEW_PIN, PIN, POLICY)
    with pytest.raises(SamePinRefused):
        change(card.session, NEW_PIN, NEW_PIN, POLICY)
    assert len(card.trace.entries) == before
    verify(card.again(), NEW_PIN)


@pytest.mark.parametrize("old, new", [("123", NEW_PIN), ("12345678901234567", NEW_PIN),
                                      (PIN, "123"), (PIN, "12345678901234567")])
def test_change_refuses_pins_of_3_and_17_digits(card: Card, old: str, new: str) -> None:
    with pytest.raises(PinFormatError) as caught:
        change(card.session, old, new, POLICY)
    assert ("current PIN" if old != PIN else "new PIN") in str(caught.value)
    assert not card.sent(0x5E)


# -- reset and unblock ----------------------------------------------------------------------------------


def test_reset_then_the_old_pin_fails_and_the_new_one_verifies(card: Card) -> None:
    with pytest.raises(WrongPin):
        verify(card.session, WRONG_PIN)
    reset(card.session, NEW_PIN, POLICY)
    assert tries_left(card.session) == 3
    session = card.again()
    with pytest.raises(WrongPin):
        verify(session, PIN)
    verify(session, NEW_PIN)


def test_reset_brings_a_locked_pin_back(card: Card) -> None:
    lock(card.session)
    reset(card.session, NEW_PIN, POLICY)
    verify(card.session, NEW_PIN)


@pytest.mark.parametrize("new", ["123", "12345678901234567", "123456"])
def test_reset_refuses_a_malformed_or_initial_pin_before_touching_the_card(card: Card, new: str) -> None:
    before = len(card.trace.entries)
    with pytest.raises(PinError):
        reset(card.session, new, POLICY)
    assert len(card.trace.entries) == before


def test_reset_on_a_card_whose_reload_key_differs_is_a_refused_cryptogram_not_a_wrong_pin(card: Card) -> None:
    image = CardImage.load(card.path)
    image.applets["ssse"]["keys"]["RPK"]["key"] = "00" * 16
    image.save()
    session = card.again()
    with pytest.raises(WrongPinOrCryptogram) as caught:
        reset(session, NEW_PIN, POLICY)
    assert not isinstance(caught.value, WrongPin)
    verify(session, PIN)


def test_unblock_then_verify_works_and_the_pin_is_the_same(card: Card) -> None:
    lock(card.session)
    unblock(card.session)
    assert tries_left(card.session) == 3
    verify(card.session, PIN)


def test_unblock_on_a_card_with_another_unblock_key_is_refused(card: Card) -> None:
    image = CardImage.load(card.path)
    image.applets["ssse"]["keys"]["PUK"]["key"] = "00" * 16
    image.save()
    session = card.again()
    lock(session)
    with pytest.raises(WrongPinOrCryptogram):
        unblock(session)
    assert tries_left(session) == 0


def test_a_reload_with_a_broken_mac_is_refused_by_the_card(card: Card, monkeypatch: pytest.MonkeyPatch) -> None:
    real_wrap = cos.SecureMessaging.wrap

    def broken(self: cos.SecureMessaging, command: object) -> object:
        wrapped = real_wrap(self, command)  # type: ignore[arg-type]
        return type(wrapped)(wrapped.cla, wrapped.ins, wrapped.p1, wrapped.p2,
                             wrapped.data[:-1] + bytes([wrapped.data[-1] ^ 0xFF]), sensitive=True)

    monkeypatch.setattr(cos.SecureMessaging, "wrap", broken)
    with pytest.raises(SecureMessagingError):
        reset(card.session, NEW_PIN, POLICY)
    monkeypatch.undo()
    verify(card.again(), PIN)


# -- genuineness and secrecy --------------------------------------------------------------------------


def test_no_pin_goes_to_a_card_that_is_not_genuine(tmp_path: Path) -> None:
    image = new_image(tmp_path / "card.json", counterfeit=True)
    trace = ApduTrace()
    with InProcessTransport(SimulatedCard(image), trace=trace) as transport, pytest.raises(CardNotGenuine):
        open_session(transport, keys())
    assert not any(entry.command.ins in (0x20, 0x5E, 0x24) for entry in trace.entries)


def test_no_pin_appears_in_the_trace_or_in_any_error(card: Card) -> None:
    texts: list[str] = []
    attempts: list[Callable[[], None]] = [
        lambda: verify(card.session, WRONG_PIN),
        lambda: change(card.session, "86420", NEW_PIN, POLICY),
        lambda: change(card.session, PIN, "123", POLICY),
        lambda: change(card.session, "1357", "1357", POLICY),
        lambda: reset(card.session, "123", POLICY),
    ]
    for attempt in attempts:
        with pytest.raises((PinError, WrongPin)) as caught:
            attempt()
        texts += [str(caught.value), repr(caught.value)]
    change(card.session, PIN, "97531", POLICY)
    reset(card.session, NEW_PIN, POLICY)
    verify(card.session, NEW_PIN)
    lock(card.session)
    with pytest.raises(PinLocked) as locked:
        verify(card.session, NEW_PIN)
    texts += [str(locked.value), repr(locked.value)]
    assert PIN not in "\n".join(texts)  # (the card's serial, in the trace, holds 123456)
    trace = card.trace.render()
    assert "<redacted>" in trace
    assert_absent("\n".join([*texts, trace]), WRONG_PIN, "86420", NEW_PIN, "97531", "1357")
