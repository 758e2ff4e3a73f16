"""Shared helpers for the benchmark scripts."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.xbrl import Figures, Statement  # noqa: E402


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            kib = int(fh.readline().split()[1])
        return f"{kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        return "? GiB"


def machine() -> str:
    """Where and when a figure was measured: date and time, host, CPU, cores, memory,
    Python, and the load average (the machine may be shared: compare ratios measured in
    the same run, not absolute figures across runs)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {_cpu_model()}, {os.cpu_count()} cores, "
        f"{_memory_gib()}, Python {platform.python_version()}, load average {load:.1f}"
    )


def floor_note(what: str) -> str:
    return what


def statement_of_size(target_bytes: int, kvk_number: str = "12345678") -> bytes:
    """A valid small-company statement padded with a long, allowed explanation fact."""
    base = Statement(kvk_number=kvk_number, current=Figures(1_000_000, 2_000_000, 12)).build()
    pad = max(0, target_bytes - len(base) - 200)
    # Many facts rather than one huge text, so that parsing cost grows as with real filings.
    facts = []
    line = '<bw2:AverageNumberEmployees contextRef="PY" unitRef="FTE" decimals="INF">11</bw2:AverageNumberEmployees>\n'
    note = "Toelichting op de jaarrekening. " * 8
    while pad > 0:
        fact = f'<bw2:DisclosureNote{len(facts)} contextRef="FY">{note}</bw2:DisclosureNote{len(facts)}>\n'
        facts.append(fact)
        pad -= len(fact)
    del line
    return base.replace(b"</xbrli:xbrl>", "".join(facts).encode() + b"</xbrli:xbrl>")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def process_family(pid: int) -> set[int]:
    """A process and all its living descendants, from the parent pids in /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    family, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in family} - family
        family |= more
        grew = bool(more)
    return family


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and all its living descendants."""
    total = 0.0
    for member in process_family(pid):
        with contextlib.suppress(OSError):  # ended meanwhile
            total += cpu_seconds(member)
    return total


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_call(fn: Callable[[], object], seconds: float) -> float:
    """CPU seconds per call (this process), the best of three rounds."""
    fn()
    best = math.inf
    for _ in range(3):
        n, start = 0, time.process_time()
        while True:
            fn()
            n += 1
            spent = time.process_time() - start
            if spent >= seconds / 3:
                break
        best = min(best, spent / n)
    return best


def start_profiler(pid: int, out: Path, *, children: bool = False) -> subprocess.Popen[bytes]:
    """py-spy sampling a running gateway process (all threads, and with ``children`` its
    child processes, without pausing it) until SIGINT."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy (.venv/bin/pip install py-spy)")
    cmd = [spy, "record", "--pid", str(pid), "--threads", "--nonblocking", "--rate", "250", "--format", "raw"]
    if children:
        cmd.append("--subprocesses")
    proc = subprocess.Popen([*cmd, "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached before the timed phase starts
    return proc


def stop_profiler(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()


def profile_summary(path: Path, top: int = 14, groups: dict[str, str] | None = None) -> dict[str, float]:
    """py-spy's raw stacks, summarised: the share of the busy samples under each of the
    gateway's functions (the innermost gateway frame), and the leaf functions (where the CPU
    actually is); ``groups`` (label: path fragment) are shares of samples with any frame in
    that path. Returns the groups' shares."""
    if not path.exists():
        print("  (no profile written)")
        return {}
    in_group: Counter[str] = Counter()
    by_gateway: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        leaf = frames[-1]
        if _idle(leaf):
            continue
        n = int(count)
        total += n
        by_leaf[_short(leaf)] += n
        for label, fragment in (groups or {}).items():
            if fragment in stack:
                in_group[label] += n
        ours = [f for f in frames if "gateway/" in f and "/bench/" not in f]
        by_gateway[_short(ours[-1]) if ours else "(outside the gateway: event loop, aiohttp, TLS)"] += n
    if not total:
        print("  (no busy samples)")
        return {}
    shares = {label: in_group[label] / total for label in groups or {}}
    print(f"  busy samples: {total}" + "".join(f"; {label} {100 * v:.1f} %" for label, v in shares.items()))
    print("  innermost gateway function:")
    for name, n in by_gateway.most_common(top):
        print(f"    {100 * n / total:5.1f} %  {name}")
    print("  leaf functions:")
    for name, n in by_leaf.most_common(top):
        print(f"    {100 * n / total:5.1f} %  {name}")
    return shares


def _idle(frame: str) -> bool:
    """A thread waiting, not working: pool threads blocked on their queue (the wait is in C,
    so the innermost Python frame is the loop), the event loop in select, no Python frame."""
    idle = ("select (", "_worker (concurrent", "_connection_worker_thread (", "_wait_for_tstate_lock", "wait (")
    return frame.startswith(("thread (", "process ")) or any(w in frame for w in idle)


def _short(frame: str) -> str:
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
    if str(ROOT) in where:
        where = where.split(str(ROOT) + "/", 1)[1]
    return f"{name} ({where.rsplit(':', 1)[0]})"
