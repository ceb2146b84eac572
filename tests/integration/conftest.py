"""The real PC/SC stack, started by the tests: pcscd with Debian's two vpcd readers.

Nothing here skips: a missing pcscd or vpcd is a failed set-up (CI installs them through
tools/setup.sh), said plainly.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from softhsm_token import SoftHsmToken, softhsm_session

from sscard_issuer.sim.vpcd import DEBIAN_VPCD_READERS, Faults, VpcdLink
from sscard_issuer.transport.inprocess import VirtualCard
from sscard_issuer.transport.pcsc import wait_for_reader_state
from sscard_issuer.transport.pcscd import Pcscd

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READERS = DEBIAN_VPCD_READERS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pcscd]:
    if shutil.which("pcscd") is None and not Path("/usr/sbin/pcscd").exists():
        pytest.fail("pcscd is not installed: run tools/setup.sh (apt-get install pcscd vsmartcard-vpcd)")
    if not VPCD_DRIVER.exists():
        pytest.fail(f"vpcd reader driver missing ({VPCD_DRIVER}): apt-get install vsmartcard-vpcd")
    handle = Pcscd.ensure(log_path=tmp_path_factory.mktemp("pcscd") / "pcscd.log")
    yield handle
    handle.close()


Attach = Callable[..., VpcdLink]


@pytest.fixture
def attach(pcscd: Pcscd) -> Iterator[Attach]:
    """attach(card, reader="Virtual PCD 00 00", faults=Faults()) puts a simulated card in a reader."""
    links: list[VpcdLink] = []

    def _attach(card: VirtualCard, reader: str = "Virtual PCD 00 00", faults: Faults | None = None) -> VpcdLink:
        wait_for_reader_state(reader, present=False)  # the previous card is gone for pcscd too
        link = VpcdLink(card, port=READERS[reader], faults=faults or Faults()).start()
        link.wait_connected(timeout=10)
        links.append(link)
        wait_for_reader_state(reader, present=True)
        return link

    yield _attach
    for link in links:
        link.close()
    for reader in READERS:
        wait_for_reader_state(reader, present=False)



@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsmToken]:
    """A fresh SoftHSM2 token with the 3DES development masters; see softhsm_token.py."""
    with pytest.MonkeyPatch.context() as mp:
        yield from softhsm_session(tmp_path_factory.mktemp("softhsm"), mp)
