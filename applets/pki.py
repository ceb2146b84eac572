"""The PKI application (3.0 cards): SM2 key pairs, certificate files, personalisation.

Selected by its AID, then its ADF ``SS.CERT.ADF1``; files and access conditions come from the card
description (:data:`sscard_issuer.card.ssc.PKI`). Interindustry commands: SELECT (by name, EF by
FID), READ BINARY, GET CHALLENGE, EXTERNAL AUTHENTICATE, UPDATE BINARY. The personalisation
commands (GENERATE SM2 KEY PAIR ``80 46``, IMPORT ENCRYPTION KEY ``80/90 D8``, SIGN CHALLENGE
``80 2A 9E 9A``, ACTIVATE ``00 44``) are **this simulator's card OS commands (inferred)**, each
described with its access rule in :mod:`sscard_issuer.pki.commands`, which the terminal side
reads too.

Life cycle: a blank card (:meth:`PkiApplet.blank_state`) holds only the transport key TK and is
in personalisation (FCI ``8A 03``). GENERATE makes the signing key pair (EF 0012 gets X||Y) and
clears both certificate files and any encryption key, so a personaliser cut off by a power loss
reruns everything from the start. ACTIVATE needs all of it present, retires TK and makes the
application active (``8A 05``): nothing can be written after that. Cards made before issue 3
(:meth:`PkiApplet.empty_state`) hold no keys and count as active.

Persistent state (the card image): the algorithm of TK, TK and its try counter, the private
scalars of the signing and encryption keys (a simulated card's EEPROM, hex in the image: TEST
ONLY), the files, the life cycle. Each change is one ``self.changed()`` inside one APDU, which the
runtime commits atomically. Volatile: the current file, the challenge, TK authentication, the
chained IMPORT parts.
"""

from __future__ import annotations

import hmac
from typing import Any

from sscard_issuer.apdu import CommandApdu, Tlv, encode_ber
from sscard_issuer.card import ssc
from sscard_issuer.card.model import AccessCondition, TransparentFileSpec
from sscard_issuer.crypto import Algorithm, CryptoError, Sm2PrivateKey, session_cryptogram
from sscard_issuer.pki import commands as pki
from sscard_issuer.pki.envelope import open_key_envelope
from sscard_issuer.pki.errors import EnvelopeError
from sscard_issuer.sim.runtime import Applet, fail

_FILES = {f.fid: f for f in ssc.PKI.files if isinstance(f, TransparentFileSpec)}
FID_PUBLIC_KEY, FID_SIGN_CERT, FID_ENC_CERT = 0x0012, 0x0018, 0x0019
EXTERNAL_AUTH_LIMIT = 15  # tries of TK before it blocks (as the SSSE's keys)
MAX_CHAINED_IMPORT = 1024  # bytes an IMPORT ENCRYPTION KEY chain may add up to

PERSONALISATION = "personalisation"
ACTIVE = "active"


def _fid_key(fid: int) -> str:
    return f"{fid:04X}"


