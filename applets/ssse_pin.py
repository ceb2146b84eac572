"""The SSSE's PIN commands, card side: a mixin the SSSE applet inherits.

The image holds the PIN as a salted hash with its retry counter (``state["pin"]``: salt, hash,
tries, limit); the limit is the card profile's (three is regional practice). Commands:

``00 20 00 00`` (no data)
    The tries left without spending one, as ISO/IEC 7816-4 allows: ``63Cx``; ``9000`` when the
    PIN is already verified in this session; ``6983`` when it is blocked.
``00 20 00 00 Lc <PIN in BCD, F-padded>``
    VERIFY. Right: ``9000`` and the counter back to its limit. Wrong: one try spent, ``63Cx``.
    Blocked: ``6983``. Not BCD: ``6A80``; not 4 to 16 digits: ``6700``; neither costs a try.
``80 5E 01 00 Lc <old PIN> FF <new PIN>``
    CHANGE PIN. The old PIN is checked as VERIFY checks it (a wrong one costs a try); a malformed
    new PIN is ``6A80`` before the old one is looked at. The card does not know the initial PIN:
    refusing it is the terminal's rule (card.md section 3).
``84 24 00 01 14 <16-byte encrypted PIN block><4-byte MAC>``
    RELOAD PIN (card.md), in the secure-messaging session that EXTERNAL AUTHENTICATE with RPK
    (key id 06) opens (:mod:`sscard_issuer.card.cos`: the first ICV is the challenge that
    authentication answered, laid out to the cipher block; each MAC becomes the next ICV, so a
    command never replays). No RPK session: ``6982``. Wrong MAC: ``6988``, nothing changes and the
    session is closed. The MAC is the card's command MAC under RPK over header ‖ Lc ‖ encrypted
    block, first 4 bytes. The block is ECB-encrypted under RPK (two 3DES blocks, one SM4 block);
    in clear, one byte of digit count, the BCD digits, F fill to 16 bytes *(inferred)*
    (:func:`sscard_issuer.card.cos.encode_pin_block`); a malformed block is ``6A80``. Sets the PIN
    and restores the counter, even on a blocked PIN; the PIN is not verified by it.
``84 24 00 00 04 <4-byte MAC>``
    UNBLOCK *(inferred)*: EMV's PIN CHANGE/UNBLOCK with P2 00 (reset the counter only, the data
    field is the MAC), the sibling of RELOAD's P2 01, in the session EXTERNAL AUTHENTICATE with
    PUK (key id 07, inferred) opens; MAC under PUK over ``84 24 00 00 04``, refusals as RELOAD's.
    Restores the counter to its limit and keeps the PIN.

Wrong P1 or P2: ``6A86``; wrong Lc: ``6700``; any PIN command on a blank card (no PIN yet): ``6985``.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any

from sscard_issuer.apdu import CommandApdu
from sscard_issuer.card import cos
from sscard_issuer.card.pin import (
    P2_RELOAD,
    P2_UNBLOCK,
    PIN_MAX_DIGITS,
    PIN_MIN_DIGITS,
    RELOAD_LC,
    UNBLOCK_LC,
)
from sscard_issuer.crypto import Algorithm, ecb_decrypt
from sscard_issuer.keys import KeyClass
from sscard_issuer.sim.runtime import fail

if TYPE_CHECKING:
    from sscard_issuer.sim.runtime import SimulatedCard


def pin_digits_from_bcd(data: bytes) -> str:
    """'123456' from 12 34 56, '12345' from 12 34 5F; ValueError for anything that is not BCD."""
    digits = data.hex().upper().rstrip("F")
    if not digits.isdigit():
        raise ValueError("PIN is not BCD")
    return digits


def pin_hash(salt: bytes, digits: str) -> bytes:
    """How the image keeps a PIN: HMAC-SHA-256 under a per-PIN salt, never the digits."""
    return hmac.new(salt, digits.encode("ascii"), hashlib.sha256).digest()


class PinCommands:
    """VERIFY, CHANGE PIN, RELOAD PIN and UNBLOCK over the applet's ``state["pin"]``."""

    state: dict[str, Any]
    pin_verified: bool

    if TYPE_CHECKING:  # provided by SsseApplet and the runtime's Applet
        card: SimulatedCard

        @property
        def algorithm(self) -> Algorithm: ...

        def changed(self) -> None: ...

        def _key(self, key_class: str) -> bytes: ...

        def _check_mac(self, command: CommandApdu, key_class: str | None = None) -> bytes: ...

    # -- the stored PIN ----------------------------------------------------------------------

    def _pin(self) -> dict[str, Any]:
        """The stored PIN; a blank card has none yet, and refuses PIN commands with 6985."""
        pin: dict[str, Any] | None = self.state.get("pin")
        if pin is None:
            fail(0x6985)
        return pin

    def _store_pin(self, digits: str) -> None:
        pin = self._pin()
        salt = self.card.random(16)
        pin.update(salt=salt.hex(), hash=pin_hash(salt, digits).hex(), tries=pin["limit"])
        self.changed()

    def _restore_tries(self) -> None:
        pin = self._pin()
        if pin["tries"] != pin["limit"]:
            pin["tries"] = pin["limit"]
            self.changed()

    def _pin_matches(self, data: bytes) -> bool:
        """Check a PIN against the stored hash, counting the try; raises on a locked PIN."""
        pin = self._pin()
        if pin["tries"] <= 0:
            fail(0x6983)
        try:
            digits = pin_digits_from_bcd(data)
        except ValueError:
            fail(0x6A80)
        if not PIN_MIN_DIGITS <= len(digits) <= PIN_MAX_DIGITS:
            fail(0x6700)
        if hmac.compare_digest(pin_hash(bytes.fromhex(pin["salt"]), digits), bytes.fromhex(pin["hash"])):
            self._restore_tries()
            return True
        pin["tries"] -= 1
        self.changed()
        self.pin_verified = False
        fail(0x63C0 | min(pin["tries"], 0x0F))

    # -- commands ------------------------------------------------------------------------------

    def _verify_pin(self, command: CommandApdu) -> bytes:
        if command.p1 != 0x00 or command.p2 != 0x00:
            fail(0x6A86)
        if not command.data:  # the status query: spends nothing
            tries = self._pin()["tries"]
            if tries <= 0:
                fail(0x6983)
            if self.pin_verified:
                return b""
            fail(0x63C0 | min(tries, 0x0F))
        self.pin_verified = self._pin_matches(command.data)
        return b""

    def _change_pin(self, command: CommandApdu) -> bytes:
        if command.p1 != 0x01 or command.p2 != 0x00:
            fail(0x6A86)
        old, separator, new = command.data.partition(b"\xff")
        if not separator or not new:
            fail(0x6A80)
        try:
            new_digits = pin_digits_from_bcd(new)
        except ValueError:
            fail(0x6A80)
        if not PIN_MIN_DIGITS <= len(new_digits) <= PIN_MAX_DIGITS:
            fail(0x6A80)
        self._pin_matches(old)
        self._store_pin(new_digits)
        self.pin_verified = True
        return b""

    def _pin_secure(self, command: CommandApdu) -> bytes:
        """``84 24``: RELOAD PIN (P2 01) or UNBLOCK (P2 00), each in its key's session."""
        if command.p1 != 0x00 or command.p2 not in (P2_RELOAD, P2_UNBLOCK):
            fail(0x6A86)
        if command.p2 == P2_RELOAD:
            return self._reload_pin(command)
        return self._unblock_pin(command)

    def _reload_pin(self, command: CommandApdu) -> bytes:
        if len(command.data) != RELOAD_LC:
            fail(0x6700)
        encrypted = self._check_mac(command, KeyClass.RPK.value)
        try:
            digits = cos.decode_pin_block(ecb_decrypt(self.algorithm, self._key(KeyClass.RPK.value), encrypted))
        except ValueError:
            fail(0x6A80)
        self._store_pin(digits)
        self.pin_verified = False
        return b""

    def _unblock_pin(self, command: CommandApdu) -> bytes:
        if len(command.data) != UNBLOCK_LC:
            fail(0x6700)
        self._check_mac(command, KeyClass.PUK.value)
        self._restore_tries()
        return b""
