"""Worker check throughput, linearity and memory.

Prints, for a 50 KB and a 5 MB statement: the CPU milliseconds the gateway's message +
register checks take per statement, beside the floor (plain lxml.etree.fromstring of the
same bytes, measured in the same run) and their ratio (aim: at most 3x); where the time
goes (reading the instance, the text rules, the other rules, the register checks); the
same at 1x, 4x and 16x a size with the slope of time against size (1.00 = linear); the
conformance suite (shared/conformance: 153 hand-made instances, several not well-formed);
and the peak memory of checking a 20 MiB statement, in a fresh process, as a multiple of
the statement's size.

Times are CPU seconds of this process (time.process_time), not wall time: on a shared
machine wall time mostly measures the other processes.

    .venv/bin/python bench/checks.py [--seconds 3] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from common import floor_note, machine, statement_of_size  # type: ignore[import-not-found]
from lxml import etree

from gateway import checks
from gateway.checks.base import CheckContext, Company, PartInfo
from gateway.checks.xbrl import read_instance

AIM = 3.0


def context_for(data: bytes) -> CheckContext:
    return CheckContext(
        berichtsoort="Jaarverantwoording_KvK",
        belanghebbende_nummer="12345678",
        belanghebbende_type="KvK",
        filed_at=datetime(2025, 7, 1, tzinfo=UTC),
        parts=[PartInfo(0, "application/xml", "jaarrekening.xbrl", len(data))],
        raw_instance=data,
    )


def run_checks(data: bytes) -> int:
    ctx = context_for(data)
    found = checks.run(checks.MESSAGE_CHECKS, ctx)
    company = Company("12345678", "X", "Besloten vennootschap met beperkte aansprakelijkheid", "active")
    found += checks.run(checks.REGISTER_CHECKS, ctx.with_register(company, []))
    return len(found)


def parse_floor(data: bytes) -> int:
    parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
    try:
        return len(etree.fromstring(data, parser))
    except etree.XMLSyntaxError:
        return 0  # the conformance suite's not-well-formed cases: lxml stops there too


def cpu_per_call(fn: Callable[[], object], seconds: float) -> float:
    """CPU seconds per call: the best of three rounds of about seconds/3 each."""
    fn()
    best = math.inf
    for _ in range(3):
        n = 0
        start = time.process_time()
        while True:
            fn()
            n += 1
            spent = time.process_time() - start
            if spent >= seconds / 3:
                break
        best = min(best, spent / n)
    return best


def phases(data: bytes, seconds: float) -> dict[str, float]:
    """CPU seconds per statement of each part of the checks."""
    from gateway.checks import filing_rules, instance
    from gateway.checks.rules import Scope, text

    def read() -> None:
        read_instance(data)

    def text_rules() -> None:
        list(text.check(Scope(context_for(data), None)))

    def message() -> None:
        ctx = context_for(data)
        list(instance.check(ctx))
        list(filing_rules.check(ctx))

    read_s = cpu_per_call(read, seconds)
    text_s = cpu_per_call(text_rules, seconds)
    message_s = cpu_per_call(message, seconds)
    total_s = cpu_per_call(lambda: run_checks(data), seconds)
    return {
        "reading the instance": read_s,
        "text rules (characters, references)": text_s,
        "other filing rules": max(0.0, message_s - read_s - text_s),
        "register checks and the rest": max(0.0, total_s - message_s),
        "total": total_s,
    }


def conformance_files() -> list[tuple[str, bytes]]:
    """Every instance the conformance suite's expected.tsv names (zip entries read out)."""
    from gateway.checks.cli import _entries
    from tests.support.shared import shared

    root = shared("conformance")
    with open(root / "expected.tsv", encoding="utf-8") as fh:
        paths = sorted({line.split("\t", 1)[0] for line in fh.read().splitlines()[1:] if line})
    return [(name, data) for p in paths for name, data, _ in _entries(root / p)]


def memory_child(size: int) -> None:
    data = statement_of_size(size)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run_checks(data)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"size": len(data), "base_kib": base, "peak_kib": peak}))


def statements(args: argparse.Namespace) -> None:
    print(f"{'statement':>12} {'checks ms':>10} {'lxml parse ms':>14} {'ratio':>7} {'aim':>5}")
    sizes = (("20 KB", 20_000), ("200 KB", 200_000)) if args.smoke else (("50 KB", 50_000), ("5 MB", 5_000_000))
    breakdown: list[tuple[str, dict[str, float], float]] = []
    for label, size in sizes:
        data = statement_of_size(size)
        floor = cpu_per_call(lambda data=data: parse_floor(data), args.seconds)
        parts = phases(data, args.seconds)
        ours = parts["total"]
        met = "met" if ours / floor <= AIM else "NOT met"
        print(f"{label:>12} {ours * 1e3:>10.2f} {floor * 1e3:>14.2f} {ours / floor:>6.2f}x {AIM:>4.0f}x {met}")
        breakdown.append((label, parts, floor))
    print("where the time goes, as multiples of the parse floor:")
    for label, parts, floor in breakdown:
        shown = ", ".join(f"{name} {value / floor:.2f}x" for name, value in parts.items() if name != "total")
        print(f"  {label}: {shown}")


def linearity(args: argparse.Namespace) -> None:
    base = 20_000 if args.smoke else 250_000
    rows = []
    for factor in (1, 4, 16):
        data = statement_of_size(base * factor)
        rows.append((factor, len(data), cpu_per_call(lambda data=data: run_checks(data), args.seconds)))
    # Least-squares slope of log(time) against log(size): 1.00 is linear, 2.00 quadratic.
    xs = [math.log(size) for _, size, _ in rows]
    ys = [math.log(t) for _, _, t in rows]
    mx, my = sum(xs) / 3, sum(ys) / 3
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    shown = ", ".join(f"{f}x ({size / 1e3:.0f} KB) {t * 1e3:.1f} ms" for f, size, t in rows)
    print(f"linearity: {shown}; slope of log time against log size {slope:.2f} (1.00 = linear)")


def suite(args: argparse.Namespace) -> None:
    files = conformance_files()

    def ours() -> None:
        for _, data in files:
            run_checks(data)

    def floor() -> None:
        for _, data in files:
            parse_floor(data)

    o = cpu_per_call(ours, args.seconds)
    f = cpu_per_call(floor, args.seconds)
    print(
        f"conformance suite ({len(files)} files): {len(files) / o:.1f} files/s checked, "
        f"lxml parses {len(files) / f:.1f} files/s, ratio {o / f:.2f}x"
    )


def memory(args: argparse.Namespace) -> None:
    size = 1024 * 1024 if args.smoke else 20 * 1024 * 1024
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(size)], capture_output=True, text=True, check=True
    ).stdout
    m = json.loads(out)
    grown = (m["peak_kib"] - m["base_kib"]) * 1024
    print(
        f"peak memory checking a {m['size'] / 2**20:.1f} MiB statement: +{grown / 2**20:.1f} MiB "
        f"({grown / m['size']:.2f}x its size, aim < 10x; process peak {m['peak_kib'] / 1024:.0f} MiB)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0, help="CPU seconds per measurement")
    ap.add_argument("--smoke", action="store_true", help="small sizes, short runs (CI: the script still works)")
    ap.add_argument("--memory-child", type=int)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    if args.smoke:
        args.seconds = min(args.seconds, 0.3)
    print(f"# worker checks, CPU time per statement — {machine()}")
    print(f"# floor: {floor_note('lxml.etree.fromstring of the same bytes, measured in this run')}")
    statements(args)
    linearity(args)
    suite(args)
    memory(args)


if __name__ == "__main__":
    main()
