"""The social security application environment (SSSE), as the simulator's card runs it.

Everything about files, records, tags, lengths and access conditions comes from the one card
description (:mod:`sscard_issuer.card.ssc`); this applet adds only card behaviour: selection,
authentication state, the PIN and its retry counter, and the key checks. Inferred behaviour
(internal authentication's process key, the trailing 8 bytes of EXTERNAL AUTHENTICATE) follows
:mod:`sscard_issuer.crypto` and is marked there.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from applets.ssse_pin import PinCommands
from applets.ssse_pin import pin_hash as _pin_hash
from sscard_issuer.apdu import CommandApdu, Tlv, encode_ber
from sscard_issuer.card import cos, ssc
from sscard_issuer.card.model import (
    AccessCondition,
    DfSpec,
    RecordFileSpec,
    TransparentFileSpec,
)
from sscard_issuer.card.pin import INS_PIN_SECURE
from sscard_issuer.crypto import (
    Algorithm,
    ecb_decrypt,
    internal_auth_response,
    secure_messaging_mac,
    session_cryptogram,
)
from sscard_issuer.keys import KeyClass
from sscard_issuer.sim.runtime import Applet, fail

ALGORITHM_BYTE = {Algorithm.DES3: 0x01, Algorithm.SM4: 0x03}
EXTERNAL_AUTH_LIMIT = 15  # tries per key before it blocks (a card OS setting)
MAC_LENGTH = 4

CLA_PLAIN = 0x00
CLA_SM = 0x04
CLA_PROPRIETARY = 0x80


class SsseApplet(PinCommands, Applet):
    name = "ssse"
    aids = (ssc.SSSE_AID,)

    # -- building a card: the one place that knows this applet's state layout ------------------

    @staticmethod
    def personalised_state(
        *,
        algorithm: Algorithm,
        records: dict[int, dict[int, bytes]],
        keys: dict[str, bytes],
        pin: str,
        pin_limit: int = 3,
        locked: bool = False,
    ) -> dict[str, Any]:
        """The image section of a personalised SSSE: records by SFI and tag, keys by class."""
        salt = os.urandom(16)
        return {
            "algorithm": algorithm.value,
            "records": {str(sfi): {f"{tag:02X}": value.hex() for tag, value in recs.items()}
                        for sfi, recs in records.items()},
            "binary": {},
            "keys": {name: {"key": key.hex(), "id": cos.DEFAULT_KEY_IDS[KeyClass(name)],
                            "version": 1, "tries": EXTERNAL_AUTH_LIMIT} for name, key in keys.items()},
            "pin": {"salt": salt.hex(), "hash": _pin_hash(salt, pin).hex(), "tries": pin_limit,
                    "limit": pin_limit},
            "locked": locked,
            "lifecycle": cos.LIFE_CYCLE_PERSONALISED,
        }

    @staticmethod
    def blank_state(*, algorithm: Algorithm, tk: bytes) -> dict[str, Any]:
        """A blank SSSE as the card factory delivers it: no data, no PIN, only the transport key."""
        return {
            "algorithm": algorithm.value,
            "records": {},
            "binary": {},
            "keys": {KeyClass.TK.value: {"key": tk.hex(), "id": cos.DEFAULT_KEY_IDS[KeyClass.TK],
                                         "version": 1, "tries": EXTERNAL_AUTH_LIMIT}},
            "pin": None,
            "locked": False,
            "lifecycle": cos.LIFE_CYCLE_BLANK,
        }

    @property
    def blank(self) -> bool:
        return bool(self.state.get("lifecycle", cos.LIFE_CYCLE_PERSONALISED) == cos.LIFE_CYCLE_BLANK)

    # -- volatile state ------------------------------------------------------------------------

    def reset(self) -> None:
        self.current_df: DfSpec | None = None
        self.current_file: RecordFileSpec | TransparentFileSpec | None = None
        self.challenge: bytes | None = None
        self.authenticated: set[str] = set()  # key classes the terminal proved this session
        self.pin_verified = False
        self.sm_key: str | None = None  # key class of the secure-messaging session, if one is open
        self.sm_icv: bytes | None = None

    @property
    def algorithm(self) -> Algorithm:
        return Algorithm(self.state["algorithm"])

    def owns_name(self, name: bytes) -> bool:
        return any(df.aid == name for df in ssc.SSSE.dfs)

    def select(self, name: bytes) -> bytes:
        if self.state.get("locked"):
            fail(0x9303)
        if name != ssc.SSSE_AID:
            self.current_df = next(df for df in ssc.SSSE.dfs if df.aid == name)
            self.current_file = None
            return Tlv(0x6F, Tlv(0x84, name).encode()).encode()
        self.reset()
        life_cycle = self.state.get("lifecycle", cos.LIFE_CYCLE_PERSONALISED)
        proprietary = encode_ber([
            Tlv(0x88, b"\x1e"),
            Tlv(cos.LIFE_CYCLE_TAG, bytes([life_cycle])),
            Tlv(0x9F0C, Tlv(0x86, bytes([ALGORITHM_BYTE[self.algorithm]])).encode()),
        ])
        return Tlv(0x6F, encode_ber([Tlv(0x84, name), Tlv(0xA5, proprietary)])).encode()

    # -- commands ------------------------------------------------------------------------------

    def process(self, command: CommandApdu) -> bytes:
        handler = {
            (CLA_PLAIN, 0xA4): self._select_file,
            (CLA_PLAIN, 0xB2): self._read_record,
            (CLA_PLAIN, 0xB0): self._read_binary,
            (CLA_PLAIN, 0xDC): self._update_record,
            (CLA_SM, 0xDC): self._update_record,
            (CLA_SM, 0xD6): self._update_binary,
            (cos.CLA_SM, cos.INS_WRITE_KEY): self._write_key,
            (cos.CLA_SM, cos.INS_FINISH): self._finish,
            (CLA_PLAIN, 0x84): self._get_challenge,
            (CLA_PLAIN, 0x88): self._internal_authenticate,
            (CLA_PLAIN, 0x82): self._external_authenticate,
            (CLA_PLAIN, 0x20): self._verify_pin,
            (CLA_PROPRIETARY, 0x5E): self._change_pin,
            (cos.CLA_SM, INS_PIN_SECURE): self._pin_secure,  # RELOAD PIN, UNBLOCK (applets.ssse_pin)
        }.get((command.cla, command.ins))
        if handler is None:
            fail(0x6E00 if command.cla not in (CLA_PLAIN, CLA_SM, CLA_PROPRIETARY, cos.CLA_SM) else 0x6D00)
        return handler(command)

    def _select_file(self, command: CommandApdu) -> bytes:
        if command.p1 not in (0x00, 0x02) or len(command.data) != 2:
            fail(0x6A86)
        fid = int.from_bytes(command.data, "big")
        for spec in ssc.SSSE.files:
            if spec.fid == fid:
                self.current_file = spec
                return b""
        fail(0x6A82)

    def _record_file(self, p2: int) -> RecordFileSpec:
        sfi = p2 >> 3
        if sfi == 0:
            if not isinstance(self.current_file, RecordFileSpec):
                fail(0x6986 if self.current_file is None else 0x6981)
            return self.current_file
        for spec in ssc.SSSE.files:
            if isinstance(spec, RecordFileSpec) and spec.sfi == sfi:
                self.current_file = spec
                return spec
        fail(0x6A82)

    def _record_tag(self, file: RecordFileSpec, p1: int, p2: int) -> int:
        mode = p2 & 0x07
        if mode == 0x04:  # P1 is a record number in the file's order
            if not 1 <= p1 <= len(file.records):
                fail(0x6A83)
            return file.records[p1 - 1].tag
        if mode == 0x00:  # P1 is the record identifier, which is the tag
            if p1 not in file.tags:
                fail(0x6A83)
            return p1
        fail(0x6A86)

    def _allowed(self, condition: AccessCondition, key_id: int | None = None) -> bool:
        if condition is AccessCondition.FREE:
            return True
        if condition is AccessCondition.RKSSSE:
            return KeyClass.RKSSSE.value in self.authenticated
        if condition is AccessCondition.UPDATE_KEY:
            return KeyClass.UK.value in self.authenticated
        if condition is AccessCondition.PIN:
            return self.pin_verified
        return False

    def _read_record(self, command: CommandApdu) -> bytes:
        file = self._record_file(command.p2)
        tag = self._record_tag(file, command.p1, command.p2)
        spec = file.record(tag)
        if not self._allowed(spec.read):
            fail(0x6982)
        stored = self.state["records"].get(str(file.sfi), {}).get(f"{tag:02X}")
        if stored is None:
            fail(0x6A83)
        return bytes([tag, spec.length]) + bytes.fromhex(stored)

    def _read_binary(self, command: CommandApdu) -> bytes:
        file = self.current_file
        if not isinstance(file, TransparentFileSpec):
            fail(0x6986 if file is None else 0x6981)
        if not self._allowed(file.read):
            fail(0x6982)
        content = bytes.fromhex(self.state["binary"].get(file.name, ""))
        offset = (command.p1 << 8) | command.p2
        if offset > len(content):
            fail(0x6B00)
        return content[offset : offset + (command.le or 256)]

    def _update_binary(self, command: CommandApdu) -> bytes:
        """``04 D6``: MAC-protected UPDATE BINARY of the current transparent file (15-bit offset)."""
        file = self.current_file
        if not isinstance(file, TransparentFileSpec):
            fail(0x6986 if file is None else 0x6981)
        if not self._allowed(file.update):
            fail(0x6982)
        body = self._check_mac(command, KeyClass.UK.value)
        offset = (command.p1 << 8) | command.p2
        if command.p1 & 0x80 or offset + len(body) > file.size:
            fail(0x6B00)
        content = bytearray(bytes.fromhex(self.state["binary"].get(file.name, "")))
        if len(content) < offset:
            content.extend(bytes(offset - len(content)))
        content[offset : offset + len(body)] = body
        self.state["binary"][file.name] = content.hex()
        self.changed()
        return b""

    def _update_record(self, command: CommandApdu) -> bytes:
        file = self._record_file(command.p2)
        tag = self._record_tag(file, command.p1, command.p2)
        spec = file.record(tag)
        if not self._allowed(spec.update):
            fail(0x6982)
        body = command.data
        if command.cla == CLA_SM:
            body = self._check_mac(command, KeyClass.UK.value)
        if len(body) != 2 + spec.length or body[0] != tag or body[1] != spec.length:
            fail(0x6700)
        self.state["records"].setdefault(str(file.sfi), {})[f"{tag:02X}"] = body[2:].hex()
        self.changed()
        return b""

    def _check_mac(self, command: CommandApdu, key_class: str | None = None) -> bytes:
        """Strip and check the MAC of a secure-messaging command (card.cos: chained ICV).

        A wrong MAC closes the session: the terminal must authenticate again.
        """
        if self.sm_key is None or self.sm_icv is None or (key_class and self.sm_key != key_class):
            fail(0x6982)
        if len(command.data) < MAC_LENGTH:
            fail(0x6988)
        body, mac = command.data[:-MAC_LENGTH], command.data[-MAC_LENGTH:]
        covered = command.header + bytes([len(command.data)]) + body
        full = secure_messaging_mac(self.algorithm, self._key(self.sm_key), covered, iv=self.sm_icv)
        if not hmac.compare_digest(full[:MAC_LENGTH], mac):
            self.sm_key = self.sm_icv = None
            self.authenticated.clear()
            fail(0x6988)
        self.sm_icv = full
        return body

    def _iv(self, challenge: bytes) -> bytes:
        size = self.algorithm.block_size
        return (challenge + bytes(size))[:size]

    # -- personalisation of a blank card (card.cos) ---------------------------------------------

    def _blank_session(self, command: CommandApdu) -> bytes:
        """The checks every personalisation command shares: blank card, TK session, good MAC."""
        if not self.blank:
            fail(0x6985)
        return self._check_mac(command, KeyClass.TK.value)

    def _unwrap_under_tk(self, encrypted: bytes) -> bytes:
        if len(encrypted) % self.algorithm.block_size:
            fail(0x6700)
        return ecb_decrypt(self.algorithm, self._key(KeyClass.TK.value), encrypted)

    def _write_key(self, command: CommandApdu) -> bytes:
        body = self._blank_session(command)
        if command.p1 == cos.P1_SET_PIN:
            return self._set_pin(command.p2, body)
        if command.p1 != cos.P1_WRITE_KEY or len(body) != 2 + 16:
            fail(0x6A86 if command.p1 != cos.P1_WRITE_KEY else 0x6700)
        key_class = cos.KEY_CLASS_BY_CODE.get(body[0])
        if key_class is None:
            fail(0x6A80)
        key = self._unwrap_under_tk(body[2:])
        self.state["keys"][key_class.value] = {
            "key": key.hex(), "id": command.p2, "version": body[1], "tries": EXTERNAL_AUTH_LIMIT,
        }
        self.changed()
        return b""

    def _set_pin(self, retry_limit: int, body: bytes) -> bytes:
        if not 1 <= retry_limit <= 15:
            fail(0x6A86)
        try:
            digits = cos.decode_pin_block(self._unwrap_under_tk(body))
        except ValueError:
            fail(0x6A80)
        salt = self.card.random(16)
        self.state["pin"] = {"salt": salt.hex(), "hash": _pin_hash(salt, digits).hex(),
                             "tries": retry_limit, "limit": retry_limit}
        self.changed()
        return b""

    def _finish(self, command: CommandApdu) -> bytes:
        """The card becomes operational: every key and the PIN must be there; TK is erased."""
        self._blank_session(command)
        if self.state.get("pin") is None or len(self.state["keys"]) < 2:
            fail(0x6985)
        del self.state["keys"][KeyClass.TK.value]
        self.state["lifecycle"] = cos.LIFE_CYCLE_PERSONALISED
        self.changed()
        self.reset()
        return b""

    def _get_challenge(self, command: CommandApdu) -> bytes:
        length = command.le or 8
        if length not in (4, 8, 16):
            fail(0x6700)
        self.challenge = self.card.random(length)
        return self.challenge

    def _key(self, key_class: str) -> bytes:
        entry = self.state["keys"].get(key_class)
        if entry is None:
            fail(0x6A88)
        return bytes.fromhex(entry["key"])

    def _class_for(self, key_id: int) -> str:
        """The key class installed under ``key_id`` (ids are the profile's, kept with each key)."""
        for name, entry in self.state["keys"].items():
            if entry.get("id") == key_id:
                return str(name)
        fail(0x6A88)

    def _internal_authenticate(self, command: CommandApdu) -> bytes:
        if len(command.data) != 16:
            fail(0x6700)
        if self._class_for(command.p2) != KeyClass.IRK.value:
            fail(0x6A88)
        process_factor, challenge = command.data[:8], command.data[8:]
        return internal_auth_response(self.algorithm, self._key("IRK"), process_factor, challenge)

    def _external_authenticate(self, command: CommandApdu) -> bytes:
        if len(command.data) != 16:
            fail(0x6700)
        key_class = self._class_for(command.p2)
        entry = self.state["keys"][key_class]
        if entry["tries"] <= 0:
            fail(0x6983)
        challenge, self.challenge = self.challenge, None
        if challenge is None or len(challenge) < 8:
            fail(0x6984)  # GET CHALLENGE first, and of 8 bytes or more: the cryptogram needs 8
        expected = session_cryptogram(self.algorithm, self._key(key_class), challenge[:8])
        if not hmac.compare_digest(expected, command.data[:8]):
            entry["tries"] -= 1
            self.changed()
            fail(0x63C0 | min(entry["tries"], 0x0F))
        if entry["tries"] != EXTERNAL_AUTH_LIMIT:
            entry["tries"] = EXTERNAL_AUTH_LIMIT
            self.changed()
        self.authenticated.add(key_class)
        self.sm_key, self.sm_icv = key_class, cos.sm_icv(challenge, self.algorithm.block_size)
        return b""