class PkiApplet(Applet):
    name = "pki"
    aids = (ssc.PKI_AID,)

    # -- building a card: the one place that knows this applet's state layout ------------------

    @staticmethod
    def empty_state() -> dict[str, Any]:
        """A card from before personalisation existed: files only, no keys (counts as active)."""
        return {"files": {}}

    @staticmethod
    def blank_state(tk: bytes, algorithm: Algorithm) -> dict[str, Any]:
        """A blank card's PKI application: the transport key TK (this card's, derived), nothing else."""
        if algorithm not in (Algorithm.DES3, Algorithm.SM4):
            raise ValueError(f"the PKI application's TK is 3DES or SM4, not {algorithm!r}")
        if not isinstance(tk, bytes) or len(tk) != 16:
            raise ValueError("tk: expected the 16-byte card transport key")
        return {
            "lifecycle": PERSONALISATION,
            "algorithm": algorithm.value,
            "keys": {"TK": {"key": tk.hex(), "tries": EXTERNAL_AUTH_LIMIT}},
            "files": {},
        }

    # -- volatile state ------------------------------------------------------------------------

    def reset(self) -> None:
        self.adf_selected = False
        self.current: TransparentFileSpec | None = None
        self.challenge: bytes | None = None
        self.authenticated = False
        self.chain = b""

    @property
    def files(self) -> dict[str, str]:
        files: dict[str, str] = self.state.setdefault("files", {})
        return files

    @property
    def active(self) -> bool:
        return bool(self.state.get("lifecycle", ACTIVE) == ACTIVE)

    def owns_name(self, name: bytes) -> bool:
        return name == ssc.PKI_ADF_AID

    def select(self, name: bytes) -> bytes:
        self.reset()  # entering the application or its ADF starts a new security state
        self.adf_selected = name == ssc.PKI_ADF_AID
        lcs = pki.LCS_ACTIVE if self.active else pki.LCS_PERSONALISATION
        return Tlv(0x6F, encode_ber([Tlv(0x84, name), Tlv(pki.TAG_LIFE_CYCLE, bytes([lcs]))])).encode()

    # -- commands ------------------------------------------------------------------------------

    def process(self, command: CommandApdu) -> bytes:
        key = (command.cla, command.ins)
        if key != (pki.CLA_CHAINED, pki.INS_IMPORT_ENCRYPTION_KEY) and key != (
            pki.CLA_PROPRIETARY, pki.INS_IMPORT_ENCRYPTION_KEY
        ):
            self.chain = b""  # any other command breaks an IMPORT chain
        handler = {
            (0x00, 0xA4): self._select_file,
            (0x00, 0xB0): self._read_binary,
            (0x00, pki.INS_GET_CHALLENGE): self._get_challenge,
            (0x00, pki.INS_EXTERNAL_AUTHENTICATE): self._external_authenticate,
            (0x00, pki.INS_UPDATE_BINARY): self._update_binary,
            (0x00, pki.INS_ACTIVATE): self._activate,
            (pki.CLA_PROPRIETARY, pki.INS_GENERATE_KEY_PAIR): self._generate,
            (pki.CLA_PROPRIETARY, pki.INS_IMPORT_ENCRYPTION_KEY): self._import_encryption_key,
            (pki.CLA_CHAINED, pki.INS_IMPORT_ENCRYPTION_KEY): self._import_encryption_key,
            (pki.CLA_PROPRIETARY, pki.INS_SIGN_CHALLENGE): self._sign_challenge,
        }.get(key)
        if handler is None:
            fail(0x6E00 if command.cla not in (0x00, pki.CLA_PROPRIETARY, pki.CLA_CHAINED) else 0x6D00)
        if not self.adf_selected and command.ins != 0xA4:
            fail(0x6985)  # everything happens inside the ADF
        return handler(command)

    def _select_file(self, command: CommandApdu) -> bytes:
        if not self.adf_selected:
            fail(0x6A82)
        if command.p1 not in (0x00, 0x02):
            fail(0x6A86)
        fid = int.from_bytes(command.data, "big") if len(command.data) == 2 else -1
        if fid not in _FILES:
            fail(0x6A82)
        self.current = _FILES[fid]
        return b""

    def _offset(self, command: CommandApdu) -> int:
        if command.p1 & 0x80:
            fail(0x6A86)  # P1 b8 would name a short file identifier: not supported here
        return (command.p1 << 8) | command.p2

    def _read_binary(self, command: CommandApdu) -> bytes:
        if self.current is None:
            fail(0x6986)
        if self.current.read is not AccessCondition.FREE:
            fail(0x6982)
        content = bytes.fromhex(self.files.get(_fid_key(self.current.fid), ""))
        offset = self._offset(command)
        if offset > len(content):
            fail(0x6B00)
        return content[offset : offset + (command.le or 256)]

    # -- authentication ------------------------------------------------------------------------

    def _get_challenge(self, command: CommandApdu) -> bytes:
        length = command.le or 8
        if command.data or length not in (4, 8, 16):
            fail(0x6700)
        self.challenge = self.card.random(length)
        return self.challenge

    def _external_authenticate(self, command: CommandApdu) -> bytes:
        if len(command.data) != 16:
            fail(0x6700)
        entry = self.state.get("keys", {}).get("TK")
        if command.p2 != pki.KEY_ID_TK or entry is None:
            fail(0x6A88)  # active cards have retired TK
        if entry["tries"] <= 0:
            fail(0x6983)
        challenge, self.challenge = self.challenge, None
        if challenge is None or len(challenge) < 8:
            fail(0x6984)
        algorithm = Algorithm(self.state["algorithm"])
        expected = session_cryptogram(algorithm, bytes.fromhex(entry["key"]), challenge[:8])
        if not hmac.compare_digest(expected, command.data[:8]):
            entry["tries"] -= 1
            self.changed()
            self.authenticated = False
            fail(0x63C0 | min(entry["tries"], 0x0F))
        if entry["tries"] != EXTERNAL_AUTH_LIMIT:
            entry["tries"] = EXTERNAL_AUTH_LIMIT
            self.changed()
        self.authenticated = True
        return b""

    def _require_personaliser(self) -> None:
        """Personalisation commands: TK authenticated, application not yet active."""
        if self.active:
            fail(0x6985)
        if not self.authenticated:
            fail(0x6982)

    # -- personalisation -----------------------------------------------------------------------

    def _generate(self, command: CommandApdu) -> bytes:
        if command.p1 or command.p2:
            fail(0x6A86)
        if command.data:
            fail(0x6700)
        self._require_personaliser()
        key = Sm2PrivateKey.generate()
        self.state["sign_key"] = key.private_bytes_raw().hex()
        self.state.pop("encryption_key", None)
        files = self.files
        files[_fid_key(FID_PUBLIC_KEY)] = key.public_key().xy.hex()
        files.pop(_fid_key(FID_SIGN_CERT), None)
        files.pop(_fid_key(FID_ENC_CERT), None)
        self.changed()
        return b""

    def _sign_key(self) -> Sm2PrivateKey:
        scalar = self.state.get("sign_key")
        if scalar is None:
            fail(0x6A88)
        return Sm2PrivateKey.from_raw(bytes.fromhex(scalar))

    def _update_binary(self, command: CommandApdu) -> bytes:
        if self.current is None:
            fail(0x6986)
        if self.current.update is not AccessCondition.UPDATE_KEY:
            fail(0x6985)  # EF 0012 is written by GENERATE alone
        self._require_personaliser()
        if "sign_key" not in self.state:
            fail(0x6985)  # certificates come after the key they certify
        if not command.data:
            fail(0x6700)
        offset = self._offset(command)
        name = _fid_key(self.current.fid)
        content = bytes.fromhex(self.files.get(name, ""))
        if offset > len(content):
            fail(0x6B00)  # no holes: write from the start or carry on where the last write ended
        if offset + len(command.data) > self.current.size:
            fail(0x6A84)
        content = content[:offset] + command.data + content[offset + len(command.data) :]
        self.files[name] = content.hex()
        self.changed()
        return b""

    def _import_encryption_key(self, command: CommandApdu) -> bytes:
        data, self.chain = self.chain + command.data, b""  # a refused part ends the chain
        if command.p1 or command.p2:
            fail(0x6A86)
        self._require_personaliser()
        sign_key = self._sign_key()
        if not command.data or len(data) > MAX_CHAINED_IMPORT:
            fail(0x6700)
        if command.cla == pki.CLA_CHAINED:
            self.chain = data
            return b""
        try:
            key = open_key_envelope(data, sign_key)
        except EnvelopeError:
            fail(0x6A80)
        self.state["encryption_key"] = key.private_bytes_raw().hex()
        self.changed()
        return b""

    def _sign_challenge(self, command: CommandApdu) -> bytes:
        if (command.p1, command.p2) != pki.SIGN_P1P2:
            fail(0x6A86)
        if len(command.data) not in pki.SIGN_CHALLENGE_LENGTHS:
            fail(0x6700)
        try:
            return self._sign_key().sign(pki.CARD_AUTH_CONTEXT + command.data)
        except CryptoError:
            fail(0x6581)

    def _activate(self, command: CommandApdu) -> bytes:
        if command.p1 or command.p2 or command.data:
            fail(0x6A86)
        self._require_personaliser()
        complete = (
            "sign_key" in self.state
            and "encryption_key" in self.state
            and self.files.get(_fid_key(FID_SIGN_CERT))
            and self.files.get(_fid_key(FID_ENC_CERT))
        )
        if not complete:
            fail(0x6985)
        self.state["lifecycle"] = ACTIVE
        self.state.pop("keys", None)  # TK retired: personalisation is over
        self.changed()
        self.authenticated = False
        return b""
