"""The PKI application (3.0 cards): certificate files and the card's SM2 signing public key.

Issue 2 needs its files to exist and read as the card description says; key generation on the
card and certificate writing come with personalisation.
"""

from __future__ import annotations

from typing import Any

from sscard_issuer.apdu import CommandApdu, Tlv
from sscard_issuer.card import ssc
from sscard_issuer.card.model import AccessCondition, TransparentFileSpec
from sscard_issuer.sim.runtime import Applet, fail

_FILES = {f.fid: f for f in ssc.PKI.files if isinstance(f, TransparentFileSpec)}


class PkiApplet(Applet):
    name = "pki"
    aids = (ssc.PKI_AID,)

    @staticmethod
    def empty_state() -> dict[str, Any]:
        return {"files": {}}

    def reset(self) -> None:
        self.adf_selected = False
        self.current: TransparentFileSpec | None = None

    def owns_name(self, name: bytes) -> bool:
        return name == ssc.PKI_ADF_AID

    def select(self, name: bytes) -> bytes:
        self.adf_selected = name == ssc.PKI_ADF_AID
        self.current = None
        return Tlv(0x6F, Tlv(0x84, name).encode()).encode()

    def process(self, command: CommandApdu) -> bytes:
        if command.cla != 0x00:
            fail(0x6E00)
        if command.ins == 0xA4 and command.p1 in (0x00, 0x02):
            return self._select_file(command)
        if command.ins == 0xB0:
            return self._read_binary(command)
        fail(0x6D00)

    def _select_file(self, command: CommandApdu) -> bytes:
        if not self.adf_selected:
            fail(0x6A82)
        fid = int.from_bytes(command.data, "big") if len(command.data) == 2 else -1
        if fid not in _FILES:
            fail(0x6A82)
        self.current = _FILES[fid]
        return b""

    def _read_binary(self, command: CommandApdu) -> bytes:
        if self.current is None:
            fail(0x6986)
        if self.current.read is not AccessCondition.FREE:
            fail(0x6982)
        content = bytes.fromhex(self.state.get("files", {}).get(f"{self.current.fid:04X}", ""))
        offset = (command.p1 << 8) | command.p2
        if offset > len(content):
            fail(0x6B00)
        return content[offset : offset + (command.le or 256)]
