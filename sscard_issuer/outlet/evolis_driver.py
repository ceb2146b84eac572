"""The native Evolis driver: :class:`EvolisPrinter` over a :class:`Link` (TCP or Linux usblp).

The command language itself is :mod:`sscard_issuer.outlet.evolis` (no I/O); this module only moves
its bytes and keeps time. Every read has a deadline: a printer that does not answer in time is
:class:`~sscard_issuer.outlet.printer.PrinterOffline`, never a hang (operators' first complaint
about commercial drivers). After a timeout the link is reset before the next command, so a late
reply to the old command cannot be taken for the answer to the new one.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import os
import select
import socket
import time
import tty
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sscard_issuer.outlet.evolis import (
    BACK,
    EJECT,
    IDENTITY_READS,
    NEWER_FIRMWARE_SETTINGS,
    REJECT,
    RIBBON_LOW,
    SETTINGS,
    STATUS_READS,
    TO_CONTACT,
    TO_PRINT,
    Command,
    PrinterReportedError,
    ProtocolError,
    Reading,
    Reply,
    UnknownCommand,
    front_print_job,
    status_from_readings,
)
from sscard_issuer.outlet.evolis_framing import ReplyDecoder
from sscard_issuer.outlet.panels import CANVAS, CHIP_AREA, Box, encode_panels
from sscard_issuer.outlet.printer import Printer, PrinterError, PrinterFault, PrinterOffline, PrinterStatus

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

BARE_REPLY_GAP = 0.2  # seconds of quiet after which unterminated bytes are a whole (bare) reply
_CHUNK = 65536


class Link(abc.ABC):
    """Moves bytes to and from one printer; raises :class:`PrinterOffline` when it cannot."""

    @abc.abstractmethod
    def write(self, data: bytes, timeout: float) -> None:
        """Send all of ``data`` within ``timeout`` seconds."""

    @abc.abstractmethod
    def read(self, timeout: float) -> bytes:
        """Bytes that arrive within ``timeout`` seconds; ``b""`` if none did."""

    def reset(self) -> None:
        """Forget the conversation so far (after a timeout): reconnect, or drop unread bytes."""

    def close(self) -> None:
        """Release the connection (idempotent)."""


class TcpLink(Link):
    """A network printer. The TCP port is not documented publicly: it is a setting."""

    def __init__(self, host: str, port: int, *, connect_timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self._sock: socket.socket | None = None

    def _connected(self) -> socket.socket:
        if self._sock is None:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
            except OSError as exc:
                raise PrinterOffline(
                    f"无法连接打印机 {self.host}:{self.port} / cannot reach the printer at {self.host}:{self.port}: {exc}"
                ) from None
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
        return self._sock

    def write(self, data: bytes, timeout: float) -> None:
        sock = self._connected()
        sock.settimeout(max(timeout, 0.001))
        try:
            sock.sendall(data)
        except OSError as exc:
            self.reset()
            raise PrinterOffline(f"打印机连接中断 / the printer connection dropped while sending: {exc}") from None

    def read(self, timeout: float) -> bytes:
        sock = self._connected()
        sock.settimeout(max(timeout, 0.001))
        try:
            data = sock.recv(_CHUNK)
        except TimeoutError:
            return b""
        except OSError as exc:
            self.reset()
            raise PrinterOffline(f"打印机连接中断 / the printer connection dropped: {exc}") from None
        if not data:
            self.reset()
            raise PrinterOffline("打印机关闭了连接 / the printer closed the connection")
        return data

    def reset(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.reset()


class UsbLink(Link):
    """A USB printer through the Linux usblp character device (``/dev/usb/lp0``).

    A terminal device standing in for the printer (a pty in tests) is put in raw mode, so that the
    binary panel data crosses it unchanged. :meth:`from_fds` takes an already open pair (a pipe pair).
    """

    def __init__(self, device_path: str | Path) -> None:
        self.device_path = Path(device_path)
        self._fds: tuple[int, int] | None = None
        self._owned = True

    @classmethod
    def from_fds(cls, read_fd: int, write_fd: int) -> UsbLink:
        """A link over descriptors the caller owns (closes them itself)."""
        link = cls(f"/dev/fd/{read_fd}")
        link._fds = (read_fd, write_fd)
        link._owned = False
        for fd in {read_fd, write_fd}:
            os.set_blocking(fd, False)
        return link

    def _open(self) -> tuple[int, int]:
        if self._fds is None:
            try:
                fd = os.open(self.device_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            except OSError as exc:
                raise PrinterOffline(
                    f"无法打开打印机设备 {self.device_path} / cannot open the printer device {self.device_path}: {exc}"
                ) from None
            if os.isatty(fd):
                tty.setraw(fd)
            self._fds = (fd, fd)
        return self._fds

    def write(self, data: bytes, timeout: float) -> None:
        _, fd = self._open()
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                raise PrinterOffline(f"打印机在 {timeout:g} 秒内未接收数据 / the printer took no data for {timeout:g} s")
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                continue
            except OSError as exc:
                raise PrinterOffline(f"打印机设备写入失败 / writing to the printer device failed: {exc}") from None

    def read(self, timeout: float) -> bytes:
        fd, _ = self._open()
        if not select.select([fd], [], [], max(timeout, 0))[0]:
            return b""
        try:
            data = os.read(fd, _CHUNK)
        except BlockingIOError:
            return b""
        except OSError as exc:  # EIO: the device went away (a pty whose other side closed)
            raise PrinterOffline(f"打印机设备读取失败 / reading the printer device failed: {exc}") from None
        if not data:
            raise PrinterOffline("打印机设备已断开 / the printer device was disconnected")
        return data

    def reset(self) -> None:
        if self._fds is None:
            return
        with contextlib.suppress(PrinterOffline):
            while self.read(0):
                pass

    def close(self) -> None:
        fds, self._fds = self._fds, None
        if fds is not None and self._owned:
            os.close(fds[0])


class EvolisPrinter(Printer):
    """An Evolis printer (Primacy, KC family) driven by its own command language."""

    encodes = True

    def __init__(
        self,
        link: Link,
        *,
        command_timeout: float = 5.0,
        move_timeout: float = 30.0,
        print_timeout: float = 120.0,
        ribbon_low: int = RIBBON_LOW,
        chip_area: Box | None = CHIP_AREA,
    ) -> None:
        self.link = link
        self.command_timeout = command_timeout
        self.move_timeout = move_timeout
        self.print_timeout = print_timeout
        self.ribbon_low = ribbon_low
        self.chip_area = chip_area
        self._decoder = ReplyDecoder()
        self._stale = False
        self._identity: dict[Reading, Reply] | None = None

    @classmethod
    def tcp(cls, host: str, port: int, **options: Any) -> EvolisPrinter:
        return cls(TcpLink(host, port), **options)

    @classmethod
    def usb(cls, device_path: str | Path, **options: Any) -> EvolisPrinter:
        return cls(UsbLink(device_path), **options)

    @property
    def canvas(self) -> tuple[int, int]:
        return CANVAS

    # -- the Printer interface --------------------------------------------------------------------

    def status(self) -> PrinterStatus:
        readings: dict[Reading, Reply] = {}
        if self._identity is None:
            self._identity = {r: self._exchange(r.command, self.command_timeout) for r in IDENTITY_READS}
        readings.update(self._identity)
        for reading in STATUS_READS:
            readings[reading] = self._exchange(reading.command, self.command_timeout)
        return status_from_readings(readings, ribbon_low=self.ribbon_low)

    def prepare(self) -> None:
        for setting in SETTINGS:
            try:
                self._command(setting, self.command_timeout)
            except UnknownCommand:
                if setting not in NEWER_FIRMWARE_SETTINGS:
                    raise
                log.info("printer firmware does not know %s; carrying on without it", setting.text)

    def load_for_encoding(self) -> None:
        self._command(TO_CONTACT, self.move_timeout)

    def print_face(self, face: Image) -> None:
        panels = encode_panels(face, chip_area=self.chip_area)  # a bad image fails before the card moves
        self._command(TO_PRINT, self.move_timeout)
        for command in front_print_job(panels.by_panel()):
            self._command(command, self.print_timeout if command is BACK else self.command_timeout)

    def eject(self) -> None:
        self._command(EJECT, self.move_timeout)

    def reject(self) -> None:
        self._command(REJECT, self.move_timeout)

    def close(self) -> None:
        self.link.close()

    # -- the conversation -------------------------------------------------------------------------

    def _command(self, command: Command, timeout: float) -> Reply:
        """Send ``command``; an ``ERR`` reply becomes a :class:`PrinterFault` naming the conditions."""
        reply = self._exchange(command, timeout)
        try:
            return reply.checked(command)
        except PrinterReportedError as refused:
            conditions = set(refused.conditions)
            with contextlib.suppress(PrinterError):
                conditions |= self.status().blocking
            if not conditions:
                raise
            raise PrinterFault(
                conditions, f"打印机拒绝执行 {command.text}（{reply.text}）/ the printer refused {command.text} ({reply.text})"
            ) from refused

    def _exchange(self, command: Command, timeout: float) -> Reply:
        """One command, one reply, within ``timeout`` seconds."""
        if self._stale:
            self.link.reset()
            self._decoder = ReplyDecoder()
            self._stale = False
        try:
            self.link.write(command.encode(), timeout)
            return self._await_reply(command, timeout)
        except (PrinterOffline, ProtocolError):
            self._stale = True
            raise

    def _await_reply(self, command: Command, timeout: float) -> Reply:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PrinterOffline(
                    f"打印机在 {timeout:g} 秒内未应答 {command.text} / the printer did not answer {command.text} within {timeout:g} s"
                )
            data = self.link.read(min(remaining, BARE_REPLY_GAP) if self._decoder.pending else remaining)
            if data:
                replies = self._decoder.feed(data)
                if replies:
                    if len(replies) > 1:
                        log.warning("printer sent %d replies to %s; kept the first", len(replies), command.text)
                    return replies[0]
            elif self._decoder.pending:
                bare = self._decoder.flush()
                if bare is not None:
                    return bare
