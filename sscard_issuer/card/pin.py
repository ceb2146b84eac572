"""PIN services of the social security application, terminal side: verify, change, reset, unblock.

The commands (card.md section 3; *(inferred)* where card.md is silent; the card side is
``applets/ssse_pin.py``):

- ``00 20 00 00`` with no data: the tries left (``63Cx``) without spending one, ``9000`` while the
  PIN is verified in this session, ``6983`` when it is blocked (ISO/IEC 7816-4 VERIFY);
- ``00 20 00 00 Lc <PIN in BCD, F-padded>``: VERIFY;
- ``80 5E 01 00 Lc <old PIN> FF <new PIN>``: CHANGE PIN (a wrong old PIN costs a try);
- ``84 24 00 01 14 <16-byte encrypted PIN block><4-byte MAC>``: RELOAD PIN, in the
  secure-messaging session that EXTERNAL AUTHENTICATE with RPK (key id 06) opens
  (:mod:`sscard_issuer.card.cos`: the MAC's first ICV is the challenge that authentication
  answered, laid out to the cipher block; each MAC is the next ICV, so nothing replays). The
  block is :func:`sscard_issuer.card.cos.encode_pin_block` (digit count, BCD digits, F fill to 16
  bytes), ECB-encrypted under the card's RPK (two 3DES blocks or one SM4 block); the MAC is the
  card's command MAC under RPK over ``84 24 00 01 14 || encrypted block``, first 4 bytes. Sets
  the PIN and restores the retry counter;
- ``84 24 00 00 04 <4-byte MAC>``: UNBLOCK *(inferred)*, EMV's PIN CHANGE/UNBLOCK with P2 = 00
  (counter only, the data field is the MAC), the sibling of RELOAD's P2 = 01, in the session
  EXTERNAL AUTHENTICATE with PUK (key id 07, inferred) opens. Restores the counter, keeps the PIN.

Every command that carries a PIN (even encrypted) is built ``sensitive=True``, so traces redact
it; no error message here contains a PIN. The holder's PIN is sent only to a card that has just
proved itself genuine (:func:`open_session`). Keys are used through the key store only.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sscard_issuer.apdu import (
    CommandApdu,
    error_for,
)
from sscard_issuer.card import cos
from sscard_issuer.card.model import KEY_PUK, KEY_RPK, KeyRef
from sscard_issuer.card.reader import (
    CardDataError,
    PinError,
    SsseSession,
    pin_to_bcd,
)
from sscard_issuer.errors import SscardError
from sscard_issuer.keys import CardKey, KeyClass, KeyStore
from sscard_issuer.transport.base import Transport

PIN_MIN_DIGITS, PIN_MAX_DIGITS = 4, 16  # what the card accepts (card.md section 3)
CLA_SECURE = cos.CLA_SM
INS_PIN_SECURE = 0x24  # RELOAD (P2 01) and UNBLOCK (P2 00)
P2_UNBLOCK = 0x00
P2_RELOAD = 0x01
RELOAD_LC = cos.PIN_BLOCK_LENGTH + cos.MAC_LENGTH  # 0x14
UNBLOCK_LC = cos.MAC_LENGTH


# -- errors --------------------------------------------------------------------------------------


class PinFormatError(PinError):
    """A PIN that is not the digits the policy allows; names the field, never the PIN."""

    def __init__(self, field_name: str, policy: PinPolicy) -> None:
        self.field = field_name
        super().__init__(f"{field_name}: a PIN is {policy.min_digits} to {policy.max_digits} digits")


class InitialPinRefused(PinError):
    """The new PIN is the initial PIN, which the national terminal interface refuses."""

    def __init__(self) -> None:
        super().__init__("new PIN: the initial PIN cannot be chosen again")


class SamePinRefused(PinError):
    """The new PIN is the current one: a change that changes nothing."""

    def __init__(self) -> None:
        super().__init__("new PIN: must differ from the current PIN")


class PinMismatch(PinError):
    """The two entries of the new PIN differ."""

    def __init__(self) -> None:
        super().__init__("new PIN: the two entries differ")


class CardNotGenuine(SscardError):
    """The card failed internal authentication; no PIN was sent to it."""

    def __init__(self) -> None:
        super().__init__("internal authentication failed: the card is not genuine, no PIN was sent")


# -- policy --------------------------------------------------------------------------------------


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


@dataclass(frozen=True)
class PinPolicy:
    """What a new PIN may be: 4 to 16 digits by default (6 is usual), never the initial PIN.

    The retry limit is not here: it is a setting of the card's profile and the card counts.
    """

    min_digits: int = PIN_MIN_DIGITS
    max_digits: int = PIN_MAX_DIGITS
    initial_pin: str = field(default="123456", repr=False)

    def __post_init__(self) -> None:
        for name in ("min_digits", "max_digits"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name}: expected an int, got {type(value).__name__}")
        if not PIN_MIN_DIGITS <= self.min_digits <= self.max_digits <= PIN_MAX_DIGITS:
            raise ValueError(
                f"min_digits..max_digits must lie within {PIN_MIN_DIGITS}..{PIN_MAX_DIGITS}, "
                f"got {self.min_digits}..{self.max_digits}"
            )
        if not _is_digits(self.initial_pin, PIN_MIN_DIGITS, PIN_MAX_DIGITS):
            raise ValueError(f"initial_pin: expected {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits")

    def check_new(self, new: str) -> None:
        """Refuse a new PIN of the wrong form, or the initial PIN."""
        if not _is_digits(new, self.min_digits, self.max_digits):
            raise PinFormatError("new PIN", self)
        if _same(new, self.initial_pin):
            raise InitialPinRefused()


def _is_digits(pin: object, low: int, high: int) -> bool:
    return isinstance(pin, str) and pin.isascii() and pin.isdigit() and low <= len(pin) <= high


def check_pin(pin: str, field_name: str = "PIN") -> None:
    """Refuse what no card takes as a PIN (4 to 16 digits), before any card sees it."""
    if not _is_digits(pin, PIN_MIN_DIGITS, PIN_MAX_DIGITS):
        raise PinFormatError(field_name, PinPolicy())


def check_change(old: str, new: str, policy: PinPolicy) -> None:
    """Refuse a change the national interface refuses: bad forms, the initial PIN, the same PIN."""
    check_pin(old, "current PIN")
    policy.check_new(new)
    if _same(new, old):
        raise SamePinRefused()


def confirm_new_pin(first: str, second: str) -> str:
    """The new PIN when both entries agree; :class:`PinMismatch` otherwise."""
    if not _same(first, second):
        raise PinMismatch()
    return first


# -- the session ---------------------------------------------------------------------------------


def open_session(
    transport: Transport, keys: KeyStore, *, random: Callable[[int], bytes] = os.urandom
) -> SsseSession:
    """Select the SSSE, identify the card and check it is genuine before any PIN goes to it."""
    session = SsseSession(transport, keys, random=random)
    session.select()
    session.identify()
    if not session.is_genuine():
        raise CardNotGenuine()
    return session


def _send_pin(session: SsseSession, command: CommandApdu) -> None:
    session.send_pin_command(command)


@dataclass(frozen=True)
class PinStatus:
    """What an empty VERIFY tells: verified in this session, or the tries left (0: blocked)."""

    verified: bool
    tries_left: int | None


def pin_status(session: SsseSession) -> PinStatus:
    """Ask the card with an empty VERIFY; spends no try."""
    response = session.transport.send(CommandApdu(0x00, 0x20, 0x00, 0x00))
    if response.sw == 0x9000:
        return PinStatus(verified=True, tries_left=None)
    if response.sw & 0xFFF0 == 0x63C0:
        return PinStatus(verified=False, tries_left=response.sw & 0x0F)
    if response.sw == 0x6983:
        return PinStatus(verified=False, tries_left=0)
    raise error_for(response.sw)


def tries_left(session: SsseSession) -> int:
    """The PIN's tries left, read without spending one.

    While the PIN is verified the card answers ``9000``, not a count; then the SSSE is selected
    again, which ends this session's verification and authentications, and the card is asked
    again. Call it last, as the CLI does.
    """
    status = pin_status(session)
    if status.tries_left is None:
        session.select()
        status = pin_status(session)
    if status.tries_left is None:
        raise CardDataError("the card says the PIN is verified right after a new selection")
    return status.tries_left


def verify(session: SsseSession, pin: str) -> None:
    """VERIFY the holder's PIN: :class:`WrongPin` with the tries left, or :class:`PinLocked`."""
    check_pin(pin)
    _send_pin(session, CommandApdu(0x00, 0x20, 0x00, 0x00, pin_to_bcd(pin), sensitive=True))


