"""The terminal's side of a GlobalPlatform secure channel, as a sans-I/O state machine.

The caller moves the bytes::

    channel = HostChannel(Scp.SCP03, SecurityLevel.CMAC_CDEC_RMAC)
    challenge = channel.receive_initialize_update(transport.send(channel.initialize_update(hc)))
    command = channel.authenticate(keys_for(challenge.key_diversification_data))
    channel.receive_external_authenticate(transport.send(command))
    response = channel.unwrap(transport.send(channel.wrap(plain_command)))

Keys are given after the card's answer, because a card's keys are usually diversified with the
data that answer carries. A wrong card cryptogram, a refused EXTERNAL AUTHENTICATE or a bad R-MAC
fail the channel for good (:class:`ChannelClosed` afterwards).
"""

from __future__ import annotations

import hmac

from sscard_issuer.apdu import CommandApdu, ResponseApdu
from sscard_issuer.channel import initialize, scp02, scp03
from sscard_issuer.channel.errors import (
    CardAuthenticationFailed,
    ChannelClosed,
    ChannelUsageError,
    ExternalAuthenticationRejected,
    MalformedResponse,
)
from sscard_issuer.channel.initialize import CardChallenge
from sscard_issuer.channel.keys import StaticKeys
from sscard_issuer.channel.messaging import SecureMessaging
from sscard_issuer.channel.params import (
    Scp,
    SecurityLevel,
    check_i,
    check_level,
    cipher_block_size,
    level_offered,
    max_command_data,
)
from sscard_issuer.channel.state import ChannelState, Event, Role, StateMachine
from sscard_issuer.crypto import Algorithm

DEFAULT_SCP02_I = 0x15


