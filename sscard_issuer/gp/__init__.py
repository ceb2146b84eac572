"""The terminal side of GlobalPlatform: a card manager client that drives a Transport.

The protocol (secure channels, GP commands, EMV CPS) is :mod:`sscard_issuer.channel`; this
package adds the I/O: :class:`GpClient` and :func:`personalise_bank`.
"""

from sscard_issuer.gp.client import GpClient, KeySource, personalise_bank

__all__ = ["GpClient", "KeySource", "personalise_bank"]
