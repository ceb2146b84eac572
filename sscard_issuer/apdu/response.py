"""Response APDUs: the data field and the two status bytes the card sends back."""

from __future__ import annotations

from dataclasses import dataclass

from .status import SW_OK, ApduFormatError, error_for

_MAX_DATA = 65536  # the most a single (extended) command can ask for


def _valid_sw1(sw1: int) -> bool:
    # ISO 7816-3/-4: SW1 is 6X (60 is the T=0 NULL procedure byte) or 9X.
    return 0x61 <= sw1 <= 0x6F or 0x90 <= sw1 <= 0x9F


@dataclass(frozen=True, repr=False)
class ResponseApdu:
    """A response: ``data`` (possibly empty) and the status word ``sw`` (``0x9000`` is success).

    A status word whose SW1 is neither 6X nor 9X is refused: it can only come from a broken
    reader or a framing error, and it should not travel further as if it were an answer.
    """

    data: bytes
    sw: int

    def __post_init__(self) -> None:
        if type(self.data) is not bytes:
            if not isinstance(self.data, (bytes, bytearray, memoryview)):
                raise ApduFormatError(f"data: expected bytes, got {type(self.data).__name__}")
            object.__setattr__(self, "data", bytes(self.data))
        if len(self.data) > _MAX_DATA:
            raise ApduFormatError(
                f"data: expected at most {_MAX_DATA} bytes, got {len(self.data)}"
            )
        sw = self.sw
        if isinstance(sw, bool) or not isinstance(sw, int) or not 0 <= sw <= 0xFFFF:
            raise ApduFormatError(f"sw: expected an int 0000..FFFF, got {sw!r}")
        if not _valid_sw1(sw >> 8):
            raise ApduFormatError(f"sw: {sw:04X} is not a status word (SW1 must be 61..6F or 9X)")

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def ok(self) -> bool:
        """True only for ``9000``: 61xx means "not finished", warnings are not success."""
        return self.sw == SW_OK

    @classmethod
    def decode(cls, raw: bytes) -> ResponseApdu:
        """Split ``raw`` into data and the trailing two status bytes."""
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise ApduFormatError(f"raw: expected bytes, got {type(raw).__name__}")
        raw = bytes(raw)
        if len(raw) < 2:
            raise ApduFormatError(
                f"response of {len(raw)} bytes: expected at least the 2 status bytes"
            )
        return cls(raw[:-2], int.from_bytes(raw[-2:], "big"))

    def encode(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    def raise_for_status(self) -> ResponseApdu:
        """Return ``self`` if the status is ``9000``, else raise the typed ``CardError``.

        Warnings (62xx, 63xx other than 63Cx) raise ``CardWarning`` too: every caller of this
        method expects a plain success, and a warning such as 6283 (file deactivated) must not
        pass silently. A caller that can live with a warning checks ``sw`` before calling.
        61xx and 6Cxx raise as well: they mean the command did not go through ``Exchange``.
        """
        if self.sw == SW_OK:
            return self
        raise error_for(self.sw)

    def __repr__(self) -> str:
        return f"ResponseApdu(data=bytes.fromhex('{self.data.hex().upper()}'), sw=0x{self.sw:04X})"