class HostChannel:
    """One secure channel session, terminal side.

    ``i`` matters only for SCP02, whose answer does not carry it (default ``15``); for SCP03 the
    card reports it, and a given ``i`` must then match. ``key_version`` 0 lets the card choose.
    """

    def __init__(
        self, scp: Scp, level: SecurityLevel, *, i: int | None = None, key_version: int = 0
    ) -> None:
        try:
            self._scp = Scp(scp)
        except ValueError:
            raise ChannelUsageError(f"scp: expected Scp.SCP02 or Scp.SCP03, got {scp!r}") from None
        self._level = check_level(self._scp, level)
        if self._scp is Scp.SCP02:
            i = DEFAULT_SCP02_I if i is None else i
        self._i = None if i is None else check_i(self._scp, i)
        self._key_version = initialize.check_key_version(key_version)
        self._machine = StateMachine(Role.HOST)
        self._host_challenge = b""
        self._challenge: CardChallenge | None = None
        self._messaging: SecureMessaging | None = None

    # -- what the caller may look at ----------------------------------------------------------

    @property
    def state(self) -> ChannelState:
        return self._machine.state

    @property
    def scp(self) -> Scp:
        return self._scp

    @property
    def level(self) -> SecurityLevel:
        return self._level

    @property
    def i(self) -> int | None:
        """The ``i`` parameter in use (SCP03: known once the card answered)."""
        return self._i

    @property
    def card_challenge(self) -> CardChallenge | None:
        """The card's answer to INITIALIZE UPDATE, once received."""
        return self._challenge

    @property
    def max_command_data(self) -> int:
        """The most plaintext data one wrapped short command carries at this level."""
        return max_command_data(self._scp, self._level)

    @property
    def sensitive_block_size(self) -> int:
        """The DEK's cipher block: encrypted sensitive values are padded to it."""
        return cipher_block_size(self._scp)

    # -- opening --------------------------------------------------------------------------------

    def initialize_update(self, host_challenge: bytes) -> CommandApdu:
        """The INITIALIZE UPDATE command carrying ``host_challenge`` (8 random bytes)."""
        self._machine.check(Event.INITIALIZE_UPDATE)
        command = initialize.initialize_update(host_challenge, self._key_version)
        self._host_challenge = bytes(host_challenge)
        self._machine.advance(Event.INITIALIZE_UPDATE)
        return command

    def receive_initialize_update(self, response: ResponseApdu) -> CardChallenge:
        """Read the card's answer; the caller then derives the card's keys and calls ``authenticate``."""
        self._machine.check(Event.CARD_CHALLENGE)
        with self._machine.failing():
            response.raise_for_status()
            challenge = CardChallenge.decode(response.data)
            if challenge.scp is not self._scp:
                raise MalformedResponse(f"the card answered {challenge.scp.name}, {self._scp.name} was asked for")
            if self._key_version and challenge.key_version != self._key_version:
                raise MalformedResponse(
                    f"the card used key version {challenge.key_version:02X}, {self._key_version:02X} was asked for"
                )
            if self._scp is Scp.SCP03:
                assert challenge.i is not None  # CardChallenge guarantees it for SCP03
                if self._i is not None and challenge.i != self._i:
                    raise MalformedResponse(f"the card reports i={challenge.i:02X}, {self._i:02X} was expected")
                self._i = challenge.i
                if not level_offered(self._scp, challenge.i, self._level):
                    raise ChannelUsageError(
                        f"the card (i={challenge.i:02X}) does not offer security level {int(self._level):02X}"
                    )
        self._challenge = challenge
        self._machine.advance(Event.CARD_CHALLENGE)
        return challenge

    def authenticate(self, keys: StaticKeys) -> CommandApdu:
        """Check the card cryptogram with ``keys``; return the EXTERNAL AUTHENTICATE to send."""
        self._machine.check(Event.EXTERNAL_AUTHENTICATE)
        challenge = self._challenge
        assert challenge is not None  # the state machine guarantees it
        if not isinstance(keys, StaticKeys):
            raise ChannelUsageError(f"keys: expected StaticKeys, got {type(keys).__name__}")
        wanted = Algorithm.DES3 if self._scp is Scp.SCP02 else Algorithm.AES
        if keys.algorithm is not wanted:
            raise ChannelUsageError(f"keys: {self._scp.name} needs {wanted.value} keys, got {keys.algorithm.value}")
        with self._machine.failing():
            hc, cc = self._host_challenge, challenge.card_challenge
            messaging: SecureMessaging
            if self._scp is Scp.SCP02:
                counter = challenge.sequence_counter or b""
                session = scp02.derive_session_keys(keys, counter)
                expected = scp02.card_cryptogram(session, hc, counter, cc)
                host_cryptogram = scp02.host_cryptogram(session, hc, counter, cc)
                messaging = scp02.Scp02Messaging(session)
            else:
                session = scp03.derive_session_keys(keys, hc, cc)
                expected = scp03.card_cryptogram(session, hc, cc)
                host_cryptogram = scp03.host_cryptogram(session, hc, cc)
                messaging = scp03.Scp03Messaging(session)
            if not hmac.compare_digest(expected, challenge.card_cryptogram):
                raise CardAuthenticationFailed(
                    "the card cryptogram does not verify: wrong keys or diversification, or another card"
                )
            command = messaging.protect_command(initialize.external_authenticate(self._level, host_cryptogram))
        self._messaging = messaging
        self._machine.advance(Event.EXTERNAL_AUTHENTICATE)
        return command

    def receive_external_authenticate(self, response: ResponseApdu) -> None:
        """Accept the card's answer to EXTERNAL AUTHENTICATE; the channel is then open."""
        self._machine.check(Event.AUTHENTICATED)
        if response.sw != 0x9000:
            self._machine.fail()
            raise ExternalAuthenticationRejected(response.sw)
        assert self._messaging is not None
        self._messaging.activate(self._level)
        self._machine.advance(Event.AUTHENTICATED)

    # -- using ----------------------------------------------------------------------------------

    def wrap(self, command: CommandApdu) -> CommandApdu:
        """Protect a plain command at the channel's level (the response must be unwrapped next)."""
        self._machine.check(Event.WRAP)
        assert self._messaging is not None
        wrapped = self._messaging.protect_command(command)
        self._machine.advance(Event.WRAP)
        return wrapped

    def unwrap(self, response: ResponseApdu) -> ResponseApdu:
        """Check and strip the R-MAC (and R-ENC) of the answer to the last wrapped command."""
        self._machine.check(Event.UNWRAP)
        assert self._messaging is not None
        with self._machine.failing():
            plain = self._messaging.verify_response(response)
        self._machine.advance(Event.UNWRAP)
        return plain

    def encrypt_sensitive(self, data: bytes) -> bytes:
        """Encrypt a sensitive value (a CPS DGI, a key) under this session's DEK."""
        if self.state in (ChannelState.CLOSED, ChannelState.FAILED):
            raise ChannelClosed(f"the channel is {self.state.value}: open a new one")
        if self._messaging is None or self.state not in (ChannelState.OPEN, ChannelState.EXCHANGING):
            raise ChannelUsageError("sensitive data is encrypted only in an open channel")
        return self._messaging.encrypt_sensitive(data)

    def close(self) -> None:
        """End the session on this side (idempotent); the channel refuses further use."""
        self._machine.close()
        self._messaging = None

    def __repr__(self) -> str:
        i = "?" if self._i is None else f"{self._i:02X}"
        return f"<HostChannel {self._scp.name} i={i} level={int(self._level):02X} {self.state.value}>"

