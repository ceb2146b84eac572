"""GlobalPlatform SCP02 (Card Specification 2.2 annex E), ``i`` = 15/35/55/75, 3DES.

Session keys: 3DES-CBC (zero ICV) of ``constant || sequence counter || 12 zero bytes`` under each
static key, constants 0182 S-ENC, 0101 C-MAC, 0102 R-MAC (from the static MAC key), 0181 DEK.
Cryptograms: full 3DES CBC-MAC, padding method 2, under S-ENC, over host challenge || counter ||
card challenge (card) and counter || card challenge || host challenge (host).
C-MAC: ISO 9797-1 MAC algorithm 3 (single DES chain, final 3DES), padding method 2, over the
modified header (CLA | 04, Lc + 8) and the plaintext data; the ICV is zero for EXTERNAL
AUTHENTICATE and, after it, the previous C-MAC encrypted with single DES under the first half of
the C-MAC key ("ICV encryption", i bit 10). C-DECRYPTION encrypts the data (always padded) with
3DES-CBC, zero ICV, under S-ENC, after the MAC was computed on the plaintext.
R-MAC (GlobalPlatformPro's reading): the same MAC algorithm under the R-MAC key, over CLA (with
the channel and SM bits cleared) INS P1 P2 Lc and the plaintext command data, then Li, the
response data and SW1 SW2; chained, the first ICV being the C-MAC of EXTERNAL AUTHENTICATE.
The input is padded once (GlobalPlatformPro pads it twice; there is no published vector).
Sensitive data: 3DES-ECB under the session DEK.
"""

from __future__ import annotations

from sscard_issuer.apdu import CommandApdu, ResponseApdu
from sscard_issuer.channel.errors import ChannelUsageError, CommandMacInvalid, ResponseMacInvalid
from sscard_issuer.channel.keys import SessionKeys, StaticKeys
from sscard_issuer.channel.messaging import (
    SM_CLA_BIT,
    SecureMessaging,
    pad_if_unaligned,
    response_is_protected,
    unpad_or_fail,
)
from sscard_issuer.channel.params import MAC_LENGTH, Scp, SecurityLevel, max_command_data
from sscard_issuer.crypto import (
    Algorithm,
    CryptoError,
    InvalidMac,
    cbc_decrypt,
    cbc_encrypt,
    des3_cbc_mac,
    ecb_decrypt,
    ecb_encrypt,
    iso9797_mac3,
    pad,
    verify_mac,
)

SEQUENCE_COUNTER_LENGTH = 2
CARD_CHALLENGE_LENGTH = 6
CONSTANT_C_MAC = b"\x01\x01"
CONSTANT_R_MAC = b"\x01\x02"
CONSTANT_DEK = b"\x01\x81"
CONSTANT_ENC = b"\x01\x82"

_DES3 = Algorithm.DES3


def _check_length(name: str, value: bytes, length: int) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != length:
        raise ChannelUsageError(f"{name}: expected {length} bytes")
    return bytes(value)


def derive_session_keys(keys: StaticKeys, sequence_counter: bytes) -> SessionKeys:
    """S-ENC, C-MAC, R-MAC and DEK session keys for one sequence counter value."""
    if keys.algorithm is not _DES3:
        raise ChannelUsageError(f"SCP02 needs 3DES static keys, got {keys.algorithm.value}")
    counter = _check_length("sequence_counter", sequence_counter, SEQUENCE_COUNTER_LENGTH)

    def derive(key: bytes, constant: bytes) -> bytes:
        return cbc_encrypt(_DES3, key, constant + counter + bytes(12))

    return SessionKeys(
        enc=derive(keys.enc, CONSTANT_ENC),
        mac=derive(keys.mac, CONSTANT_C_MAC),
        rmac=derive(keys.mac, CONSTANT_R_MAC),
        dek=derive(keys.dek, CONSTANT_DEK),
        algorithm=_DES3,
    )


def card_cryptogram(
    session: SessionKeys, host_challenge: bytes, sequence_counter: bytes, card_challenge: bytes
) -> bytes:
    return des3_cbc_mac(session.enc, pad(host_challenge + sequence_counter + card_challenge, 8, 2))


def host_cryptogram(
    session: SessionKeys, host_challenge: bytes, sequence_counter: bytes, card_challenge: bytes
) -> bytes:
    return des3_cbc_mac(session.enc, pad(sequence_counter + card_challenge + host_challenge, 8, 2))


