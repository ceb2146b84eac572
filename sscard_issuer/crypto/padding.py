"""ISO/IEC 9797-1 padding methods 1, 2 and 3, the three a card MAC may specify."""

from __future__ import annotations

from sscard_issuer.crypto.errors import CryptoError

PADDING_METHODS = (1, 2, 3)


def _check_block_size(block_size: int) -> None:
    if block_size not in (8, 16):
        raise CryptoError(f"block size must be 8 or 16 bytes, got {block_size!r}")


def pad(data: bytes, block_size: int, method: int) -> bytes:
    """Pad ``data`` to a whole number of blocks by ISO/IEC 9797-1 padding ``method``.

    1: zero bytes, none if already aligned; empty data becomes one zero block (the 2011 edition's
    rule, so that a MAC over nothing is still defined).
    2: 0x80 then zero bytes; always adds at least one byte, so it can be removed unambiguously.
    3: method 1 without the empty-data rule, preceded by a block holding the data length in bits
    (big-endian, right-aligned) so that messages differing only in trailing zeros differ.
    """
    _check_block_size(block_size)
    if not isinstance(data, (bytes, bytearray)):
        raise CryptoError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if method == 1:
        if not data:
            return bytes(block_size)
        return data + bytes(-len(data) % block_size)
    if method == 2:
        padded = data + b"\x80"
        return padded + bytes(-len(padded) % block_size)
    if method == 3:
        length_block = (len(data) * 8).to_bytes(block_size, "big")
        return length_block + data + bytes(-len(data) % block_size)
    raise CryptoError(f"padding method must be 1, 2 or 3 (ISO/IEC 9797-1), got {method!r}")


def unpad_method2(data: bytes, block_size: int) -> bytes:
    """Remove ISO/IEC 9797-1 method 2 padding, refusing anything that was not padded that way.

    The padding must lie in the last block: a longer run of zeros means the data was not padded
    by method 2 and is reported, not guessed at.
    """
    _check_block_size(block_size)
    if not data or len(data) % block_size:
        raise CryptoError(
            f"padded data must be a non-empty multiple of {block_size} bytes, got {len(data)}"
        )
    stripped = bytes(data).rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80 or len(data) - len(stripped) >= block_size:
        raise CryptoError("invalid ISO/IEC 9797-1 padding method 2")
    return stripped[:-1]
