"""``sscard demo``: the main job on the embedded defaults, end to end.

The sample applicant, enrolled in social insurance, applies at a service hall for instant issuance
(documents and photo checked, eligibility decided by the registry). A blank third-generation card
goes into a vpcd reader behind the real pcscd (started here if it is not running); it is
personalised for the applicant (keys, PIN, records, the PKI application with certificates from
the test CA, the bank application over a GlobalPlatform secure channel), handed over, activated,
then read back the way a national terminal reads it. A temporary loss report and its cancellation
close the story; the audit log is verified. Everything lands in ``--out``: the card image, the
registry (a fresh one each run), the reading. ``--in-process`` skips PC/SC.
"""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import ExitStack
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from sscard_issuer.card import Applicant
from sscard_issuer.card.reader import read_card
from sscard_issuer.cli.common import card_algorithm, err, plain_errors, show_reading
from sscard_issuer.crypto import Algorithm
from sscard_issuer.keys import DevKeyStore
from sscard_issuer.sim.make_card import make_blank_card
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.sim.vpcd import DEBIAN_VPCD_READERS, VpcdLink
from sscard_issuer.transport import InProcessTransport, PcscTransport, Transport, wait_for_reader_state
from sscard_issuer.transport.pcscd import Pcscd

SAMPLE_BANK_PAN = "6217000000000000004"  # a Luhn-valid UnionPay-style test PAN


def sample_applicant() -> Applicant:
    """The sample applicant as a ready-made card holds it (``sscard sim make-card``)."""
    return Applicant.from_json(_sample())


def sample_application() -> dict[str, Any]:
    """The sample applicant as an application for personalisation: no allocated fields."""
    from sscard_issuer.perso.prepare import ALLOCATED_FIELDS

    return {**{k: v for k, v in _sample().items() if k not in ALLOCATED_FIELDS}, "bank_pan": SAMPLE_BANK_PAN}


