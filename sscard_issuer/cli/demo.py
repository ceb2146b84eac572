"""``sscard demo``: the main job on the embedded defaults (SQLite, development keys, a simulated
printer and cards in this process), end to end, with no service to start.

The sample applicant, enrolled in social insurance, applies at a service hall for instant issuance
(documents and photo checked, eligibility decided by the registry). The hall receives blank cards;
the card is marked for instant issuance, and a worker drives a simulated Evolis printer through its
command protocol on loopback: a blank is fed to the contact station and personalised (keys, PIN,
records, the PKI application with certificates from the test CA, the bank application over a
GlobalPlatform secure channel), read back, its face printed, ejected, reported back to the registry,
activated; its e-card exists. The card is read the way a national terminal reads it; the e-card and
a presentation code are verified; a temporary loss suspends the e-card, its cancellation restores
it, a replacement revokes it; the audit log is verified. Everything lands in ``--out``: the card
face as printed, the QR code, the chip image, the registry (a fresh one each run), the reading.
``--pcsc`` puts the contact station in a vpcd reader behind the real pcscd instead.
"""
from __future__ import annotations

import json
import shutil
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
from sscard_issuer.sim.runtime import SimulatedCard
from sscard_issuer.sim.vpcd import DEBIAN_VPCD_READERS
from sscard_issuer.transport import InProcessTransport, Transport, wait_for_reader_state
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
    out: Annotated[Path | None, typer.Option(help="Folder for the card face, QR code, card image, registry, reading.")] = None,
    algorithm: Annotated[str, typer.Option(help="SM4 (profile ssc3-sm4) or 3DES (profile ssc2-3des).")] = "SM4",
    in_process: Annotated[bool, typer.Option("--in-process/--pcsc", help=(
        "The printer's contact station in this process (default), or a vpcd reader behind pcscd."))] = True,
    reader: Annotated[str, typer.Option(help="vpcd reader of the contact station with --pcsc.")] = "Virtual PCD 00 00",
) -> None:
    """The whole story on the embedded defaults: application, instant issuance on a simulated printer,
    activation, the e-card and a presentation code, a loss, a replacement. 全流程演示。"""
    from sscard_issuer.registry import Registry

    with plain_errors():
        alg = card_algorithm(algorithm)
    folder = out or Path(tempfile.mkdtemp(prefix="sscard-demo-"))
    folder.mkdir(parents=True, exist_ok=True)

    def say(line: str) -> None:
        err.print(line, markup=False)

    with plain_errors(), ExitStack() as stack:
        for stale in ("registry.sqlite3", "registry.sqlite3-wal", "registry.sqlite3-shm"):
            (folder / stale).unlink(missing_ok=True)  # a demo starts from an empty registry
        registry = Registry(f"sqlite:///{folder / 'registry.sqlite3'}")
        stack.callback(registry.close)
        platform, operator, card_ref = _application(registry, say)
        card = _instant_issuance(platform.office, operator, card_ref, alg, folder, say, stack,
                                 encoder_reader=None if in_process else reader)
        started = time.perf_counter()
        with InProcessTransport(card) as transport:
            reading = read_card(transport, DevKeyStore.default())
            count = transport.apdu_count
        read_ms = (time.perf_counter() - started) * 1000
        (folder / "reading.json").write_text(json.dumps(reading.to_json(), ensure_ascii=False, indent=2) + "\n")
        say(f"3. the card handed over, read like a national terminal in {read_ms:.1f} ms ({count} APDUs); "
            f"saved {folder / 'reading.json'}")
        show_reading(reading, as_json=False)
        _lifecycle(platform, operator, card_ref, say, folder)