def change(session: SsseSession, old: str, new: str, policy: PinPolicy) -> None:
    """CHANGE PIN; the new PIN is checked against ``policy`` and the old one before anything is sent.

    A wrong old PIN costs a try on the card (:class:`WrongPin`).
    """
    check_change(old, new, policy)
    data = pin_to_bcd(old) + b"\xff" + pin_to_bcd(new)
    _send_pin(session, CommandApdu(0x80, 0x5E, 0x01, 0x00, data, sensitive=True))


@contextmanager
def _secure_session(
    session: SsseSession, key: KeyRef, key_class: KeyClass
) -> Iterator[tuple[cos.SecureMessaging, CardKey]]:
    """EXTERNAL AUTHENTICATE with ``key``; the terminal's half of the session it opens, and the key."""
    secure = session.authenticate(key, key_class)
    assert session.session_key is not None
    try:
        yield secure, session.session_key
    finally:
        session.close()


def reset(session: SsseSession, new: str, policy: PinPolicy) -> None:
    """RELOAD PIN under secure messaging with the reload key; the holder is present in person.

    The initial PIN is refused here too *(inferred)*: a reset must not bring back what a change
    may not. The retry counter is restored; the reset does not verify the PIN.
    """
    policy.check_new(new)
    with _secure_session(session, KEY_RPK, KeyClass.RPK) as (sm, rpk):
        encrypted = rpk.encrypt_block(cos.encode_pin_block(new))
        command = CommandApdu(CLA_SECURE, INS_PIN_SECURE, 0x00, P2_RELOAD, encrypted, sensitive=True)
        session.transport.send_checked(sm.wrap(command))


def unblock(session: SsseSession) -> None:
    """UNBLOCK *(inferred format)*: restore the retry counter under the PUK; the PIN is kept."""
    with _secure_session(session, KEY_PUK, KeyClass.PUK) as (sm, _):
        session.transport.send_checked(sm.wrap(CommandApdu(CLA_SECURE, INS_PIN_SECURE, 0x00, P2_UNBLOCK)))
