"""What a relying party needs from the platform, fetched over HTTP and cached as the platform says.

:class:`IssuerClient` gets the issuer's key set (``/.well-known/jwks.json``) and its status lists
(``statuslist+jwt`` tokens under the issuer's status address), and keeps each for as long as the
response's ``Cache-Control: max-age`` allows (a status list no longer than its own ``ttl`` and
``exp``), then revalidates with ``If-None-Match`` (a ``304`` renews it without a body). Responses
are kept on disk when a cache folder is given, so a command run again soon does not fetch again.
A status list is trusted only when signed by a key of the issuer's set, for exactly the address it
was fetched from. No other address is ever fetched: the token's own ``uri`` must lie under the
issuer's status address. Every failure becomes :class:`~.verify.StatusUnavailable` (the verifier
then refuses), never a silent "valid".
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sscard_issuer.credential import jose
from sscard_issuer.credential.keyset import KeySet
from sscard_issuer.credential.profile import DEFAULT_ALGORITHMS
from sscard_issuer.credential.status_list import STATUS_LIST_TYP, StatusList, StatusListError
from sscard_issuer.credential.verify import StatusUnavailable

JWKS_PATH = "/.well-known/jwks.json"
STATUS_PATH = "/v1/status-lists"
MAX_LIST_ENTRIES = 10_000_000  # a decompression bomb above this is refused
_MAX_AGE = re.compile(r"max-age=(\d+)")


@dataclass
class _Cached:
    body: str
    etag: str | None
    fresh_until: float


class IssuerClient:
    def __init__(self, issuer: str, *, client: httpx.Client | None = None, cache_dir: Path | None = None,
                 algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS, clock: Callable[[], float] = time.time) -> None:
        self.issuer = issuer.rstrip("/")
        self.status_base = self.issuer + STATUS_PATH
        self._http = client or httpx.Client(timeout=10.0)
        self._dir = cache_dir
        self._algorithms = algorithms
        self._clock = clock
        self._memory: dict[str, _Cached] = {}
        self._keys: tuple[str, KeySet] | None = None
        self._lists: dict[str, tuple[str, StatusList, float]] = {}

    # -- the verifier's sources -------------------------------------------------------------------

    def keys(self) -> KeySet:
        body = self._get(self.issuer + JWKS_PATH)
        if self._keys is None or self._keys[0] != body:
            try:
                self._keys = (body, KeySet.from_jwks(json.loads(body)))
            except (ValueError, jose.JoseError) as error:
                raise StatusUnavailable(f"the issuer's key set is not usable: {error}") from None
        return self._keys[1]

    def status(self, uri: str, idx: int) -> int:
        if not uri.startswith(self.status_base + "/"):
            raise StatusUnavailable(f"{uri} is not one of the issuer's status lists")
        body = self._get(uri)
        cached = self._lists.get(uri)
        if cached is None or cached[0] != body or self._clock() > cached[2]:
            cached = (body, *self._status_list(uri, body))
            self._lists[uri] = cached
        try:
            return cached[1].get(idx)
        except StatusListError as error:
            raise StatusUnavailable(str(error)) from None

    def _status_list(self, uri: str, token: str) -> tuple[StatusList, float]:
        try:
            _, claims = jose.verify_compact(token.strip(), self.keys(), algorithms=self._algorithms,
                                            typ=STATUS_LIST_TYP)
        except jose.JoseError as error:
            raise StatusUnavailable(f"status list {uri}: {error}") from None
        now = self._clock()
        listed = claims.get("status_list")
        if claims.get("sub") != uri or not isinstance(listed, dict) or not isinstance(claims.get("exp"), int):
            raise StatusUnavailable(f"status list {uri}: not the list asked for, or malformed")
        if claims["exp"] < now:
            raise StatusUnavailable(f"status list {uri} has expired")
        try:
            lst = StatusList.decode(listed["lst"], listed["bits"], max_size=MAX_LIST_ENTRIES)
        except (KeyError, TypeError, StatusListError) as error:
            raise StatusUnavailable(f"status list {uri}: {error}") from None
        ttl = claims.get("ttl")
        fresh = min(claims["exp"], now + ttl) if isinstance(ttl, int) else claims["exp"]
        return lst, fresh

    # -- HTTP with the cache -------------------------------------------------------------------------

    def _get(self, url: str) -> str:
        now = self._clock()
        cached = self._memory.get(url) or self._load(url)
        if cached is not None and now < cached.fresh_until:
            return cached.body
        headers = {"If-None-Match": cached.etag} if cached is not None and cached.etag else {}
        try:
            response = self._http.get(url, headers=headers)
        except httpx.HTTPError as error:
            raise StatusUnavailable(f"{url}: {error}") from None
        if response.status_code == 304 and cached is not None:
            cached = _Cached(cached.body, cached.etag, now + _max_age(response))
        elif response.status_code == 200:
            cached = _Cached(response.text, response.headers.get("etag"), now + _max_age(response))
        else:
            raise StatusUnavailable(f"{url}: HTTP {response.status_code}")
        self._memory[url] = cached
        self._save(url, cached)
        return cached.body

    def _path(self, url: str) -> Path | None:
        return None if self._dir is None else self._dir / (hashlib.sha256(url.encode()).hexdigest() + ".json")

    def _load(self, url: str) -> _Cached | None:
        path = self._path(url)
        if path is None or not path.exists():
            return None
        try:
            data: dict[str, Any] = json.loads(path.read_text("utf-8"))
            return _Cached(data["body"], data.get("etag"), float(data["fresh_until"]))
        except (OSError, ValueError, KeyError):
            return None  # a damaged cache entry is fetched again

    def _save(self, url: str, cached: _Cached) -> None:
        path = self._path(url)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"url": url, "body": cached.body, "etag": cached.etag,
                                         "fresh_until": cached.fresh_until}), "utf-8")
        temporary.replace(path)

    def close(self) -> None:
        self._http.close()


def _max_age(response: httpx.Response) -> float:
    control = response.headers.get("cache-control", "")
    if "no-store" in control or "no-cache" in control:
        return 0.0
    found = _MAX_AGE.search(control)
    return float(found.group(1)) if found else 0.0
