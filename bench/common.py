"""Shared helpers for the benchmark scripts."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.xbrl import Figures, Statement  # noqa: E402


def machine() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores, Python {platform.python_version()}"


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
