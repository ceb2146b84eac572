"""The e-card's credential profile: media types, business types, what each business may see.

Two artefacts (ecard.md section 2). The **credential** is an SD-JWT (RFC 9901) signed by the
national platform, held by the holder's app until the card expires; the holder's name and social
security number are selectively disclosable. The **presentation code** is a compact JWS the app
shows as a QR code: valid 60 seconds, usable once, carrying only what its business type needs, and
no more than 400 bytes so that a phone reads it at arm's length. Its claims are terse for that
reason (:data:`CODE_CLAIM_NAMES`), and the platform signs codes under a short ``kid``.
"""

from __future__ import annotations

import enum

ECARD_TYP = "sscard-ecard+sd-jwt"  # the credential's JWS "typ" (this project's own media type)
CODE_TYP = "sscode+jwt"  # the presentation code's JWS "typ" (short: every byte counts in a QR code)
ECARD_AUDIENCE = "sscard:ecard"  # the credential's "aud": any relying party of the ecosystem
CODE_LIFETIME_SECONDS = 60
MAX_CODE_BYTES = 400
DEFAULT_ALGORITHMS = ("ES256",)  # SM2 is the second profile, allowed by verifiers that opt in

#: Claims of a credential the holder may disclose or withhold.
DISCLOSABLE = ("name", "ssn")


class BusinessType(enum.Enum):
    """The business a code is scanned for (ecard.md: the national code's types)."""

    QUERY = "01"  # identity and query at halls, kiosks, libraries
    PAYMENT = "02"  # settlement through the linked bank account (level 2 e-cards only)
    OTHER = "03"
    CROSS_REGION_MEDICAL = "04"  # cross-region medical settlement

    def display(self, lang: str = "zh") -> str:
        zh, en = _NAMES[self]
        return en if lang == "en" else zh


_NAMES = {
    BusinessType.QUERY: ("身份认证与查询", "identity and query"),
    BusinessType.PAYMENT: ("支付结算", "payment"),
    BusinessType.OTHER: ("其他", "other"),
    BusinessType.CROSS_REGION_MEDICAL: ("跨省异地就医结算", "cross-region medical settlement"),
}

#: The holder data a code of each business type carries, in this order in its ``d`` array
#: (positional, to stay inside the QR budget); nothing else is put in, and a verifier refuses a code
#: whose data do not match its type. What the relying party gets back (ecard.md): the issuing
#: area, the social security number, the name.
CODE_DATA: dict[BusinessType, tuple[str, ...]] = {
    BusinessType.QUERY: ("area", "ssn", "name"),
    BusinessType.PAYMENT: ("area", "ssn", "name", "level"),
    BusinessType.OTHER: ("area", "name"),
    BusinessType.CROSS_REGION_MEDICAL: ("area", "card_number", "ssn", "name"),
}

#: The code's claims, and what they mean.
CODE_CLAIM_NAMES = {
    "iss": "issuer (the platform)",
    "aud": "the verifier the code is for",
    "jti": "unique code id (single use)",
    "exp": "expires at (at most 60 s after it was made)",
    "bt": "business type (01-04)",
    "nonce": "the verifier's nonce, when it asked for one",
    "st": "status reference: [shard, index] in the issuer's status lists",
    "d": "the holder data of the business type, in CODE_DATA order",
}
CODE_REQUIRED = ("iss", "aud", "jti", "exp", "bt", "st", "d")
