"""GlobalPlatform key sets: the static keys of a security domain and the session keys of a channel.

Both hold key bytes (this version's channel computes in-process), so both keep them out of
``repr``/``str`` and show key check values instead, the GlobalPlatform way: 3DES encrypts eight
zero bytes, AES encrypts sixteen ``01`` bytes (GP Amendment D 7.2.2); the first 3 bytes are the KCV.
Equality is not defined (``==`` on secrets is not constant-time); compare KCVs or use ``same_as``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import NoReturn

from sscard_issuer.channel.errors import ChannelUsageError
from sscard_issuer.crypto import Algorithm, CryptoError, ecb_encrypt
from sscard_issuer.crypto.cipher import check_key

_GP_ALGORITHMS = (Algorithm.DES3, Algorithm.AES)


def gp_check_value(algorithm: Algorithm, key: bytes) -> bytes:
    """The 3-byte GlobalPlatform key check value of ``key``."""
    block = bytes(8) if algorithm is Algorithm.DES3 else b"\x01" * 16
    return ecb_encrypt(algorithm, key, block)[:3]


def _check(algorithm: Algorithm, name: str, key: object) -> bytes:
    if not isinstance(key, (bytes, bytearray)):
        raise ChannelUsageError(f"{name}: expected bytes, got {type(key).__name__}")
    try:
        check_key(algorithm, bytes(key))
    except CryptoError as exc:
        raise ChannelUsageError(f"{name}: {exc}") from None
    if algorithm is Algorithm.DES3 and len(key) != 16:
        raise ChannelUsageError(f"{name}: GlobalPlatform 3DES keys are 16 bytes, got {len(key)}")
    return bytes(key)


def _masked(algorithm: Algorithm, fields: dict[str, bytes]) -> str:
    bits = 8 * len(next(iter(fields.values())))
    shown = ", ".join(f"{name}=<kcv {gp_check_value(algorithm, key).hex().upper()}>"
                      for name, key in fields.items())
    return f"{algorithm.value}-{bits}: {shown}"


@dataclass(frozen=True, repr=False, eq=False)
class StaticKeys:
    """A security domain's static keys: ENC (cryptograms, S-ENC), MAC (C-MAC, R-MAC), DEK (data).

    ``algorithm`` is 3DES (16-byte keys, SCP02) or AES (16, 24 or 32 bytes, all three the same
    length, SCP03). Built from the card's diversified keys (see :func:`diversify`).
    """

    enc: bytes
    mac: bytes
    dek: bytes
    algorithm: Algorithm

    def __post_init__(self) -> None:
        if self.algorithm not in _GP_ALGORITHMS:
            raise ChannelUsageError(
                f"algorithm: GlobalPlatform keys are 3DES or AES, got {self.algorithm!r}"
            )
        for name in ("enc", "mac", "dek"):
            object.__setattr__(self, name, _check(self.algorithm, name, getattr(self, name)))
        if not len(self.enc) == len(self.mac) == len(self.dek):
            raise ChannelUsageError("enc, mac, dek: expected keys of one length")

    @classmethod
    def single(cls, key: bytes, algorithm: Algorithm) -> StaticKeys:
        """One key used as ENC, MAC and DEK (the GlobalPlatform test key 404142...4F is such a set)."""
        return cls(key, key, key, algorithm)

    @property
    def check_values(self) -> tuple[bytes, bytes, bytes]:
        """The KCVs of ENC, MAC and DEK."""
        alg = self.algorithm
        return gp_check_value(alg, self.enc), gp_check_value(alg, self.mac), gp_check_value(alg, self.dek)

    def same_as(self, other: StaticKeys) -> bool:
        """Constant-time comparison of two key sets."""
        return self.algorithm is other.algorithm and hmac.compare_digest(
            self.enc + self.mac + self.dek, other.enc + other.mac + other.dek
        )

    def __repr__(self) -> str:
        return f"StaticKeys({_masked(self.algorithm, {'enc': self.enc, 'mac': self.mac, 'dek': self.dek})})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("StaticKeys cannot be pickled: key bytes stay with their holder")


@dataclass(frozen=True, repr=False, eq=False)
class SessionKeys:
    """One channel's keys: S-ENC, S-MAC (C-MAC), S-RMAC and the key that encrypts sensitive data.

    ``dek`` is SCP02's session DEK (derived with constant 0181) and SCP03's static DEK (SCP03 has
    no session DEK, GP Amendment D 6.2.1).
    """

    enc: bytes
    mac: bytes
    rmac: bytes
    dek: bytes
    algorithm: Algorithm

    def __repr__(self) -> str:
        keys = {"enc": self.enc, "mac": self.mac, "rmac": self.rmac, "dek": self.dek}
        return f"SessionKeys({_masked(self.algorithm, keys)})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("SessionKeys cannot be pickled: key bytes stay with their holder")
