"""``sscard serve outlet``: the console on the embedded defaults, with simulated printers at one outlet.

The registry is ``--database`` (default ``$SSCARD_DATABASE_URL``, else the local SQLite file);
``--simulated-printers N`` printer simulators run in this process for ``--outlet`` (0: none, for a
console whose printers are driven by ``sscard outlet run``). On a fresh registry nobody can sign in:
``--demo-staff`` adds demonstration accounts (passwords printed once; ``$SSCARD_DEMO_PASSWORD`` sets
one for all of them) and receives blank cards for the simulated printers; otherwise add staff with
``sscard staff add ... --password-stdin``.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from sscard_issuer.api.console import queries
from sscard_issuer.api.console.app import create_console
from sscard_issuer.errors import FieldError
from sscard_issuer.lifecycle.access import Actor
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry import Role

log = logging.getLogger(__name__)

SECRET_ENV = "SSCARD_CONSOLE_SECRET"  # keeps sessions valid across restarts when set
DEMO_PASSWORD_ENV = "SSCARD_DEMO_PASSWORD"
ELSEWHERE = "NN09"  # the demo's operator at another outlet (a county hall)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: Role
    outlet: str | None


def demo_accounts(outlet: str) -> tuple[DemoAccount, ...]:
    other = ELSEWHERE if outlet != ELSEWHERE else "NN10"
    return (DemoAccount("admin", "管理员", Role.ADMINISTRATOR, None),
            DemoAccount("wang.li", "王丽", Role.OPERATOR, outlet),
            DemoAccount("zhao.min", "赵敏", Role.SUPERVISOR, outlet),
            DemoAccount("chen.gang", "陈刚", Role.OPERATOR, other),
            DemoAccount("audit", "审计员", Role.AUDITOR, None))


def add_demo_staff(office: Office, outlet: str, *, password: str | None = None) -> list[tuple[str, str]]:
    """Demonstration accounts, unless someone can sign in already; their (username, password)."""
    if queries.anyone_can_sign_in(office):
        return []
    made: list[tuple[str, str]] = []
    admin: Actor | None = None
    for account in demo_accounts(outlet):
        chosen = password or secrets.token_urlsafe(9)
        try:
            added = office.add_operator(admin, username=account.username, display_name=account.display_name,
                                        role=account.role, outlet_code=account.outlet, password=chosen)
        except FieldError:  # the name is taken (by someone without a password): leave them be
            continue
        if account.role is Role.ADMINISTRATOR:
            admin = added
        made.append((account.username, chosen))
    if admin is None:
        raise FieldError("demo_staff", "a fresh registry (it has an administrator already: add staff with "
                         "`sscard staff add ... --password-stdin`)")
    return made


def serve_outlet(*, host: str, port: int, database: str | None, outlet: str, simulated_printers: int,
                 out: Path | None, timing_scale: float, demo_staff: bool, session_minutes: float) -> None:
    import uvicorn

    from sscard_issuer.cli.registry_common import open_office
    from sscard_issuer.outlet.desk import IssuanceDesk
    from sscard_issuer.outlet.station import SimulatedPrinters
    from sscard_issuer.outlet.station import simulated_printers as start_printers

    if simulated_printers < 0:
        raise FieldError("simulated_printers", "0 or more printers", simulated_printers)
    with open_office(database) as office:
        if not any(o.code == outlet and o.active for o in office.outlets()):
            raise FieldError("outlet", "the code of an active outlet (sscard outlet list)", outlet)
        say = sys.stderr.write
        if demo_staff:
            made = add_demo_staff(office, outlet, password=os.environ.get(DEMO_PASSWORD_ENV))
            for username, password in made:
                say(f"demo account / 演示账号: {username}  password / 密码: {password}\n")
            if made and simulated_printers and office.stock(office.actor("wang.li"), outlet).received == 0:
                office.receive_stock(office.actor("wang.li"), 50 * simulated_printers, reference="demo")
        desk = IssuanceDesk(office)
        printers: SimulatedPrinters | None = None
        if simulated_printers:
            printers = start_printers(desk, outlet, count=simulated_printers, out=out, timing_scale=timing_scale)
        try:
            app = create_console(office, desk=desk, simulated=printers, simulated_outlet=outlet if printers else None,
                                 session_ttl=session_minutes * 60, secret=os.environ.get(SECRET_ENV))
            say(f"outlet console / 网点业务系统: http://{host}:{port}/console/\n")
            uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
        finally:
            if printers is not None:
                printers.close()
