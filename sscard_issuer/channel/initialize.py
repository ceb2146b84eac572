"""INITIALIZE UPDATE and EXTERNAL AUTHENTICATE: the commands, and the card's answer as a value.

The answer (GP 2.2 E.5.1.2; Amendment D 7.1.1) is key diversification data (10 bytes), key
information (key version, SCP; SCP03 adds ``i``), then for SCP02 the sequence counter (2), the
card challenge (6) and the card cryptogram (8): 28 bytes; for SCP03 the card challenge (8), the
card cryptogram (8) and, when ``i`` has the pseudo-random bit, the sequence counter (3): 29 or 32.
"""

from __future__ import annotations

from dataclasses import dataclass

from sscard_issuer.apdu import CommandApdu
from sscard_issuer.channel.errors import ChannelUsageError, MalformedResponse
from sscard_issuer.channel.params import I_SCP03_PSEUDO_RANDOM, Scp, SecurityLevel, check_i

CLA_GP = 0x80
INS_INITIALIZE_UPDATE = 0x50
INS_EXTERNAL_AUTHENTICATE = 0x82
KDD_LENGTH = 10
HOST_CHALLENGE_LENGTH = 8
CRYPTOGRAM_LENGTH = 8


def check_key_version(key_version: int) -> int:
    """A key version to ask for: 0 (the card's default) or 1..127 (GP reserves the rest)."""
    if isinstance(key_version, bool) or not isinstance(key_version, int) or not 0 <= key_version <= 0x7F:
        raise ChannelUsageError(f"key_version: expected 0 (any) or 1..127, got {key_version!r}")
    return key_version


def initialize_update(host_challenge: bytes, key_version: int = 0) -> CommandApdu:
    """``80 50 <kvn> 00 08 <host challenge> 00``; key version 0 asks for the card's default set."""
    if not isinstance(host_challenge, (bytes, bytearray)) or len(host_challenge) != HOST_CHALLENGE_LENGTH:
        raise ChannelUsageError(f"host_challenge: expected {HOST_CHALLENGE_LENGTH} bytes")
    check_key_version(key_version)
    return CommandApdu(CLA_GP, INS_INITIALIZE_UPDATE, key_version, 0x00, bytes(host_challenge), le=256)


def external_authenticate(level: SecurityLevel, host_cryptogram: bytes) -> CommandApdu:
    """The plain EXTERNAL AUTHENTICATE; the channel adds its C-MAC."""
    return CommandApdu(CLA_GP, INS_EXTERNAL_AUTHENTICATE, int(level), 0x00, host_cryptogram)


@dataclass(frozen=True)
class CardChallenge:
    """The card's answer to INITIALIZE UPDATE, checked when built.

    ``i`` is None for SCP02 (its answer does not carry it); ``sequence_counter`` is 2 bytes for
    SCP02, 3 bytes for SCP03 with a pseudo-random challenge, else None.
    """

    key_diversification_data: bytes
    key_version: int
    scp: Scp
    i: int | None
    sequence_counter: bytes | None
    card_challenge: bytes
    card_cryptogram: bytes

    def __post_init__(self) -> None:
        def need(name: str, value: object, length: int) -> None:
            if not isinstance(value, bytes) or len(value) != length:
                raise ChannelUsageError(f"{name}: expected {length} bytes")

        need("key_diversification_data", self.key_diversification_data, KDD_LENGTH)
        need("card_cryptogram", self.card_cryptogram, CRYPTOGRAM_LENGTH)
        if not 0 <= self.key_version <= 0xFF:
            raise ChannelUsageError(f"key_version: expected one byte, got {self.key_version!r}")
        if self.scp is Scp.SCP02:
            if self.i is not None:
                raise ChannelUsageError("i: an SCP02 answer does not carry i")
            need("sequence_counter", self.sequence_counter, 2)
            need("card_challenge", self.card_challenge, 6)
        else:
            check_i(Scp.SCP03, self.i if self.i is not None else -1)
            need("card_challenge", self.card_challenge, 8)
            if self.pseudo_random:
                need("sequence_counter", self.sequence_counter, 3)
            elif self.sequence_counter is not None:
                raise ChannelUsageError("sequence_counter: only a pseudo-random SCP03 card has one")

    @property
    def pseudo_random(self) -> bool:
        return self.scp is Scp.SCP03 and bool((self.i or 0) & I_SCP03_PSEUDO_RANDOM)

    def encode(self) -> bytes:
        out = self.key_diversification_data + bytes((self.key_version, int(self.scp)))
        if self.scp is Scp.SCP02:
            return out + (self.sequence_counter or b"") + self.card_challenge + self.card_cryptogram
        out += bytes((self.i or 0,)) + self.card_challenge + self.card_cryptogram
        return out + (self.sequence_counter or b"")

    @classmethod
    def decode(cls, raw: bytes) -> CardChallenge:
        """Parse a card's answer; :class:`MalformedResponse` says what did not fit."""
        if len(raw) < KDD_LENGTH + 3:
            raise MalformedResponse(f"INITIALIZE UPDATE answer of {len(raw)} bytes is too short")
        kdd, kvn, scp_byte = raw[:KDD_LENGTH], raw[KDD_LENGTH], raw[KDD_LENGTH + 1]
        try:
            scp = Scp(scp_byte)
        except ValueError:
            raise MalformedResponse(f"the card speaks SCP{scp_byte:02X}, not SCP02 or SCP03") from None
        try:
            if scp is Scp.SCP02:
                if len(raw) != 28:
                    raise MalformedResponse(f"an SCP02 answer has 28 bytes, got {len(raw)}")
                return cls(kdd, kvn, scp, None, raw[12:14], raw[14:20], raw[20:28])
            i = raw[12]
            expected = 32 if i & I_SCP03_PSEUDO_RANDOM else 29
            if len(raw) != expected:
                raise MalformedResponse(f"an SCP03 answer with i={i:02X} has {expected} bytes, got {len(raw)}")
            return cls(kdd, kvn, scp, i, raw[29:32] or None, raw[13:21], raw[21:29])
        except ChannelUsageError as exc:
            raise MalformedResponse(f"INITIALIZE UPDATE answer: {exc}") from None
