"""Personalisation: profiles, data preparation, the journaled card script, resume.

See :mod:`sscard_issuer.perso.engine` for how a job runs and resumes. The names below are loaded
on first use (PEP 562): the engine brings SQLAlchemy, Alembic and SM2 with it, which a command
that only reads a card should not pay for at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sscard_issuer.perso.errors import CardSpoiled, PersoError, PersoInterrupted

if TYPE_CHECKING:
    from sscard_issuer.perso.engine import Personaliser, PersoOutcome
    from sscard_issuer.perso.prepare import PersoRecord, check_application, expiry_after
    from sscard_issuer.perso.profile import Profile, load_profile, profile_names

_LAZY = {
    "PersoOutcome": "sscard_issuer.perso.engine",
    "Personaliser": "sscard_issuer.perso.engine",
    "PersoRecord": "sscard_issuer.perso.prepare",
    "check_application": "sscard_issuer.perso.prepare",
    "expiry_after": "sscard_issuer.perso.prepare",
    "Profile": "sscard_issuer.perso.profile",
    "load_profile": "sscard_issuer.perso.profile",
    "profile_names": "sscard_issuer.perso.profile",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CardSpoiled",
    "PersoError",
    "PersoInterrupted",
    "PersoOutcome",
    "PersoRecord",
    "Personaliser",
    "Profile",
    "check_application",
    "expiry_after",
    "load_profile",
    "profile_names",
]
