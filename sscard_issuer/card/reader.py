"""Read a social security card the way a national terminal does.

The session, in order (card.md sections 2-4):

1. the ATR gives the card factor (its last 8 bytes) and the historical bytes;
2. SELECT SSSE; the FCI's tag 86 (inside 9F0C) names the algorithm, 3DES when absent;
3. EF05 record 01 (free to read) gives the card identification code, whose area selects the city
   level of key derivation;
4. INTERNAL AUTHENTICATE proves the card genuine: it must answer our fresh challenge under its
   IRK. If it does not, nothing else it says is trusted and reading stops there;
5. GET CHALLENGE and EXTERNAL AUTHENTICATE with RKSSSE release the protected records;
6. READ RECORD by tag through the short file identifier, for every item of the basic data.

Key bytes never come here: cryptograms come from the key store.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sscard_issuer.apdu import (
    Atr,
    AuthenticationBlocked,
    CardError,
    CommandApdu,
    RecordNotFound,
    TlvError,
    WrongPinOrCryptogram,
    find_path,
    get_challenge,
    read_record,
    select_by_name,
)
from sscard_issuer.card import cos, ssc
from sscard_issuer.card.basic import BasicData
from sscard_issuer.card.codecs import DecodeError
from sscard_issuer.card.identifiers import CardIdentificationCode
from sscard_issuer.card.model import KEY_IRK, KEY_RKSSSE, KeyRef, RecordFileSpec, RecordSpec
from sscard_issuer.crypto import Algorithm
from sscard_issuer.errors import SscardError
from sscard_issuer.keys import CardKey, KeyClass, KeyStore
from sscard_issuer.transport.base import Transport

Records = ssc.Records
# The records of the basic data, by file; 4E only exists on cards whose name needs it.
BASIC_RECORDS: tuple[tuple[RecordFileSpec, tuple[RecordSpec[Any], ...]], ...] = (
    (ssc.EF05, (Records.VERSION, Records.ISSUE_DATE, Records.EXPIRY_DATE, Records.CARD_NUMBER)),
    (ssc.EF06, (Records.SSN, Records.NAME, Records.NAME_EXTENSION, Records.SEX, Records.BIRTH_DATE)),
)
OPTIONAL_RECORDS = frozenset({Records.NAME_EXTENSION.tag})


class CardDataError(SscardError):
    """The card answered, but what it holds is not a valid social security card's data."""


class PinError(SscardError):
    """A PIN the holder typed was refused before reaching the card (format)."""


class WrongPin(WrongPinOrCryptogram):
    """VERIFY refused the holder's PIN (63Cx), unlike a refused cryptogram; ``tries_left`` is x."""


class PinLocked(AuthenticationBlocked):
    """VERIFY refused because the PIN is blocked (6983), unlike a blocked key."""


@dataclass(frozen=True)
class CardReading:
    """The result of reading a card; ``data`` is None when the card is not genuine."""

    atr: Atr
    algorithm: Algorithm
    genuine: bool
    data: BasicData | None

    def to_json(self) -> dict[str, Any]:
        """Exactly the keys the national terminal interface shows (issue 2), untrusted ones null."""
        d = self.data
        return {
            "area_code": str(d.area_code) if d else None,
            "ssn": str(d.ssn) if d else None,
            "card_number": str(d.card_number) if d else None,
            "card_id": d.card_id.hex if d else None,
            "name": d.name if d else None,
            "sex": d.sex.value if d else None,
            "birth_date": d.birth_date.isoformat() if d else None,
            "atr_historical": self.atr.historical.hex().upper(),
            "version": d.version if d else None,
            "issue_date": d.issue_date.isoformat() if d else None,
            "expiry_date": d.expiry_date.isoformat() if d else None,
            "algorithm": self.algorithm.value,
            "genuine": self.genuine,
        }


def pin_to_bcd(pin: str) -> bytes:
    """The PIN as VERIFY carries it: BCD digits, F-padded to whole bytes. 4 to 16 digits."""
    if not pin.isascii() or not pin.isdigit() or not 4 <= len(pin) <= 16:
        raise PinError("a PIN is 4 to 16 digits")
    return bytes.fromhex(pin + ("F" if len(pin) % 2 else ""))


