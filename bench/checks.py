"""Worker check throughput and memory.

Prints, for a small and a large statement: statements checked per second on one core by
the gateway's message + register checks, beside the floor (plain lxml.etree.fromstring of
the same bytes) and their ratio; and the peak memory of checking a 20 MiB statement,
measured in a fresh process, as a multiple of the statement's size.

    .venv/bin/python bench/checks.py
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime

from common import machine, statement_of_size  # type: ignore[import-not-found]
from lxml import etree

from gateway import checks
from gateway.checks.base import CheckContext, Company, PartInfo


def run_checks(data: bytes) -> int:
    ctx = CheckContext(
        berichtsoort="Jaarverantwoording_KvK",
        belanghebbende_nummer="12345678",
        belanghebbende_type="KvK",
        filed_at=datetime(2025, 7, 1, tzinfo=UTC),
        parts=[PartInfo(0, "application/xml", "jaarrekening.xbrl", len(data))],
        raw_instance=data,
    )
    found = checks.run(checks.MESSAGE_CHECKS, ctx)
    ctx.company = Company("12345678", "X", "Besloten vennootschap met beperkte aansprakelijkheid", "active")
    ctx.company_looked_up = True
    found += checks.run(checks.REGISTER_CHECKS, ctx)
    return len(found)


def per_second(fn, data: bytes, seconds: float) -> float:  # type: ignore[no-untyped-def]
    fn(data)
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn(data)
        n += 1
    return n / (time.perf_counter() - start)


def parse_floor(data: bytes) -> int:
    parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
    return len(etree.fromstring(data, parser))


def memory_child(size: int) -> None:
    data = statement_of_size(size)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run_checks(data)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"size": len(data), "base_kib": base, "peak_kib": peak}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--memory-child", type=int)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    print(f"# worker checks — {machine()}")
    print(f"{'statement':>12} {'checks/s':>10} {'lxml parse/s':>13} {'ratio':>7}")
    for label, size in (("50 KB", 50_000), ("5 MB", 5_000_000)):
        data = statement_of_size(size)
        ours = per_second(run_checks, data, args.seconds)
        floor = per_second(parse_floor, data, args.seconds)
        print(f"{label:>12} {ours:>10.1f} {floor:>13.1f} {floor / ours:>6.2f}x")
    size = 20 * 1024 * 1024
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(size)], capture_output=True, text=True, check=True
    ).stdout
    m = json.loads(out)
    grown = (m["peak_kib"] - m["base_kib"]) * 1024
    print(
        f"peak memory checking a {m['size'] / 2**20:.1f} MiB statement: +{grown / 2**20:.1f} MiB "
        f"({grown / m['size']:.2f}x its size; process peak {m['peak_kib'] / 1024:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
