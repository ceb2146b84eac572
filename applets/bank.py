"""A minimal UnionPay debit application: SELECT and its records (the PAN in SFI 2, record 1).

Two ways to fill it: ``personalised_state`` builds a personalised image directly (test cards,
demos), and ``store_dgis`` takes the EMV CPS data groups that the card manager (applets/gp.py)
routes to it from STORE DATA, already decrypted. A record DGI ``SSRR`` is SFI ``SS`` record
``RR`` (CPS: DGI 0201 is SFI 2 record 1, the '70' template with 5A and 57).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sscard_issuer.apdu import CommandApdu, Tlv, TlvError, decode_ber, encode_ber
from sscard_issuer.card import ssc
from sscard_issuer.channel import Dgi, is_sensitive
from sscard_issuer.sim.runtime import Applet, fail

_PAN_RECORD = next(r for r in ssc.BANK_PAN_FILE.records if r.tag == 0x5A)
_TRACK2_RECORD = next(r for r in ssc.BANK_PAN_FILE.records if r.tag == 0x57)
_RECORD_TEMPLATE = 0x70
# Sensitive DGIs whose length this application knows: what follows is CPS padding (8010 is the
# 8-byte offline PIN block, padded to 16 under an AES DEK).
_SENSITIVE_LENGTHS = {0x8010: 8}


def luhn_check_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _record_key(sfi: int, record: int) -> str:
    return f"{sfi:02X}{record:02X}"


def _is_record_dgi(number: int) -> bool:
    return 1 <= number >> 8 <= 30 and number & 0xFF != 0


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

    # -- personalisation through the card manager (EMV CPS) -------------------------------------

    @staticmethod
    def dgi_is_encrypted(number: int) -> bool:
        """Which DGIs this application expects encrypted under the DEK: the CPS ``8xxx`` ones."""
        return is_sensitive(number)

    @staticmethod
    def is_personalised(state: dict[str, Any]) -> bool:
        return "pan" in state or bool(state.get("personalised"))

    @staticmethod
    def store_dgis(state: dict[str, Any], dgis: Sequence[Dgi], *, last: bool) -> None:
        """Store decrypted DGIs in the application's state (6A80 for data it cannot take).

        Every DGI is checked before any is stored, so a refused block leaves the state as it was.
        ``last`` (the final STORE DATA block) marks the application personalised.
        """
        records: dict[str, str] = {}
        others: dict[str, str] = {}
        for dgi in dgis:
            if _is_record_dgi(dgi.number):
                try:
                    objects = decode_ber(dgi.data)
                except TlvError:
                    fail(0x6A80)
                if len(objects) != 1 or objects[0].tag != _RECORD_TEMPLATE:
                    fail(0x6A80)
                records[_record_key(dgi.number >> 8, dgi.number & 0xFF)] = dgi.data.hex().upper()
            else:
                data = dgi.data
                if dgi.number in _SENSITIVE_LENGTHS:
                    if len(data) < _SENSITIVE_LENGTHS[dgi.number]:
                        fail(0x6A80)
                    data = data[: _SENSITIVE_LENGTHS[dgi.number]]
                others[f"{dgi.number:04X}"] = data.hex().upper()
        state.setdefault("records", {}).update(records)
        state.setdefault("dgis", {}).update(others)
        if last:
            state["personalised"] = True

    # -- the card side ----------------------------------------------------------------------

    def select(self, name: bytes) -> bytes:
        fci = encode_ber([Tlv(0x50, b"UnionPay Debit"), Tlv(0x87, b"\x01")])
        return Tlv(0x6F, encode_ber([Tlv(0x84, name), Tlv(0xA5, fci)])).encode()

    def process(self, command: CommandApdu) -> bytes:
        if command.cla != 0x00:
            fail(0x6E00)
        if command.ins != 0xB2:
            fail(0x6D00)
        if command.p2 & 0x07 != 0x04 or command.p1 == 0:
            fail(0x6A83)
        sfi = command.p2 >> 3
        stored = self.state.get("records", {}).get(_record_key(sfi, command.p1))
        if stored is not None:
            return bytes.fromhex(stored)
        if sfi != ssc.BANK_PAN_FILE.sfi or command.p1 != 1 or "pan" not in self.state:
            fail(0x6A83)
        pan = _PAN_RECORD.codec.encode(self.state["pan"])
        track2 = bytes.fromhex(self.state["track2"])[: _TRACK2_RECORD.length]
        return Tlv(0x70, encode_ber([Tlv(0x57, track2), Tlv(0x5A, pan)])).encode()
