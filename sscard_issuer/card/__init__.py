"""The card domain: the declarative model of the social security card, its codecs and identifiers.

Pure data and codecs, no I/O. :mod:`.ssc` is the one description of the card that the reader,
the personaliser and the simulator all read; :mod:`.model` is the vocabulary it is written in.
"""

from sscard_issuer.card.applicant import ETHNICITY_CODES, Applicant
from sscard_issuer.card.basic import BasicData
from sscard_issuer.card.codecs import (
    NAME_EXTENSION_LENGTH,
    NAME_LENGTH,
    Alphanumeric,
    AsciiFixed,
    BcdDate,
    BcdDigits,
    Binary,
    Codec,
    DecodeError,
    GbkText,
    Mapped,
    Numeric,
    decode_name,
    encode_name,
)
from sscard_issuer.card.identifiers import (
    CIC_RID,
    AreaCode,
    CardIdentificationCode,
    CardNumber,
    Sex,
    SocialSecurityNumber,
)
from sscard_issuer.card.model import (
    ALG_DES3,
    ALG_SM4,
    ALG_SSF33,
    KEY_IRK,
    KEY_REFS,
    KEY_RKSSSE,
    KEY_RPK,
    KEY_UPDATE_EF05_EF06,
    AccessCondition,
    ApplicationSpec,
    DfSpec,
    FileSpec,
    KeyRef,
    RecordAddressing,
    RecordFileSpec,
    RecordSpec,
    TransparentFileSpec,
)
from sscard_issuer.card.ssc import (
    APPLICATIONS,
    BANK,
    BANK_AID,
    BANK_PAN_FILE,
    DEFAULT_CARD_CATEGORY,
    DEFAULT_INIT_ORG,
    DF_AID_PREFIX,
    EF05,
    EF06,
    EF07,
    EF08,
    FINGERPRINT_SIZE,
    PHOTO_SIZE,
    PKI,
    PKI_ADF_AID,
    PKI_AID,
    SPEC_VERSION,
    SSSE,
    SSSE_AID,
    SSSE_ALGORITHM,
    Records,
)

__all__ = [
    "ALG_DES3", "ALG_SM4", "ALG_SSF33", "APPLICATIONS", "BANK", "BANK_AID", "BANK_PAN_FILE",
    "CIC_RID", "DEFAULT_CARD_CATEGORY", "DEFAULT_INIT_ORG", "DF_AID_PREFIX", "EF05", "EF06",
    "EF07", "EF08", "ETHNICITY_CODES", "FINGERPRINT_SIZE", "KEY_IRK", "KEY_REFS", "KEY_RKSSSE",
    "KEY_RPK", "KEY_UPDATE_EF05_EF06", "NAME_EXTENSION_LENGTH", "NAME_LENGTH", "PHOTO_SIZE",
    "PKI", "PKI_ADF_AID", "PKI_AID", "SPEC_VERSION", "SSSE", "SSSE_AID", "SSSE_ALGORITHM",
    "AccessCondition", "Alphanumeric", "Applicant", "ApplicationSpec", "AreaCode", "AsciiFixed",
    "BasicData", "BcdDate", "BcdDigits", "Binary", "CardIdentificationCode", "CardNumber",
    "Codec", "DecodeError", "DfSpec", "FileSpec", "GbkText", "KeyRef", "Mapped", "Numeric",
    "RecordAddressing", "Records", "RecordFileSpec", "RecordSpec", "Sex", "SocialSecurityNumber",
    "TransparentFileSpec", "decode_name", "encode_name",
]
