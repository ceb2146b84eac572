"""Credential status: the IETF Token Status List (draft-ietf-oauth-status-list), JWT form; no I/O.

A status list is a byte array holding 1, 2, 4 or 8 bits per referenced token, packed from the least
significant bit of each byte, compressed with DEFLATE in the zlib format (RFC 1950) and base64url
encoded as ``lst``. The e-card uses 2 bits: :data:`VALID`, :data:`INVALID` (revoked for good) and
:data:`SUSPENDED` (temporary loss).

At ~1e9 credentials one list would be 250 MB raw, so the lists are sharded (``ecard.md``, sizing):
many lists of, say, 1e6 entries, each published at :func:`shard_uri`, and every credential given a
random free (shard, index) by :class:`ShardedIndex`, so neither the list nor the index tells when a
credential was issued and a status change republishes one small list.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
import secrets
import zlib
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Literal

from sscard_issuer.errors import FieldError, SscardError

VALID = 0  # the draft's Status Type values (section "Status Types")
INVALID = 1
SUSPENDED = 2
STATUS_LIST_TYP = "statuslist+jwt"
BITS = (1, 2, 4, 8)

StatusListErrorCode = Literal["bits", "index", "value", "malformed", "too_large", "reference", "full"]

_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_SYSTEM_RANDOM = secrets.SystemRandom()


class StatusListError(SscardError, ValueError):
    """A status list, a status reference or an index choice was refused; ``code`` says why."""

    def __init__(self, code: StatusListErrorCode, message: str) -> None:
        self.code: StatusListErrorCode = code
        super().__init__(f"{code}: {message}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_bits(bits: object) -> int:
    if not _is_int(bits) or bits not in BITS:
        raise StatusListError("bits", f"bits per entry must be one of {BITS}, not {bits!r}")
    assert isinstance(bits, int)
    return bits


class StatusList:
    """The statuses of ``size`` referenced tokens, ``bits`` bits each, all :data:`VALID` at first.

    The array stays a :class:`bytearray`: ``get``/``set`` touch one byte and ``encode`` compresses
    the whole array once, so a list of 1e6 entries encodes in milliseconds.
    """

    __slots__ = ("_bits", "_bytes", "_mask", "_per_byte", "_size")

    def __init__(self, size: int, bits: int = 2) -> None:
        self._bits = _check_bits(bits)
        if not _is_int(size) or size < 1:
            raise FieldError("size", "an integer >= 1", size)
        self._size = size
        self._per_byte = 8 // self._bits
        self._mask = (1 << self._bits) - 1
        self._bytes = bytearray(-(-size // self._per_byte))

    @property
    def bits(self) -> int:
        return self._bits

    @property
    def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"StatusList(size={self._size}, bits={self._bits})"

    def _locate(self, idx: int) -> tuple[int, int]:
        if not _is_int(idx) or not 0 <= idx < self._size:
            raise StatusListError("index", f"index must be an integer in 0..{self._size - 1}, not {idx!r}")
        byte, slot = divmod(idx, self._per_byte)
        return byte, slot * self._bits

    def get(self, idx: int) -> int:
        """The status value at ``idx``."""
        if type(idx) is int and 0 <= idx < self._size:  # what _locate checks, without the call
            bits = self._bits
            return (self._bytes[idx * bits >> 3] >> (idx * bits & 7)) & self._mask
        byte, shift = self._locate(idx)  # refuses it, or an int subclass
        return (self._bytes[byte] >> shift) & self._mask

    def set(self, idx: int, value: int) -> None:
        """Set the status at ``idx`` to ``value`` (0 .. 2**bits - 1)."""
        if not _is_int(value) or not 0 <= value <= self._mask:
            raise StatusListError("value", f"a {self._bits}-bit status is 0..{self._mask}, not {value!r}")
        byte, shift = self._locate(idx)
        self._bytes[byte] = (self._bytes[byte] & ~(self._mask << shift)) | (value << shift)

    def to_bytes(self) -> bytes:
        """The uncompressed byte array (the last byte padded with VALID entries)."""
        return bytes(self._bytes)

    def encode(self) -> str:
        """``lst``: base64url of the zlib-compressed array, at the highest level (as the draft asks)."""
        return base64.urlsafe_b64encode(zlib.compress(self._bytes, 9)).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, lst: str, bits: int, *, max_size: int) -> StatusList:
        """The list behind ``lst``, refusing one that inflates to more than ``max_size`` entries.

        ``max_size`` bounds the decompression (a few bytes of DEFLATE can inflate to gigabytes), so
        it must come from the verifier's configuration, never from the token. The decoded ``size``
        is the byte array's capacity: the issuer's size rounded up to whole bytes.
        """
        bits = _check_bits(bits)
        if not _is_int(max_size) or max_size < 1:
            raise FieldError("max_size", "an integer >= 1", max_size)
        if not isinstance(lst, str) or _B64URL.fullmatch(lst) is None or len(lst) % 4 == 1:
            raise StatusListError("malformed", "lst is not base64url without padding")
        try:
            compressed = base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4))
        except (binascii.Error, ValueError) as exc:  # pragma: no cover - the pattern above rules it out
            raise StatusListError("malformed", "lst is not base64url") from exc
        limit = -(-max_size * bits // 8)
        inflater = zlib.decompressobj()
        try:
            raw = inflater.decompress(compressed, limit + 1)
        except zlib.error as exc:
            raise StatusListError("malformed", "lst is not zlib-compressed data") from exc
        if len(raw) > limit:
            raise StatusListError("too_large", f"lst inflates to more than {max_size} entries")
        if not inflater.eof or inflater.unused_data:
            raise StatusListError("malformed", "lst is a truncated zlib stream or has bytes after it")
        if not raw:
            raise StatusListError("malformed", "lst holds no entry")
        decoded = cls(len(raw) * (8 // bits), bits)
        decoded._bytes[:] = raw
        return decoded


def status_list_claims(
    *, uri: str, lst: StatusList, iat: int, exp: int, ttl: int, iss: str | None = None
) -> dict[str, Any]:
    """The claims of a Status List Token (``typ`` :data:`STATUS_LIST_TYP`), ready to be signed.

    ``sub`` is the list's own URI, which referenced tokens name in their ``status`` claim; ``iss``
    is required by the draft when the referenced tokens carry one, and must then be equal to theirs.
    """
    if not isinstance(uri, str) or not uri:
        raise FieldError("uri", "the status list's URI", uri)
    if not isinstance(lst, StatusList):
        raise FieldError("lst", "a StatusList", type(lst).__name__)
    for name, value in (("iat", iat), ("exp", exp), ("ttl", ttl)):
        if not _is_int(value):
            raise FieldError(name, "an integer (seconds)", value)
    if exp <= iat:
        raise FieldError("exp", f"a time after iat ({iat})", exp)
    if ttl <= 0:
        raise FieldError("ttl", "a positive number of seconds", ttl)
    claims: dict[str, Any] = {} if iss is None else {"iss": iss}
    claims.update(sub=uri, iat=iat, exp=exp, ttl=ttl, status_list={"bits": lst.bits, "lst": lst.encode()})
    return claims


def status_reference(uri: str, idx: int) -> dict[str, Any]:
    """The referenced token's ``status`` claim: ``{"status_list": {"idx": idx, "uri": uri}}``."""
    if not isinstance(uri, str) or not uri:
        raise FieldError("uri", "the status list's URI", uri)
    if not _is_int(idx) or idx < 0:
        raise FieldError("idx", "an integer >= 0", idx)
    return {"status_list": {"idx": idx, "uri": uri}}


