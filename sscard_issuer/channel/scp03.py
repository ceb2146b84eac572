"""GlobalPlatform SCP03 (Card Specification 2.2 Amendment D v1.1.1), AES.

Key derivation: NIST SP 800-108 KDF in counter mode with AES-CMAC as PRF; the input of each
round is an 11-byte zero label, the derivation constant, a zero separator, L (the output length
in bits, 2 bytes), the round counter (1 byte) and the context. Constants: 00 card cryptogram, 01
host cryptogram, 02 card challenge, 04 S-ENC, 06 S-MAC, 07 S-RMAC. The context is host challenge ||
card challenge, or sequence counter || AID for a pseudo-random card challenge.
C-MAC: AES-CMAC under S-MAC over the MAC chaining value (16 zero bytes before EXTERNAL
AUTHENTICATE, afterwards the previous full C-MAC) and the modified command; 8 bytes are sent.
C-DECRYPTION: an encryption counter (16 bytes) is incremented before every command once the
level has it; the data is padded (method 2, always) and encrypted with AES-CBC under S-ENC, the
ICV being AES(S-ENC, counter). R-ENC uses AES(S-ENC, 80 || counter[1:]) as ICV. R-MAC: AES-CMAC
under S-RMAC over the command's chaining value, the (encrypted) response data and SW1 SW2.
Sensitive data: AES-CBC, zero ICV, under the static DEK (SCP03 has no session DEK).
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
    aes_cmac,
    cbc_decrypt,
    cbc_encrypt,
    ecb_encrypt,
    pad,
    verify_mac,
)

CHALLENGE_LENGTH = 8
SEQUENCE_COUNTER_LENGTH = 3
CONSTANT_CARD_CRYPTOGRAM = 0x00
CONSTANT_HOST_CRYPTOGRAM = 0x01
CONSTANT_CARD_CHALLENGE = 0x02
CONSTANT_S_ENC = 0x04
CONSTANT_S_MAC = 0x06
CONSTANT_S_RMAC = 0x07

_AES = Algorithm.AES


def kdf(key: bytes, constant: int, context: bytes, bits: int) -> bytes:
    """SP 800-108 counter-mode KDF with AES-CMAC, in GP Amendment D's data layout."""
    if bits % 8 or not 0 < bits <= 0xFFFF:
        raise ChannelUsageError(f"bits: expected a whole number of bytes, got {bits}")
    fixed = bytes(11) + bytes((constant, 0x00)) + bits.to_bytes(2, "big")
    out = b""
    counter = 1
    while len(out) * 8 < bits:
        out += aes_cmac(key, fixed + bytes((counter,)) + context)
        counter += 1
    return out[: bits // 8]


def derive_session_keys(keys: StaticKeys, host_challenge: bytes, card_challenge: bytes) -> SessionKeys:
    """S-ENC, S-MAC and S-RMAC (as long as the static keys); the DEK stays the static one."""
    if keys.algorithm is not _AES:
        raise ChannelUsageError(f"SCP03 needs AES static keys, got {keys.algorithm.value}")
    context = host_challenge + card_challenge
    bits = 8 * len(keys.enc)
    return SessionKeys(
        enc=kdf(keys.enc, CONSTANT_S_ENC, context, bits),
        mac=kdf(keys.mac, CONSTANT_S_MAC, context, bits),
        rmac=kdf(keys.mac, CONSTANT_S_RMAC, context, bits),
        dek=keys.dek,
        algorithm=_AES,
    )


def card_cryptogram(session: SessionKeys, host_challenge: bytes, card_challenge: bytes) -> bytes:
    return kdf(session.mac, CONSTANT_CARD_CRYPTOGRAM, host_challenge + card_challenge, 64)


def host_cryptogram(session: SessionKeys, host_challenge: bytes, card_challenge: bytes) -> bytes:
    return kdf(session.mac, CONSTANT_HOST_CRYPTOGRAM, host_challenge + card_challenge, 64)


def pseudo_random_card_challenge(keys: StaticKeys, sequence_counter: bytes, aid: bytes) -> bytes:
    """The card challenge of a card with ``i`` bit 10: derived from the counter and the SD's AID."""
    if len(sequence_counter) != SEQUENCE_COUNTER_LENGTH:
        raise ChannelUsageError(f"sequence_counter: expected {SEQUENCE_COUNTER_LENGTH} bytes")
    return kdf(keys.enc, CONSTANT_CARD_CHALLENGE, bytes(sequence_counter) + bytes(aid), 64)


class Scp03Messaging(SecureMessaging):
    block_size = 16

    def __init__(self, session: SessionKeys) -> None:
        super().__init__(session)
        self._chaining = bytes(16)
        self._counter = 0

    def _counter_block(self, response: bool = False) -> bytes:
        block = self._counter.to_bytes(16, "big")
        if response:
            block = b"\x80" + block[1:]
        return ecb_encrypt(_AES, self._session.enc, block)

    def _cmac(self, cla: int, ins: int, p1: int, p2: int, body: bytes) -> bytes:
        header = bytes((cla, ins, p1, p2)) + self.lc_byte(len(body) + MAC_LENGTH)
        return aes_cmac(self._session.mac, self._chaining + header + body)

    def _rmac(self, data: bytes, sw: int) -> bytes:
        return aes_cmac(self._session.rmac, self._chaining + data + sw.to_bytes(2, "big"))[:MAC_LENGTH]

    def protect_command(self, command: CommandApdu) -> CommandApdu:
        self.check_wrappable(command, max_command_data(Scp.SCP03, self._level or SecurityLevel.CMAC))
        cla = command.cla | SM_CLA_BIT
        body = command.data
        if self._c_dec:
            self._counter += 1  # every command, data or not (Amendment D v1.1.1)
            if body:
                body = cbc_encrypt(_AES, self._session.enc, pad(body, 16, 2), self._counter_block())
        full = self._cmac(cla, command.ins, command.p1, command.p2, body)
        self._chaining = full
        return CommandApdu(cla, command.ins, command.p1, command.p2, body + full[:MAC_LENGTH],
                           command.le, sensitive=command.sensitive)

    def verify_command(self, command: CommandApdu) -> CommandApdu:
        body, mac = self.split_mac(command)
        full = self._cmac(command.cla, command.ins, command.p1, command.p2, body)
        try:
            verify_mac(mac, full[:MAC_LENGTH])
        except InvalidMac:
            raise CommandMacInvalid("the C-MAC does not verify") from None
        self._chaining = full
        plain = body
        if self._c_dec:
            self._counter += 1
            if body:
                try:
                    decrypted = cbc_decrypt(_AES, self._session.enc, body, self._counter_block())
                except CryptoError:
                    raise CommandMacInvalid("the encrypted data is not whole AES blocks") from None
                plain = unpad_or_fail(decrypted, 16, CommandMacInvalid, "command data")
        return CommandApdu(command.cla & ~SM_CLA_BIT, command.ins, command.p1, command.p2, plain, command.le)

    def protect_response(self, data: bytes, sw: int) -> bytes:
        if not response_is_protected(sw):
            return data
        if self._r_enc and data:
            data = cbc_encrypt(_AES, self._session.enc, pad(data, 16, 2), self._counter_block(response=True))
        if self._r_mac:
            data += self._rmac(data, sw)
        return data

    def verify_response(self, response: ResponseApdu) -> ResponseApdu:
        if not (self._r_mac and response_is_protected(response.sw)):
            return response
        data, mac = self.split_rmac(response)
        try:
            verify_mac(mac, self._rmac(data, response.sw))
        except InvalidMac:
            raise ResponseMacInvalid("the R-MAC does not verify") from None
        if self._r_enc and data:
            try:
                decrypted = cbc_decrypt(_AES, self._session.enc, data, self._counter_block(response=True))
            except CryptoError:
                raise ResponseMacInvalid("the encrypted response is not whole AES blocks") from None
            data = unpad_or_fail(decrypted, 16, ResponseMacInvalid, "response data")
        return ResponseApdu(data, response.sw)

    def encrypt_sensitive(self, data: bytes) -> bytes:
        return cbc_encrypt(_AES, self._session.dek, pad_if_unaligned(bytes(data), 16))

    def decrypt_sensitive(self, data: bytes) -> bytes:
        return cbc_decrypt(_AES, self._session.dek, data)