class Scp02Messaging(SecureMessaging):
    block_size = 8

    def __init__(self, session: SessionKeys) -> None:
        super().__init__(session)
        self._last_cmac: bytes | None = None
        self._rmac_chain: bytes | None = None
        self._rmac_command = b""

    def activate(self, level: SecurityLevel) -> None:
        super().activate(level)
        # R-MAC chains from the C-MAC of EXTERNAL AUTHENTICATE, the last C-MAC so far.
        self._rmac_chain = self._last_cmac

    def _icv(self) -> bytes:
        if self._last_cmac is None:
            return bytes(8)
        single_des = self._session.mac[:8] * 2  # K|K is single DES
        return ecb_encrypt(_DES3, single_des, self._last_cmac)

    def _cmac(self, header: bytes, plain: bytes) -> bytes:
        mac_input = header + self.lc_byte(len(plain) + MAC_LENGTH) + plain
        return iso9797_mac3(self._session.mac, mac_input, padding=2, iv=self._icv())

    def _remember_for_rmac(self, cla: int, ins: int, p1: int, p2: int, plain: bytes) -> None:
        if self._r_mac:
            self._rmac_command = bytes((cla & 0xF8, ins, p1, p2, len(plain))) + plain

    def _rmac(self, data: bytes, sw: int) -> bytes:
        chain = self._rmac_chain if self._rmac_chain is not None else bytes(8)
        mac_input = self._rmac_command + bytes((len(data) & 0xFF,)) + data + sw.to_bytes(2, "big")
        return iso9797_mac3(self._session.rmac, mac_input, padding=2, iv=chain)

    def protect_command(self, command: CommandApdu) -> CommandApdu:
        self.check_wrappable(command, max_command_data(Scp.SCP02, self._level or SecurityLevel.CMAC))
        cla = command.cla | SM_CLA_BIT
        plain = command.data
        mac = self._cmac(bytes((cla, command.ins, command.p1, command.p2)), plain)
        self._last_cmac = mac
        self._remember_for_rmac(command.cla, command.ins, command.p1, command.p2, plain)
        body = cbc_encrypt(_DES3, self._session.enc, pad(plain, 8, 2)) if self._c_dec and plain else plain
        return CommandApdu(cla, command.ins, command.p1, command.p2, body + mac, command.le,
                           sensitive=command.sensitive)

    def verify_command(self, command: CommandApdu) -> CommandApdu:
        body, mac = self.split_mac(command)
        plain = body
        if self._c_dec and body:
            try:
                decrypted = cbc_decrypt(_DES3, self._session.enc, body)
            except CryptoError:
                raise CommandMacInvalid("the encrypted data is not whole 3DES blocks") from None
            plain = unpad_or_fail(decrypted, 8, CommandMacInvalid, "command data")
        expected = self._cmac(bytes((command.cla, command.ins, command.p1, command.p2)), plain)
        try:
            verify_mac(mac, expected)
        except InvalidMac:
            raise CommandMacInvalid("the C-MAC does not verify") from None
        self._last_cmac = mac
        cla = command.cla & ~SM_CLA_BIT
        self._remember_for_rmac(cla, command.ins, command.p1, command.p2, plain)
        return CommandApdu(cla, command.ins, command.p1, command.p2, plain, command.le)

    def protect_response(self, data: bytes, sw: int) -> bytes:
        if not (self._r_mac and response_is_protected(sw)):
            return data
        mac = self._rmac(data, sw)
        self._rmac_chain = mac
        return data + mac

    def verify_response(self, response: ResponseApdu) -> ResponseApdu:
        if not (self._r_mac and response_is_protected(response.sw)):
            return response
        data, mac = self.split_rmac(response)
        try:
            verify_mac(mac, self._rmac(data, response.sw))
        except InvalidMac:
            raise ResponseMacInvalid("the R-MAC does not verify") from None
        self._rmac_chain = mac
        return ResponseApdu(data, response.sw)

    def encrypt_sensitive(self, data: bytes) -> bytes:
        return ecb_encrypt(_DES3, self._session.dek, pad_if_unaligned(bytes(data), 8))

    def decrypt_sensitive(self, data: bytes) -> bytes:
        return ecb_decrypt(_DES3, self._session.dek, data)
