"""The personalisation of the PKI and bank applications, as hooks the engine runs as steps.

Each hook is safe to run again from its start (the engine re-runs an interrupted step): the PKI
hook regenerates the key pair until the application is activated, and after activation only
checks what the card holds; STORE DATA rewrites the same DGIs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sscard_issuer.apdu import Atr
from sscard_issuer.keys import DevKeyStore, KeyStore
from sscard_issuer.perso.bank import bank_hook
from sscard_issuer.perso.prepare import PersoRecord
from sscard_issuer.perso.profile import Profile
from sscard_issuer.pki import (
    CertificateAuthority,
    CertificateSubject,
    PkiAlreadyActive,
    TestCa,
    activate_pki,
    check_card_key,
    personalise_pki,
    read_certificates,
)
from sscard_issuer.transport import Transport

Hook = Callable[[Transport, PersoRecord, Profile], None]


def pki_hook(keys: KeyStore, ca: CertificateAuthority) -> Hook:
    def personalise(transport: Transport, record: PersoRecord, profile: Profile) -> None:
        applicant = record.applicant
        area, factor = str(applicant.area_code), Atr.parse(transport.atr).card_factor
        try:
            issued = personalise_pki(
                transport, keys, ca, CertificateSubject(applicant.name, applicant.ssn, record.card_id),
                valid_from=applicant.issue_date, valid_until=applicant.expiry_date,
                area_code=area, card_factor=factor, algorithm=profile.algorithm,
            )
        except PkiAlreadyActive:  # cut after activation, before the journal said so: check only
            sign_certificate, _ = read_certificates(transport)
            check_card_key(transport, sign_certificate)
            return
        check_card_key(transport, issued.sign_certificate, select=False)  # the certified key is the card's
        activate_pki(transport, keys, area_code=area, card_factor=factor, algorithm=profile.algorithm,
                     in_session=True)

    return personalise


def application_hooks(keys: KeyStore, *, ca_dir: Path | None = None) -> tuple[Hook | None, Hook | None]:
    """The PKI hook with the test CA (``ca_dir``, or the committed one in ``keys/dev/test-ca``),
    and the bank hook when the key store can give the card manager's keys (the development one).
    """
    ca = (TestCa.load_or_create(ca_dir, now=datetime.now(UTC)) if ca_dir is not None
          else TestCa.default())
    bank = bank_hook(keys) if isinstance(keys, DevKeyStore) else None
    return pki_hook(keys, ca), bank
