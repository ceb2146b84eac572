"""Signed-in sessions, kept on the server; the browser holds only a signed, random session id.

A session ends when its member of staff signs out, after ``ttl`` seconds without a request, and
``max_age`` seconds after sign-in whatever happens. Each carries its own token against cross-site
request forgery (every form posts it back; :meth:`SessionStore.check_csrf` compares in constant
time). The sign-in form, which has no session yet, uses a signed double-submit token instead
(:func:`sign_in_token`). Sessions live in this process: restarting the console signs everyone out.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from itsdangerous import BadSignature, Signer

COOKIE = "sscard_console"
PRE_COOKIE = "sscard_console_pre"  # the sign-in form's double-submit token
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass
class ConsoleSession:
    sid: str
    username: str
    display_name: str
    csrf: str
    started: float
    seen: float
    flashes: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) shown on the next page

    def flash(self, kind: str, message: str) -> None:
        self.flashes.append((kind, message))

    def take_flashes(self) -> list[tuple[str, str]]:
        taken, self.flashes = self.flashes, []
        return taken


class SessionStore:
    """Sessions by id; ``clock`` returns seconds (tests move it to expire sessions)."""

    def __init__(self, secret: str, *, ttl: float, max_age: float, clock: Callable[[], float] = time.time) -> None:
        if ttl <= 0 or max_age <= 0:
            raise ValueError("session lifetimes must be positive")
        self._signer = Signer(secret, salt="sscard-console-session")
        self._pre = Signer(secret, salt="sscard-console-sign-in")
        self.ttl, self.max_age, self.clock = ttl, max_age, clock
        self._sessions: dict[str, ConsoleSession] = {}
        self._lock = threading.Lock()

    def start(self, username: str, display_name: str) -> tuple[ConsoleSession, str]:
        """A new session and the cookie value naming it."""
        now = self.clock()
        session = ConsoleSession(secrets.token_urlsafe(32), username, display_name, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._purge(now)
            self._sessions[session.sid] = session
        return session, self._signer.sign(session.sid).decode()

    def find(self, cookie: str | None) -> tuple[ConsoleSession | None, bool]:
        """The live session named by ``cookie``, seen now; and whether one had expired."""
        if not cookie:
            return None, False
        try:
            sid = self._signer.unsign(cookie).decode()
        except BadSignature:
            return None, False
        now = self.clock()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None, False
            if now - session.seen > self.ttl or now - session.started > self.max_age:
                del self._sessions[sid]
                return None, True
            session.seen = now
            return session, False

    def alive(self, session: ConsoleSession) -> bool:
        """Whether ``session`` is still live, without counting this as activity (live streams)."""
        now = self.clock()
        with self._lock:
            return (self._sessions.get(session.sid) is session and now - session.seen <= self.ttl
                    and now - session.started <= self.max_age)

    def end(self, session: ConsoleSession) -> None:
        with self._lock:
            self._sessions.pop(session.sid, None)

    def end_all_of(self, username: str) -> None:
        with self._lock:
            for sid in [s.sid for s in self._sessions.values() if s.username == username]:
                del self._sessions[sid]

    def _purge(self, now: float) -> None:
        for sid in [s.sid for s in self._sessions.values()
                    if now - s.seen > self.ttl or now - s.started > self.max_age]:
            del self._sessions[sid]

    # -- cross-site request forgery ------------------------------------------------------------------

    @staticmethod
    def check_csrf(session: ConsoleSession, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(session.csrf.encode(), (token or "").encode())

    def sign_in_token(self) -> tuple[str, str]:
        """A token for the sign-in form: (the cookie's value, the form field's value)."""
        nonce = secrets.token_urlsafe(24)
        return self._pre.sign(nonce).decode(), nonce

    def check_sign_in_token(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token:
            return False
        try:
            nonce = self._pre.unsign(cookie).decode()
        except BadSignature:
            return False
        return hmac.compare_digest(nonce.encode(), token.encode())