def parse_status_reference(claims: Mapping[str, Any]) -> tuple[str, int]:
    """``(uri, idx)`` from a referenced token's claim set: its ``status.status_list`` object.

    Only the whole claim set is taken (not the ``status`` claim alone), so that a token that put
    :func:`status_reference`'s object anywhere but under ``status`` is refused, not half-read.
    """
    # type() first: JSON objects are dicts, and isinstance against the Mapping ABC is slow
    if type(claims) is not dict and not isinstance(claims, Mapping):
        raise StatusListError("reference", "claims must be a JSON object")
    status = claims.get("status")
    reference = status.get("status_list") if type(status) is dict or isinstance(status, Mapping) else None
    if type(reference) is not dict and not isinstance(reference, Mapping):
        raise StatusListError("reference", "no status.status_list object")
    uri, idx = reference.get("uri"), reference.get("idx")
    if not isinstance(uri, str) or not uri:
        raise StatusListError("reference", "status_list.uri must be a non-empty string")
    if not (type(idx) is int or (isinstance(idx, int) and not isinstance(idx, bool))) or idx < 0:
        raise StatusListError("reference", "status_list.idx must be an integer >= 0")
    return uri, idx


def shard_uri(base: str, shard: int) -> str:
    """The URI the status list of ``shard`` is published at: ``<base>/<shard>``."""
    if not isinstance(base, str) or not base:
        raise FieldError("base", "the status lists' base URI", base)
    if not _is_int(shard) or shard < 0:
        raise FieldError("shard", "an integer >= 0", shard)
    return f"{base.rstrip('/')}/{shard}"


