"""Runs the real gateway processes (``gateway serve`` / ``gateway worker``) for tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import requests

from gateway.queue.redis_server import EmbeddedRedis
from tests.support.pki import Pki
from tests.support.smtp import SmtpSink, free_port
from tests.support.wus_client import ClientCert, WusClient, make_client

FINAL = {"311", "321", "500", "210"}


@dataclass
class Stack:
    data_dir: Path
    pki: Pki
    smtp: SmtpSink
    database_url: str
    redis_url: str | None
    port: int = field(default_factory=free_port)
    ops_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    ops_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    queue_name: str = field(default_factory=lambda: f"gw-test:{uuid.uuid4().hex[:8]}")
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def web_url(self) -> str:
        return f"https://127.0.0.1:{self.web_port}"

    @property
    def ops_url(self) -> str:
        return f"http://127.0.0.1:{self.ops_port}"

    def ops_get(self, path: str, token: bool = True) -> requests.Response:
        s = requests.Session()
        s.trust_env = False
        headers = {"Authorization": f"Bearer {self.ops_token}"} if token else {}
        return s.get(self.ops_url + path, headers=headers, timeout=30)

    def ops_post(self, path: str, body: dict[str, Any]) -> requests.Response:
        s = requests.Session()
        s.trust_env = False
        return s.post(self.ops_url + path, json=body, headers={"Authorization": f"Bearer {self.ops_token}"}, timeout=60)

    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_") and k not in ("REQUESTS_CA_BUNDLE",)}
        env.update(
            GATEWAY_DATA_DIR=str(self.data_dir),
            GATEWAY_DATABASE_URL=self.database_url,
            GATEWAY_SMTP_URL=self.smtp.url,
            GATEWAY_PORT=str(self.port),
            GATEWAY_HOST="127.0.0.1",
            GATEWAY_TLS_CERT=str(self.pki.server.cert),
            GATEWAY_TLS_KEY=str(self.pki.server.key),
            GATEWAY_CLIENT_CA=str(self.pki.client_bundle),
            GATEWAY_DEFAULT_NOTIFY_ADDRESS="filer@example.test",
            GATEWAY_QUEUE_NAME=self.queue_name,
            GATEWAY_OPS_PORT=str(self.ops_port),
            GATEWAY_WEB_PORT=str(self.web_port),
            GATEWAY_OPS_TOKEN=self.ops_token,
            GATEWAY_JOB_TIMEOUT="10",
            GATEWAY_LOG_LEVEL="INFO",
        )
        if self.redis_url:
            env["GATEWAY_REDIS_URL"] = self.redis_url
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def _spawn(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        with open(self.data_dir / f"{name}-{len(self.procs)}.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", *args], env=self.env(), stdout=log, stderr=subprocess.STDOUT
            )
        self.procs.append(proc)
        return proc

    def start_server(self, timeout: float = 20.0) -> subprocess.Popen[bytes]:
        proc = self._spawn("serve", name="serve")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"gateway serve exited: {self.logs('serve')}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return proc
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gateway serve did not start listening")

    def start_worker(self) -> subprocess.Popen[bytes]:
        return self._spawn("worker", name="worker")

    def logs(self, name: str) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.data_dir.glob(f"{name}-*.log")))

    def cli(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "gateway.cli", *args],
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"gateway {' '.join(args)} failed: {result.stderr}")
        return result

    def client(self, cert: ClientCert | None, **kw: object) -> WusClient:
        return make_client(self.base_url, self.pki.root, cert, self.pki.server.cert, **kw)

    def wait_final(self, client: WusClient, kenmerk: str, timeout: float = 60.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            statuses = client.statuses(kenmerk)
            if statuses and statuses[-1].statuscode in FINAL:
                return statuses
            time.sleep(0.2)
        raise AssertionError(f"no final status for {kenmerk}; worker log:\n{self.logs('worker')[-3000:]}")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        if self.redis_url is None:
            EmbeddedRedis(self.data_dir).stop()


def redis_client(stack: Stack) -> redis.Redis:
    if stack.redis_url:
        return redis.Redis.from_url(stack.redis_url)
    return redis.Redis(unix_socket_path=str(EmbeddedRedis(stack.data_dir).socket))


class DatabaseLock:
    """Holds a write lock on the gateway's database from outside, to freeze a worker mid-job."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self._release = threading.Event()
        self._held = threading.Event()
        self._thread: threading.Thread | None = None

    def _sqlite(self) -> None:
        path = self.url.split(":///", 1)[1]
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        conn.execute("BEGIN IMMEDIATE")
        self._held.set()
        self._release.wait(120)
        conn.execute("ROLLBACK")
        conn.close()

    def _postgres(self) -> None:
        import asyncpg

        async def hold() -> None:
            conn = await asyncpg.connect(self.url.replace("postgresql+asyncpg://", "postgresql://"))
            tr = conn.transaction()
            await tr.start()
            await conn.execute("LOCK TABLE submissions IN EXCLUSIVE MODE")
            self._held.set()
            await asyncio.to_thread(self._release.wait, 120)
            await tr.rollback()
            await conn.close()

        asyncio.run(hold())

    def __enter__(self) -> DatabaseLock:
        target = self._sqlite if self.url.startswith("sqlite") else self._postgres
        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()
        assert self._held.wait(30), "could not take the database lock"
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        if self._thread is not None:
            self._thread.join(30)
