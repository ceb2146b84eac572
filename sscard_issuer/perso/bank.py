"""What the toolkit writes into the bank application: EMV CPS DGIs, built from the record.

The bank's own data preparation owns most of a debit application (keys, risk parameters); the
social security side writes what the card description names: the PAN record (SFI 2 record 1, as
DGI 0201: a '70' template with track 2 equivalent data '57' and the PAN '5A'), and the bank PIN's
initial value in DGI 8010 (a sensitive DGI: it travels encrypted under the channel's DEK). The
bank PIN is separate from the social security PIN (card.md section 3); its initial value is the
profile's initial PIN.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sscard_issuer.apdu import Tlv, encode_ber, read_record, select_by_name
from sscard_issuer.card import ssc
from sscard_issuer.channel import Dgi, Scp, SecurityLevel, StaticKeys
from sscard_issuer.crypto import Algorithm
from sscard_issuer.errors import SscardError
from sscard_issuer.gp.client import personalise_bank
from sscard_issuer.keys import DevKeyStore
from sscard_issuer.perso.prepare import PersoRecord
from sscard_issuer.perso.profile import Profile
from sscard_issuer.transport import Transport


class BankReadBackError(SscardError):
    """The bank application does not hold what was just stored in it."""


SERVICE_CODE = "220"  # international, issuer authorisation, PIN if PIN pad present (inferred)
_PAN = next(r for r in ssc.BANK_PAN_FILE.records if r.tag == 0x5A)


def track2(pan: str, expiry: date) -> bytes:
    """Track 2 equivalent data: PAN ‖ D ‖ YYMM ‖ service code, F-padded to whole bytes."""
    nibbles = f"{pan}D{expiry:%y%m}{SERVICE_CODE}"
    return bytes.fromhex(nibbles + ("F" if len(nibbles) % 2 else ""))


def pin_block_format2(pin: str) -> bytes:
    """ISO 9564 format 2 (the offline PIN block of DGI 8010): 2, length, digits, F padding."""
    nibbles = f"2{len(pin):X}{pin}".ljust(16, "F")
    return bytes.fromhex(nibbles)


def bank_dgis(record: PersoRecord, profile: Profile) -> list[Dgi]:
    if record.bank_pan is None:
        raise ValueError("no bank PAN in this record")
    pan_record = Tlv(0x70, encode_ber([
        Tlv(0x57, track2(record.bank_pan, record.applicant.expiry_date)),
        Tlv(0x5A, _PAN.codec.encode(record.bank_pan)),
    ])).encode()
    return [
        Dgi((ssc.BANK_PAN_FILE.sfi << 8) | 1, pan_record),
        Dgi(0x8010, pin_block_format2(profile.pin.initial)),
    ]


def bank_hook(keys: DevKeyStore) -> Callable[[Transport, PersoRecord, Profile], None]:
    """The bank step: card manager, secure channel of the profile, INSTALL, STORE DATA.

    The ISD keys come from the development KMC (``DevKeyStore.gp_static_keys``): the channel
    computes with key bytes in this version, so a PKCS#11 key store cannot drive it yet.
    """

    def personalise(transport: Transport, record: PersoRecord, profile: Profile) -> None:
        settings = profile.bank
        if settings is None:
            return
        algorithm = Algorithm.DES3 if settings.scp == Scp.SCP02 else Algorithm.AES

        def static_keys(kdd: bytes) -> StaticKeys:
            return keys.gp_static_keys(algorithm, settings.diversify, kdd)

        dgis = bank_dgis(record, profile)
        personalise_bank(transport, static_keys, Scp(settings.scp), SecurityLevel(settings.level), dgis)
        # read back the way a terminal does: the bank application, its PAN record
        transport.send_checked(select_by_name(ssc.BANK_AID, le=256))
        sfi = ssc.BANK_PAN_FILE.sfi
        written = transport.send_checked(read_record(1, (sfi << 3) | 0x04, le=256)).data
        if written != dgis[0].data:
            raise BankReadBackError(f"the bank PAN record reads back {written.hex().upper()}, "
                                    f"not what was written")

    return personalise
