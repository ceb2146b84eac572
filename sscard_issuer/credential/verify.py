"""Verifying e-card credentials and presentation codes: the library relying parties and the
platform share (the HTTP service and ``sscard ecard verify`` are thin layers on it).

What a verifier trusts is configured, never taken from the token: the issuer, its key set (a key
is found by ``kid`` in the set; keys in headers are refused), the algorithms (an allow-list), the
status lists' address (only the issuer's own), its own audience. Every check that fails gives a
stable reason code with a message in Chinese and English; nothing raises for a bad token.

Order of checks for a presentation code: signature and header (:func:`.jose.verify_compact`),
issuer, audience, time (valid 60 seconds at most, with a small leeway for clocks), business type
and the data it may carry, nonce, status, and last the single-use claim of its
``jti`` in the replay store shared by the verifier's processes, so that only a code that would
otherwise be accepted is used up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sscard_issuer.credential import jose, sdjwt, status_list
from sscard_issuer.credential.keyset import KeySet
from sscard_issuer.credential.profile import (
    CODE_DATA,
    CODE_LIFETIME_SECONDS,
    CODE_REQUIRED,
    CODE_TYP,
    DEFAULT_ALGORITHMS,
    ECARD_AUDIENCE,
    ECARD_TYP,
    BusinessType,
)


class StatusSource(Protocol):
    """The status of entry ``idx`` of the list at ``uri`` (0 valid, 1 revoked, 2 suspended)."""

    def status(self, uri: str, idx: int) -> int: ...


class ReplayStore(Protocol):
    """Remembers presentation codes: ``claim`` is true the first time a ``jti`` is seen, then false."""

    def claim(self, jti: str, expires_at: datetime) -> bool: ...


class StatusUnavailable(Exception):
    """A status source could not answer (network, bad list); the verifier then refuses."""


_REASONS: dict[str, tuple[str, str]] = {
    "valid": ("有效", "valid"),
    "malformed": ("格式错误，无法识别", "malformed"),
    "alg_not_allowed": ("签名算法不被接受", "signature algorithm not accepted"),
    "unknown_kid": ("签名密钥不是签发方公布的密钥", "not signed with a key the issuer publishes"),
    "forbidden_header": ("令牌头部含有不被接受的密钥信息", "the token header carries key material, refused"),
    "crit": ("令牌含有无法处理的关键扩展", "unknown critical header"),
    "bad_signature": ("签名验证失败", "signature does not verify"),
    "typ": ("令牌类型不符", "wrong token type"),
    "issuer": ("签发方不符", "wrong issuer"),
    "audience": ("不是出示给本机构的", "not presented to this verifier"),
    "expired": ("已过期", "expired"),
    "not_yet_valid": ("尚未生效", "not yet valid"),
    "lifetime": ("有效期超过规定", "valid for longer than allowed"),
    "missing_claim": ("缺少必需的信息", "a required claim is missing"),
    "business_type": ("业务类型不被本机构接受", "business type not accepted here"),
    "too_much_data": ("携带了超出该业务所需的个人信息", "carries more personal data than the business needs"),
    "nonce": ("不是针对本次请求生成的", "not made for this request (nonce)"),
    "card_mismatch": ("与所持实体卡不一致", "bound to another card than the one presented"),
    "disclosure": ("选择性披露的信息无效", "invalid selective disclosure"),
    "suspended": ("社保卡已临时挂失，电子社保卡暂停使用", "the card is temporarily lost: the e-card is suspended"),
    "revoked": ("社保卡已挂失、补换或注销，电子社保卡已失效", "the card was lost, replaced or cancelled: the e-card is revoked"),
    "status_unavailable": ("暂时无法查询状态，请稍后再试", "the status could not be checked; try again"),
    "replayed": ("该二维码已被使用", "this code was already used"),
}


@dataclass(frozen=True)
class Verification:
    """The answer: ``valid``, a stable ``reason`` code, and the claims a valid token disclosed."""

    valid: bool
    reason: str
    claims: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "zh") -> str:
        zh, en = _REASONS.get(self.reason, (self.reason, self.reason))
        return en if lang == "en" else zh

    def to_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "reason": self.reason, "message": self.message("zh"),
                "message_en": self.message("en"), "claims": dict(self.claims)}


def _refuse(reason: str) -> Verification:
    return Verification(False, reason)


@dataclass(frozen=True)
class VerifierSettings:
    """What this verifier trusts and accepts."""

    issuer: str  # the platform's identifier (its base URL)
    audience: str  # this verifier's identifier (codes are bound to it)
    status_base: str  # the issuer's status lists live under this URL; no other is ever fetched
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    business_types: frozenset[BusinessType] = frozenset(BusinessType)
    leeway_seconds: int = 5  # clock skew tolerated between the holder's phone, platform and verifier


_CODE_REQUIRED = frozenset(CODE_REQUIRED)
_CODE_ALLOWED = frozenset({*CODE_REQUIRED, "nonce", "iat"})
_CREDENTIAL_REQUIRED = frozenset({"iss", "aud", "exp", "iat", "cid", "status"})
_BUSINESS = {business.value: business for business in BusinessType}
_CODE_DATA = {business.value: CODE_DATA[business] for business in BusinessType}  # by value: no Enum.__hash__
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_new = object.__new__


def _valid(claims: Mapping[str, Any]) -> Verification:
    """``Verification(True, "valid", claims)`` without the frozen dataclass's __init__ (half its cost)."""
    answer = _new(Verification)
    answer.__dict__.update(valid=True, reason="valid", claims=claims)
    return answer


