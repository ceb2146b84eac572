"""EMV Card Personalization Specification (CPS 1.1): data grouping identifiers and STORE DATA.

A DGI is a 2-byte number, a length (1 byte for 0..254, else ``FF`` and 2 bytes) and the data.
Sensitive DGIs are sent encrypted under the channel's DEK, each DGI's data on its own; by CPS
convention they are the ``8xxx`` DGIs (keys 8000, PIN 8010, RSA CRT parts 8201..8205), while
``9xxx`` DGIs (9000 key check values, 9010 PIN try limit, 9102/9103 select and GPO answers) go in
clear. ``Dgi(encrypted=...)`` overrides the convention for one DGI.

STORE DATA (``80 E2 P1 P2``, no Le): the encoded DGIs form one stream, cut into blocks that are
all full except the last (the fewest commands, as GlobalPlatformPro sends a stream), so a DGI may
span blocks and the card reassembles it. P1 b8 marks the last block; b7-b6 say what the block
carries: ``00`` nothing encrypted, ``01`` (20) some encrypted DGIs, ``11`` (60) only encrypted
DGIs. P2 numbers the blocks from 00.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sscard_issuer.apdu import CommandApdu
from sscard_issuer.channel.params import Scp, SecurityLevel, cipher_block_size, max_command_data
from sscard_issuer.errors import SscardError

CLA_GP = 0x80
INS_STORE_DATA = 0xE2
P1_LAST_BLOCK = 0x80
P1_SOME_ENCRYPTED = 0x20
P1_ALL_ENCRYPTED = 0x60
P1_ENCRYPTION_MASK = 0x60
MAX_DGI_LENGTH = 0xFFFF
MAX_BLOCKS = 256  # P2 is one byte


class CpsError(SscardError, ValueError):
    """DGI data or a STORE DATA sequence that does not follow CPS; says what and where."""


def is_sensitive(number: int) -> bool:
    """CPS convention: ``8xxx`` DGIs carry data that is sent encrypted under the DEK."""
    return 0x8000 <= number <= 0x8FFF


def encode_length(length: int) -> bytes:
    """A DGI length: one byte for 0..254, ``FF`` and two bytes for 255..65535."""
    if not 0 <= length <= MAX_DGI_LENGTH:
        raise CpsError(f"DGI length: expected 0..{MAX_DGI_LENGTH}, got {length}")
    return bytes((length,)) if length < 0xFF else b"\xff" + length.to_bytes(2, "big")


def encoded_size(data_length: int) -> int:
    """How many bytes a DGI with ``data_length`` bytes of data takes in the stream."""
    return 2 + len(encode_length(data_length)) + data_length


def encrypted_length(length: int, block: int) -> int:
    """The data length after encryption: padded to ``block`` only when not already aligned."""
    return -(-length // block) * block


@dataclass(frozen=True, repr=False)
class Dgi:
    """One data grouping: ``number`` (0000..FFFF), ``data``, and whether it travels encrypted."""

    number: int
    data: bytes
    encrypted: bool | None = None

    def __post_init__(self) -> None:
        if isinstance(self.number, bool) or not isinstance(self.number, int) or not 0 <= self.number <= 0xFFFF:
            raise CpsError(f"DGI number: expected 0000..FFFF, got {self.number!r}")
        if not isinstance(self.data, (bytes, bytearray)):
            raise CpsError(f"DGI {self.number:04X} data: expected bytes, got {type(self.data).__name__}")
        object.__setattr__(self, "data", bytes(self.data))
        if len(self.data) > MAX_DGI_LENGTH:
            raise CpsError(f"DGI {self.number:04X}: at most {MAX_DGI_LENGTH} bytes, got {len(self.data)}")
        if self.encrypted is None:
            object.__setattr__(self, "encrypted", is_sensitive(self.number))

    @property
    def sensitive(self) -> bool:
        return bool(self.encrypted)

    def encode(self) -> bytes:
        """Number, length, data (as given: encryption is the channel's job)."""
        return self.number.to_bytes(2, "big") + encode_length(len(self.data)) + self.data

    def __repr__(self) -> str:
        shown = f"<{len(self.data)} bytes redacted>" if self.sensitive else self.data.hex().upper()
        return f"Dgi({self.number:04X}, {shown}{', encrypted' if self.sensitive else ''})"


def encode_dgis(dgis: Sequence[Dgi]) -> bytes:
    """The DGIs one after the other, as they are (no encryption)."""
    return b"".join(d.encode() for d in dgis)


def decode_dgis(raw: bytes) -> list[Dgi]:
    """Parse a complete DGI stream; :class:`CpsError` names the offset of what does not fit."""
    receiver = _Reassembler()
    dgis = receiver.feed(bytes(raw))
    if receiver.pending:
        raise CpsError(f"DGI stream ends inside a DGI ({receiver.pending} bytes left over)")
    return dgis


def _segments(dgis: Sequence[Dgi], encrypt: Callable[[bytes], bytes] | None) -> list[tuple[bytes, bool]]:
    out = []
    for dgi in dgis:
        if dgi.sensitive:
            if encrypt is None:
                raise CpsError(f"DGI {dgi.number:04X} is sensitive: STORE DATA needs the channel's DEK")
            dgi = Dgi(dgi.number, encrypt(dgi.data), encrypted=True)
        out.append((dgi.encode(), dgi.sensitive))
    return out


def store_data_commands(
    dgis: Sequence[Dgi], *, capacity: int, encrypt: Callable[[bytes], bytes] | None = None
) -> list[CommandApdu]:
    """The plain STORE DATA commands (to be wrapped by the channel) carrying ``dgis``.

    ``capacity``: data bytes per command (:func:`max_command_data` of the channel's level).
    ``encrypt``: the channel's ``encrypt_sensitive``; required when a DGI is sensitive.
    Commands that carry encrypted DGIs are marked ``sensitive`` so traces redact them.
    """
    if not 1 <= capacity <= 255:
        raise CpsError(f"capacity: expected 1..255 bytes per command, got {capacity}")
    segments = _segments(dgis, encrypt)
    stream = b"".join(data for data, _ in segments)
    count = -(-len(stream) // capacity)
    if count > MAX_BLOCKS:
        raise CpsError(f"{count} STORE DATA blocks needed, P2 numbers at most {MAX_BLOCKS}")
    spans: list[tuple[int, int, bool]] = []
    offset = 0
    for data, encrypted in segments:
        spans.append((offset, offset + len(data), encrypted))
        offset += len(data)
    commands = []
    for number in range(count):
        start, end = number * capacity, min((number + 1) * capacity, len(stream))
        touched = [enc for s, e, enc in spans if s < end and e > start]
        p1 = P1_ALL_ENCRYPTED if all(touched) else P1_SOME_ENCRYPTED if any(touched) else 0
        if number == count - 1:
            p1 |= P1_LAST_BLOCK
        commands.append(CommandApdu(CLA_GP, INS_STORE_DATA, p1, number, stream[start:end], sensitive=any(touched)))
    return commands


def count_store_data_blocks(dgis: Sequence[Dgi], *, capacity: int, cipher_block_size: int) -> int:
    """How many STORE DATA commands :func:`store_data_commands` sends for ``dgis`` (0 for none).

    ``cipher_block_size`` is the DEK's block (8 for SCP02, 16 for SCP03): encrypted data grows
    to it. Pure arithmetic, no keys needed.
    """
    if not 1 <= capacity <= 255:
        raise CpsError(f"capacity: expected 1..255 bytes per command, got {capacity}")
    total = 0
    for dgi in dgis:
        length = encrypted_length(len(dgi.data), cipher_block_size) if dgi.sensitive else len(dgi.data)
        total += encoded_size(length)
    return -(-total // capacity)


def store_data_block_count(dgis: Sequence[Dgi], scp: Scp, level: SecurityLevel) -> int:
    """:func:`count_store_data_blocks` for a channel of this protocol and level."""
    return count_store_data_blocks(
        dgis, capacity=max_command_data(scp, level), cipher_block_size=cipher_block_size(scp)
    )


class _Reassembler:
    """DGIs from a byte stream that may be cut anywhere."""

    def __init__(self) -> None:
        self._buffer = b""

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Dgi]:
        self._buffer += data
        out = []
        while len(self._buffer) >= 3:
            header = 3
            length = self._buffer[2]
            if length == 0xFF:
                if len(self._buffer) < 5:
                    break
                header = 5
                length = int.from_bytes(self._buffer[3:5], "big")  # a non-minimal FF 00xx is accepted
            if len(self._buffer) < header + length:
                break
            number = int.from_bytes(self._buffer[:2], "big")
            out.append(Dgi(number, self._buffer[header : header + length]))
            self._buffer = self._buffer[header + length :]
        return out


@dataclass(frozen=True)
class StoreDataBlock:
    """What one STORE DATA command delivered: the DGIs it completed (encrypted ones still so)."""

    dgis: tuple[Dgi, ...]
    encryption: int  # P1 b7-b6: 0, P1_SOME_ENCRYPTED or P1_ALL_ENCRYPTED
    last: bool


class StoreDataReceiver:
    """Card side: checks the block sequence and reassembles DGIs across STORE DATA commands."""

    def __init__(self) -> None:
        self._next_block = 0
        self._finished = False
        self._reassembler = _Reassembler()

    @property
    def finished(self) -> bool:
        return self._finished

    def receive(self, command: CommandApdu) -> StoreDataBlock:
        if self._finished:
            raise CpsError("STORE DATA after the last block")
        if command.p2 != self._next_block:
            raise CpsError(f"STORE DATA block {command.p2:02X}, expected {self._next_block:02X}")
        if command.p1 & 0x1F:
            raise CpsError(f"STORE DATA P1 {command.p1:02X}: bits b5-b1 are RFU")
        encryption = command.p1 & P1_ENCRYPTION_MASK
        if encryption == 0x40:
            raise CpsError("STORE DATA P1 encryption indicator 10 is RFU")
        last = bool(command.p1 & P1_LAST_BLOCK)
        dgis = self._reassembler.feed(command.data)
        if last and self._reassembler.pending:
            raise CpsError("the last STORE DATA block ends inside a DGI")
        self._next_block += 1
        self._finished = last
        return StoreDataBlock(tuple(dgis), encryption, last)
