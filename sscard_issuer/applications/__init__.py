"""Individual applications: the pure checks of what an applicant brings (issue 4).

Identity documents (:mod:`.documents`) and the applicant photo (:mod:`.photo`); no database and
no I/O beyond decoding the photo bytes handed in.
"""

from sscard_issuer.applications.document_numbers import DocumentError, DocumentType
from sscard_issuer.applications.documents import (
    HOUSEHOLD_REGISTER_AGE_LIMIT,
    IdentityDocument,
    age_on,
    applicable,
    check_applicable,
    social_security_number_for,
)
from sscard_issuer.applications.photo import (
    PHOTO_REQUIRED_FROM_AGE,
    Photo,
    PhotoProblem,
    PhotoProblemCode,
    PhotoRejected,
    PhotoRules,
    check_photo,
)

__all__ = [
    "HOUSEHOLD_REGISTER_AGE_LIMIT",
    "PHOTO_REQUIRED_FROM_AGE",
    "DocumentError",
    "DocumentType",
    "IdentityDocument",
    "Photo",
    "PhotoProblem",
    "PhotoProblemCode",
    "PhotoRejected",
    "PhotoRules",
    "age_on",
    "applicable",
    "check_applicable",
    "check_photo",
    "social_security_number_for",
]
