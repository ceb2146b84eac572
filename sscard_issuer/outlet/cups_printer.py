"""Face-only card printers behind a CUPS queue (pycups).

CUPS prints a document; it cannot park a card at an encoder and wait (outlet.md §2), so this
driver serves face-only printing: :attr:`CupsPrinter.encodes` is False and
:meth:`CupsPrinter.load_for_encoding` refuses. A face becomes a one-page PDF at exactly the card's
size (85.60 × 53.98 mm), is submitted to the queue, and :meth:`CupsPrinter.print_face` returns
only when CUPS reports the job completed.

The card size is asked for in the form the queue accepts (see :func:`media_options`): a PWG
media name of card size if the queue lists one (``om_card_54x86mm``, or whatever name the
driver's PPD gives its ``CR80`` page size), else a custom page size ``PageSize=Custom.85.6x53.98mm``
when the queue takes custom sizes (cups-pdf's PPD does: it lists no card size), else an error.

Each printer talks to its own server through its own connection (``cups.Connection(host, port)``;
a host starting with ``/`` is cupsd's unix socket) rather than ``cups.setServer``, which is
process-global and would redirect every other printer in the process.
"""

from __future__ import annotations

import io
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import cups

from sscard_issuer.outlet.face import CARD_MM, CUPS_CANVAS, flatten
from sscard_issuer.outlet.printer import (
    CardPosition,
    Condition,
    Printer,
    PrinterError,
    PrinterFault,
    PrinterOffline,
    PrinterStatus,
)

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = [
    "CARD_MEDIA",
    "CannotEncode",
    "CupsJobFailed",
    "CupsPrinter",
    "NoCardMedia",
    "QueueNotFound",
    "conditions_from",
    "face_pdf",
    "media_options",
]

#: The PWG media name of an ID-1 card (PPD page size ``CR80``).
CARD_MEDIA = "om_card_54x86mm"
#: CUPS's custom page size syntax for the card, landscape as the face is drawn.
CARD_CUSTOM_PAGE = f"Custom.{CARD_MM[0]:g}x{CARD_MM[1]:g}mm"

# IPP printer-state and job-state values (RFC 8011)
_PRINTER_STOPPED = 5
_JOB_STOPPED, _JOB_CANCELED, _JOB_ABORTED, _JOB_COMPLETED = 6, 7, 8, 9
_JOB_STATE_NAMES = {3: "pending", 4: "held", 5: "processing", 6: "stopped", 7: "canceled", 8: "aborted",
                    9: "completed"}
_IPP_NOT_FOUND = 0x0406

#: printer-state-reasons keywords (RFC 8011 §5.4.12, PWG 5100.9), suffix removed, as conditions.
REASON_CONDITIONS: dict[str, Condition] = {
    "media-empty": Condition.FEEDER_EMPTY,
    "media-needed": Condition.FEEDER_EMPTY,
    "input-tray-missing": Condition.FEEDER_EMPTY,
    "cover-open": Condition.COVER_OPEN,
    "door-open": Condition.COVER_OPEN,
    "interlock-open": Condition.COVER_OPEN,
    "marker-supply-empty": Condition.RIBBON_ENDED,
    "marker-supply-missing": Condition.RIBBON_ENDED,
    "toner-empty": Condition.RIBBON_ENDED,
    "marker-supply-low": Condition.RIBBON_LOW,
    "toner-low": Condition.RIBBON_LOW,
    "media-jam": Condition.JAMMED,
    "offline": Condition.OFFLINE,
    "shutdown": Condition.OFFLINE,
    "paused": Condition.OFFLINE,  # what cupsdisable (or a stop-printer error policy) sets
    "timed-out": Condition.OFFLINE,
}
_SUFFIXES = ("-error", "-warning", "-report")
_PWG_SIZE = re.compile(r"_(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)(mm|in)$")


class CannotEncode(PrinterError):
    """A face-only printer was asked to hold a card for the chip to be written."""


class QueueNotFound(PrinterError):
    """The CUPS server has no queue of that name."""


class NoCardMedia(PrinterError):
    """The queue offers no card-size media and takes no custom page size."""


