"""The card manager: the GlobalPlatform Issuer Security Domain of the simulated card.

It opens SCP02 or SCP03 secure channels (which one, with which ``i``, keys and key version, is
the card's configuration in its image), keeps the sequence counter in persistent memory, lists
the card's applications (GET STATUS) and routes personalisation: INSTALL [for personalization]
names the bank application, then STORE DATA carries its EMV CPS data groups, decrypted here and
handed to :meth:`BankApplet.store_dgis`. Every byte of the channel is computed by
:class:`sscard_issuer.channel.CardChannel`, the terminal's own code in the card role.

Key diversification data (the 10 bytes answered in INITIALIZE UPDATE): the 2-byte card-vendor
code of the ATR's historical bytes, then the 8-byte card serial that ends the ATR (see
:meth:`GpApplet.key_diversification_data`). The image's keys are the card's own (already
diversified) static keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from applets.bank import BankApplet
from sscard_issuer.apdu import Atr, CardError, CommandApdu, Tlv, encode_ber
from sscard_issuer.card import ssc
from sscard_issuer.channel import (
    ISD_AID,
    CardChannel,
    ChannelError,
    ChannelState,
    ChannelUsageError,
    CpsError,
    Dgi,
    HostAuthenticationFailed,
    KeyVersionNotFound,
    RegistryEntry,
    RegistryKind,
    Scp,
    SecurityLevelNotSupported,
    StaticKeys,
    StoreDataReceiver,
    aid_prefix_of,
    check_i,
    personalization_target,
    pseudo_random_card_challenge,
    pseudo_random_challenge,
)
from sscard_issuer.crypto import Algorithm, CryptoError
from sscard_issuer.sim.runtime import Applet, fail

DEFAULT_I = {Scp.SCP02: 0x35, Scp.SCP03: 0x70}  # SCP02 i=15 plus R-MAC; SCP03 all options
DEFAULT_KEY_VERSION = {Scp.SCP02: 0x20, Scp.SCP03: 0x30}
LIFE_CYCLE_INITIALIZED = 0x07
APP_SELECTABLE, APP_PERSONALIZED = 0x07, 0x0F
ISD_PRIVILEGES = bytes.fromhex("9EFE80")
APP_PRIVILEGES = bytes(3)

INS_INITIALIZE_UPDATE = 0x50
INS_EXTERNAL_AUTHENTICATE = 0x82
INS_GET_STATUS = 0xF2
INS_INSTALL = 0xE6
INS_STORE_DATA = 0xE2
INS_GET_DATA = 0xCA
KEY_TYPE = {Algorithm.DES3: 0x80, Algorithm.AES: 0x88}  # GP key type coding in key information


@dataclass
class _Personalisation:
    """Volatile: which application STORE DATA goes to, and the blocks received so far."""

    aid: bytes
    receiver: StoreDataReceiver = field(default_factory=StoreDataReceiver)


class GpApplet(Applet):
    name = "gp"
    aids = (ISD_AID,)

    # -- building a card ---------------------------------------------------------------------

    @staticmethod
    def key_diversification_data(atr: bytes) -> bytes:
        """The KDD this card answers: vendor code (historical bytes 1-2) || serial (last 8 ATR bytes)."""
        parsed = Atr.parse(atr)
        return parsed.historical[:2].rjust(2, b"\x00") + parsed.card_factor

    @staticmethod
    def blank_state(
        scp: int,
        static_keys: StaticKeys | bytes,
        *,
        i: int | None = None,
        key_version: int | None = None,
    ) -> dict[str, Any]:
        """The image section of an ISD that opens ``scp`` (2 or 3) channels with these keys.

        ``static_keys``: the card's own keys (diversified for it, e.g. by
        ``DevKeyStore.gp_static_keys``), or one key used as ENC, MAC and DEK. Defaults: SCP02
        ``i=35`` and key version 20, SCP03 ``i=70`` and key version 30.
        """
        protocol = Scp(scp)
        algorithm = Algorithm.DES3 if protocol is Scp.SCP02 else Algorithm.AES
        keys = static_keys if isinstance(static_keys, StaticKeys) else StaticKeys.single(static_keys, algorithm)
        if keys.algorithm is not algorithm:
            raise ChannelUsageError(f"static_keys: {protocol.name} needs {algorithm.value} keys")
        chosen_i = check_i(protocol, DEFAULT_I[protocol] if i is None else i)
        version = DEFAULT_KEY_VERSION[protocol] if key_version is None else key_version
        if not 1 <= version <= 0x7F:
            raise ChannelUsageError(f"key_version: expected 1..127, got {version!r}")
        return {
            "scp": int(protocol),
            "i": chosen_i,
            "key_version": version,
            "keys": {"algorithm": algorithm.value, "enc": keys.enc.hex().upper(),
                     "mac": keys.mac.hex().upper(), "dek": keys.dek.hex().upper()},
            "sequence_counter": 0,
            "life_cycle": LIFE_CYCLE_INITIALIZED,
        }

    # -- the card side ----------------------------------------------------------------------

    def reset(self) -> None:
        self._channel: CardChannel | None = None
        self._perso: _Personalisation | None = None

    def select(self, name: bytes) -> bytes:
        if "scp" not in self.state:
            fail(0x6A82)  # this card has no card manager
        self.reset()  # selecting the ISD again ends any session
        proprietary = encode_ber([Tlv(0x9F6E, bytes((self.state["life_cycle"],))), Tlv(0x9F65, b"\xff")])
        return Tlv(0x6F, encode_ber([Tlv(0x84, name), Tlv(0xA5, proprietary)])).encode()

    def process(self, command: CommandApdu) -> bytes:
        if command.ins == INS_INITIALIZE_UPDATE:
            return self._initialize_update(command)
        if command.ins == INS_EXTERNAL_AUTHENTICATE:
            return self._external_authenticate(command)
        channel = self._channel
        if channel is None or channel.state is not ChannelState.OPEN:
            if command.ins == INS_GET_DATA and command.cla == 0x80:
                return self._get_data(command)
            fail(0x6982)
        try:
            plain = channel.unwrap(command)
        except ChannelError:
            self.reset()  # a bad C-MAC ends the session for good
            fail(0x6982)
        try:
            data = self._dispatch(plain, channel)
        except CardError as error:
            channel.wrap(b"", error.sw)
            raise
        return channel.wrap(data)

    def _keys(self) -> StaticKeys:
        keys = self.state["keys"]
        return StaticKeys(bytes.fromhex(keys["enc"]), bytes.fromhex(keys["mac"]),
                          bytes.fromhex(keys["dek"]), Algorithm(keys["algorithm"]))

    def _initialize_update(self, command: CommandApdu) -> bytes:
        if command.cla != 0x80:
            fail(0x6E00)
        if command.p2 != 0x00:
            fail(0x6A86)
        if len(command.data) != 8:
            fail(0x6700)
        self.reset()
        scp, i = Scp(self.state["scp"]), self.state["i"]
        keys = self._keys()
        channel = CardChannel(scp, keys, i=i, key_version=self.state["key_version"],
                              key_diversification_data=self.key_diversification_data(self.card.atr))
        counter = self.state["sequence_counter"]
        if scp is Scp.SCP02:
            if counter > 0xFFFF:
                fail(0x6985)  # the counter is exhausted: the keys must be replaced
            sequence: bytes | None = counter.to_bytes(2, "big")
            challenge = self.card.random(6)
        elif pseudo_random_challenge(scp, i):
            if counter >= 0xFFFFFF:
                fail(0x6985)
            counter += 1  # every challenge from a fresh counter value
            self.state["sequence_counter"] = counter
            self.changed()
            sequence = counter.to_bytes(3, "big")
            challenge = pseudo_random_card_challenge(keys, sequence, ISD_AID)
        else:
            sequence, challenge = None, self.card.random(8)
        try:
            answer = channel.initialize_update(command, sequence_counter=sequence, card_challenge=challenge)
        except KeyVersionNotFound:
            fail(0x6A88)
        self._channel = channel
        return answer

    def _external_authenticate(self, command: CommandApdu) -> bytes:
        channel = self._channel
        if channel is None or channel.state is not ChannelState.AUTHENTICATING:
            fail(0x6985)
        try:
            channel.external_authenticate(command)
        except HostAuthenticationFailed:
            self.reset()
            fail(0x6300)
        except SecurityLevelNotSupported:
            self.reset()
            fail(0x6A86)
        except ChannelError:
            self.reset()
            fail(0x6982)
        if Scp(self.state["scp"]) is Scp.SCP02:
            self.state["sequence_counter"] += 1  # SCP02 counts successful sessions
            self.changed()
        return b""

    def _dispatch(self, plain: CommandApdu, channel: CardChannel) -> bytes:
        if plain.cla != 0x80:
            fail(0x6E00)
        if plain.ins == INS_GET_STATUS:
            return self._get_status(plain)
        if plain.ins == INS_INSTALL:
            return self._install(plain)
        if plain.ins == INS_STORE_DATA:
            return self._store_data(plain, channel)
        if plain.ins == INS_GET_DATA:
            return self._get_data(plain)
        fail(0x6D00)

    def _registry(self, kind: RegistryKind) -> list[RegistryEntry]:
        if kind is RegistryKind.ISSUER_SECURITY_DOMAIN:
            return [RegistryEntry(kind, ISD_AID, self.state["life_cycle"], ISD_PRIVILEGES)]
        if kind is not RegistryKind.APPLICATIONS:
            return []  # no load files on this card
        applets = self.card.image.applets
        entries = []
        for app in ssc.APPLICATIONS:
            state = applets.get(app.name.lower(), {})
            if app.aid == ssc.BANK_AID:
                personalised = BankApplet.is_personalised(state)
            else:
                personalised = bool(state.get("records") or state.get("files"))
            life_cycle = APP_PERSONALIZED if personalised else APP_SELECTABLE
            entries.append(RegistryEntry(kind, app.path[0], life_cycle, APP_PRIVILEGES))
        return entries

    def _get_status(self, command: CommandApdu) -> bytes:
        try:
            kind = RegistryKind(command.p1)
        except ValueError:
            fail(0x6A86)
        if command.p2 & ~0x03:
            fail(0x6A86)
        if command.p2 & 0x01:
            fail(0x6A88)  # everything was in the first answer
        try:
            prefix = aid_prefix_of(command)
        except ChannelUsageError:
            fail(0x6A80)
        entries = [e for e in self._registry(kind) if e.aid.startswith(prefix)]
        if not entries:
            fail(0x6A88)
        return b"".join(e.encode(tagged=bool(command.p2 & 0x02)) for e in entries)

    def _install(self, command: CommandApdu) -> bytes:
        if command.p1 != 0x20:
            fail(0x6A86)  # only INSTALL [for personalization] on this card
        try:
            aid = personalization_target(command.data)
        except ChannelUsageError:
            fail(0x6A80)
        if aid != ssc.BANK_AID:
            known = any(aid == app.path[0] for app in ssc.APPLICATIONS)
            fail(0x6985 if known else 0x6A88)  # the SSC applications are personalised otherwise
        self._perso = _Personalisation(aid)
        return b"\x00"

    def _store_data(self, command: CommandApdu, channel: CardChannel) -> bytes:
        perso = self._perso
        if perso is None:
            fail(0x6985)
        try:
            return self._store_block(command, channel, perso)
        except CardError:
            self._perso = None  # a refused block ends the personalisation session: start again
            raise

    def _store_block(self, command: CommandApdu, channel: CardChannel, perso: _Personalisation) -> bytes:
        try:
            block = perso.receiver.receive(command)
        except CpsError:
            fail(0x6A80)
        dgis = []
        for dgi in block.dgis:
            if not BankApplet.dgi_is_encrypted(dgi.number):
                dgis.append(dgi)
                continue
            if not block.encryption:
                fail(0x6A80)  # a sensitive DGI in a block that says nothing is encrypted
            try:
                dgis.append(Dgi(dgi.number, channel.decrypt_sensitive(dgi.data)))
            except CryptoError:
                fail(0x6A80)
        BankApplet.store_dgis(self.card.image.applets.setdefault(BankApplet.name, {}), dgis, last=block.last)
        self.changed()
        if block.last:
            self._perso = None
        return b""

    def _get_data(self, command: CommandApdu) -> bytes:
        tag = (command.p1 << 8) | command.p2
        if tag != 0x00E0:
            fail(0x6A88)
        keys = self.state["keys"]
        key_type = KEY_TYPE[Algorithm(keys["algorithm"])]
        length = len(bytes.fromhex(keys["enc"]))
        infos = [Tlv(0xC0, bytes((key_id, self.state["key_version"], key_type, length))) for key_id in (1, 2, 3)]
        return Tlv(0xE0, encode_ber(infos)).encode()