def _member_of(taken: AbstractSet[tuple[int, int]]) -> Callable[[int, int], bool]:
    return lambda shard, idx: (shard, idx) in taken


Taken = Callable[[int, int], bool] | AbstractSet[tuple[int, int]]


@dataclass(frozen=True)
class ShardedIndex:
    """``shards`` status lists of ``shard_size`` entries each; picks a random free (shard, index).

    Every free slot is equally likely, so neither the shard nor the index says when a credential
    was issued (draft, privacy considerations: non-sequential indices, several lists).

    Collisions: a pick draws a slot uniformly and draws again while it is taken. With a fraction
    ``f`` of slots taken, a pick costs ``1 / (1 - f)`` draws on average (2 at f = 0.5, 10 at 0.9)
    and fails after ``max_draws`` draws with probability ``f ** max_draws`` (with 64 draws:
    5e-20 at 0.5, 1e-3 at 0.9, 0.04 at 0.95, 0.5 at 0.99), raising ``StatusListError("full")``.
    So plan capacity at about twice the credentials ever issued (indices are not reused), or pass
    ``open_shards`` to draw only from lists that still have room: full shards are then skipped at
    no cost. ``taken`` is advisory when several issuers pick at once: the registry's unique
    constraint on (shard, index) decides, and the loser picks again.
    """

    shards: int
    shard_size: int
    max_draws: int = 64

    def __post_init__(self) -> None:
        for name in ("shards", "shard_size", "max_draws"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise FieldError(name, "an integer >= 1", value)

    @property
    def capacity(self) -> int:
        return self.shards * self.shard_size

    def pick_index(
        self,
        taken: Taken,
        rng: random.Random | None = None,
        *,
        open_shards: Sequence[int] | None = None,
    ) -> tuple[int, int]:
        """A random (shard, index) for which ``taken`` is false (a callable or a set of pairs).

        ``rng`` defaults to :class:`secrets.SystemRandom`; tests pass a seeded ``random.Random``.
        """
        rng = _SYSTEM_RANDOM if rng is None else rng
        if open_shards is not None:
            choices = list(open_shards)
            if not choices or not all(_is_int(s) and 0 <= s < self.shards for s in choices):
                raise FieldError("open_shards", f"shard numbers in 0..{self.shards - 1}", open_shards)
        if callable(taken):
            is_taken = taken
        else:
            if len(taken) >= self.capacity:
                raise StatusListError("full", f"all {self.capacity} status entries are taken")
            is_taken = _member_of(taken)
        for _ in range(self.max_draws):
            shard = rng.choice(choices) if open_shards is not None else rng.randrange(self.shards)
            idx = rng.randrange(self.shard_size)
            if not is_taken(shard, idx):
                return shard, idx
        raise StatusListError("full", f"{self.max_draws} random draws were all taken: add status lists")
