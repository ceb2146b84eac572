"""A minimal UnionPay debit application: SELECT and the PAN record (SFI 2, record 1).

The bank's own issuance writes this application; the simulator holds just enough of it for a
terminal to find the account number, as card.md section 1 describes.
"""

from __future__ import annotations

from typing import Any

from sscard_issuer.apdu import CommandApdu, Tlv, encode_ber
from sscard_issuer.card import ssc
from sscard_issuer.sim.runtime import Applet, fail

_PAN_RECORD = next(r for r in ssc.BANK_PAN_FILE.records if r.tag == 0x5A)
_TRACK2_RECORD = next(r for r in ssc.BANK_PAN_FILE.records if r.tag == 0x57)


def luhn_check_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


class BankApplet(Applet):
    name = "bank"
    aids = (ssc.BANK_AID,)

    @staticmethod
    def personalised_state(pan: str, expiry_yymm: str) -> dict[str, Any]:
        if not (pan.isdigit() and 16 <= len(pan) <= 19 and luhn_check_digit(pan[:-1]) == pan[-1]):
            raise ValueError("bank PAN: expected 16 to 19 digits with a valid Luhn check digit")
        if not (expiry_yymm.isdigit() and len(expiry_yymm) == 4):
            raise ValueError("bank expiry: expected YYMM")
        track2 = (pan + "D" + expiry_yymm + "220").ljust(38, "0")
        return {"pan": pan, "track2": track2}

    def select(self, name: bytes) -> bytes:
        fci = encode_ber([Tlv(0x50, b"UnionPay Debit"), Tlv(0x87, b"\x01")])
        return Tlv(0x6F, encode_ber([Tlv(0x84, name), Tlv(0xA5, fci)])).encode()

    def process(self, command: CommandApdu) -> bytes:
        if command.cla != 0x00:
            fail(0x6E00)
        if command.ins != 0xB2:
            fail(0x6D00)
        if command.p2 != (ssc.BANK_PAN_FILE.sfi << 3) | 0x04 or command.p1 != 1:
            fail(0x6A83)
        if "pan" not in self.state:
            fail(0x6A83)
        pan = _PAN_RECORD.codec.encode(self.state["pan"])
        track2 = bytes.fromhex(self.state["track2"])[: _TRACK2_RECORD.length]
        return Tlv(0x70, encode_ber([Tlv(0x57, track2), Tlv(0x5A, pan)])).encode()
