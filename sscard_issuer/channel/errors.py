"""Typed errors of the secure channel, each saying whose fault it was (as h11 does).

``ChannelUsageError`` is ours: a method called in the wrong state or with input that cannot be
sent. The others are the other side's: a card whose cryptogram or R-MAC is wrong, a host whose
cryptogram or C-MAC is wrong, a response that does not parse. After any MAC or cryptogram
failure the channel is closed for good. Messages never contain key bytes, MACs or cryptograms.
"""

from __future__ import annotations

from sscard_issuer.errors import SscardError


class ChannelError(SscardError):
    """Base of every secure channel error."""


class ChannelUsageError(ChannelError, ValueError):
    """A local mistake: wrong state for this call, a command that cannot be wrapped, bad input."""


class ChannelClosed(ChannelUsageError):
    """The channel was closed or failed; it refuses further use. Open a new one."""


class MalformedResponse(ChannelError):
    """The card's answer does not have the shape the protocol prescribes."""


class CardAuthenticationFailed(ChannelError):
    """The card cryptogram is wrong: wrong keys, wrong diversification, or not the expected card."""


class ExternalAuthenticationRejected(ChannelError):
    """The card refused EXTERNAL AUTHENTICATE (``sw``): it did not accept our host cryptogram."""

    def __init__(self, sw: int) -> None:
        self.sw = sw
        super().__init__(
            f"the card refused EXTERNAL AUTHENTICATE with {sw:04X}: "
            "wrong keys, wrong key version or a security level the card does not offer"
        )

    def __reduce__(self) -> tuple[type[ExternalAuthenticationRejected], tuple[int]]:
        return (type(self), (self.sw,))


class ResponseMacInvalid(ChannelError):
    """A response's R-MAC is missing or does not verify (or its R-ENC padding is broken)."""


class HostAuthenticationFailed(ChannelError):
    """Card role: the host cryptogram in EXTERNAL AUTHENTICATE is wrong (the card answers 6300)."""


class CommandMacInvalid(ChannelError):
    """Card role: a command's C-MAC is missing or wrong, or its encrypted data is malformed."""


class SecurityLevelNotSupported(ChannelError):
    """Card role: EXTERNAL AUTHENTICATE asks for a level the card's ``i`` parameter does not offer."""


class KeyVersionNotFound(ChannelError):
    """Card role: INITIALIZE UPDATE names a key version the card does not hold (6A88)."""
