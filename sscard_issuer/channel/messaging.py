"""What SCP02 and SCP03 both do once keys are agreed: protect and check commands and responses.

One object per side of one session. The host calls ``protect_command`` and ``verify_response``;
the card calls ``verify_command`` and ``protect_response``; both run the same computation, so a
host and a card built from this module agree by construction, and the published vectors pin the
host side. Before ``activate`` only C-MAC is applied (EXTERNAL AUTHENTICATE itself); afterwards
the session's security level.
"""

from __future__ import annotations

import abc

from sscard_issuer.apdu import CommandApdu, ResponseApdu
from sscard_issuer.channel.errors import ChannelUsageError, CommandMacInvalid, ResponseMacInvalid
from sscard_issuer.channel.keys import SessionKeys
from sscard_issuer.channel.params import MAC_LENGTH, SHORT_DATA_MAX, SecurityLevel
from sscard_issuer.crypto import CryptoError, pad, unpad_method2

SM_CLA_BIT = 0x04


def response_is_protected(sw: int) -> bool:
    """R-MAC (and R-ENC) cover successful answers and warnings, never errors (GP Amd D 6.2.5)."""
    return sw == 0x9000 or sw >> 8 in (0x62, 0x63)


def pad_if_unaligned(data: bytes, block: int) -> bytes:
    """Sensitive data padding as EMV CPS does it: method 2 only when not already block-aligned."""
    return data if len(data) % block == 0 else pad(data, block, 2)


def unpad_or_fail(data: bytes, block: int, error: type[Exception], what: str) -> bytes:
    try:
        return unpad_method2(data, block)
    except CryptoError:
        raise error(f"{what}: the decrypted data is not padded as the protocol requires") from None


class SecureMessaging(abc.ABC):
    """The per-session MAC chain, counters and ciphers of one secure channel protocol."""

    block_size: int

    def __init__(self, session: SessionKeys) -> None:
        self._session = session
        self._level: SecurityLevel | None = None

    @property
    def session_keys(self) -> SessionKeys:
        return self._session

    def activate(self, level: SecurityLevel) -> None:
        """Apply ``level`` from the next command on (after EXTERNAL AUTHENTICATE succeeded)."""
        self._level = level

    @property
    def _c_dec(self) -> bool:
        return self._level is not None and self._level.c_dec

    @property
    def _r_mac(self) -> bool:
        return self._level is not None and self._level.r_mac

    @property
    def _r_enc(self) -> bool:
        return self._level is not None and self._level.r_enc

    # -- host ------------------------------------------------------------------------------

    @abc.abstractmethod
    def protect_command(self, command: CommandApdu) -> CommandApdu:
        """C-DECRYPTION (if on) and C-MAC; the CLA gets the secure messaging bit."""

    @abc.abstractmethod
    def verify_response(self, response: ResponseApdu) -> ResponseApdu:
        """Check the R-MAC and undo R-ENC (if on); raise :class:`ResponseMacInvalid`."""

    # -- card ------------------------------------------------------------------------------

    @abc.abstractmethod
    def verify_command(self, command: CommandApdu) -> CommandApdu:
        """Check the C-MAC, undo C-DECRYPTION; raise :class:`CommandMacInvalid`."""

    @abc.abstractmethod
    def protect_response(self, data: bytes, sw: int) -> bytes:
        """The response data to send: R-ENC and R-MAC applied where the level says."""

    # -- sensitive data (STORE DATA DGIs, keys) ---------------------------------------------

    @abc.abstractmethod
    def encrypt_sensitive(self, data: bytes) -> bytes:
        """Encrypt one sensitive value under the DEK (padded only when not block-aligned)."""

    @abc.abstractmethod
    def decrypt_sensitive(self, data: bytes) -> bytes:
        """Decrypt one sensitive value; the padding, if any, is left for the application."""

    # -- shared checks -----------------------------------------------------------------------

    @staticmethod
    def check_wrappable(command: CommandApdu, room: int) -> None:
        if command.cla & SM_CLA_BIT:
            raise ChannelUsageError(f"cla {command.cla:02X}: already marked as secure messaging")
        if command.extended:
            raise ChannelUsageError("extended-length commands are not wrapped by this channel")
        if len(command.data) > room:
            raise ChannelUsageError(
                f"data: at most {room} bytes fit one wrapped command at this level, got {len(command.data)}"
            )

    @staticmethod
    def split_mac(command: CommandApdu) -> tuple[bytes, bytes]:
        if not command.cla & SM_CLA_BIT or len(command.data) < MAC_LENGTH:
            raise CommandMacInvalid("the command carries no C-MAC")
        return command.data[:-MAC_LENGTH], command.data[-MAC_LENGTH:]

    @staticmethod
    def split_rmac(response: ResponseApdu) -> tuple[bytes, bytes]:
        if len(response.data) < MAC_LENGTH:
            raise ResponseMacInvalid("the response carries no R-MAC")
        return response.data[:-MAC_LENGTH], response.data[-MAC_LENGTH:]

    @staticmethod
    def lc_byte(length: int) -> bytes:
        if length > SHORT_DATA_MAX:
            raise CommandMacInvalid(f"wrapped data of {length} bytes does not fit a short command")
        return bytes((length,))