class SsseSession:
    """The terminal side of one SSSE session on one card."""

    def __init__(
        self,
        transport: Transport,
        keys: KeyStore,
        *,
        random: Callable[[int], bytes] = os.urandom,
        area_code: str | None = None,
    ) -> None:
        """``area_code`` names the city level of key derivation for a card that cannot tell it
        yet (a blank card); otherwise the card identification code read by identify() does."""
        self.transport = transport
        self.keys = keys
        self.random = random
        self.atr = Atr.parse(transport.atr)
        self.algorithm: Algorithm | None = None
        self.card_id: CardIdentificationCode | None = None
        self.session_key: CardKey | None = None
        self.area_code = area_code
        self.fci = b""

    def select(self) -> Algorithm:
        fci = self.transport.send_checked(select_by_name(ssc.SSSE_AID, le=256)).data
        self.fci = fci
        try:
            tag86 = find_path(fci, 0x6F, 0xA5, 0x9F0C, 0x86) if fci else None
        except TlvError as exc:
            raise CardDataError(f"the SSSE answered SELECT with a malformed FCI: {exc}") from None
        alg_byte = tag86.value[0] if tag86 is not None and tag86.value else 0x01
        self.algorithm = Algorithm.from_card_id(alg_byte)
        return self.algorithm

    def read(self, file: RecordFileSpec, spec: RecordSpec[Any]) -> bytes:
        """One record's value, read by tag through the file's SFI."""
        response = self.transport.send_checked(read_record(spec.tag, file.sfi << 3, le=256))
        try:
            return spec.unwrap(response.data)
        except DecodeError as exc:
            raise CardDataError(str(exc)) from None

    def identify(self) -> CardIdentificationCode:
        try:
            self.card_id = Records.CARD_ID.decode(self.read(ssc.EF05, Records.CARD_ID))
        except DecodeError as exc:
            raise CardDataError(str(exc)) from None
        return self.card_id

    def _card_key(self, key_class: KeyClass) -> CardKey:
        area = self.area_code or (str(self.card_id.area_code) if self.card_id else None)
        if self.algorithm is None or area is None:
            raise RuntimeError("select() and identify() come before any key is used")
        return self.keys.card_key(key_class, self.algorithm, area_code=area, card_factor=self.atr.card_factor)

    def is_genuine(self, key: KeyRef = KEY_IRK) -> bool:
        """INTERNAL AUTHENTICATE with a fresh challenge; False on a wrong answer or a refusal."""
        process_factor, challenge = self.random(8), self.random(8)
        command = CommandApdu(0x00, 0x88, 0x00, key.key_id, process_factor + challenge, le=8)
        try:
            answer = self.transport.send_checked(command).data
        except CardError:
            return False
        with self._card_key(KeyClass.IRK) as irk:
            expected = irk.internal_auth_response(process_factor, challenge)
        return hmac.compare_digest(answer, expected)

    def authenticate(self, key: KeyRef = KEY_RKSSSE, key_class: KeyClass = KeyClass.RKSSSE) -> cos.SecureMessaging:
        """GET CHALLENGE then EXTERNAL AUTHENTICATE: the terminal proves it holds the key.

        Returns the terminal's half of the secure-messaging session this opens on the card
        (:mod:`sscard_issuer.card.cos`); its key stays open as :attr:`session_key` until the next
        authentication or :meth:`close`.
        """
        if self.algorithm is None:
            raise RuntimeError("select() comes before authentication")
        block = self.algorithm.block_size  # 8 bytes of challenge for 3DES, 16 for SM4
        challenge = self.transport.send_checked(get_challenge(block)).data
        self.close()
        card_key = self._card_key(key_class)
        try:
            cryptogram = card_key.cryptogram(challenge[:8])
            self.transport.send_checked(CommandApdu(0x00, 0x82, 0x00, key.key_id, cryptogram + self.random(8)))
        except BaseException:
            card_key.close()
            raise
        self.session_key = card_key
        return cos.SecureMessaging(lambda data, icv: card_key.mac(data, iv=icv), challenge, block)

    def close(self) -> None:
        """Release the key of the last secure-messaging session."""
        if self.session_key is not None:
            self.session_key.close()
            self.session_key = None

    def verify_pin(self, pin: str) -> None:
        """VERIFY; a wrong PIN raises :class:`WrongPin` with the tries left, a blocked one
        :class:`PinLocked`."""
        self.send_pin_command(CommandApdu(0x00, 0x20, 0x00, 0x00, pin_to_bcd(pin), sensitive=True))

    def send_pin_command(self, command: CommandApdu) -> None:
        """Send a command the holder's PIN decides: there, 63Cx and 6983 are about the PIN
        (:class:`WrongPin`, :class:`PinLocked`), not about a key."""
        try:
            self.transport.send_checked(command)
        except WrongPinOrCryptogram as exc:
            raise WrongPin(exc.sw, exc.meaning) from None
        except AuthenticationBlocked as exc:
            raise PinLocked(exc.sw, exc.meaning) from None

    def read_basic_data(self) -> BasicData:
        if self.card_id is None:
            raise RuntimeError("identify() comes before reading the basic data")
        values: dict[int, bytes] = {Records.CARD_ID.tag: self.card_id.raw}
        for file, specs in BASIC_RECORDS:
            for spec in specs:
                try:
                    values[spec.tag] = self.read(file, spec)
                except RecordNotFound:
                    if spec.tag not in OPTIONAL_RECORDS:
                        raise
        try:
            return BasicData.from_records(values)
        except DecodeError as exc:
            raise CardDataError(str(exc)) from None


def read_card(transport: Transport, keys: KeyStore, *, pin: str | None = None) -> CardReading:
    """Read the basic data of the card behind ``transport``; see the module docstring."""
    session = SsseSession(transport, keys)
    algorithm = session.select()
    session.identify()
    if not session.is_genuine():
        return CardReading(session.atr, algorithm, False, None)
    if pin is not None:
        session.verify_pin(pin)
    session.authenticate()
    try:
        return CardReading(session.atr, algorithm, True, session.read_basic_data())
    finally:
        session.close()
