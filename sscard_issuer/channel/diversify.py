"""Card key diversification of GlobalPlatform static keys, with GlobalPlatformPro's template names.

From a master key (the issuer's KMC) and the card's 10-byte key diversification data (KDD, the
first field of its INITIALIZE UPDATE answer), each template derives the card's ENC, MAC and DEK
(key type k = 1, 2, 3):

- ``none``: the master itself for all three (the GlobalPlatform test key 404142...4F is used so).
- ``emv`` (EMV CPS 1.1): 3DES-ECB(KMC, KDD[4:10] || F0 || k || KDD[4:10] || 0F || k).
- ``visa2``: 3DES-ECB(KMC, KDD[0:2] || KDD[4:8] || F0 || k || KDD[0:2] || KDD[4:8] || 0F || k).
- ``kdf3`` (for SCP03): SP 800-108 counter mode with AES-CMAC, each round over
  counter || 00 00 00 k 00 || KDD, as long as the master.
"""

from __future__ import annotations

import enum

from sscard_issuer.channel.errors import ChannelUsageError
from sscard_issuer.channel.keys import StaticKeys
from sscard_issuer.crypto import Algorithm, aes_cmac, ecb_encrypt

KDD_LENGTH = 10
_KEY_TYPES = (1, 2, 3)  # ENC, MAC, DEK


class DiversificationTemplate(enum.Enum):
    NONE = "none"
    EMV = "emv"
    VISA2 = "visa2"
    KDF3 = "kdf3"

    @property
    def algorithm(self) -> Algorithm | None:
        """The algorithm the template is defined for (None: any)."""
        return {self.EMV: Algorithm.DES3, self.VISA2: Algorithm.DES3, self.KDF3: Algorithm.AES}.get(self)

    @classmethod
    def parse(cls, text: str) -> DiversificationTemplate:
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(t.value for t in cls)
            raise ChannelUsageError(f"diversification: expected one of {names}, got {text!r}") from None


def _emv_like(master: bytes, part: bytes) -> tuple[bytes, ...]:
    return tuple(
        ecb_encrypt(Algorithm.DES3, master, part + bytes((0xF0, k)) + part + bytes((0x0F, k)))
        for k in _KEY_TYPES
    )


def _kdf3(master: bytes, kdd: bytes) -> tuple[bytes, ...]:
    def derive(k: int) -> bytes:
        out, counter = b"", 1
        while len(out) < len(master):
            out += aes_cmac(master, bytes((counter, 0, 0, 0, k, 0)) + kdd)
            counter += 1
        return out[: len(master)]

    return tuple(derive(k) for k in _KEY_TYPES)


def diversify(
    template: DiversificationTemplate,
    master: bytes,
    diversification_data: bytes,
    *,
    algorithm: Algorithm | None = None,
) -> StaticKeys:
    """The card's static keys from ``master`` and its KDD by ``template``.

    ``algorithm`` is needed for ``none`` (a 16-byte key may be 3DES or AES) and must otherwise
    match the template's own (3DES for emv and visa2, AES for kdf3).
    """
    if not isinstance(template, DiversificationTemplate):
        raise ChannelUsageError(f"template: expected a DiversificationTemplate, got {template!r}")
    if not isinstance(diversification_data, (bytes, bytearray)) or len(diversification_data) != KDD_LENGTH:
        raise ChannelUsageError(f"diversification_data: expected {KDD_LENGTH} bytes")
    kdd = bytes(diversification_data)
    own = template.algorithm
    if own is None:
        if algorithm is None:
            raise ChannelUsageError("algorithm: say whether the undiversified key is 3DES or AES")
        own = algorithm
    elif algorithm is not None and algorithm is not own:
        raise ChannelUsageError(f"template {template.value} derives {own.value} keys, not {algorithm.value}")
    master = bytes(master)
    StaticKeys.single(master, own)  # checks the master's length for the algorithm
    if template is DiversificationTemplate.NONE:
        return StaticKeys.single(master, own)
    if template is DiversificationTemplate.EMV:
        enc, mac, dek = _emv_like(master, kdd[4:10])
    elif template is DiversificationTemplate.VISA2:
        enc, mac, dek = _emv_like(master, kdd[0:2] + kdd[4:8])
    else:
        enc, mac, dek = _kdf3(master, kdd)
    return StaticKeys(enc, mac, dek, own)