class CupsJobFailed(PrinterError):
    """CUPS cancelled or aborted the print job, or it did not complete in time."""

    def __init__(self, message: str, job_id: int) -> None:
        self.job_id = job_id
        super().__init__(message)


def conditions_from(state: int, reasons: Iterable[str], accepting: bool = True) -> frozenset[Condition]:
    """The conditions a queue's printer-state and printer-state-reasons stand for.

    ``-report`` reasons are informational and ignored; a stopped queue or one not accepting jobs
    is offline to the issuance job whatever the reasons say.
    """
    found: set[Condition] = set()
    for reason in reasons:
        if reason.endswith("-report"):
            continue
        keyword = next((reason[: -len(s)] for s in _SUFFIXES if reason.endswith(s)), reason)
        if keyword in REASON_CONDITIONS:
            found.add(REASON_CONDITIONS[keyword])
    if state == _PRINTER_STOPPED or not accepting:
        found.add(Condition.OFFLINE)
    return frozenset(found)


def _pwg_size_mm(name: str) -> tuple[float, float] | None:
    """The (short, long) edges in mm of a self-describing PWG media name, e.g. ``om_card_54x86mm``."""
    match = _PWG_SIZE.search(name)
    if match is None:
        return None
    factor = 25.4 if match.group(3) == "in" else 1.0
    a, b = float(match.group(1)) * factor, float(match.group(2)) * factor
    return min(a, b), max(a, b)


def media_options(media_supported: Iterable[str]) -> dict[str, str]:
    """The job options that ask a queue for card-size paper, given its ``media-supported``.

    Raises :class:`NoCardMedia` when it has neither a card size nor custom sizes that fit one.
    """
    supported = list(media_supported)
    if CARD_MEDIA in supported:
        return {"media": CARD_MEDIA}
    short, long = sorted(CARD_MM)
    for name in supported:  # a driver's own name for CR80, e.g. from its PPD
        size = _pwg_size_mm(name)
        if not name.startswith("custom_m") and size is not None \
                and abs(size[0] - short) <= 0.6 and abs(size[1] - long) <= 0.6:
            return {"media": name}
    smallest = next((_pwg_size_mm(n) for n in supported if n.startswith("custom_min_")), None)
    largest = next((_pwg_size_mm(n) for n in supported if n.startswith("custom_max_")), None)
    if smallest and largest and smallest[0] <= short and smallest[1] <= long \
            and largest[0] >= short and largest[1] >= long:
        return {"PageSize": CARD_CUSTOM_PAGE}
    raise NoCardMedia(f"the queue offers no card-size media ({CARD_MEDIA} / PPD page size CR80) "
                      "and takes no custom page size; pass media=... to CupsPrinter")


def face_pdf(face: Image) -> bytes:
    """``face`` as a one-page PDF whose page is exactly the card (85.60 × 53.98 mm)."""
    face = flatten(face)
    # one resolution per axis, so the page is the card to the hundredth of a millimetre
    dpi = (face.width * 25.4 / CARD_MM[0], face.height * 25.4 / CARD_MM[1])
    out = io.BytesIO()
    face.save(out, "PDF", dpi=dpi, title="card face")
    return out.getvalue()


_T = TypeVar("_T")


