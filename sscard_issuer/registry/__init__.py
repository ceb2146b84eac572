"""The registry: records that must survive any crash (SQLAlchemy; SQLite or PostgreSQL)."""

from sscard_issuer.registry.audit import AuditEntry, AuditHead, AuditProblem, AuditReport, AuditTampered
from sscard_issuer.registry.credentials import (
    Ecard,
    EcardLevel,
    EcardStatus,
    SigningKey,
    StatusShard,
    UsedCode,
)
from sscard_issuer.registry.database import Registry, default_url
from sscard_issuer.registry.family import ConsentMethod, FamilyLink, Relation, RevokedBy
from sscard_issuer.registry.holders import (
    Application,
    ApplicationBatch,
    Card,
    CardEventRow,
    EventConsumer,
    IdentityDocumentRow,
    Person,
)
from sscard_issuer.registry.issuance import IssuanceJob, IssuanceStep, PrinterRow
from sscard_issuer.registry.models import (
    AllocationState,
    AreaSequence,
    CardAllocation,
    JobState,
    PersoJob,
    PersoStep,
    StepState,
)
from sscard_issuer.registry.office import (
    ApprovalKind,
    ApprovalRequest,
    ApprovalState,
    Operator,
    Outlet,
    Role,
    StockKind,
    StockMovement,
)

__all__ = [
    "AllocationState",
    "Application",
    "ApplicationBatch",
    "ApprovalKind",
    "ApprovalRequest",
    "ApprovalState",
    "AreaSequence",
    "AuditEntry",
    "AuditHead",
    "AuditProblem",
    "AuditReport",
    "AuditTampered",
    "Card",
    "CardAllocation",
    "CardEventRow",
    "ConsentMethod",
    "Ecard",
    "EcardLevel",
    "EcardStatus",
    "EventConsumer",
    "FamilyLink",
    "IdentityDocumentRow",
    "IssuanceJob",
    "IssuanceStep",
    "JobState",
    "Operator",
    "Outlet",
    "PersoJob",
    "PersoStep",
    "Person",
    "PrinterRow",
    "Registry",
    "Relation",
    "RevokedBy",
    "Role",
    "SigningKey",
    "StatusShard",
    "StepState",
    "StockKind",
    "StockMovement",
    "UsedCode",
    "default_url",
]
