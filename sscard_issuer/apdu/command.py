"""Command APDUs (ISO/IEC 7816-3 and 7816-4): one immutable, always-encodable value per command.

A ``CommandApdu`` checks itself when built, so a command that no reader could send never
exists; ``decode`` is its exact inverse (the card simulator parses what terminals send):
``CommandApdu.decode(c.encode()) == c`` for every command, and ``decode(raw).encode() == raw``
for every ``raw`` that decodes.

``le`` is Ne, the number of response bytes expected: 1..256 in short form and 1..65536 in
extended form. The wire value ``00`` (short) and ``0000`` (extended) means the maximum, so
``le=256`` encodes as ``00``; there is deliberately no ``le=0`` alias, one value has one spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .status import ApduFormatError

_SHORT_MAX_DATA = 255
_SHORT_MAX_LE = 256
_EXT_MAX_DATA = 65535
_EXT_MAX_LE = 65536


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_bytes(name: str, value: object) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise ApduFormatError(f"{name}: expected bytes, got {type(value).__name__}")


@dataclass(frozen=True, repr=False)
class CommandApdu:
    """One command APDU: header, optional data field, optional Le.

    ``extended`` asks for extended length fields even when the values would fit short ones;
    it is refused on a case 1 command, which has no length field to extend. ``sensitive``
    marks a data field (PIN, key material) that traces and ``repr`` must never show; it does
    not take part in equality.
    """

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None
    extended: bool = False
    sensitive: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            value = getattr(self, name)
            if not _is_int(value) or not 0 <= value <= 0xFF:
                raise ApduFormatError(f"{name}: expected an int 0..255, got {value!r}")
        if self.ins & 0xF0 in (0x60, 0x90):
            # T=0 would read these as procedure bytes / status words (ISO 7816-3, 10.3.2).
            raise ApduFormatError(f"ins: {self.ins:02X} is invalid, 6X and 9X are reserved")
        if not isinstance(self.extended, bool):
            raise ApduFormatError(f"extended: expected a bool, got {self.extended!r}")
        if not isinstance(self.sensitive, bool):
            raise ApduFormatError(f"sensitive: expected a bool, got {self.sensitive!r}")
        if type(self.data) is not bytes:
            object.__setattr__(self, "data", _as_bytes("data", self.data))
        max_data = _EXT_MAX_DATA if self.extended else _SHORT_MAX_DATA
        if len(self.data) > max_data:
            form = "extended" if self.extended else "short (set extended=True for more)"
            raise ApduFormatError(
                f"data: expected at most {max_data} bytes in {form} form, got {len(self.data)}"
            )
        if self.le is not None:
            max_le = _EXT_MAX_LE if self.extended else _SHORT_MAX_LE
            if not _is_int(self.le) or not 1 <= self.le <= max_le:
                form = "extended" if self.extended else "short"
                raise ApduFormatError(
                    f"le: expected None or an int 1..{max_le} in {form} form "
                    f"({max_le} is sent as {'0000' if self.extended else '00'}), got {self.le!r}"
                )
        if self.extended and not self.data and self.le is None:
            raise ApduFormatError("extended: a case 1 command has no length field to extend")

    @property
    def case(self) -> int:
        """ISO 7816-3 case: 1 no data no Le, 2 Le only, 3 data only, 4 data and Le."""
        if self.data:
            return 3 if self.le is None else 4
        return 1 if self.le is None else 2

    @property
    def header(self) -> bytes:
        """CLA INS P1 P2."""
        return bytes((self.cla, self.ins, self.p1, self.p2))

    def encode(self) -> bytes:
        """The bytes to send: header, then Lc and data, then Le (ISO 7816-3, 12.1)."""
        out = bytearray(self.header)
        if self.extended:
            if self.data:
                out += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
            if self.le is not None:
                if not self.data:
                    out += b"\x00"  # case 2E: the extended Le carries its own 00 marker
                out += (self.le % _EXT_MAX_LE).to_bytes(2, "big")
        else:
            if self.data:
                out += bytes((len(self.data),)) + self.data
            if self.le is not None:
                out.append(self.le % _SHORT_MAX_LE)
        return bytes(out)

    @classmethod
    def decode(cls, raw: bytes) -> CommandApdu:
        """Parse any short or extended command; ``ApduFormatError`` says what did not fit.

        A byte ``00`` right after the header starts an extended length field when more than one
        byte follows the header (a lone ``00`` is short Le 256), as ISO 7816-3 prescribes.
        """
        raw = _as_bytes("raw", raw)
        if len(raw) < 4:
            raise ApduFormatError(
                f"command of {len(raw)} bytes: expected at least the 4-byte header"
            )
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, le=body[0] or _SHORT_MAX_LE)
        if body[0] != 0:
            lc, rest = body[0], len(body) - 1
            if rest == lc:
                return cls(cla, ins, p1, p2, body[1:])
            if rest == lc + 1:
                return cls(cla, ins, p1, p2, body[1:-1], le=body[-1] or _SHORT_MAX_LE)
            raise ApduFormatError(
                f"short Lc {lc}: expected {lc} data bytes (or {lc + 1} with Le) after it, "
                f"got {rest}"
            )
        if len(body) == 2:
            raise ApduFormatError(
                "6-byte command: 00 after the header starts a 3-byte extended length, "
                "only 2 bytes follow the header"
            )
        if len(body) == 3:
            le = int.from_bytes(body[1:3], "big") or _EXT_MAX_LE
            return cls(cla, ins, p1, p2, le=le, extended=True)
        lc, rest = int.from_bytes(body[1:3], "big"), len(body) - 3
        if lc == 0:
            raise ApduFormatError("extended Lc 0000: expected 1..65535 when data follow")
        if rest == lc:
            return cls(cla, ins, p1, p2, body[3:], extended=True)
        if rest == lc + 2:
            le = int.from_bytes(body[-2:], "big") or _EXT_MAX_LE
            return cls(cla, ins, p1, p2, body[3:-2], le=le, extended=True)
        raise ApduFormatError(
            f"extended Lc {lc}: expected {lc} data bytes (or {lc + 2} with Le) after it, "
            f"got {rest}"
        )

    def with_le(self, le: int | None) -> CommandApdu:
        """The same command (``sensitive`` kept) expecting ``le`` bytes; how 6Cxx is answered."""
        return replace(self, le=le)

    def __repr__(self) -> str:
        parts = [f"cla=0x{self.cla:02X}", f"ins=0x{self.ins:02X}",
                 f"p1=0x{self.p1:02X}", f"p2=0x{self.p2:02X}"]
        if self.data:
            if self.sensitive:
                parts.append(f"data=<{len(self.data)} bytes redacted>")
            else:
                parts.append(f"data=bytes.fromhex('{self.data.hex().upper()}')")
        if self.le is not None:
            parts.append(f"le={self.le}")
        if self.extended:
            parts.append("extended=True")
        if self.sensitive:
            parts.append("sensitive=True")
        return f"CommandApdu({', '.join(parts)})"


# Convenience constructors for the interindustry commands of spec/card.md section 3 that every
# layer needs. Application commands (PIN, authentication, update) belong to their own layers.


def select_by_name(aid: bytes, *, first: bool = True, le: int | None = None) -> CommandApdu:
    """SELECT by DF name ``00 A4 04 00|02 Lc <aid> [Le]``; ``first=False`` asks for the next match.

    The spec's SSSE selection has no Le (``le=None``); the card then answers the FCI with 61xx
    under T=0, which ``Exchange`` fetches.
    """
    aid = _as_bytes("aid", aid)
    if not 1 <= len(aid) <= 16:
        raise ApduFormatError(f"aid: expected 1..16 bytes (a DF name), got {len(aid)}")
    return CommandApdu(0x00, 0xA4, 0x04, 0x00 if first else 0x02, aid, le)


def select_by_fid(fid: bytes) -> CommandApdu:
    """SELECT an EF under the current DF by its file identifier: ``00 A4 02 00 02 <fid>``."""
    fid = _as_bytes("fid", fid)
    if len(fid) != 2:
        raise ApduFormatError(f"fid: expected 2 bytes, got {len(fid)}")
    return CommandApdu(0x00, 0xA4, 0x02, 0x00, fid)


def read_record(number_or_tag: int, p2: int, le: int = 256) -> CommandApdu:
    """READ RECORD ``00 B2 <P1> <P2> <Le>``.

    ``p2 = 0x04`` reads record number ``number_or_tag`` of the current EF; ``p2 = SFI << 3``
    reads the record whose tag is ``number_or_tag`` in that SFI (``0x28`` EF05, ``0x30`` EF06).
    ``le`` counts bytes; the default 256 is sent as ``00`` ("the whole record"), as in the spec.
    """
    return CommandApdu(0x00, 0xB2, number_or_tag, p2, le=le)


def get_challenge(length: int) -> CommandApdu:
    """GET CHALLENGE ``00 84 00 00 <length>``: 8 bytes, or 16 in SM4 applications."""
    if not _is_int(length) or not 1 <= length <= _SHORT_MAX_LE:
        raise ApduFormatError(f"length: expected an int 1..256, got {length!r}")
    return CommandApdu(0x00, 0x84, 0x00, 0x00, le=length)


def get_response(le: int, *, cla: int = 0x00) -> CommandApdu:
    """GET RESPONSE ``<cla> C0 00 00 <le>`` (``le=256`` is sent as ``00``), after 61xx."""
    return CommandApdu(cla, 0xC0, 0x00, 0x00, le=le)
