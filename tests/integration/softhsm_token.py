"""A throw-away SoftHSM2 token for the tests: made in a temp dir, holding the dev 3DES masters."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pkcs11
import pytest

from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys import DevKeyStore, KeyClass, provision_token

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
SOFTHSM_LABEL = "sscard-test"
SOFTHSM_SO_PIN = "12345678"
SOFTHSM_USER_PIN = "token-pin-7261"


@dataclass(frozen=True)
class SoftHsmToken:
    label: str
    user_pin: str
    module: str
    conf: Path


def softhsm_session(tmp: Path, mp: pytest.MonkeyPatch) -> Iterator[SoftHsmToken]:
    """Make the token and yield it; SOFTHSM2_CONF stays set meanwhile (child processes too).

    Fails, never skips, when SoftHSM2 is missing: CI installs it (tools/setup.sh).
    """
    util = shutil.which("softhsm2-util")
    if util is None or not Path(SOFTHSM_MODULE).exists():
        pytest.fail(
            "SoftHSM2 is required for the PKCS#11 key store tests and was not found "
            f"(softhsm2-util on PATH: {util is not None}, {SOFTHSM_MODULE} present: "
            f"{Path(SOFTHSM_MODULE).exists()}); install it with: apt-get install -y softhsm2"
        )
    (tmp / "tokens").mkdir()
    conf = tmp / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tmp / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n",
        encoding="utf-8",
    )
    # SoftHSM2 reads SOFTHSM2_CONF when the library is initialised: set it first.
    mp.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(
        [util, "--init-token", "--free", "--label", SOFTHSM_LABEL,
         "--so-pin", SOFTHSM_SO_PIN, "--pin", SOFTHSM_USER_PIN],
        check=True, capture_output=True, env=os.environ.copy(),
    )
    lib = pkcs11.lib(SOFTHSM_MODULE)
    lib.reinitialize()  # if the library was loaded before, re-read our config
    imported = provision_token(DevKeyStore.default(), SOFTHSM_MODULE, SOFTHSM_LABEL,
                               SOFTHSM_SO_PIN, SOFTHSM_USER_PIN)
    expected = sum(Algorithm.DES3 in key_class.algorithms for key_class in KeyClass)
    assert imported == expected, f"expected the {expected} 3DES development masters, imported {imported}"
    yield SoftHsmToken(SOFTHSM_LABEL, SOFTHSM_USER_PIN, SOFTHSM_MODULE, conf)
    lib.finalize()  # the next user initialises the library with its own config
