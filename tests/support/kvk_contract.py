"""A local stand-in for the paid KVK API, for tests: an aiohttp server implementing the
documented contract (shared/reference/kvk-api.md) and answering as KVK's test environment
answered in the recordings in shared/kvk-api/recorded/.

- ``GET /test/api/v1/basisprofielen/{kvkNummer}``, ``/test/api/v1/vestigingsprofielen/{nr}``
  and ``/test/api/v2/zoeken?kvkNummer=…``; the key in the ``apikey`` header, else 401.
- Recorded numbers get the recorded body, status and Content-Type byte for byte; any other
  well-formed number gets the recorded 404 IPD0005 / 400 IPD0006 / 404 IPD5200 texts with
  that number in them; a malformed KVK number gets 400 IPD0004 (code list, section 4).
- ``extra`` adds Basisprofiel answers for test companies KVK's test environment lists but
  the recordings lack (built to the OpenAPI schema, section 2).
- Faults on demand: ``fail_next(n, status, retry_after)`` (429 rate limiting, 5xx),
  ``delay`` (slow answers), and a requests-per-second limit answered with 429.

It runs in its own thread and event loop so that in-process tests and the gateway's worker
processes can both use it.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import yaml
from aiohttp import web

from tests.support.shared import shared
from tests.support.smtp import free_port

TEST_KEY = "l7xx1f2691f2520d487b902f4e0b57a0b197"  # KVK's published test key (kvk-api.md section 6)


@dataclass(frozen=True)
class Recorded:
    status: int
    content_type: str
    body: bytes


def load_recordings() -> dict[str, Recorded]:
    """Path (with query, without the host) -> the recorded answer; the 2026 recordings win."""
    out: dict[str, Recorded] = {}
    for path in sorted(shared("kvk-api", "recorded").glob("*.yaml")):
        cassette = yaml.safe_load(path.read_text(encoding="utf-8"))
        for interaction in cassette["interactions"]:
            url = urlsplit(interaction["request"]["uri"])
            response = interaction["response"]
            headers = {k.lower(): v[0] for k, v in response["headers"].items()}
            key = url.path + (f"?{url.query}" if url.query else "")
            out[key] = Recorded(
                response["status"]["code"], headers["content-type"], response["body"]["string"].encode("utf-8")
            )
    return out


def _fout(status: int, code: str, text: str) -> web.Response:
    body = json.dumps({"fout": [{"code": code, "omschrijving": text}]}, ensure_ascii=False)
    return web.Response(status=status, body=body.encode("utf-8"), content_type="application/json")


@dataclass
class KvkContractServer:
    key: str = TEST_KEY
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_second: int = 100
    delay: float = 0.0
    port: int = field(default_factory=free_port)
    #: (path, apikey header present) of every request received, in order.
    received: list[tuple[str, bool]] = field(default_factory=list)
    _faults: list[tuple[int, float | None]] = field(default_factory=list)
    _window: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.recordings = load_recordings()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/test/api"

    def requests_for(self, fragment: str) -> int:
        with self._lock:
            return sum(1 for path, _ in self.received if fragment in path)

    def fail_next(self, count: int, status: int = 503, retry_after: float | None = None) -> None:
        with self._lock:
            self._faults.extend([(status, retry_after)] * count)

    # ------------------------------------------------------------------ handlers

    def _admit(self, request: web.Request) -> web.Response | None:
        with self._lock:
            self.received.append((request.path_qs, "apikey" in request.headers))
            now = time.monotonic()
            self._window = [t for t in self._window if now - t < 1.0]
            self._window.append(now)
            if len(self._window) > self.per_second:
                return _limited(1.0)
            if self._faults:
                status, retry_after = self._faults.pop(0)
                return _limited(retry_after) if status == 429 else _fout(status, "IPD9999", "Algemene technische fout")
        if request.headers.get("apikey") != self.key:
            return web.json_response({"fout": [{"code": "IPD0401", "omschrijving": "Unauthorized"}]}, status=401)
        return None

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        refused = self._admit(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if refused is not None:
            return refused
        recorded = self.recordings.get(request.path_qs)
        if recorded is not None:
            return web.Response(
                status=recorded.status,
                body=recorded.body,
                headers={"Content-Type": recorded.content_type, "API-Version": "1.5.0"},
            )
        return self._synthesised(request)

    def _synthesised(self, request: web.Request) -> web.Response:
        m = re.fullmatch(r"/test/api/v1/basisprofielen/([^/]+)", request.path)
        if m:
            kvk = m.group(1)
            if not re.fullmatch(r"[0-9]{8}", kvk):
                return _fout(400, "IPD0004", f"Het KVK-nummer {kvk} is niet valide.")
            if kvk in self.extra:
                body = json.dumps(self.extra[kvk]).encode("utf-8")
                return web.Response(body=body, headers={"Content-Type": "application/hal+json"})
            return _fout(404, "IPD0005", f"Op basis van het KVK-nummer {kvk} kan het product niet worden geleverd.")
        m = re.fullmatch(r"/test/api/v1/vestigingsprofielen/([^/]+)", request.path)
        if m:
            nr = m.group(1)
            if not re.fullmatch(r"[0-9]{12}", nr):
                return _fout(400, "IPD0006", f"Het vestigingsnummer {nr} is niet valide.")
            return _fout(
                404, "IPD0007", f"Op basis van het vestigingsnummer {nr} kan het product niet worden geleverd."
            )
        if request.path == "/test/api/v2/zoeken":
            return _fout(404, "IPD5200", "Er zijn geen gegevens gevonden die voldoen aan de opgegeven zoekparameters.")
        return _fout(404, "IPD0001", "Het product bestaat niet.")

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> KvkContractServer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_get("/{tail:.*}", self._answer)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(10), "KVK contract server did not start"
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None


def _limited(retry_after: float | None) -> web.Response:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    body = {"fout": [{"code": "IPD0429", "omschrijving": "Too Many Requests"}]}
    return web.json_response(body, status=429, headers=headers)


def basisprofiel(
    kvk: str,
    name: str,
    rechtsvorm: str,
    uitgebreide: str,
    start: str = "20100101",
    end: str | None = None,
) -> dict[str, Any]:
    """A Basisprofiel answer in the shape of the recorded ones, for a test company."""
    registration = {"datumAanvang": start} | ({"datumEinde": end} if end else {})
    base = f"https://api.kvk.nl/test/api/v1/basisprofielen/{kvk}"
    return {
        "kvkNummer": kvk,
        "indNonMailing": "Nee",
        "naam": name,
        "formeleRegistratiedatum": start,
        "materieleRegistratie": registration,
        "statutaireNaam": name,
        "_embedded": {
            "eigenaar": {
                "rsin": "000000000",
                "rechtsvorm": rechtsvorm,
                "uitgebreideRechtsvorm": uitgebreide,
                "_links": {"self": {"href": f"{base}/eigenaar"}, "basisprofiel": {"href": base}},
            }
        },
        "_links": {"self": {"href": base}},
    }


#: KVK's test environment lists these (kvk-api.md section 6); the recordings lack them.
TEST_COMPANIES = {
    "68750110": basisprofiel(
        "68750110", "Test BV Donald", "BesloteVennootschap", "Besloten vennootschap met gewone structuur"
    ),
    "96354429": basisprofiel(
        "96354429", "Test Coöperatie Inactief", "Cooperatie", "Coöperatie", start="20150101", end="20230630"
    ),
}
