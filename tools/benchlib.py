"""What the benchmarks share: the reference card and a way to time blocks of work.

The reference is the least a vpcd client can do (TCP_QUICKACK before each read, one sendall per
answer, 9000 to every APDU): what remains of a round trip through it is pyscard, pcscd and vpcd.
"""

from __future__ import annotations

import socket
import statistics
import struct
import threading
import time
from collections.abc import Callable

from smartcard import scard

from sscard_issuer.apdu import Atr

REF_ATR = Atr.for_t0(bytes(13)).raw  # same shape as the simulator's ATR
TRIVIAL = bytes.fromhex("00A4020002EF05")  # SELECT EF05 by FID: 9000, no data


def minimal_card(port: int, stop: threading.Event) -> None:
    """The reference card: the least a vpcd client can do (QUICKACK, one sendall per answer)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    while not stop.is_set():
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
            n = struct.unpack(">H", buf[:2])[0]
            payload, buf = buf[2 : 2 + n], buf[2 + n :]
            if len(payload) == 1:
                if payload[0] == 0x04:
                    sock.sendall(struct.pack(">H", len(REF_ATR)) + REF_ATR)
            else:
                sock.sendall(b"\x00\x02\x90\x00")
    sock.close()


def raw_session(reader: str) -> tuple[int, int, int]:
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    hr, card, proto = scard.SCardConnect(ctx, reader, scard.SCARD_SHARE_SHARED,
                                         scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
    if hr != scard.SCARD_S_SUCCESS:
        raise SystemExit(f"cannot connect to {reader}: {scard.SCardGetErrorMessage(hr)}")
    return ctx, card, proto


def block(send: Callable[[], None], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        send()
    return (time.perf_counter() - started) / n




def reference_round_trip(reader: str, rounds: int = 2000, blocks: int = 10) -> float:
    """Median seconds of one raw SCardTransmit to the reference card in ``reader``."""
    context, card, protocol = raw_session(reader)
    apdu = list(TRIVIAL)
    try:
        block(lambda: scard.SCardTransmit(card, protocol, apdu), 200)  # warm up
        times = [block(lambda: scard.SCardTransmit(card, protocol, apdu), rounds // blocks) for _ in range(blocks)]
    finally:
        scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(context)
    return statistics.median(times)
