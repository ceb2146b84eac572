"""Who may do what, and where: the roles of the registry turned into one decision function.

An :class:`Actor` is a member of staff as the registry knows them (or the system itself, for
time-driven transitions and the outlet's machines). Operators and supervisors act only at the
outlet they belong to; auditors read; administrators keep the outlet directory and the staff list
and do no front-desk work. The second approval of dual control is checked where it is given
(:mod:`.stock`): a supervisor of the same outlet who is not the one who asked.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sscard_issuer.errors import SscardError
from sscard_issuer.registry.office import Role


class Permission(enum.Enum):
    VIEW = "view"  # read cards, applications, outlets
    FILE_APPLICATION = "file_application"
    ENROL = "enrol"  # record a person's social insurance enrolment (参保登记)
    CARD_OPERATION = "card_operation"  # activate, loss, cancel loss, replace, cancel, PIN records
    STOCK = "stock"  # receive blanks, ask for an adjustment or a destruction
    APPROVE = "approve"  # the second approval of dual control
    READ_AUDIT = "read_audit"
    MANAGE = "manage"  # outlets and staff


_FRONT_DESK = frozenset({Permission.VIEW, Permission.FILE_APPLICATION, Permission.ENROL,
                         Permission.CARD_OPERATION, Permission.STOCK})
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: _FRONT_DESK,
    Role.SUPERVISOR: _FRONT_DESK | {Permission.APPROVE, Permission.READ_AUDIT},
    Role.AUDITOR: frozenset({Permission.VIEW, Permission.READ_AUDIT}),
    Role.ADMINISTRATOR: frozenset({Permission.VIEW, Permission.ENROL, Permission.READ_AUDIT, Permission.MANAGE}),
}
# roles bound to one outlet: everything they do happens there
OUTLET_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR})

_ROLE_NAMES = {
    Role.OPERATOR: ("经办员", "operator"),
    Role.SUPERVISOR: ("主管", "supervisor"),
    Role.AUDITOR: ("审计员", "auditor"),
    Role.ADMINISTRATOR: ("管理员", "administrator"),
}


def role_name(role: Role, lang: str = "zh") -> str:
    zh, en = _ROLE_NAMES[role]
    return en if lang == "en" else zh


class Forbidden(SscardError):
    """The actor may not do this (here); nothing was changed. ``message_zh`` is for the operator."""

    def __init__(self, message: str, message_zh: str) -> None:
        self.message_zh = message_zh
        super().__init__(message)

    def message(self, lang: str = "zh") -> str:
        return str(self) if lang == "en" else self.message_zh


@dataclass(frozen=True)
class Actor:
    """A member of staff acting now; ``operator_id`` is None only for the system itself."""

    username: str
    role: Role | None  # None: the system
    outlet_code: str | None
    operator_id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system", None, None)

    @property
    def is_system(self) -> bool:
        return self.role is None

    def can(self, permission: Permission) -> bool:
        return self.is_system or (self.role is not None and permission in GRANTS[self.role])

    def require(self, permission: Permission, *, outlet_code: str | None = None) -> None:
        """Raise :class:`Forbidden` unless the actor has ``permission`` (at ``outlet_code``, if given)."""
        if self.is_system:
            return
        assert self.role is not None
        if permission not in GRANTS[self.role]:
            raise Forbidden(f"{self.username} ({self.role.value}) may not {permission.value}",
                            f"{self.username}（{role_name(self.role)}）无权办理此项业务")
        if outlet_code is not None and self.role in OUTLET_ROLES and outlet_code != self.outlet_code:
            raise Forbidden(f"{self.username} works at outlet {self.outlet_code}, not {outlet_code}",
                            f"{self.username} 只能在本网点（{self.outlet_code}）办理业务，不能在 {outlet_code} 办理")

    def at(self, permission: Permission, outlet_code: str | None = None) -> str:
        """Require ``permission`` at ``outlet_code`` (default: the actor's own); the outlet acted at."""
        self.require(permission)
        where = self.where(outlet_code)
        self.require(permission, outlet_code=where)
        return where

    def where(self, outlet_code: str | None) -> str:
        """The outlet an action happens at: the one given, else the actor's own."""
        outlet = outlet_code or self.outlet_code
        if outlet is None:
            raise Forbidden(f"{self.username} belongs to no outlet: name the outlet",
                            f"{self.username} 不属于任何网点，请指定办理网点")
        return outlet
