"""The card manager commands a personaliser needs, as pure encoders and decoders.

GET STATUS (GP 2.2 11.4) and its answer in the tagged format (P2 02: one ``E3`` per entry with
``4F`` AID, ``9F70`` life cycle, ``C5`` privileges) or the legacy one (P2 00: length, AID, life
cycle, privileges byte); INSTALL [for personalization] (GP 2.2 11.5.2.3.6).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sscard_issuer.apdu import CommandApdu, Tlv, TlvError, decode_ber, encode_ber, find
from sscard_issuer.channel.errors import ChannelUsageError, MalformedResponse

ISD_AID = bytes.fromhex("A000000151000000")  # the GlobalPlatform Issuer Security Domain
CLA_GP = 0x80
INS_GET_STATUS = 0xF2
INS_INSTALL = 0xE6
INS_GET_DATA = 0xCA
P1_INSTALL_FOR_PERSONALIZATION = 0x20
P2_TAGGED = 0x02
P2_NEXT = 0x01
SW_MORE_ENTRIES = 0x6310  # GET STATUS: more entries follow (ask again with P2 b1)
SW_NO_ENTRIES = 0x6A88  # GET STATUS: nothing matches


class RegistryKind(enum.IntEnum):
    """GET STATUS P1: which part of the card's registry to list."""

    ISSUER_SECURITY_DOMAIN = 0x80
    APPLICATIONS = 0x40  # applications and supplementary security domains
    LOAD_FILES = 0x20
    LOAD_FILES_AND_MODULES = 0x10


_ISD_LIFE_CYCLES = {0x01: "OP_READY", 0x07: "INITIALIZED", 0x0F: "SECURED", 0x7F: "CARD_LOCKED", 0xFF: "TERMINATED"}
_APP_LIFE_CYCLES = {0x03: "INSTALLED", 0x07: "SELECTABLE", 0x0F: "PERSONALIZED", 0x83: "LOCKED"}


def _check_aid(name: str, aid: bytes) -> bytes:
    if not isinstance(aid, (bytes, bytearray)) or not 5 <= len(aid) <= 16:
        raise ChannelUsageError(f"{name}: expected an AID of 5..16 bytes")
    return bytes(aid)


@dataclass(frozen=True)
class RegistryEntry:
    """One line of the card's registry."""

    kind: RegistryKind
    aid: bytes
    life_cycle: int
    privileges: bytes = b""

    @property
    def life_cycle_name(self) -> str:
        names = _ISD_LIFE_CYCLES if self.kind is RegistryKind.ISSUER_SECURITY_DOMAIN else _APP_LIFE_CYCLES
        return names.get(self.life_cycle, f"{self.life_cycle:02X}")

    def encode(self, tagged: bool = True) -> bytes:
        if tagged:
            inner = [Tlv(0x4F, self.aid), Tlv(0x9F70, bytes((self.life_cycle,))), Tlv(0xC5, self.privileges)]
            return Tlv(0xE3, encode_ber(inner)).encode()
        return bytes((len(self.aid),)) + self.aid + bytes((self.life_cycle, (self.privileges or b"\0")[0]))


def get_status(kind: RegistryKind, *, aid_prefix: bytes = b"", next_occurrence: bool = False) -> CommandApdu:
    """``80 F2 <kind> 02|03 Lc 4F <len> <prefix> 00``: entries whose AID starts with the prefix."""
    data = Tlv(0x4F, bytes(aid_prefix)).encode()
    p2 = P2_TAGGED | (P2_NEXT if next_occurrence else 0)
    return CommandApdu(CLA_GP, INS_GET_STATUS, int(kind), p2, data, le=256)


def decode_status(kind: RegistryKind, data: bytes, *, tagged: bool = True) -> list[RegistryEntry]:
    """The entries of one GET STATUS answer."""
    entries = []
    try:
        if tagged:
            for tlv in decode_ber(data):
                if tlv.tag != 0xE3:
                    raise MalformedResponse(f"GET STATUS: expected E3 entries, found tag {tlv.tag:X}")
                children = tlv.children
                aid, life_cycle = find(children, 0x4F), find(children, 0x9F70)
                privileges = find(children, 0xC5)
                if aid is None or life_cycle is None or len(life_cycle.value) != 1:
                    raise MalformedResponse("GET STATUS: an entry lacks its AID or life cycle")
                entries.append(RegistryEntry(kind, aid.value, life_cycle.value[0],
                                             privileges.value if privileges else b""))
            return entries
        pos = 0
        while pos < len(data):
            length = data[pos]
            if pos + 1 + length + 2 > len(data):
                raise MalformedResponse("GET STATUS: a legacy entry runs past the answer")
            name = data[pos + 1 : pos + 1 + length]
            entries.append(RegistryEntry(kind, name, data[pos + 1 + length], data[pos + 2 + length : pos + 3 + length]))
            pos += 3 + length
        return entries
    except TlvError as exc:
        raise MalformedResponse(f"GET STATUS: {exc}") from None


def aid_prefix_of(command: CommandApdu) -> bytes:
    """Card side: the AID prefix a GET STATUS asks for (no data field: every entry)."""
    if not command.data:
        return b""
    try:
        criteria = find(decode_ber(command.data), 0x4F)
    except TlvError:
        raise ChannelUsageError("GET STATUS: the search criteria are not BER-TLV") from None
    if criteria is None:
        raise ChannelUsageError("GET STATUS: search criteria without tag 4F")
    return criteria.value


def install_for_personalization(aid: bytes) -> CommandApdu:
    """``80 E6 20 00 Lc 00 00 <len> <aid> 00 00 00``: STORE DATA will go to ``aid``."""
    aid = _check_aid("aid", aid)
    data = b"\x00\x00" + bytes((len(aid),)) + aid + b"\x00\x00\x00"
    return CommandApdu(CLA_GP, INS_INSTALL, P1_INSTALL_FOR_PERSONALIZATION, 0x00, data)


def personalization_target(data: bytes) -> bytes:
    """Card side: the application AID of an INSTALL [for personalization] data field."""
    if len(data) < 3 or data[0] != 0 or data[1] != 0:
        raise ChannelUsageError("INSTALL [for personalization]: expected 00 00 <len> <AID> ...")
    length = data[2]
    aid = data[3 : 3 + length]
    if len(aid) != length:
        raise ChannelUsageError("INSTALL [for personalization]: the AID runs past the data")
    return _check_aid("application AID", aid)
