"""A client for the KVK API (Basisprofiel v1), as documented in shared/reference/kvk-api.md.

``GET {base}/v1/basisprofielen/{kvkNummer}`` with the key in the ``apikey`` header. An answer
(200, or 404/400 saying the number is unknown or invalid) is final. 429 and 5xx are retried
with back-off (a ``Retry-After`` wins), as are network errors and timeouts, within one
deadline; when that runs out the look-up raises ``InfrastructureError`` ("KVK API
unreachable: ..."), never a verdict. A refused key (401/403) is not retried.

Every HTTP attempt is handed to ``on_attempt`` (the request records and their prices). The
key goes into the header only: never into a URL, a log line, a record or an error.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import structlog

from gateway.domain import utc_now
from gateway.errors import InfrastructureError
from gateway.register.config import RegisterConfig
from gateway.register.entry import RegisterEntry, dutch_date, entry_from_basisprofiel, plain

log = structlog.get_logger(__name__)

#: IPD codes that mean "this number is not (validly) in the register" (kvk-api.md section 4).
NOT_FOUND_CODES = frozenset({"IPD0001", "IPD0004", "IPD0005", "IPD0006", "IPD0007", "IPD5200"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt, for the records."""

    product: str
    kvk_number: str
    at: datetime
    http_status: int | None
    outcome: str  # found | not_found | rate_limited | server_error | unreachable | refused
    note: str | None = None

    @property
    def answered(self) -> bool:
        """KVK handled the request (what a per-request tariff charges)."""
        return self.outcome in ("found", "not_found")

    @property
    def delivered(self) -> bool:
        """KVK delivered data (what a per-delivery tariff charges)."""
        return self.outcome == "found"


@dataclass(frozen=True)
class Answer:
    entry: RegisterEntry | None
    http_status: int
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class _Response:
    status: int | None
    body: Any = None
    retry_after: float | None = None
    error: str | None = None

    @property
    def fout(self) -> tuple[str | None, str | None]:
        """The first ``fout`` entry's code and text."""
        if isinstance(self.body, dict) and isinstance(self.body.get("fout"), list) and self.body["fout"]:
            first = self.body["fout"][0]
            if isinstance(first, dict):
                return first.get("code"), first.get("omschrijving")
        return None, None

    def outcome(self) -> str:
        code, _ = self.fout
        if self.status is None:
            return "unreachable"
        if self.status == 200 and isinstance(self.body, dict):
            return "found"
        if self.status in (404, 400) and (code in NOT_FOUND_CODES or (self.status == 404 and code is None)):
            return "not_found"
        if self.status == 429:
            return "rate_limited"
        if self.status in RETRY_STATUSES or self.status == 200:
            return "server_error"  # includes a 200 whose body is not a profile
        return "refused"

    def describe(self) -> str:
        if self.status is None:
            return self.error or "no answer"
        code, text = self.fout
        detail = f" {plain(code)}: {plain(text)}" if code else ""
        return f"HTTP {self.status}{detail}"[:200]


AttemptHook = Callable[[Attempt], Awaitable[None]]


class KvkApiClient:
    def __init__(
        self,
        config: RegisterConfig,
        on_attempt: AttemptHook | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self.on_attempt = on_attempt
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ctx: ssl.SSLContext | bool = True
            if self.config.ca_file is not None:
                ctx = ssl.create_default_context(cafile=str(self.config.ca_file))
            self._session = aiohttp.ClientSession(
                headers={
                    "apikey": self.config.api_key,
                    "Accept": "application/hal+json",
                    "User-Agent": "filing-gateway",
                },
                timeout=aiohttp.ClientTimeout(total=self.config.timeout),
                connector=aiohttp.TCPConnector(ssl=ctx, limit=16),
                trust_env=False,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def basisprofiel(self, kvk_number: str) -> Answer:
        """The Basisprofiel of a KVK number: its entry, or None when KVK says it has none."""
        url = f"{self.config.api_url}/v1/basisprofielen/{kvk_number}"
        response = await self._get("basisprofiel", kvk_number, url)
        code, text = response.fout
        if response.outcome() == "not_found":
            return Answer(None, response.status or 0, code, text)
        entry = entry_from_basisprofiel(response.body, dutch_date(self.clock()))
        return Answer(entry, 200)

    async def vestigingsprofiel(self, vestigingsnummer: str) -> Answer:
        """Whether KVK has a Vestigingsprofiel for a branch number (recorded and priced like
        any request; the checks do not use it)."""
        url = f"{self.config.api_url}/v1/vestigingsprofielen/{vestigingsnummer}"
        response = await self._get("vestigingsprofiel", vestigingsnummer, url)
        code, text = response.fout
        return Answer(None, response.status or 0, code, text)

    async def _get(self, product: str, kvk_number: str, url: str) -> _Response:
        started = time.monotonic()
        last = "no attempt made"
        for attempt in range(1, self.config.attempts + 1):
            response = await self._once(url)
            outcome = response.outcome()
            await self._report(product, kvk_number, response, outcome)
            if outcome in ("found", "not_found"):
                return response
            last = response.describe()
            if outcome == "refused":
                raise InfrastructureError(f"KVK API unreachable: the API refused the request ({last})")
            wait = self._wait(attempt, response.retry_after)
            if attempt == self.config.attempts or time.monotonic() - started + wait > self.config.deadline:
                break
            await asyncio.sleep(wait)
        raise InfrastructureError(f"KVK API unreachable: {last} (after {attempt} attempts)")

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        backoff = self.config.backoff * float(2 ** (attempt - 1))
        return max(backoff, retry_after) if retry_after is not None else backoff

    async def _once(self, url: str) -> _Response:
        try:
            async with self._open().get(url, allow_redirects=False) as resp:
                raw = await resp.content.read(MAX_BODY)
                return _Response(resp.status, _json(raw), _retry_after(resp.headers.get("Retry-After")))
        except TimeoutError:
            return _Response(None, error=f"no answer within {self.config.timeout:g} s")
        except aiohttp.ClientError as exc:
            return _Response(None, error=f"{type(exc).__name__}: {str(exc)[:150]}")

    async def _report(self, product: str, kvk_number: str, response: _Response, outcome: str) -> None:
        log.info("kvk api request", product=product, kvk_number=kvk_number, status=response.status, outcome=outcome)
        if self.on_attempt is not None:
            note = None if outcome in ("found",) else response.describe()
            await self.on_attempt(Attempt(product, kvk_number, self.clock(), response.status, outcome, note))


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is read as "no hint")."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
