"""The platform as real processes (``sscard serve platform`` under uvicorn, two of them on one
PostgreSQL database) and a relying party that knows nothing but the platform's address
(``sscard ecard verify --issuer URL``, as a process, with its own cache)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from sscard_issuer.lifecycle.actions import LossKind
from sscard_issuer.lifecycle.office import Office
from sscard_issuer.registry import Registry
from tests.pg import NewDatabaseUrl
from tests.unit.offices import applicant, enrolled, hire, individual

ISSUER_KEY, HOSPITAL_KEY = "int-issuer-0123456789", "int-hospital-0123456789"
HOSPITAL = "450100-H0002"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def sscard(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sscard_issuer", *args], capture_output=True, text=True,
                          timeout=60, check=check, cwd=REPO, env={**os.environ, "SSCARD_LANG": "en"})


@pytest.fixture
def database(new_database_url: NewDatabaseUrl) -> tuple[str, str]:
    """A PostgreSQL registry with a collected card; (url, card reference)."""
    url = new_database_url("postgresql")
    registry = Registry(url)
    office = Office(registry)
    staff = hire(office)
    who = enrolled(office, staff.operator, applicant())
    ref = office.apply(staff.operator, individual(who)).card_ref
    office.produce(staff.operator, ref)
    office.record_personalisation(staff.operator, ref, card_number="A00000123", card_id="450100D156000005000000000000007B",
                                  issued_on=date(2026, 3, 2), expires_on=date(2036, 3, 2), bank=False)
    office.collect(staff.operator, ref)
    registry.close()
    return url, ref


@pytest.fixture
def servers(database: tuple[str, str], tmp_path: Path) -> Iterator[list[str]]:
    """Two platform processes on the same database; both answer as the same issuer."""
    url, _ = database
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps({"clients": [
        {"name": "holder-app", "key_sha256": hashlib.sha256(ISSUER_KEY.encode()).hexdigest(), "rights": ["issue"]},
        {"name": "hospital", "key_sha256": hashlib.sha256(HOSPITAL_KEY.encode()).hexdigest(), "rights": ["verify"],
         "audience": HOSPITAL},
    ]}))
    ports = [free_port(), free_port()]
    issuer = f"http://127.0.0.1:{ports[0]}"
    processes = [subprocess.Popen([sys.executable, "-m", "sscard_issuer", "serve", "platform", "--port", str(port),
                                   "--database", url, "--clients", str(clients), "--issuer", issuer], cwd=REPO)
                 for port in ports]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base in bases:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(base + "/.well-known/jwks.json", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{base} did not start"
                assert all(p.poll() is None for p in processes), "a platform process exited"
                time.sleep(0.2)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def test_a_relying_party_verifies_with_nothing_but_the_platforms_address(
        servers: list[str], database: tuple[str, str], tmp_path: Path) -> None:
    url, ref = database
    issued = httpx.post(servers[0] + "/v1/ecards", json={"card": ref},
                        headers={"Authorization": f"Bearer {ISSUER_KEY}"}, timeout=10).json()
    token = issued["token"]
    done = sscard("ecard", "verify", "--issuer", servers[0], "--cache", str(tmp_path / "rp"), "--json", token)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["claims"]["cid"] == "450100D156000005000000000000007B"
    code = httpx.post(f"{servers[0]}/v1/ecards/{issued['ecard_id']}/codes", json={"audience": HOSPITAL},
                      headers={"Authorization": f"Bearer {ISSUER_KEY}"}, timeout=10).json()["code"]
    first = sscard("ecard", "verify", "--issuer", servers[0], "--audience", HOSPITAL, "--cache", str(tmp_path / "rp"), code)
    again = sscard("ecard", "verify", "--issuer", servers[0], "--audience", HOSPITAL, "--cache", str(tmp_path / "rp"), code)
    assert (first.returncode, again.returncode) == (0, 15), (first.stderr, again.stderr)
    assert "already used" in again.stderr
    cached = list((tmp_path / "rp" / "http").glob("*.json"))
    assert len(cached) >= 2  # the key set and a status list, kept for the next run
    registry = Registry(url)
    office = Office(registry)
    office.report_loss(office.actor("wang.li"), ref, LossKind.TEMPORARY)
    registry.close()
    fresh = sscard("ecard", "verify", "--issuer", servers[0], "--cache", str(tmp_path / "rp2"), "--json", token)
    assert fresh.returncode == 15 and json.loads(fresh.stdout)["reason"] == "suspended"


def test_a_code_verified_by_one_platform_process_is_refused_by_the_other(
        servers: list[str], database: tuple[str, str]) -> None:
    _, ref = database
    issued = httpx.post(servers[1] + "/v1/ecards", json={"card": ref},
                        headers={"Authorization": f"Bearer {ISSUER_KEY}"}, timeout=10).json()
    code = httpx.post(f"{servers[1]}/v1/ecards/{issued['ecard_id']}/codes", json={"audience": HOSPITAL},
                      headers={"Authorization": f"Bearer {ISSUER_KEY}"}, timeout=10).json()["code"]
    asked = [httpx.post(base + "/v1/verify", json={"token": code}, headers={"Authorization": f"Bearer {HOSPITAL_KEY}"},
                        timeout=10).json() for base in servers]
    assert [a["reason"] for a in asked] == ["valid", "replayed"]
    assert asked[0]["claims"]["ssn"] == applicant().document.number