def _instant_issuance(office: Any, operator: Any, card_ref: str, alg: Algorithm, folder: Path, say: Any,
                      stack: ExitStack, *, encoder_reader: str | None) -> SimulatedCard:
    """Instant issuance on a simulated Evolis printer (its protocol over loopback TCP): the worker
    feeds a blank, personalises it at the contact station, prints the face, ejects, reports back,
    activates. The card handed over is returned; its face and image are saved in ``folder``."""
    from sscard_issuer.outlet.desk import IssuanceDesk
    from sscard_issuer.outlet.evolis_driver import EvolisPrinter
    from sscard_issuer.outlet.station import issuance_worker, pcsc_encoder
    from sscard_issuer.sim.printer import InProcessEncoder, PrinterSimulator, VpcdEncoder, blank_card_factory
    from sscard_issuer.sim.printer_machine import Timings

    desk = IssuanceDesk(office)
    office.receive_stock(operator, 10, reference="demo delivery")
    job = desk.mark(operator, card_ref)
    say(f"1. 10 blank {alg.value} cards received at the hall; the card is marked for instant issuance (job {job.id})")
    encoder: InProcessEncoder | VpcdEncoder
    if encoder_reader is None:
        station = InProcessEncoder()

        def connect(_timeout: float) -> Transport:
            return station.transport()

        encoder = station
    else:
        pcscd = Pcscd.ensure()
        stack.callback(pcscd.close)
        wait_for_reader_state(encoder_reader, present=False)
        encoder, connect = VpcdEncoder(port=DEBIAN_VPCD_READERS[encoder_reader]), pcsc_encoder(encoder_reader)  # type: ignore[assignment]
    simulator = stack.enter_context(PrinterSimulator(
        blanks=10, timings=Timings(scale=0), encoder=encoder, out=folder / "printer",
        card_factory=blank_card_factory(algorithm=alg)))
    printer = EvolisPrinter.tcp("127.0.0.1", simulator.port)
    stack.callback(printer.close)
    where = f"vpcd reader {encoder_reader!r} via pcscd" if encoder_reader else "in this process"
    say(f"2. simulated Evolis printer on 127.0.0.1:{simulator.port} (contact station {where}):")
    started = time.perf_counter()

    def progress(step: Any, phase: str) -> None:
        if phase == "done":
            say(f"   {step.target.display('zh')} / {step.target.display('en')}  "
                f"({(time.perf_counter() - started) * 1000:.0f} ms)")

    worker = issuance_worker(desk, name="SIM1", outlet_code="NN01", printer=printer, encoder=connect,
                             profile="ssc3-sm4" if alg is Algorithm.SM4 else "ssc2-3des", checkpoint=progress,
                             bank_pan=lambda _ref: SAMPLE_BANK_PAN)
    worker.run_once()
    done, _ = desk.job(operator, job.id)
    if not done.state.over:
        raise typer.Exit(1)
    [handed] = simulator.ejected
    face = folder / "card-face.png"
    shutil.copyfile(next((folder / "printer" / "prints").glob(f"{handed.number}-*.png")), face)
    handed.card.image.save(folder / "card.json")
    say(f"   card {done.outcome['card_number'] if done.outcome else '?'} made in "
        f"{(time.perf_counter() - started):.1f} s; face as printed: {face}; chip image: {folder / 'card.json'}")
    return handed.card


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
    say(f"4. e-card {issued.ecard.issuance_number} (created when the card was handed over): "
        f"{platform.verify(issued.token, audience=hospital).message('en')}; saved {folder / 'ecard.sd-jwt'}")
    code = platform.code(issued.ecard.ecard_id, business=BusinessType.QUERY, audience=hospital)
    write_qr(code, folder / "code.png")
    checked = platform.verify(code, audience=hospital)
    say(f"5. presentation code, {len(code)} bytes, QR in {folder / 'code.png'}: {checked.message('en')} "
        f"{dict(checked.claims)}; scanned again: {platform.verify(code, audience=hospital).message('en')}")
    lost = office.report_loss(operator, card_ref, LossKind.TEMPORARY)
    say(f"6. temporary loss reported ({lost.state.display('en')} until {lost.loss_expires_at:%Y-%m-%d %H:%M} UTC): "
        f"the e-card is {platform.verify(issued.token, audience=hospital).reason}")
    back = office.cancel_loss(operator, card_ref)
    say(f"7. loss cancelled ({back.state.display('en')}): the e-card is "
        f"{platform.verify(issued.token, audience=hospital).reason}")
    photo = resources.files("sscard_issuer.data").joinpath("sample_photo.jpg").read_bytes()
    successor = office.replace(operator, card_ref, photo=photo)
    say(f"8. card replaced by {successor.card_ref}: the old e-card is "
        f"{platform.verify(issued.token, audience=hospital).reason}; history: "
        + " -> ".join(line.target for line in office.status(operator, card_ref).history))
    auditor = office.add_operator(office.actor("demo.admin"), username="demo.auditor", display_name="演示审计员",
                                  role=Role.AUDITOR)
    report = office.verify_audit(auditor)
    say(f"9. audit log intact: {report.intact}, {report.entries} entries, head {report.head_hash[:16]}...")
