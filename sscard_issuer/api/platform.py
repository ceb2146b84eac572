"""The national platform assembled: registry, lifecycle, e-cards, signing keys, verification.

:class:`Platform` is what the HTTP service (:mod:`.platform_app`) and ``sscard ecard`` call. It
signs credentials and status lists with one key (a development PEM file, or a PKCS#11 token) and
presentation codes with the same key under a short ``kid`` (the QR budget), publishes both kids,
keeps every retired key published until the last credential it signed expires, and verifies with
the same library relying parties use (:mod:`sscard_issuer.credential.verify`), the status read
straight from the registry and codes claimed once in the registry's replay store (shared by every
process on the same database).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, select

from sscard_issuer.credential import status_list
from sscard_issuer.credential.codes import CodeSubject, KeyAlias, make_code
from sscard_issuer.credential.family import FamilyLimits
from sscard_issuer.credential.jose import Signer, sign_compact
from sscard_issuer.credential.keyset import KeySet, PublicKey
from sscard_issuer.credential.mint import CredentialSubject, mint_credential
from sscard_issuer.credential.profile import BusinessType
from sscard_issuer.credential.signers import Es256Signer, Sm2Signer
from sscard_issuer.credential.store import EcardIssue, EcardRefused
from sscard_issuer.credential.verify import StatusUnavailable, Verification, Verifier, VerifierSettings
from sscard_issuer.crypto.sm2 import Sm2PrivateKey
from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle.access import Actor
from sscard_issuer.lifecycle.ecard_link import EcardLink, IssuedEcard
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry import Registry
from sscard_issuer.registry import credentials as records
from sscard_issuer.registry.credentials import Ecard, EcardStatus
from sscard_issuer.registry.holders import Card, Person

DEV_SIGNING_KEY = Path(__file__).resolve().parents[2] / "keys" / "dev" / "ecard-signing.pem"
STATUS_PATH = "/v1/status-lists"


@dataclass(frozen=True)
class PlatformSettings:
    issuer: str = "https://ecard.example"  # the platform's identifier and base URL
    shards: int = 16  # development defaults; production: about 1,000 lists of 1,000,000
    shard_size: int = 100_000
    code_kid: str = "c1"  # the short kid presentation codes are signed under
    status_ttl: int = 300  # seconds a status list may be cached (token ttl and Cache-Control)
    status_validity: int = 86_400  # a status list token's exp
    jwks_max_age: int = 300
    family: FamilyLimits = field(default_factory=FamilyLimits)  # relatives per holder, by kind (a setting)

    @property
    def retired_key_grace(self) -> timedelta:
        """How long a retired key stays published at least: the status lists and codes it signed last."""
        return timedelta(seconds=self.status_validity + 120)

    @property
    def status_base(self) -> str:
        return self.issuer.rstrip("/") + STATUS_PATH


DEV_SM2_SIGNING_KEY = DEV_SIGNING_KEY.with_name("ecard-signing-sm2.key")


def development_sm2_signer(path: Path = DEV_SM2_SIGNING_KEY) -> Sm2Signer:
    """The development SM2 signing key (TEST ONLY; the national profile), made on first use."""
    if path.exists():
        scalar = path.read_text("ascii").strip().splitlines()[-1]
        return Sm2Signer(Sm2PrivateKey.from_raw(bytes.fromhex(scalar)))
    key = Sm2PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text("TEST ONLY: the development SM2 e-card signing key of sscard-issuer (hex scalar).\n"
                         + key.private_bytes_raw().hex() + "\n", "ascii")
    temporary.replace(path)
    return Sm2Signer(key)


def development_signer(path: Path = DEV_SIGNING_KEY) -> Es256Signer:
    """The development signing key (TEST ONLY), made on first use and kept under ``keys/dev``."""
    if path.exists():
        return Es256Signer.from_pem(path.read_bytes())
    signer = Es256Signer.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(b"TEST ONLY: the development e-card signing key of sscard-issuer. "
                          b"Never sign real credentials with it.\n" + signer.to_pem())
    temporary.replace(path)
    return signer


_STATUS_AT = select(Ecard.status).where(Ecard.status_shard == bindparam("shard"), Ecard.status_index == bindparam("idx"))


class RegistryStatus:
    """The verifier's status source on the platform: the e-card's status, straight from the registry."""

    def __init__(self, registry: Registry, status_base: str) -> None:
        self._registry = registry
        self._prefix = status_base.rstrip("/") + "/"

    def status(self, uri: str, idx: int) -> int:
        shard = uri[len(self._prefix):] if uri.startswith(self._prefix) else ""
        if not shard.isdigit():
            raise StatusUnavailable(f"{uri} is not one of this platform's status lists")
        # a plain connection, not an ORM session: this runs on every verification (a third of the time)
        with self._registry.reading() as connection:
            value = connection.execute(_STATUS_AT, {"shard": int(shard), "idx": idx}).scalar_one_or_none()
        return EcardStatus.VALID if value is None else int(value)


class RegistryReplayStore:
    """Presentation codes claimed once, in the registry: every verifier process on it shares the memory.

    Expired codes are purged at most once every ``purge_every`` seconds by each process (at once
    again while a purge finds a full batch): on every claim the purge doubled its cost, and a code
    remembered a few seconds past its expiry changes nothing (an expired code is refused anyway)."""

    def __init__(self, registry: Registry, clock: Callable[[], float] = time.time, *,
                 purge_every: float = 1.0) -> None:
        self._registry = registry
        self._clock = clock
        self._purge_every = purge_every
        self._next_purge = float("-inf")
        self._purging = threading.Lock()  # one purge at a time in this process; claims never wait for it

    def claim(self, jti: str, expires_at: datetime) -> bool:
        now = self._clock()
        when = datetime.fromtimestamp(now, UTC)
        if now >= self._next_purge and self._purging.acquire(blocking=False):
            try:
                with self._registry.one_write() as connection:
                    full = records.purge_used_codes(connection, when) >= records.PURGE_BATCH
                self._next_purge = now if full else now + self._purge_every
            finally:
                self._purging.release()
        with self._registry.one_write() as connection:
            return records.claim_code(connection, jti, expires_at, when)


def rotate_signing_key(registry: Registry, signer: Signer, *, code_kid: str | None, at: datetime,
                       grace: timedelta) -> tuple[str, list[str]]:
    """Make ``signer`` the platform's signing key (codes under ``code_kid``: by default the alias it
    already has, else the next unused short kid); every other key retires, published while what it
    signed is valid and at least ``grace`` longer. Returns (the code alias, the kids retired); running
    it again with the same key retires nothing more. A retired key cannot come back."""
    jwk = json.dumps(signer.public_jwk(), sort_keys=True)
    with registry.transaction() as session:
        alias = code_kid or records.code_alias(session, signer.kid) or records.next_code_kid(session)
        retired = records.rotate_keys(session, kid=signer.kid, alg=signer.alg, jwk=jwk, code_kid=alias, at=at,
                                      keep_until=at + grace)
    return alias, [key.kid for key in retired]


class Platform:
    def __init__(self, registry: Registry, *, settings: PlatformSettings | None = None, signer: Signer | None = None,
                 office: Office | None = None, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings or PlatformSettings()
        self.registry = registry
        self.signer = signer or development_signer()
        self.clock = clock
        self.office = office or Office(registry, clock=lambda: datetime.fromtimestamp(clock(), UTC))
        now = self.office.clock()
        with registry.transaction() as session:
            # a key seen before keeps its code alias; a retired key refuses to start (SigningKeyError)
            jwk = json.dumps(self.signer.public_jwk(), sort_keys=True)
            records.record_key(session, self.signer.kid, self.signer.alg, jwk, now)
            code_kid = records.code_alias(session, self.signer.kid) or self.settings.code_kid
            records.record_key(session, code_kid, self.signer.alg, jwk, now)
        self.code_signer = KeyAlias(self.signer, code_kid)
        self._retired = False  # set when another process rotated the key away (seen at the key set's refresh)
        self.ecards = EcardLink(self.office, mint=self._mint, shards=self.settings.shards,
                                shard_size=self.settings.shard_size, kid=self.signer.kid)
        self._status = RegistryStatus(registry, self.settings.status_base)
        self._replay = RegistryReplayStore(registry, clock)
        self._lists: dict[int, tuple[int, str]] = {}  # shard -> (version, token)
        self._keyset: tuple[float, KeySet] | None = None

    # -- issuing ----------------------------------------------------------------------------------

    def _mint(self, issue: EcardIssue) -> str:
        subject = CredentialSubject(
            ecard_id=issue.ecard_id, issuance_number=issue.issuance_number, level=issue.level,
            area=issue.area_code, card_id=issue.card_id, card_number=issue.card_number,
            ssn=issue.social_security_number, name=issue.name, issued_at=int(issue.issued_at.timestamp()),
            expires_at=int(issue.expires_at.timestamp()), shard=issue.status_shard, index=issue.status_index)
        return mint_credential(subject, self.signer, issuer=self.settings.issuer, status_base=self.settings.status_base)

    def issue(self, actor: Actor, card_key: str, level: int = 1) -> IssuedEcard:
        return self.ecards.issue(actor, card_key, level)

    def ecard(self, ecard_id: str) -> Ecard | None:
        with self.registry.transaction(durable=False) as session:
            return session.execute(select(Ecard).where(Ecard.ecard_id == ecard_id)).scalar_one_or_none()

    def code(self, ecard_id: str, *, business: BusinessType, audience: str, nonce: str | None = None) -> str:
        """A presentation code for the holder's app; only for an e-card whose card may be used now."""
        with self.registry.transaction(durable=False) as session:
            row = session.execute(select(Ecard, Card, Person).join(Card, Card.card_ref == Ecard.card_ref)
                                  .join(Person, Person.id == Ecard.person_id)
                                  .where(Ecard.ecard_id == ecard_id)).first()
        if row is None:
            raise FieldError("ecard", "the id of an e-card", ecard_id)
        ecard, card, person = row
        if not ecard.active or ecard.status != EcardStatus.VALID:
            raise EcardRefused("ecard_not_usable", f"e-card {ecard_id} is suspended or revoked",
                               "电子社保卡已暂停或失效，不能生成二维码")
        self._check_current()
        subject = CodeSubject(area=ecard.area_code, ssn=person.social_security_number or "", name=person.name,
                              card_number=card.card_number or "", level=ecard.level, shard=ecard.status_shard,
                              index=ecard.status_index)
        return make_code(subject, self.code_signer, business=business, issuer=self.settings.issuer,
                         audience=audience, now=int(self.clock()), nonce=nonce)

    # -- publishing --------------------------------------------------------------------------------

    def keys(self, *, max_age: float = 10.0) -> KeySet:
        """The published keys, read from the registry at most every ``max_age`` seconds."""
        now = self.clock()
        if self._keyset is None or now - self._keyset[0] > max_age:
            with self.registry.transaction(durable=False) as session:
                published = records.published_keys(session, self.office.clock())
            self._retired = not any(k.kid == self.signer.kid and k.retired_at is None for k in published)
            self._keyset = (now, KeySet(PublicKey(kid=k.kid, alg=k.alg, jwk=json.loads(k.jwk), not_after=k.not_after)
                                        for k in published))
        return self._keyset[1]

    def rotate(self, signer: Signer, *, code_kid: str | None = None) -> list[str]:
        """Sign with ``signer`` from now on (:func:`rotate_signing_key`); returns the kids retired.

        Other processes serving with a retired key stop signing within :meth:`keys`' refresh
        interval; restart them with the new key."""
        alias, retired = rotate_signing_key(self.registry, signer, code_kid=code_kid, at=self.office.clock(),
                                            grace=self.settings.retired_key_grace)
        self.signer, self.code_signer = signer, KeyAlias(signer, alias)
        self.ecards.kid = signer.kid
        self._lists.clear()
        self._keyset = None
        return retired

    def _check_current(self) -> None:
        self.keys()
        if self._retired:
            raise records.SigningKeyError("key_retired", f"signing key {self.signer.kid!r} has been retired: "
                                          "restart the service with the current key",
                                          f"签名密钥 {self.signer.kid} 已停用，请使用新密钥重新启动服务")

    def status_list(self, shard: int) -> tuple[str, str]:
        """The shard's Status List Token and its ETag; signed again only when the shard changed."""
        if not 0 <= shard < self.settings.shards:
            raise FieldError("shard", f"a status list number from 0 to {self.settings.shards - 1}", shard)
        self._check_current()
        version, entries = self.ecards.status_list(shard)
        cached = self._lists.get(shard)
        if cached is None or cached[0] != version:
            lst = status_list.StatusList(self.settings.shard_size, bits=2)
            for index, value in entries:
                lst.set(index, value)
            now = int(self.clock())
            uri = status_list.shard_uri(self.settings.status_base, shard)
            claims = status_list.status_list_claims(uri=uri, lst=lst, iat=now, exp=now + self.settings.status_validity,
                                                    ttl=self.settings.status_ttl, iss=self.settings.issuer)
            cached = (version, sign_compact({"typ": status_list.STATUS_LIST_TYP}, claims, self.signer))
            self._lists[shard] = cached
        return cached[1], f'"{shard}-{cached[0]}"'

    # -- verifying -----------------------------------------------------------------------------------

    def verifier(self, audience: str) -> Verifier:
        # the platform allows the algorithms of the keys it publishes itself (ES256; SM2 in the national profile)
        algorithms = tuple(sorted({key.alg for key in self.keys()}))
        settings = VerifierSettings(issuer=self.settings.issuer, audience=audience,
                                    status_base=self.settings.status_base, algorithms=algorithms)
        return Verifier(settings, self.keys, self._status, self._replay, clock=self.clock)

    def verify(self, token: str, *, audience: str, nonce: str | None = None, card_id: str | None = None,
               accept: list[BusinessType] | None = None) -> Verification:
        """A credential (``~`` in it) or a presentation code, as this relying party sees it."""
        verifier = self.verifier(audience)
        if "~" in token:
            return verifier.verify_credential(token, card_id=card_id)
        return verifier.verify_code(token, nonce=nonce, accept=accept)
