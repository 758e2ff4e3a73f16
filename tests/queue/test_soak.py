"""The soak script's short run (issue 11 item 17): real processes under load with the faults
of items 1-7 and a gateway SIGKILL/SIGTERM injected one at a time; it exits non-zero when an
invariant breaks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_ADMIN_URL

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak.py"
FAULTS = "db-blip,redis-kill,same-year,poison,dev-redis,ops-endpoints,replay-redis-down,gateway-kill,gateway-term"


def test_short_soak_keeps_every_invariant() -> None:
    if not POSTGRES_ADMIN_URL:
        pytest.skip("GATEWAY_TEST_POSTGRES_URL not set")
    done = subprocess.run(
        [
            sys.executable,
            str(SOAK),
            "--short",
            "-n",
            "4",
            "--postgres",
            POSTGRES_ADMIN_URL,
            "--faults",
            FAULTS,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "invariants held" in done.stdout
    for fault in FAULTS.split(","):
        assert f"\n{fault} " in done.stdout
