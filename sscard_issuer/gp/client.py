"""The terminal's GlobalPlatform client: a secure channel to the card manager over a Transport.

Every byte is built by :mod:`sscard_issuer.channel` (pure protocol); this module only moves the
commands through a :class:`~sscard_issuer.transport.Transport` and keeps the session together::

    gp = GpClient(transport)
    gp.select_isd()
    gp.open(keys, Scp.SCP03, SecurityLevel.CMAC_CDEC)
    gp.install_for_personalization(BANK_AID)
    gp.store_data([Dgi(0x0201, record), Dgi(0x8000, card_keys)])
    gp.close()

``keys`` is either the card's :class:`StaticKeys` or a function from the key diversification data
the card answers to them (``lambda kdd: store.gp_static_keys(Algorithm.AES, "kdf3", kdd)``).
A transport failure, a bad MAC or a refused authentication closes the channel: open a new one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from types import TracebackType

from sscard_issuer.apdu import CommandApdu, ResponseApdu, select_by_name
from sscard_issuer.card import ssc
from sscard_issuer.channel import (
    ISD_AID,
    SW_MORE_ENTRIES,
    SW_NO_ENTRIES,
    ChannelUsageError,
    Dgi,
    HostChannel,
    RegistryEntry,
    RegistryKind,
    Scp,
    SecurityLevel,
    StaticKeys,
    decode_status,
    get_status,
    install_for_personalization,
    store_data_commands,
)
from sscard_issuer.transport.base import Transport

KeySource = StaticKeys | Callable[[bytes], StaticKeys]
HOST_CHALLENGE_LENGTH = 8


class GpClient:
    """One card manager session over ``transport`` (which the caller owns and closes)."""

    def __init__(self, transport: Transport, *, isd_aid: bytes = ISD_AID) -> None:
        self._transport = transport
        self._isd_aid = bytes(isd_aid)
        self._channel: HostChannel | None = None

    @property
    def channel(self) -> HostChannel | None:
        """The open channel (None before ``open`` and after ``close``)."""
        return self._channel

    def select_isd(self) -> bytes:
        """SELECT the issuer security domain; return its FCI. Ends any open channel."""
        self.close()
        return self._transport.send_checked(select_by_name(self._isd_aid, le=256)).data

    def open(
        self,
        keys: KeySource,
        scp: Scp,
        level: SecurityLevel,
        host_challenge: bytes | None = None,
        *,
        i: int | None = None,
        key_version: int = 0,
    ) -> HostChannel:
        """INITIALIZE UPDATE and EXTERNAL AUTHENTICATE; the ISD must be selected.

        ``host_challenge`` None draws 8 random bytes (tests pass their own).
        """
        self.close()
        channel = HostChannel(scp, level, i=i, key_version=key_version)
        challenge = os.urandom(HOST_CHALLENGE_LENGTH) if host_challenge is None else host_challenge
        try:
            answer = channel.receive_initialize_update(self._transport.send(channel.initialize_update(challenge)))
            card_keys = keys if isinstance(keys, StaticKeys) else keys(answer.key_diversification_data)
            external = channel.authenticate(card_keys)
            channel.receive_external_authenticate(self._transport.send(external))
        except BaseException:
            channel.close()
            raise
        self._channel = channel
        return channel

    def _open_channel(self) -> HostChannel:
        if self._channel is None:
            raise ChannelUsageError("no secure channel: call open() first")
        return self._channel

    def send(self, command: CommandApdu) -> ResponseApdu:
        """Wrap ``command``, send it, unwrap the answer (any status word is returned, not raised)."""
        channel = self._open_channel()
        try:
            wrapped = channel.wrap(command)
            if wrapped.le is None:
                # with R-MAC the answer carries data: ask for it now rather than after a 61xx
                wrapped = wrapped.with_le(256)
            return channel.unwrap(self._transport.send(wrapped))
        except BaseException:
            self.close()
            raise

    def send_checked(self, command: CommandApdu) -> ResponseApdu:
        """:meth:`send`, then the typed card error unless the card answered 9000."""
        return self.send(command).raise_for_status()

    def list_applications(self) -> list[RegistryEntry]:
        """GET STATUS of the ISD and of the applications (tagged format), following 6310."""
        entries: list[RegistryEntry] = []
        for kind in (RegistryKind.ISSUER_SECURITY_DOMAIN, RegistryKind.APPLICATIONS):
            command = get_status(kind)
            while True:
                response = self.send(command)
                if response.sw == SW_NO_ENTRIES:
                    break
                if response.sw not in (0x9000, SW_MORE_ENTRIES):
                    response.raise_for_status()
                entries.extend(decode_status(kind, response.data))
                if response.sw != SW_MORE_ENTRIES:
                    break
                command = get_status(kind, next_occurrence=True)
        return entries

    def install_for_personalization(self, aid: bytes) -> None:
        """INSTALL [for personalization]: the following STORE DATA go to ``aid``."""
        self.send_checked(install_for_personalization(aid))

    def store_data(self, dgis: Sequence[Dgi]) -> int:
        """Send ``dgis`` in the fewest STORE DATA commands (sensitive ones encrypted); return how many."""
        channel = self._open_channel()
        commands = store_data_commands(dgis, capacity=channel.max_command_data, encrypt=channel.encrypt_sensitive)
        for command in commands:
            self.send_checked(command)
        return len(commands)

    def close(self) -> None:
        """Forget the session (the card ends it at the next SELECT or power-off)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def __enter__(self) -> GpClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def personalise_bank(
    transport: Transport,
    keys: KeySource,
    scp: Scp,
    level: SecurityLevel,
    dgis: Sequence[Dgi],
    target_aid: bytes = ssc.BANK_AID,
) -> int:
    """Personalise the bank application through the card manager; return the APDUs exchanged.

    SELECT ISD, open the channel, INSTALL [for personalization] ``target_aid``, STORE DATA the
    DGIs, close. The count is the transport's (GET RESPONSE rounds included).
    """
    before = transport.apdu_count
    with GpClient(transport) as gp:
        gp.select_isd()
        gp.open(keys, scp, level)
        gp.install_for_personalization(target_aid)
        gp.store_data(dgis)
    return transport.apdu_count - before
