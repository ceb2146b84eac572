"""Edges to a card: PC/SC through pyscard, or a simulated card in this process.

Every transport follows the same exchange rules (``61xx``/``6Cxx`` in :mod:`sscard_issuer.apdu`)
through :class:`Transport`; a trace (:class:`ApduTrace`) records each exchange with PINs and keys
redacted. Failures are the typed errors of :mod:`sscard_issuer.transport.errors`.
"""

from sscard_issuer.transport.base import Transport
from sscard_issuer.transport.errors import (
    CardMute,
    CardRemoved,
    NoCard,
    NoReaders,
    ReaderNotFound,
    ServiceUnavailable,
    TransportClosed,
    TransportError,
)
from sscard_issuer.transport.inprocess import InProcessTransport, VirtualCard
from sscard_issuer.transport.pcsc import PcscTransport, list_readers, wait_for_reader_state
from sscard_issuer.transport.trace import ApduTrace, TraceEntry

__all__ = [
    "ApduTrace",
    "CardMute",
    "CardRemoved",
    "InProcessTransport",
    "NoCard",
    "NoReaders",
    "PcscTransport",
    "ReaderNotFound",
    "ServiceUnavailable",
    "TraceEntry",
    "Transport",
    "TransportClosed",
    "TransportError",
    "VirtualCard",
    "list_readers",
    "wait_for_reader_state",
]
