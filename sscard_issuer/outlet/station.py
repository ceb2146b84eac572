"""An outlet's issuance station: its printers and their encoders, read from a settings file, each
driven by a :class:`~sscard_issuer.outlet.worker.PrinterWorker` in its own thread.

The settings file (JSON)::

    {"outlet": "NN01", "profile": "ssc3-sm4",
     "printers": [{"name": "P1", "driver": "evolis-tcp", "address": "10.0.0.21:9100",
                   "encoder": "Evolis Primacy Contact Reader 00 00"},
                  {"name": "P2", "driver": "evolis-usb", "address": "/dev/usb/lp0", "encoder": "..."}]}

``encoder`` is the PC/SC reader name of the printer's contact station. Face-only printers (CUPS)
cannot hold a card at an encoder, so they are not issuance printers: ``sscard outlet print-face``
prints a face on them.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sscard_issuer.card.identifiers import CardNumber, SocialSecurityNumber
from sscard_issuer.errors import FieldError, ValidationError
from sscard_issuer.outlet.printer import Printer
from sscard_issuer.outlet.worker import Encoder, PrinterWorker, WorkerSettings

if TYPE_CHECKING:
    from PIL.Image import Image

    from sscard_issuer.outlet.desk import IssuanceDesk
    from sscard_issuer.transport.base import Transport

log = logging.getLogger(__name__)

ISSUANCE_DRIVERS = ("evolis-tcp", "evolis-usb")


@dataclass(frozen=True)
class PrinterConfig:
    name: str
    driver: str
    address: str  # host:port for TCP, the device path for USB
    encoder: str  # the PC/SC reader at the printer's contact station

    def open(self) -> Printer:
        from sscard_issuer.outlet.evolis_driver import EvolisPrinter

        if self.driver == "evolis-tcp":
            host, _, port = self.address.rpartition(":")
            return EvolisPrinter.tcp(host, int(port))
        return EvolisPrinter.usb(self.address)


@dataclass(frozen=True)
class StationConfig:
    outlet: str
    printers: tuple[PrinterConfig, ...]
    profile: str = "ssc3-sm4"

    @classmethod
    def load(cls, path: Path) -> StationConfig:
        try:
            doc = json.loads(Path(path).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise FieldError("config", f"a readable JSON settings file ({exc})", str(path)) from None
        return cls.from_json(doc)

    @classmethod
    def from_json(cls, doc: Any) -> StationConfig:
        """Every problem of the settings at once (:class:`ValidationError`), each naming its field."""
        if not isinstance(doc, dict):
            raise ValidationError([FieldError("config", "a JSON object")])
        errors: list[FieldError] = []
        outlet, profile = doc.get("outlet"), doc.get("profile", "ssc3-sm4")
        if not isinstance(outlet, str) or not outlet:
            errors.append(FieldError("outlet", "the outlet's code, e.g. NN01", outlet))
        if not isinstance(profile, str):
            errors.append(FieldError("profile", "a personalisation profile name", profile))
        printers, names = [], set()
        items = doc.get("printers")
        if not isinstance(items, list) or not items:
            errors.append(FieldError("printers", "a list of at least one printer", items))
            items = []
        for n, item in enumerate(items):
            where = f"printers[{n}]"
            if not isinstance(item, dict):
                errors.append(FieldError(where, "an object with name, driver, address, encoder", item))
                continue
            values = {key: item.get(key) for key in ("name", "driver", "address", "encoder")}
            for key, value in values.items():
                if not isinstance(value, str) or not value:
                    errors.append(FieldError(f"{where}.{key}", "a non-empty string", value))
            if values["driver"] not in ISSUANCE_DRIVERS:
                errors.append(FieldError(f"{where}.driver", f"one of {', '.join(ISSUANCE_DRIVERS)}", values["driver"]))
            elif values["driver"] == "evolis-tcp" and not _host_port(str(values["address"])):
                errors.append(FieldError(f"{where}.address", "host:port", values["address"]))
            if values["name"] in names:
                errors.append(FieldError(f"{where}.name", "a name no other printer has", values["name"]))
            names.add(values["name"])
            printers.append(PrinterConfig(**{k: str(v) for k, v in values.items()}))
        if errors:
            raise ValidationError(errors)
        return cls(str(outlet), tuple(printers), str(profile))


def _host_port(address: str) -> bool:
    host, _, port = address.rpartition(":")
    return bool(host) and port.isdigit() and 0 < int(port) < 65536


def pcsc_encoder(reader: str) -> Encoder:
    """The contact station as a PC/SC reader: wait for the card the printer moved there, connect."""

    def connect(timeout: float) -> Transport:
        from sscard_issuer.transport.pcsc import PcscTransport, wait_for_reader_state

        wait_for_reader_state(reader, present=True, timeout=timeout)
        return PcscTransport(reader, card_timeout=timeout)

    return connect


def make_face(data: dict[str, Any], canvas: tuple[int, int]) -> Image:
    """The card face from the job's data (name, numbers, issue date, bank number, photo)."""
    from sscard_issuer.outlet.face import CardFace, render_face

    face = CardFace(photo=data.get("photo"), name=data["name"], ssn=SocialSecurityNumber(data["ssn"]),
                    card_number=CardNumber(data["card_number"]), issue_date=date.fromisoformat(data["issue_date"]),
                    bank_card_number=data.get("bank_pan") or "")
    return render_face(face, canvas)