class Verifier:
    def __init__(self, settings: VerifierSettings, keys: Callable[[], KeySet], status: StatusSource,
                 replay: ReplayStore, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._keys = keys  # called per verification: a cached, refreshed key set
        self._status = status
        self._replay = replay
        self._clock = clock

    # -- presentation codes ---------------------------------------------------------------------

    def verify_code(self, code: str, *, nonce: str | None = None,
                    accept: Collection[BusinessType] | None = None) -> Verification:
        """A scanned code. ``nonce``: the one this verifier issued, if any; ``accept``: the business
        types of this scan (default: those of the verifier's settings)."""
        settings = self.settings
        try:
            _, claims = jose._verify(code.strip(), self._keys(), settings.algorithms, CODE_TYP)
        except jose.JoseError as error:
            return _refuse(_jose_reason(error))
        if not claims.keys() >= _CODE_REQUIRED:
            return _refuse("missing_claim")
        now = self._clock()
        problem = self._common(claims, settings.audience, now)
        if problem:
            return _refuse(problem)
        exp = claims["exp"]
        if exp > now + CODE_LIFETIME_SECONDS + settings.leeway_seconds:
            return _refuse("lifetime")  # no code lives longer than a minute from now
        bt = claims["bt"]
        business = _BUSINESS.get(bt) if isinstance(bt, str) else None  # BusinessType(bt), without the enum call
        if business is None:
            return _refuse("business_type")
        if business not in (settings.business_types if accept is None else frozenset(accept)):
            return _refuse("business_type")
        data, fields = claims["d"], _CODE_DATA[bt]
        if not claims.keys() <= _CODE_ALLOWED or not isinstance(data, list) or len(data) != len(fields):
            return _refuse("too_much_data")
        if nonce is not None and claims.get("nonce") != nonce:
            return _refuse("nonce")
        reference = claims["st"]
        if not isinstance(reference, list) or len(reference) != 2:
            return _refuse("malformed")
        shard, idx = reference
        if not (type(shard) is int and type(idx) is int and shard >= 0 and idx >= 0):  # JSON: no bool, no subclass
            return _refuse("malformed")
        base = settings.status_base
        # status_list.shard_uri, whose checks of the shard the line above has made
        uri = f"{base.rstrip('/')}/{shard}" if type(base) is str and base else status_list.shard_uri(base, shard)
        problem = self._status_problem(uri, idx)
        if problem:
            return _refuse(problem)
        # datetime.fromtimestamp(exp + leeway, UTC), for an exp that is an int within a minute of now
        if not self._replay.claim(str(claims["jti"]), _EPOCH + timedelta(seconds=exp + settings.leeway_seconds)):
            return _refuse("replayed")
        disclosed = {"business_type": bt}
        disclosed.update(zip(fields, data, strict=True))
        return _valid(disclosed)

    # -- credentials --------------------------------------------------------------------------------

    def verify_credential(self, presentation: str, *, card_id: str | None = None) -> Verification:
        """An SD-JWT credential as the holder presents it (with the disclosures they chose)."""
        settings = self.settings
        try:
            # sdjwt.parse, the JWS's form checked only if the JWS is refused: one that verifies has it
            jws, disclosures, _ = sdjwt._split(presentation.strip(), check_jws=False)
            _, payload = jose._verify(jws, self._keys(), settings.algorithms, ECARD_TYP)
        except jose.JoseError as error:
            return _refuse(_jose_reason(error) if sdjwt._is_compact_jws(jws) else "malformed")
        except sdjwt.SdJwtError:
            return _refuse("malformed")
        if not payload.keys() >= _CREDENTIAL_REQUIRED:
            return _refuse("missing_claim")
        problem = self._common(payload, ECARD_AUDIENCE, self._clock())
        if problem:
            return _refuse(problem)
        if card_id is not None and str(payload["cid"]).upper() != card_id.upper():
            return _refuse("card_mismatch")
        try:
            claims = sdjwt.disclose(payload, disclosures)
            uri, idx = status_list.parse_status_reference(payload)
        except sdjwt.SdJwtError:
            return _refuse("disclosure")
        except status_list.StatusListError:
            return _refuse("malformed")
        if not uri.startswith(settings.status_base.rstrip("/") + "/"):
            return _refuse("malformed")  # never fetch a status list the issuer does not publish
        problem = self._status_problem(uri, idx)
        if problem:
            return _refuse(problem)
        return _valid(claims)

    # -- shared ---------------------------------------------------------------------------------------

    def _common(self, claims: Mapping[str, Any], audience: str, now: float) -> str | None:
        if claims.get("iss") != self.settings.issuer:
            return "issuer"
        aud = claims.get("aud")
        if not (aud == audience or (isinstance(aud, list) and audience in aud)):
            return "audience"
        # exp required, iat and nbf optional: integers (JSON's, so never a bool), within the leeway
        exp = claims.get("exp")
        iat = claims.get("iat", 0)
        nbf = claims.get("nbf", 0)
        if type(exp) is not int or type(iat) is not int or type(nbf) is not int:
            return "malformed"
        leeway = self.settings.leeway_seconds
        if now > exp + leeway:
            return "expired"
        if iat > now + leeway or nbf > now + leeway:
            return "not_yet_valid"
        return None

    def _status_problem(self, uri: str, idx: int) -> str | None:
        try:
            value = self._status.status(uri, idx)
        except StatusUnavailable:
            return "status_unavailable"
        if value == status_list.VALID:
            return None
        return "suspended" if value == status_list.SUSPENDED else "revoked"


def _jose_reason(error: jose.JoseError) -> str:
    return error.code if error.code in _REASONS else "malformed"
