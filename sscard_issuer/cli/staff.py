"""``sscard staff add|list`` and ``sscard outlet list|set``: who works where, and what each outlet does.

The very first administrator is added without ``--operator`` (there is nobody yet to act); every
later member of staff is added by an administrator. ``--password-stdin`` sets the password used to
sign in to the web console (the first line of standard input; at least 10 characters); the command
line itself acts as a named member of staff without one.
"""

from __future__ import annotations

import enum
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sscard_issuer.cli.common import plain_errors
from sscard_issuer.cli.messages import language, text
from sscard_issuer.cli.registry_common import (
    DatabaseOpt,
    JsonOpt,
    OperatorOpt,
    acting,
    open_office,
    print_json,
    show_fields,
    show_rows,
)
from sscard_issuer.errors import FieldError

if TYPE_CHECKING:
    from sscard_issuer.registry.office import Operator, Outlet

staff_app = typer.Typer(help="Members of staff. 工作人员。", no_args_is_help=True)
outlet_app = typer.Typer(help="Service outlets. 服务网点。", no_args_is_help=True)


class RoleChoice(enum.Enum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"


def _role_name(value: str) -> str:
    from sscard_issuer.lifecycle.access import role_name
    from sscard_issuer.registry.office import Role

    return role_name(Role(value), language())


def read_password() -> str:
    """The first line of standard input (a prompt would show in process lists or shell history)."""
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise FieldError("password", "the password on the first line of standard input")
    return line


@staff_app.command("add")
def add(
    username: Annotated[str, typer.Option("--username", help="Sign-in name: lower-case letters, digits, _ . -")],
    name: Annotated[str, typer.Option("--name", help="The name shown to others.")],
    role: Annotated[RoleChoice, typer.Option("--role", help="What they may do.")],
    outlet: Annotated[str | None, typer.Option(
        "--outlet", metavar="CODE", help="Their outlet (operators and supervisors).")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read a console sign-in password from standard input.")] = False,
    database: DatabaseOpt = None,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a member of staff (the first administrator needs no --operator). 添加工作人员。"""
    with plain_errors(), open_office(database) as office:
        from sscard_issuer.registry.office import Role

        password = read_password() if password_stdin else None
        actor = acting(office, operator) if operator else None
        added = office.add_operator(actor, username=username, display_name=name, role=Role(role.value),
                                    outlet_code=outlet, password=password)
    doc = {"username": added.username, "operator_id": added.operator_id, "role": role.value,
           "outlet": added.outlet_code}
    if as_json:
        print_json(doc)
    else:
        show_fields(text("staff_added"), [(text("username"), added.username), (text("display_name"), name),
                                          (text("role"), _role_name(role.value)), (text("outlet"), added.outlet_code)])


def _staff_json(row: Operator) -> dict[str, Any]:
    return {"username": row.username, "name": row.display_name, "role": row.role.value,
            "role_display": _role_name(row.role.value), "outlet": row.outlet_code, "active": row.active,
            "created_at": row.created_at.isoformat()}


@staff_app.command("list")
def list_staff(
    outlet: Annotated[str | None, typer.Option("--outlet", metavar="CODE", help="Only this outlet's staff.")] = None,
    database: DatabaseOpt = None,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the members of staff (any member of staff may look). 工作人员名单。"""
    with plain_errors(), open_office(database) as office:
        from sqlalchemy import select

        from sscard_issuer.lifecycle.access import Permission
        from sscard_issuer.registry.office import Operator

        acting(office, operator).require(Permission.VIEW)
        with office.registry.transaction(durable=False) as session:
            query = select(Operator).order_by(Operator.username)
            if outlet is not None:
                query = query.where(Operator.outlet_code == outlet)
            staff = [_staff_json(row) for row in session.execute(query).scalars()]
    if as_json:
        print_json(staff)
        return
    show_rows(text("staff_title"), [text(k) for k in ("username", "display_name", "role", "outlet", "active",
                                                      "created_at")],
              [(s["username"], s["name"], s["role_display"], s["outlet"], s["active"],
                datetime.fromisoformat(s["created_at"])) for s in staff])


def _outlet_json(row: Outlet) -> dict[str, Any]:
    return {"code": row.code, "name_zh": row.name_zh, "name_en": row.name_en, "address_zh": row.address_zh,
            "area_code": row.area_code, "city_hall": row.city_hall, "instant_issuance": row.instant_issuance,
            "batch_applications": row.batch_applications, "active": row.active}


def _show_outlets(outlets: list[dict[str, Any]], *, as_json: bool, title: str) -> None:
    if as_json:
        print_json(outlets)
        return
    name = "name_en" if language() == "en" else "name_zh"
    show_rows(title, [text(k) for k in ("outlet_code", "outlet_name", "area", "instant_issuance",
                                        "batch_applications", "active")],
              [(o["code"], o[name], o["area_code"], o["instant_issuance"], o["batch_applications"], o["active"])
               for o in outlets])


@outlet_app.command("list")
def list_outlets(database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """List the outlets and their settings. 网点列表。"""
    with plain_errors(), open_office(database) as office:
        outlets = [_outlet_json(row) for row in office.outlets()]
    _show_outlets(outlets, as_json=as_json, title=text("outlets_title"))


@outlet_app.command("set")
def set_outlet(
    code: Annotated[str, typer.Argument(metavar="CODE", help="The outlet's code (sscard outlet list).")],
    instant: Annotated[bool | None, typer.Option(
        "--instant/--no-instant", help="Instant issuance at this outlet.", show_default=False)] = None,
    batch: Annotated[bool | None, typer.Option(
        "--batch/--no-batch", help="Employers' batch applications here.", show_default=False)] = None,
    active: Annotated[bool | None, typer.Option(
        "--active/--inactive", help="Open or closed.", show_default=False)] = None,
    database: DatabaseOpt = None,
    operator: OperatorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change an outlet's settings (administrators). 设置网点。"""
    with plain_errors(), open_office(database) as office:
        row = office.set_outlet(acting(office, operator), code, instant_issuance=instant, batch_applications=batch,
                                active=active)
        doc = _outlet_json(row)
    if as_json:
        print_json(doc)
        return
    name = doc["name_en"] if language() == "en" else doc["name_zh"]
    show_fields(text("outlets_title"), [(text("outlet_code"), doc["code"]), (text("outlet_name"), name),
                                        (text("instant_issuance"), doc["instant_issuance"]),
                                        (text("batch_applications"), doc["batch_applications"]),
                                        (text("active"), doc["active"])])
