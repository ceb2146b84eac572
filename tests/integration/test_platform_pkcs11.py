"""The platform signing e-cards, codes and status lists with a key inside a SoftHSM2 token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from softhsm_token import SoftHsmToken

from sscard_issuer.api.platform import Platform, PlatformSettings
from sscard_issuer.credential.profile import BusinessType
from sscard_issuer.credential.signers import Pkcs11Es256Signer
from sscard_issuer.lifecycle.actions import LossKind
from sscard_issuer.registry import Registry
from tests.unit.offices import hire
from tests.unit.test_platform_api import HOSPITAL, make_card

pytestmark = pytest.mark.integration


@pytest.fixture
def signer(softhsm: SoftHsmToken) -> Iterator[Pkcs11Es256Signer]:
    made = Pkcs11Es256Signer.generate_in_token(softhsm.module, softhsm.label, softhsm.user_pin, "sscard:platform:v1")
    yield made
    made.close()


def test_a_platform_whose_key_never_leaves_the_token(signer: Pkcs11Es256Signer, tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    try:
        platform = Platform(registry, signer=signer, settings=PlatformSettings(shards=2, shard_size=256))
        staff = hire(platform.office)
        ref = make_card(platform, staff)
        issued = platform.issue(staff.operator, ref)
        assert platform.verify(issued.token, audience=HOSPITAL).reason == "valid"
        code = platform.code(issued.ecard.ecard_id, business=BusinessType.QUERY, audience=HOSPITAL)
        assert platform.verify(code, audience=HOSPITAL).valid
        platform.office.report_loss(staff.operator, ref, LossKind.FORMAL)
        token, etag = platform.status_list(issued.ecard.status_shard)
        assert token.count(".") == 2 and etag
        assert platform.verify(issued.token, audience=HOSPITAL).reason == "revoked"
        published = platform.keys()
        assert published.get(signer.kid) is not None
    finally:
        registry.close()
