"""Each benchmark runs once at a small size (``--smoke``) so the scripts cannot rot: they
start the real processes they measure, and print their figures beside the floor, with the
machine and the date. The figures themselves are not asserted (they are not tests of speed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MACHINE = re.compile(r"— \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC, .*\d+ cores, .*load average")


def bench(script: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    if url := os.environ.get("GATEWAY_TEST_POSTGRES_URL"):
        env["GATEWAY_BENCH_POSTGRES_URL"] = url
    if url := os.environ.get("GATEWAY_TEST_REDIS_URL"):
        env["GATEWAY_BENCH_REDIS_URL"] = url
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--smoke", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert MACHINE.search(done.stdout), done.stdout
    return done.stdout


def test_checks_benchmark_prints_ratios_to_the_parse_floor_and_the_slope() -> None:
    out = bench("checks.py")
    assert re.search(r"20 KB +[\d.]+ +[\d.]+ +[\d.]+x +3x (met|NOT met)", out), out
    assert re.search(r"slope of log time against log size -?\d+\.\d\d", out), out
    assert "reading the instance" in out and "conformance suite (153 files)" in out


def test_intake_benchmark_prints_server_cpu_beside_the_floor() -> None:
    out = bench("intake.py")
    assert re.search(r"embedded +1 +20 KB +[\d.]+ .* [\d.]+x +1\.5x (met|NOT met)", out), out
    assert "RSA verify" in out and "commit (1/8 of a group)" in out


@pytest.mark.parametrize("store", ["embedded", "postgres"])
def test_burst_benchmark_drains_through_real_workers(store: str) -> None:
    if store == "postgres" and not (
        os.environ.get("GATEWAY_TEST_POSTGRES_URL") and os.environ.get("GATEWAY_TEST_REDIS_URL")
    ):
        pytest.skip("GATEWAY_TEST_POSTGRES_URL and GATEWAY_TEST_REDIS_URL not set")
    out = bench("burst.py", *(["--embedded"] if store == "embedded" else []))
    assert re.search(r"^ +1 +[\d.]+ +[\d.]+ +[\d.]+ .*every one final, exactly one mail each$", out, re.M), out
    assert re.search(r"one worker, per job: [\d.]+ ms wall to its final status .*; checking [\d.]+ ms", out), out
    assert re.search(r"CPU per job, .*: the worker process [\d.]+ ms .* its checking processes [\d.]+ ms", out), out
    assert re.search(r"aim \(half the check rate\): <= [\d.]+ ms of wall time per job; (met|NOT met)", out), out


def test_register_benchmark_prints_lookups_beside_the_local_table() -> None:
    out = bench("register.py")
    assert re.search(r"sqlite +\d+ +\d+ +[\d.]+", out), out


def test_ixbrl_benchmark_prints_ratios_and_memory() -> None:
    out = bench("ixbrl.py")
    assert re.search(r"150 KB +\d+KB +[\d.]+ +[\d.]+ +[\d.]+x", out), out
    assert re.search(r"peak memory checking the largest package .* \([\d.]+x its unpacked size", out), out
