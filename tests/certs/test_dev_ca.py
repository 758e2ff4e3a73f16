"""`gateway certs dev-ca` writes a chain that strict X.509 verification accepts, so clients on
Python 3.13 (whose default contexts verify strictly) trust the dev gateway, and the gateway
trusts the dev client."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GATEWAY = Path(sys.executable).with_name("gateway")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_dev_ca_chain_passes_strict_verification(tmp_path: Path) -> None:
    subprocess.run([str(GATEWAY), "certs", "dev-ca", str(tmp_path)], check=True, capture_output=True)
    done = subprocess.run(
        [
            "openssl",
            "verify",
            "-x509_strict",
            "-CAfile",
            str(tmp_path / "root.pem"),
            "-untrusted",
            str(tmp_path / "ca.pem"),
            str(tmp_path / "client.pem"),
            str(tmp_path / "server.pem"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == 2