def _sample() -> dict[str, Any]:
    text = resources.files("sscard_issuer.data").joinpath("sample_applicant.json").read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def demo(
    out: Annotated[Path | None, typer.Option(help="Folder for the card image, registry and reading.")] = None,
    algorithm: Annotated[str, typer.Option(help="SM4 (profile ssc3-sm4) or 3DES (profile ssc2-3des).")] = "SM4",
    in_process: Annotated[bool, typer.Option(help="Skip PC/SC: talk to the simulated card directly.")] = False,
    reader: Annotated[str, typer.Option(help="vpcd reader to use.")] = "Virtual PCD 00 00",
) -> None:
    """Personalise a blank simulated card for the sample applicant through PC/SC, then read it."""
    from sscard_issuer.perso import Personaliser, load_profile  # the heavy stack: here only
    from sscard_issuer.perso.wiring import application_hooks
    from sscard_issuer.registry import Registry

    with plain_errors():
        alg = card_algorithm(algorithm)
    folder = out or Path(tempfile.mkdtemp(prefix="sscard-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    profile = load_profile("ssc3-sm4" if alg is Algorithm.SM4 else "ssc2-3des")
    keys = DevKeyStore.default()

    def say(line: str) -> None:
        err.print(line, markup=False)

    with plain_errors(), ExitStack() as stack:
        for stale in ("registry.sqlite3", "registry.sqlite3-wal", "registry.sqlite3-shm"):
            (folder / stale).unlink(missing_ok=True)  # a demo starts from an empty registry
        registry = Registry(f"sqlite:///{folder / 'registry.sqlite3'}")
        stack.callback(registry.close)
        platform, operator, card_ref = _application(registry, say)
        office = platform.office
        image = make_blank_card(algorithm=alg, keys=keys, out=folder / "card.json")
        say(f"1. blank {alg.value} card made -> {image.path}")
        card = SimulatedCard(image)
        transport: Transport
        if in_process:
            transport = stack.enter_context(InProcessTransport(card))
        else:
            pcscd = Pcscd.ensure()
            stack.callback(pcscd.close)
            wait_for_reader_state(reader, present=False)
            link = stack.enter_context(VpcdLink(card, port=DEBIAN_VPCD_READERS[reader]))
            link.wait_connected(timeout=10)
            wait_for_reader_state(reader, present=True)
            say(f"2. card inserted in {reader!r} (pcscd {'started' if pcscd.owned else 'running'})")
            transport = stack.enter_context(PcscTransport(reader, card_timeout=10))
        pki, bank = application_hooks(keys, ca_dir=None)
        say(f"3. personalising with profile {profile.name}:")
        started = time.perf_counter()
        outcome = Personaliser(registry, keys, pki=pki, bank=bank, progress=lambda line: say("   " + line)
                               ).personalise(transport, sample_application(), profile)
        seconds = time.perf_counter() - started
        say(f"   done in {seconds * 1000:.0f} ms, {outcome.apdus} APDUs (read-back included)")
        applicant = outcome.record.applicant
        office.record_personalisation(operator, card_ref, card_number=str(applicant.card_number),
                                      card_id=outcome.record.card_id.hex, issued_on=applicant.issue_date,
                                      expires_on=applicant.expiry_date, bank=outcome.record.bank_pan is not None)
        office.collect(operator, card_ref)
        status = office.activate(operator, card_ref)
        say(f"   registry: card {applicant.card_number} handed over and {status.state.display('en')}")
        started = time.perf_counter()
        reading = read_card(transport, keys)
        count = transport.apdu_count
    read_ms = (time.perf_counter() - started) * 1000
    (folder / "reading.json").write_text(json.dumps(reading.to_json(), ensure_ascii=False, indent=2) + "\n")
    say(f"4. read like a national terminal in {read_ms:.1f} ms; {count} APDUs in all; saved {folder / 'reading.json'}")
    show_reading(reading, as_json=False)
    with plain_errors():
        _lifecycle(platform, operator, card_ref, say, folder)
        registry.close()


def _application(registry: Any, say: Any) -> tuple[Any, Any, str]:
    """The e-card platform on the registry (its status lists exist before the card is handed over),
    staff, enrolment and the instant-issuance application of the sample applicant."""
    from sscard_issuer.applications import DocumentType, IdentityDocument
    from sscard_issuer.applications.requests import Applicant as Person
    from sscard_issuer.applications.requests import ApplicationKind, ApplicationRequest
    from sscard_issuer.lifecycle.office import Office
    from sscard_issuer.registry import Role

    office = Office(registry)
    platform = _platform(office)
    admin = office.add_operator(None, username="demo.admin", display_name="演示管理员", role=Role.ADMINISTRATOR)
    operator = office.add_operator(admin, username="demo.operator", display_name="演示经办员", role=Role.OPERATOR,
                                   outlet_code="NN01")
    sample = _sample()
    who = Person(name=sample["name"], sex=sample["sex"], birth_date=date.fromisoformat(sample["birth_date"]),
                 ethnicity=sample["ethnicity"], document=IdentityDocument(DocumentType.RESIDENT_ID_CARD, sample["ssn"]))
    office.enrol(operator, who, insured_since=date(2020, 1, 1))
    photo = resources.files("sscard_issuer.data").joinpath("sample_photo.jpg").read_bytes()
    filed = office.apply(operator, ApplicationRequest(kind=ApplicationKind.INDIVIDUAL, applicant=who, photo=photo,
                                                      instant=True))
    hall = next(o for o in office.outlets() if o.code == "NN01")
    say(f"0. {who.name} applies at {hall.name_zh} for instant issuance: application {filed.application_id}, "
        f"card {filed.card_ref}")
    office.produce(operator, filed.card_ref)
    return platform, operator, filed.card_ref


def _platform(office: Any) -> Any:
    from sscard_issuer.api.platform import Platform, PlatformSettings

    return Platform(office.registry, office=office, settings=PlatformSettings(shards=4, shard_size=10_000))


def _lifecycle(platform: Any, operator: Any, card_ref: str, say: Any, folder: Path) -> None:
    from sscard_issuer.credential.codes import write_qr
    from sscard_issuer.credential.profile import BusinessType
    from sscard_issuer.lifecycle.actions import LossKind
    from sscard_issuer.registry import Role

    office, hospital = platform.office, "450100-H0001"
    issued = platform.issue(operator, card_ref)
    (folder / "ecard.sd-jwt").write_text(issued.token + "\n")
    say(f"5. e-card {issued.ecard.issuance_number} (created when the card was handed over): "
        f"{platform.verify(issued.token, audience=hospital).message('en')}; saved {folder / 'ecard.sd-jwt'}")
    code = platform.code(issued.ecard.ecard_id, business=BusinessType.QUERY, audience=hospital)
    write_qr(code, folder / "code.png")
    checked = platform.verify(code, audience=hospital)
    say(f"6. presentation code, {len(code)} bytes, QR in {folder / 'code.png'}: {checked.message('en')} "
        f"{dict(checked.claims)}; scanned again: {platform.verify(code, audience=hospital).message('en')}")
    lost = office.report_loss(operator, card_ref, LossKind.TEMPORARY)
    say(f"7. temporary loss reported ({lost.state.display('en')} until {lost.loss_expires_at:%Y-%m-%d %H:%M} UTC): "
        f"the e-card is {platform.verify(issued.token, audience=hospital).reason}")
    back = office.cancel_loss(operator, card_ref)
    say(f"8. loss cancelled ({back.state.display('en')}): the e-card is "
        f"{platform.verify(issued.token, audience=hospital).reason}")
    photo = resources.files("sscard_issuer.data").joinpath("sample_photo.jpg").read_bytes()
    successor = office.replace(operator, card_ref, photo=photo)
    say(f"9. card replaced by {successor.card_ref}: the old e-card is "
        f"{platform.verify(issued.token, audience=hospital).reason}; history: "
        + " -> ".join(line.target for line in office.status(operator, card_ref).history))
    auditor = office.add_operator(office.actor("demo.admin"), username="demo.auditor", display_name="演示审计员",
                                  role=Role.AUDITOR)
    report = office.verify_audit(auditor)
    say(f"10. audit log intact: {report.intact}, {report.entries} entries, head {report.head_hash[:16]}...")
