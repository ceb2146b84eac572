"""Sign-in throttling: after ``attempts`` failed sign-ins for one username within ``window`` seconds,
that username is refused until the oldest of those failures leaves the window, without its password
being checked; a successful sign-in clears its count.

Each attempt is counted *before* its password is checked (and cleared again on success), so requests
sent in parallel cannot get more than ``attempts`` guesses past the check. The counts live in this
process's memory, like the sessions: a restart forgets them, and each process of a multi-process
server keeps its own. Entries older than the window are dropped, so memory holds only the usernames
tried in about the last two windows.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sscard_issuer.api.console.i18n import Lang, text
from sscard_issuer.errors import SscardError

DEFAULT_ATTEMPTS = 5
DEFAULT_WINDOW = 15 * 60.0  # seconds


class TooManySignIns(SscardError):
    """Sign-in for this username is refused until ``retry_at`` (seconds, as the throttle's clock)."""

    def __init__(self, retry_at: float, now: float) -> None:
        self.retry_at = retry_at
        self.wait = max(0.0, retry_at - now)
        super().__init__(self.message("en"))

    def message(self, lang: Lang = "zh") -> str:
        at = datetime.fromtimestamp(self.retry_at).astimezone().strftime("%H:%M:%S")
        return text("sign_in_retry", lang, at=at, minutes=max(1, math.ceil(self.wait / 60)))


class SignInThrottle:
    """Failed sign-ins by username; ``clock`` returns seconds (tests move it)."""

    def __init__(self, *, attempts: int = DEFAULT_ATTEMPTS, window: float = DEFAULT_WINDOW,
                 clock: Callable[[], float] = time.time) -> None:
        if attempts < 1 or window <= 0:
            raise ValueError("sign-in throttling needs at least one attempt and a positive window")
        self.attempts, self.window, self.clock = attempts, window, clock
        self._failures: dict[str, list[float]] = {}  # times, oldest first
        self._next_sweep = 0.0
        self._lock = threading.Lock()

    def attempt(self, username: str) -> None:
        """Count an attempt for ``username`` as failed until :meth:`succeeded` says otherwise;
        :class:`TooManySignIns` (nothing counted) when the username has no attempt left."""
        with self._lock:
            now = self.clock()
            self._sweep(now)
            recent = [t for t in self._failures.get(username, ()) if now - t < self.window]
            if len(recent) >= self.attempts:
                self._failures[username] = recent
                raise TooManySignIns(recent[-self.attempts] + self.window, now)
            self._failures[username] = [*recent, now]

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)

    def _sweep(self, now: float) -> None:
        """Drop the usernames whose failures have all left the window (once a window at most)."""
        if now < self._next_sweep:
            return
        self._failures = {u: times for u, times in self._failures.items() if now - times[-1] < self.window}
        self._next_sweep = now + self.window
