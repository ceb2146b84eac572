"""Personalisation commands of the card OS, as the simulator's cards implement them.

The LD/T 32 personalisation commands are vendor-specific and not public (card.md); these are
ours, shaped like PBOC/ISO practice, and kept in one place so the personaliser (which builds them)
and the simulated card (which executes them) cannot drift apart. Everything here is (inferred).

- Life cycle: the SSSE FCI carries ISO 7816-4 tag ``8A`` (life cycle status): ``03`` for a blank
  card in initialisation, ``05`` once personalised.
- Secure messaging session: EXTERNAL AUTHENTICATE with key K opens a session; every CLA-04/84
  command then carries a 4-byte MAC under K over ``header ‖ Lc ‖ data``, with the ICV chained:
  the first ICV is the challenge the authentication answered (laid out to the block size), each
  next ICV is the previous command's full MAC block. One challenge per session, not per command.
- WRITE KEY ``84 D4 00 <key id> Lc <class code> <version> E(TK, key) <MAC>`` on a blank card.
- SET PIN ``84 D4 01 <retry limit> Lc E(TK, PIN block) <MAC>`` on a blank card.
- FINISH PERSONALISATION ``84 F0 00 00 04 <MAC>``: the card becomes operational, TK is erased.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sscard_issuer.apdu import CommandApdu
from sscard_issuer.card.model import KEY_IRK, KEY_PUK, KEY_RKSSSE, KEY_RPK, KEY_TK, KEY_UPDATE_EF05_EF06
from sscard_issuer.errors import FieldError
from sscard_issuer.keys import KeyClass

LIFE_CYCLE_TAG = 0x8A
LIFE_CYCLE_BLANK = 0x03
LIFE_CYCLE_PERSONALISED = 0x05

INS_WRITE_KEY = 0xD4
INS_FINISH = 0xF0
P1_WRITE_KEY = 0x00
P1_SET_PIN = 0x01
CLA_SM = 0x84  # proprietary class with secure messaging
MAC_LENGTH = 4

KEY_CLASS_CODES: dict[KeyClass, int] = {
    KeyClass.IRK: 0x01,
    KeyClass.RKSSSE: 0x02,
    KeyClass.UK: 0x03,
    KeyClass.STK_DF01: 0x11,
    KeyClass.STK_DF02: 0x12,
    KeyClass.STK_DF03: 0x13,
    KeyClass.STK_DF04: 0x14,
    KeyClass.PUK: 0x21,
    KeyClass.RPK: 0x22,
}
KEY_CLASS_BY_CODE = {code: key_class for key_class, code in KEY_CLASS_CODES.items()}

# Key ids of cards made without a profile (the simulator's ready-made cards); the shipped
# profiles use the same ones.
DEFAULT_KEY_IDS: dict[KeyClass, int] = {
    KeyClass.IRK: KEY_IRK.key_id,
    KeyClass.TK: KEY_TK.key_id,
    KeyClass.UK: KEY_UPDATE_EF05_EF06.key_id,
    KeyClass.RPK: KEY_RPK.key_id,
    KeyClass.PUK: KEY_PUK.key_id,
    KeyClass.RKSSSE: KEY_RKSSSE.key_id,
    KeyClass.STK_DF01: 0x11,
    KeyClass.STK_DF02: 0x12,
    KeyClass.STK_DF03: 0x13,
    KeyClass.STK_DF04: 0x14,
}

PIN_BLOCK_LENGTH = 16


def encode_pin_block(pin: str) -> bytes:
    """``count ‖ BCD digits ‖ F padding`` to 16 bytes: one SM4 block, two 3DES blocks."""
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 16):
        raise FieldError("pin", "4 to 16 digits")
    digits = pin + "F" * (2 * (PIN_BLOCK_LENGTH - 1) - len(pin))
    return bytes([len(pin)]) + bytes.fromhex(digits)


def decode_pin_block(block: bytes) -> str:
    """The digits of a PIN block; ValueError (saying nothing of the content) when malformed."""
    if len(block) != PIN_BLOCK_LENGTH or not 4 <= block[0] <= 16:
        raise ValueError("malformed PIN block")
    nibbles = block[1:].hex().upper()
    digits, padding = nibbles[: block[0]], nibbles[block[0] :]
    if not digits.isdigit() or padding.strip("F"):
        raise ValueError("malformed PIN block")
    return digits


def sm_icv(challenge: bytes, block_size: int) -> bytes:
    """The first ICV of a session: the challenge, zero-padded or cut to the cipher block."""
    return (challenge + bytes(block_size))[:block_size]


class SecureMessaging:
    """The terminal's half of a secure-messaging session: MACs each command, chaining the ICV
    exactly as the card does. ``mac(data, icv)`` is the session key's untruncated MAC (a key
    store's ``CardKey.mac``), so no key bytes come here. Pure: no I/O.
    """

    def __init__(self, mac: Callable[[bytes, bytes], bytes], challenge: bytes, block_size: int) -> None:
        self._mac = mac
        self._icv = sm_icv(challenge, block_size)

    def wrap(self, command: CommandApdu) -> CommandApdu:
        """The command with its MAC appended; its CLA must already say secure messaging."""
        covered = command.header + bytes([len(command.data) + MAC_LENGTH]) + command.data
        full = self._mac(covered, self._icv)
        self._icv = full
        return replace(command, data=command.data + full[:MAC_LENGTH])
