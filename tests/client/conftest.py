"""A gateway (server + worker, SQLite) shared by the module's tests, and the real
``gateway-client`` CLI run as a subprocess with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import make_stack, running
from tests.support.gateway import Stack
from tests.support.pki import Pki
from tests.support.smtp import SmtpSink


@dataclass
class ClientRun:
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_client(*args: str, home: Path, env: dict[str, str] | None = None, timeout: float = 120) -> ClientRun:
    """``gateway-client ARGS`` with no GATEWAY_* variables but ``env``, and HOME/XDG in ``home``
    (so no profile of the machine's user is read)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "REQUESTS_", "XDG_"))}
    clean.update(HOME=str(home), **(env or {}))
    result = subprocess.run(
        [sys.executable, "-m", "gateway.client.cli", *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return ClientRun(result.returncode, result.stdout, result.stderr)


@pytest.fixture(scope="module")
def gateway(pki: Pki, smtp: SmtpSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('client-db') / 'gateway.db'}"
    yield from running(make_stack(pki, smtp, url))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def credentials(stack: Stack, name: str = "filer-a") -> list[str]:
    """The five options a filer of ``stack`` passes."""
    cert = stack.pki.client(name)
    return [
        "--url",
        f"{stack.base_url}/wus/2.0",
        "--cert",
        str(cert.cert),
        "--key",
        str(cert.key),
        "--ca",
        str(stack.pki.root),
        "--server-cert",
        str(stack.pki.server.cert),
    ]
