"""Personalisation: profiles, data preparation, the journaled card script, resume.

See :mod:`sscard_issuer.perso.engine` for how a job runs and resumes.
"""

from sscard_issuer.perso.engine import CardSpoiled, PersoError, PersoInterrupted, Personaliser, PersoOutcome
from sscard_issuer.perso.prepare import PersoRecord, check_application, expiry_after
from sscard_issuer.perso.profile import Profile, load_profile, profile_names

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
