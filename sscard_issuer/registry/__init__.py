"""The registry: records that must survive any crash (SQLAlchemy; SQLite or PostgreSQL)."""

from sscard_issuer.registry.database import Registry, default_url
from sscard_issuer.registry.models import (
    AllocationState,
    AreaSequence,
    CardAllocation,
    JobState,
    PersoJob,
    PersoStep,
    StepState,
)

__all__ = [
    "AllocationState",
    "AreaSequence",
    "CardAllocation",
    "JobState",
    "PersoJob",
    "PersoStep",
    "Registry",
    "StepState",
    "default_url",
]
