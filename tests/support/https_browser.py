"""Headless Chromium driven over the Chrome DevTools Protocol (aiohttp's websocket client),
from async tests, for pages served over HTTPS: open pages, fill and submit forms, upload
files, read the page, take screenshots. (tests/support/browser.py is the synchronous twin the
operators' tests use; the two grew in parallel and are to become one.)

Debian's ``chromium`` runs with a fresh profile; the test server's certificate is trusted by
pinning its public key (``--ignore-certificate-errors-spki-list``), nothing broader.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import serialization

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


def spki_pin(cert_pem: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


class Browser:
    def __init__(self, server_cert: Path, shots: Path) -> None:
        self.server_cert = server_cert
        self.shots = shots
        self.profile = Path(tempfile.mkdtemp(prefix="zdj-chromium-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: list[tuple[str, asyncio.Future[dict[str, Any]]]] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
                "--window-size=1100,900",
                f"--user-data-dir={self.profile}",
                f"--ignore-certificate-errors-spki-list={spki_pin(self.server_cert)}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium did not start")
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        self.session = aiohttp.ClientSession(trust_env=False)
        async with self.session.get(f"http://127.0.0.1:{port}/json/list") as r:
            targets = await r.json()
        page = next(t for t in targets if t["type"] == "page")
        self.ws = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=64 * 1024 * 1024)
        self._reader = asyncio.create_task(self._read())
        await self.send("Page.enable")
        await self.send("Network.enable")

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            data = json.loads(msg.data)
            if "id" in data and data["id"] in self._pending:
                self._pending.pop(data["id"]).set_result(data)
                continue
            for name, fut in list(self._waiters):
                if data.get("method") == name and not fut.done():
                    fut.set_result(data.get("params", {}))
                    self._waiters.remove((name, fut))

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        assert self.ws is not None
        msg_id = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        await self.ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params or {}}))
        reply = await asyncio.wait_for(fut, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    def _expect(self, event: str) -> asyncio.Future[dict[str, Any]]:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((event, fut))
        return fut

    async def goto(self, url: str) -> None:
        loaded = self._expect("Page.loadEventFired")
        await self.send("Page.navigate", {"url": url})
        await asyncio.wait_for(loaded, 30)

    async def eval(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    async def fill(self, selector: str, value: str) -> None:
        ok = await self.eval(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return false;"
            f" e.value = {json.dumps(value)}; return true; }})()"
        )
        assert ok, f"no {selector} on {await self.url()}"

    async def click(self, selector: str) -> None:
        """Click and wait for the page that follows (a form submission or a link)."""
        loaded = self._expect("Page.loadEventFired")
        ok = await self.eval(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return false;"
            " e.click(); return true; })()"
        )
        assert ok, f"no {selector} on {await self.url()}"
        await asyncio.wait_for(loaded, 30)

    async def upload(self, selector: str, path: Path) -> None:
        doc = await self.send("DOM.getDocument")
        node = await self.send("DOM.querySelector", {"nodeId": doc["root"]["nodeId"], "selector": selector})
        assert node.get("nodeId"), f"no {selector}"
        await self.send("DOM.setFileInputFiles", {"nodeId": node["nodeId"], "files": [str(path)]})

    async def text(self) -> str:
        return str(await self.eval("document.body ? document.body.innerText : ''"))

    async def url(self) -> str:
        return str(await self.eval("location.href"))

    async def exists(self, selector: str) -> bool:
        return bool(await self.eval(f"!!document.querySelector({json.dumps(selector)})"))

    async def wait_text(self, needle: str, timeout: float = 60.0) -> str:
        """Wait until the page (which may reload itself) shows ``needle``."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            with contextlib.suppress(RuntimeError):
                text = await self.text()
                if needle in text:
                    return text
            await asyncio.sleep(0.3)
        raise AssertionError(f"{needle!r} not on the page after {timeout} s; it shows:\n{text}")

    async def cookies(self) -> list[dict[str, Any]]:
        return list((await self.send("Network.getAllCookies"))["cookies"])

    async def clear_cookies(self) -> None:
        await self.send("Network.clearBrowserCookies")

    async def screenshot(self, name: str) -> Path:
        data = await self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{name}.png"
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self.session is not None:
            await self.session.close()
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)
