"""The card's side of a GlobalPlatform secure channel (the simulator's security domain runs it).

The same computations as :class:`~sscard_issuer.channel.host.HostChannel`, in the other role:
answer INITIALIZE UPDATE, check EXTERNAL AUTHENTICATE, then check and strip every command
(``unwrap``) and protect every answer (``wrap``). Still no I/O: the applet that hosts it keeps
the sequence counter and supplies the card challenge. Any MAC or cryptogram failure fails the
channel for good; the applet answers with the status word its error stands for and starts a new
channel at the next INITIALIZE UPDATE.
"""

from __future__ import annotations

import hmac

from sscard_issuer.apdu import CommandApdu
from sscard_issuer.channel import scp02, scp03
from sscard_issuer.channel.errors import (
    ChannelUsageError,
    HostAuthenticationFailed,
    KeyVersionNotFound,
    SecurityLevelNotSupported,
)
from sscard_issuer.channel.initialize import (
    HOST_CHALLENGE_LENGTH,
    INS_EXTERNAL_AUTHENTICATE,
    KDD_LENGTH,
    CardChallenge,
)
from sscard_issuer.channel.keys import StaticKeys
from sscard_issuer.channel.messaging import SecureMessaging
from sscard_issuer.channel.params import Scp, SecurityLevel, check_i, level_offered
from sscard_issuer.channel.state import ChannelState, Event, Role, StateMachine
from sscard_issuer.crypto import Algorithm


class CardChannel:
    """One secure channel session, card side, for a security domain with these keys and ``i``."""

    def __init__(
        self,
        scp: Scp,
        keys: StaticKeys,
        *,
        i: int,
        key_version: int,
        key_diversification_data: bytes,
    ) -> None:
        self._scp = Scp(scp)
        self._i = check_i(self._scp, i)
        wanted = Algorithm.DES3 if self._scp is Scp.SCP02 else Algorithm.AES
        if not isinstance(keys, StaticKeys) or keys.algorithm is not wanted:
            raise ChannelUsageError(f"keys: {self._scp.name} needs {wanted.value} StaticKeys")
        if len(key_diversification_data) != KDD_LENGTH:
            raise ChannelUsageError(f"key_diversification_data: expected {KDD_LENGTH} bytes")
        if not 1 <= key_version <= 0xFF:
            raise ChannelUsageError(f"key_version: expected 1..255, got {key_version!r}")
        self._keys = keys
        self._key_version = key_version
        self._kdd = bytes(key_diversification_data)
        self._machine = StateMachine(Role.CARD)
        self._messaging: SecureMessaging | None = None
        self._host_cryptogram = b""
        self._level: SecurityLevel | None = None

    @property
    def state(self) -> ChannelState:
        return self._machine.state

    @property
    def level(self) -> SecurityLevel | None:
        """The security level, once EXTERNAL AUTHENTICATE succeeded."""
        return self._level

    def initialize_update(
        self, command: CommandApdu, *, sequence_counter: bytes | None, card_challenge: bytes
    ) -> bytes:
        """The answer to INITIALIZE UPDATE (its data field).

        ``sequence_counter``: SCP02 the counter's 2 bytes; SCP03 its 3 bytes when ``i`` has the
        pseudo-random bit, else None. ``card_challenge``: 6 (SCP02) or 8 (SCP03) bytes, random or
        from :func:`~sscard_issuer.channel.scp03.pseudo_random_card_challenge`.
        """
        self._machine.check(Event.INITIALIZE_UPDATE)
        if len(command.data) != HOST_CHALLENGE_LENGTH:
            raise ChannelUsageError(f"INITIALIZE UPDATE carries {HOST_CHALLENGE_LENGTH} bytes")
        if command.p1 not in (0, self._key_version):
            raise KeyVersionNotFound(f"key version {command.p1:02X} is not on this card")
        host_challenge = command.data
        with self._machine.failing():
            messaging: SecureMessaging
            if self._scp is Scp.SCP02:
                counter = sequence_counter or b""
                session = scp02.derive_session_keys(self._keys, counter)
                cryptogram = scp02.card_cryptogram(session, host_challenge, counter, card_challenge)
                self._host_cryptogram = scp02.host_cryptogram(session, host_challenge, counter, card_challenge)
                messaging = scp02.Scp02Messaging(session)
                i: int | None = None
            else:
                session = scp03.derive_session_keys(self._keys, host_challenge, card_challenge)
                cryptogram = scp03.card_cryptogram(session, host_challenge, card_challenge)
                self._host_cryptogram = scp03.host_cryptogram(session, host_challenge, card_challenge)
                messaging = scp03.Scp03Messaging(session)
                i = self._i
            answer = CardChallenge(self._kdd, self._key_version, self._scp, i, sequence_counter,
                                   card_challenge, cryptogram).encode()
        self._messaging = messaging
        self._machine.advance(Event.INITIALIZE_UPDATE)
        return answer

    def external_authenticate(self, command: CommandApdu) -> None:
        """Check the C-MAC, the level and the host cryptogram; open the channel or fail it."""
        self._machine.check(Event.EXTERNAL_AUTHENTICATE)
        assert self._messaging is not None
        with self._machine.failing():
            plain = self._messaging.verify_command(command)
            if plain.ins != INS_EXTERNAL_AUTHENTICATE:
                raise ChannelUsageError("EXTERNAL AUTHENTICATE expected")
            try:
                level = SecurityLevel(plain.p1)
            except ValueError:
                raise SecurityLevelNotSupported(f"security level {plain.p1:02X} is not defined here") from None
            if not level_offered(self._scp, self._i, level):
                raise SecurityLevelNotSupported(f"this card (i={self._i:02X}) does not offer level {plain.p1:02X}")
            if not hmac.compare_digest(plain.data, self._host_cryptogram):
                raise HostAuthenticationFailed("the host cryptogram does not verify")
        self._messaging.activate(level)
        self._level = level
        self._machine.advance(Event.EXTERNAL_AUTHENTICATE)

    def unwrap(self, command: CommandApdu) -> CommandApdu:
        """Check the C-MAC (and decrypt) of a command; its answer must go through ``wrap``."""
        self._machine.check(Event.UNWRAP)
        assert self._messaging is not None
        with self._machine.failing():
            plain = self._messaging.verify_command(command)
        self._machine.advance(Event.UNWRAP)
        return plain

    def wrap(self, data: bytes, sw: int = 0x9000) -> bytes:
        """The answer's data field with R-ENC and R-MAC applied (errors are sent as they are)."""
        self._machine.check(Event.WRAP)
        assert self._messaging is not None
        protected = self._messaging.protect_response(bytes(data), sw)
        self._machine.advance(Event.WRAP)
        return protected

    def decrypt_sensitive(self, data: bytes) -> bytes:
        """Decrypt a value the host encrypted under the DEK (a sensitive DGI)."""
        if self._messaging is None or self.state not in (ChannelState.OPEN, ChannelState.EXCHANGING):
            raise ChannelUsageError("sensitive data is decrypted only in an open channel")
        return self._messaging.decrypt_sensitive(data)

    def close(self) -> None:
        self._machine.close()
        self._messaging = None

    def __repr__(self) -> str:
        return f"<CardChannel {self._scp.name} i={self._i:02X} {self.state.value}>"