class CupsPrinter(Printer):
    """A face-only card printer behind CUPS queue ``queue``.

    ``server`` is cupsd's host name or unix socket path and ``port`` its port (None: libcups's
    defaults, from ``CUPS_SERVER`` or client.conf). ``media`` overrides the media chosen from
    the queue; ``options`` are added to every job. :meth:`print_face` waits at most
    ``job_timeout`` seconds for the job to complete, asking every ``poll_interval`` seconds.
    One object per thread: it keeps one pycups connection, which is not thread-safe.
    """

    encodes = False

    def __init__(self, queue: str, *, server: str | None = None, port: int | None = None,
                 media: str | None = None, options: Mapping[str, str] | None = None,
                 job_timeout: float = 120.0, poll_interval: float = 0.1) -> None:
        if not queue or not isinstance(queue, str):
            raise PrinterError("queue: expected the name of a CUPS queue")
        self.queue = queue
        self.server = server
        self.port = port
        self.job_timeout = job_timeout
        self.poll_interval = poll_interval
        self._media: dict[str, str] | None = {"media": media} if media else None
        self._options = dict(options or {})
        self._connection: cups.Connection | None = None

    def __repr__(self) -> str:
        where = self.server or "default server"
        return f"CupsPrinter({self.queue!r} on {where}{'' if self.port is None else f':{self.port}'})"

    @property
    def canvas(self) -> tuple[int, int]:
        return CUPS_CANVAS

    # -- talking to cupsd ------------------------------------------------------------------------

    def _call(self, what: str, action: Callable[[cups.Connection], _T]) -> _T:
        """Run ``action`` on the connection, turning pycups's errors into printer errors."""
        try:
            if self._connection is None:
                kwargs: dict[str, Any] = {}
                if self.server is not None:
                    kwargs["host"] = self.server
                if self.port is not None:
                    kwargs["port"] = self.port
                self._connection = cups.Connection(**kwargs)
            return action(self._connection)
        except cups.IPPError as exc:
            status, message = exc.args if len(exc.args) == 2 else (None, str(exc))
            if status == _IPP_NOT_FOUND:
                raise QueueNotFound(f"CUPS has no queue {self.queue!r} ({what}): {message}") from None
            raise PrinterError(f"CUPS refused to {what} on queue {self.queue!r}: {message}") from None
        except (RuntimeError, cups.HTTPError) as exc:  # cannot connect, or the connection dropped
            self._connection = None
            raise PrinterOffline(f"CUPS server {self.server or '(default)'} unreachable "
                                 f"({what}, queue {self.queue!r}): {exc}") from None

    def _attributes(self) -> dict[str, Any]:
        wanted = ["printer-state", "printer-state-reasons", "printer-state-message",
                  "printer-is-accepting-jobs", "printer-make-and-model", "media-supported"]
        attrs: dict[str, Any] = self._call(
            "read the queue's state",
            lambda c: c.getPrinterAttributes(self.queue, requested_attributes=wanted))
        return attrs

    # -- Printer -----------------------------------------------------------------------------------

    def status(self) -> PrinterStatus:
        """The queue's state: printer-state-reasons as conditions; never a card inside."""
        attrs = self._attributes()
        reasons = _as_list(attrs.get("printer-state-reasons"))
        state = int(attrs.get("printer-state", 3))
        accepting = bool(attrs.get("printer-is-accepting-jobs", True))
        details = [f"printer-state={state}", f"printer-state-reasons={','.join(reasons)}"]
        if message := attrs.get("printer-state-message"):
            details.append(f"printer-state-message={message}")
        if not accepting:
            details.append("not accepting jobs")
        return PrinterStatus(conditions=conditions_from(state, reasons, accepting), card=CardPosition.NONE,
                             model=str(attrs.get("printer-make-and-model", "")), details=tuple(details))

    def prepare(self) -> None:
        """Check that the queue exists and choose its card-size media (raises if it has none)."""
        self._job_options()

    def load_for_encoding(self) -> None:
        raise CannotEncode(f"{self!r} prints faces only: CUPS cannot hold a card at an encoder; "
                           "personalise the chip on an encoding printer (e.g. Evolis) or a desktop reader")

    def print_face(self, face: Image) -> None:
        """Print ``face`` (1011 × 638) on one card and wait until CUPS reports the job completed.

        Raises :class:`PrinterOffline` (or :class:`PrinterFault`, with the other conditions the
        queue reports) when the queue is stopped or not accepting jobs, before sending or while
        waiting; :class:`PrinterFault` when a blocking condition appears after the job was sent;
        :class:`CupsJobFailed` when CUPS cancels or aborts the job for any other reason, or it does
        not complete within ``job_timeout``. A job given up on is cancelled first, so it cannot
        print later unseen.

        Conditions the queue already showed when the job was sent do not stop it: CUPS keeps the
        reasons a driver reported until the driver clears them, and many clear them only on their
        next job, so refusing to send would wait forever on a fixed printer.
        """
        if face.size != self.canvas:
            raise PrinterError(f"face: expected an image of {self.canvas[0]} × {self.canvas[1]} pixels "
                               f"(the card at 300 dpi), got {face.size[0]} × {face.size[1]}")
        before = self.status()
        if Condition.OFFLINE in before.conditions:
            _raise_fault(before, "not sent")
        options = {**self._job_options(), **self._options}
        with tempfile.TemporaryDirectory(prefix="sscard-face-") as folder:
            document = Path(folder) / "face.pdf"
            document.write_bytes(face_pdf(face))
            # the title is logged by CUPS (and names cups-pdf's file): no holder data in it
            job_id: int = self._call("submit the job",
                                     lambda c: c.printFile(self.queue, str(document), "card face", options))
        self._wait(job_id, before.conditions)

    def eject(self) -> None:
        """Nothing to do: a face-only printer hands every card out when its job completes."""

    def reject(self) -> None:
        """Nothing to do: CUPS has no reject box to move a card into; a failed job's card is
        taken out by the operator (the job records it as spoiled)."""

    def close(self) -> None:
        self._connection = None  # pycups closes the connection when the object goes

    # -- internals ---------------------------------------------------------------------------------

    def _job_options(self) -> dict[str, str]:
        if self._media is None:
            self._media = media_options(_as_list(self._attributes().get("media-supported")))
        return dict(self._media)

    def _wait(self, job_id: int, known: frozenset[Condition]) -> None:
        """Until the job completes; ``known``: conditions shown before it was sent (maybe stale)."""
        deadline = time.monotonic() + self.job_timeout
        wanted = ["job-state", "job-state-reasons", "job-printer-state-message"]
        while True:
            attrs: dict[str, Any] = self._call(
                "read the job's state", lambda c: c.getJobAttributes(job_id, requested_attributes=wanted))
            state = int(attrs.get("job-state", 0))
            if state == _JOB_COMPLETED:
                return
            status = self.status()
            ended = state in (_JOB_CANCELED, _JOB_ABORTED)
            # a condition new since the job was sent, or a stopped queue (the default error policy
            # stops it and keeps the job pending): a fault for the operator, whether CUPS has
            # ended the job yet or not (that is a race with the driver)
            if Condition.OFFLINE in status.conditions or status.blocking - known:
                if not ended:
                    self._cancel(job_id)
                fate = _JOB_STATE_NAMES[state] if ended else "cancelled"
                _raise_fault(status, f"job {job_id} {fate}: {_describe(attrs)}")
            if ended:
                raise CupsJobFailed(f"CUPS job {job_id} on {self.queue!r} {_JOB_STATE_NAMES[state]}: "
                                    f"{_describe(attrs)}; printer: {_conditions(status)}", job_id)
            if time.monotonic() > deadline:
                self._cancel(job_id)
                raise CupsJobFailed(
                    f"CUPS job {job_id} on {self.queue!r} still {_JOB_STATE_NAMES.get(state, state)} after "
                    f"{self.job_timeout:g} s ({_describe(attrs)}; printer: {_conditions(status)}); "
                    "the job was cancelled", job_id)
            time.sleep(self.poll_interval)

    def _cancel(self, job_id: int) -> None:
        try:
            self._call("cancel the job", lambda c: c.cancelJob(job_id))
        except PrinterError:
            pass  # finished or gone meanwhile: the error raised next says what is known


def _conditions(status: PrinterStatus) -> str:
    return ", ".join(sorted(c.value for c in status.conditions)) or "no condition"


def _raise_fault(status: PrinterStatus, outcome: str) -> NoReturn:
    detail = "; ".join(status.details)
    if status.blocking == {Condition.OFFLINE}:
        raise PrinterOffline(f"the CUPS queue is stopped or not accepting jobs, {outcome} ({detail})")
    raise PrinterFault(status.blocking, f"the printer reports {_conditions(status)}, {outcome} ({detail})")


def _as_list(value: object) -> list[str]:
    """pycups gives a one-valued IPP attribute as a scalar and a multi-valued one as a list."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def _describe(job: Mapping[str, Any]) -> str:
    reasons = ",".join(_as_list(job.get("job-state-reasons"))) or "none"
    message = job.get("job-printer-state-message") or ""
    return f"reasons {reasons}" + (f", printer says {message!r}" if message else "")
