"""Headless Chromium for every browser test, driven over the Chrome DevTools Protocol.

Synchronous: open a URL, fill, click and submit by CSS selector, upload a file, read text,
evaluate JavaScript, download, read and clear cookies, take screenshots. Debian's
``chromium`` runs with a fresh profile per browser, in its own process group so that closing
the browser ends all of its processes::

    with Browser(shots=tmp_path) as b:
        b.goto("http://127.0.0.1:8081/dashboard?token=...")
        b.fill("#search", "12345678")
        b.submit("#search")            # submits the field's form and waits for the new page
        assert b.text("#result-count").startswith("1 ")
        b.screenshot("search")         # tmp_path/search.png

For pages served over HTTPS by a test CA, ``Browser(trust=ca_pem)`` accepts certificates
whose chain holds one of the keys in that PEM file, and no others.

The protocol runs over one WebSocket (aiohttp) on a private event loop in a thread, so tests
stay plain synchronous functions.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

T = TypeVar("T")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Skip marker for browser tests where chromium is missing (``.ci/run`` installs it).
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")

FLAGS = (
    "--headless",
    # The tests (and CI) run as root, where Chromium refuses to start with its sandbox; the
    # pages it opens are the project's own.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)


class BrowserError(AssertionError):
    pass


def spki_pins(pem: Path) -> str:
    """The base64 SHA-256 hashes of the public keys of every certificate in ``pem``, comma
    separated, as ``--ignore-certificate-errors-spki-list`` takes them."""
    pins = []
    for cert in x509.load_pem_x509_certificates(pem.read_bytes()):
        der = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        pins.append(base64.b64encode(hashlib.sha256(der).digest()).decode())
    return ",".join(pins)


class Browser:
    def __init__(
        self,
        *,
        trust: Path | None = None,
        shots: Path | None = None,
        width: int = 1440,
        height: int = 1000,
        timeout: float = 30.0,
    ) -> None:
        """``trust``: a PEM file of test CA certificates to accept for HTTPS (by their keys;
        Chromium honours that only with its own profile, which every browser here has).
        ``shots``: the folder ``screenshot`` writes to."""
        if CHROMIUM is None:
            raise BrowserError("chromium is not installed")
        self.trust, self.shots = trust, shots
        self.width, self.height, self.timeout = width, height, timeout
        self._profile = tempfile.TemporaryDirectory(prefix="gw-chromium-", ignore_cleanup_errors=True)
        self._proc: subprocess.Popen[bytes] | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: list[tuple[str, dict[str, Any]]] = []
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._session_id = ""
        self._target_id = ""
        #: The file name the server suggested for the last download.
        self.last_download_name = ""

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Browser:
        try:
            self.start()
        except BaseException:
            self.close()  # a half-started browser leaves no process behind either
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        assert CHROMIUM is not None
        profile = Path(self._profile.name)
        trust = [f"--ignore-certificate-errors-spki-list={spki_pins(self.trust)}"] if self.trust else []
        self._proc = subprocess.Popen(
            [
                CHROMIUM,
                *FLAGS,
                *trust,
                f"--user-data-dir={profile}",
                f"--window-size={self.width},{self.height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if time.monotonic() > deadline or self._proc.poll() is not None:
                raise BrowserError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self._thread.start()
        self._run(self._connect(f"ws://127.0.0.1:{port}{path}"))

    def close(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                self._run(self._disconnect())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if not self._loop.is_running() and not self._loop.is_closed():
            self._loop.close()
        if self._proc is not None:
            self._stop_chromium(self._proc)
            self._proc = None
        self._profile.cleanup()

    @staticmethod
    def _stop_chromium(proc: subprocess.Popen[bytes]) -> None:
        # Chromium runs in its own process group (started with start_new_session): ending
        # the group ends its helper processes too, which otherwise keep writing the profile.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    # ------------------------------------------------------------------ protocol

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(self.timeout + 5)

    async def _connect(self, url: str) -> None:
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(url, max_msg_size=0)
        self._loop.create_task(self._reader())
        target = await self._send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = await self._send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, session=False
        )
        self._session_id = attached["sessionId"]
        self._target_id = target["targetId"]
        await self._send("Page.enable")
        await self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
        )

    async def _disconnect(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._http is not None:
            await self._http.close()

    async def _reader(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            future = self._pending.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(data)
            elif "method" in data:
                self._events.append((data["method"], data.get("params", {})))

    async def _send(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True) -> dict[str, Any]:
        assert self._ws is not None
        msg_id = next(self._ids)
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session_id
        future: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._pending[msg_id] = future
        await self._ws.send_str(json.dumps(message))
        reply = await asyncio.wait_for(future, self.timeout)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    def _command(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True) -> dict[str, Any]:
        """A DevTools command, on the page (or, with ``session=False``, the browser)."""
        return self._run(self._send(method, params, session=session))

    def _wait_event(
        self,
        method: str,
        since: int,
        timeout: float | None = None,
        match: Callable[[dict[str, Any]], bool] = lambda params: True,
    ) -> dict[str, Any]:
        """The first ``method`` event (that ``match`` accepts) since event number ``since``."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            for name, params in self._events[since:]:
                if name == method and match(params):
                    return params
            time.sleep(0.02)
        raise BrowserError(f"no {method} within {timeout or self.timeout} s")

    def _remote(self, expression: str, *, by_value: bool) -> dict[str, Any]:
        """Evaluate JavaScript in the page: the resulting remote object (promises are
        awaited). While a navigation replaces the page, waits for the new one."""
        params = {"expression": expression, "returnByValue": by_value, "awaitPromise": True}
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                result = self._command("Runtime.evaluate", params)
                break
            except BrowserError as exc:
                if "context" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return dict(result["result"])

    # ------------------------------------------------------------------ pages

    def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page; returns the value (see ``_remote``)."""
        return self._remote(expression, by_value=True).get("value")

    def goto(self, url: str) -> None:
        """Open ``url`` and wait until the page (after any redirects) has loaded."""
        mark = len(self._events)
        reply = self._command("Page.navigate", {"url": url})
        if reply.get("errorText"):
            raise BrowserError(f"{url}: {reply['errorText']}")
        self._wait_event("Page.loadEventFired", mark)

    def _element(self, selector: str) -> str:
        quoted = json.dumps(selector)
        return (
            f"(() => {{ const e = document.querySelector({quoted});"
            f" if (!e) throw new Error('no element ' + {quoted} + ' on ' + location.href); return e; }})()"
        )

    def exists(self, selector: str) -> bool:
        return bool(self.evaluate(f"document.querySelector({json.dumps(selector)}) !== null"))

    def wait_for(self, selector: str, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.exists(selector):
            if time.monotonic() > deadline:
                raise BrowserError(f"no {selector} on {self.url}")
            time.sleep(0.05)

    def wait_text(self, needle: str, timeout: float = 60.0) -> str:
        """Wait until the page (which may reload itself) shows ``needle``; returns its text."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            with contextlib.suppress(BrowserError):  # between two pages there is no body
                text = self.text()
                if needle in text:
                    return text
            time.sleep(0.3)
        raise BrowserError(f"{needle!r} not on the page after {timeout} s; it shows:\n{text}")

    @property
    def url(self) -> str:
        """The page's address (after redirects; from the browser, so also mid-navigation)."""
        info = self._command("Target.getTargetInfo", {"targetId": self._target_id}, session=False)
        return str(info["targetInfo"]["url"])

    def text(self, selector: str = "body") -> str:
        """The rendered text (innerText) of the first element matching ``selector``."""
        return str(self.evaluate(f"{self._element(selector)}.innerText")).strip()

    def texts(self, selector: str) -> list[str]:
        return list(
            self.evaluate(f"Array.from(document.querySelectorAll({json.dumps(selector)}), e => e.innerText.trim())")
        )

    def box(self, selector: str) -> dict[str, float]:
        """The element's bounding box in CSS pixels: x, y, width, height."""
        return dict(
            self.evaluate(
                f"(() => {{ const r = {self._element(selector)}.getBoundingClientRect();"
                " return {x: r.x, y: r.y, width: r.width, height: r.height}; })()"
            )
        )

    def fill(self, selector: str, value: str) -> None:
        """Set a field's value (input, textarea or select) as if typed, firing input/change."""
        self.evaluate(
            f"(() => {{ const e = {self._element(selector)}; e.focus(); e.value = {json.dumps(value)};"
            " e.dispatchEvent(new Event('input', {bubbles: true}));"
            " e.dispatchEvent(new Event('change', {bubbles: true})); })()"
        )

    def upload(self, selector: str, path: Path) -> None:
        """Choose ``path`` in a file field, as the file dialog would."""
        element = self._remote(self._element(selector), by_value=False)
        self._command("DOM.setFileInputFiles", {"objectId": element["objectId"], "files": [str(path)]})

    def click(self, selector: str, *, navigates: bool = True) -> None:
        """Click an element; by default wait for the page the click leads to."""
        mark = len(self._events)
        self.evaluate(f"{self._element(selector)}.click()")
        if navigates:
            self._wait_event("Page.loadEventFired", mark)

    def submit(self, selector: str) -> None:
        """Submit the form that ``selector`` (a form or a field in one) belongs to, the way
        pressing Enter or its submit button does (with validation), and wait for the page."""
        mark = len(self._events)
        self.evaluate(
            f"(() => {{ const e = {self._element(selector)}; const f = e.form || e;"
            " if (!f.reportValidity()) throw new Error('form invalid'); f.requestSubmit(); })()"
        )
        self._wait_event("Page.loadEventFired", mark)

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        """Save a PNG of the page (by default all of it, not only the window) as
        ``shots/name.png``."""
        if self.shots is None:
            raise BrowserError("screenshot needs Browser(shots=folder)")
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.evaluate(
                "({w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight})"
            )
            params["clip"] = {"x": 0, "y": 0, "width": size["w"], "height": size["h"], "scale": 1}
        data = self._command("Page.captureScreenshot", params)["data"]
        path = self.shots / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def download(self, selector: str, directory: Path, timeout: float | None = None) -> Path:
        """Click a link that downloads a file; returns the saved file."""
        directory.mkdir(parents=True, exist_ok=True)
        self._command(
            "Browser.setDownloadBehavior",
            {"behavior": "allowAndName", "downloadPath": str(directory), "eventsEnabled": True},
            session=False,
        )
        mark = len(self._events)
        self.click(selector, navigates=False)
        begin = self._wait_event("Browser.downloadWillBegin", mark, timeout)
        self.last_download_name = str(begin.get("suggestedFilename", ""))
        end = self._wait_event(
            "Browser.downloadProgress",
            mark,
            timeout,
            lambda p: p.get("guid") == begin["guid"] and p.get("state") in ("completed", "canceled"),
        )
        if end["state"] == "canceled":
            raise BrowserError("download canceled")
        return directory / begin["guid"]

    def cookies(self) -> list[dict[str, Any]]:
        """The cookies the browser would send to the page's address."""
        return list(self._command("Network.getCookies")["cookies"])

    def clear_cookies(self) -> None:
        self._command("Network.clearBrowserCookies")