@dataclass
class Station:
    """Workers for the outlet's printers, one thread each; :meth:`stop` lets each finish its step."""

    workers: Sequence[PrinterWorker]
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Station:
        for worker in self.workers:
            thread = threading.Thread(target=worker.run, name=f"printer-{worker.name}", daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        for worker in self.workers:
            worker.stop.set()
        for thread in self.threads:
            thread.join(timeout)
        for worker in self.workers:
            worker.printer.close()

    def alive(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)


def build_workers(config: StationConfig, desk: IssuanceDesk, *, make: Callable[..., PrinterWorker],
                  settings: WorkerSettings | None = None) -> list[PrinterWorker]:
    """One worker per configured printer; ``make`` supplies what every worker shares (personaliser, keys...)."""
    return [make(name=p.name, outlet_code=config.outlet, printer=p.open(), encoder=pcsc_encoder(p.encoder),
                 desk=desk, driver=p.driver, settings=settings or WorkerSettings()) for p in config.printers]


def issuance_worker(desk: IssuanceDesk, *, name: str, outlet_code: str, printer: Printer, encoder: Encoder,
                    profile: str = "ssc3-sm4", keys: Any = None, driver: str = "evolis",
                    settings: WorkerSettings | None = None, **extra: Any) -> PrinterWorker:
    """A worker with the development stack: dev keys (unless ``keys``), the test CA, the bank keys."""
    from sscard_issuer.keys import DevKeyStore
    from sscard_issuer.perso import Personaliser, load_profile
    from sscard_issuer.perso.wiring import application_hooks

    key_store = keys or DevKeyStore.default()
    pki, bank = application_hooks(key_store, ca_dir=None)
    return PrinterWorker(name=name, outlet_code=outlet_code, printer=printer, encoder=encoder, desk=desk,
                         personaliser=Personaliser(desk.office.registry, key_store, pki=pki, bank=bank),
                         profile=load_profile(profile), keys=key_store, face=make_face, driver=driver,
                         settings=settings or WorkerSettings(), **extra)


def _in_process(encoder: Any) -> Encoder:
    def connect(_timeout: float) -> Transport:
        transport: Transport = encoder.transport()
        return transport

    return connect


@dataclass
class SimulatedPrinters:
    """Printer simulators in this process (their protocol over loopback TCP, cards in-process), and
    the station of workers driving them: the embedded default of the demo and the console."""

    station: Station
    simulators: list[Any]

    def close(self) -> None:
        self.station.stop()
        for simulator in self.simulators:
            simulator.close()


def simulated_printers(desk: IssuanceDesk, outlet_code: str, *, count: int = 1, blanks: int = 50,
                       out: Path | None = None, timing_scale: float = 0.0,
                       settings: WorkerSettings | None = None, **extra: Any) -> SimulatedPrinters:
    """``count`` simulated printers named SIM1, SIM2... at ``outlet_code``, started with their workers.

    ``timing_scale`` scales the simulator's realistic timings (1 s a move, 20 s a print): 0 for none."""
    from sscard_issuer.outlet.evolis_driver import EvolisPrinter
    from sscard_issuer.sim.printer import InProcessEncoder, PrinterSimulator
    from sscard_issuer.sim.printer_machine import Timings

    simulators, workers = [], []
    for n in range(1, count + 1):
        encoder = InProcessEncoder()
        simulator = PrinterSimulator(blanks=blanks, timings=Timings(scale=timing_scale), encoder=encoder,
                                     out=None if out is None else out / f"SIM{n}").start()
        simulators.append(simulator)
        workers.append(issuance_worker(desk, name=f"SIM{n}", outlet_code=outlet_code,
                                       printer=EvolisPrinter.tcp("127.0.0.1", simulator.port),
                                       encoder=_in_process(encoder), settings=settings, **extra))
    return SimulatedPrinters(Station(workers).start(), simulators)
