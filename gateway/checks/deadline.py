"""Filed more than twelve months after the financial year ended: accepted, with a warning."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from gateway.checks.base import CheckContext, Finding, finding
from gateway.resources import load_json


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    # Clamp to the month's last day (31 Jan + 1 month = 28/29 Feb).
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise ValueError(day)


def check(ctx: CheckContext) -> Iterator[Finding]:
    end = ctx.statement.kvk.period.end if ctx.statement is not None else None
    if end is None:
        return
    months = int(load_json("kvk/filing.json")["late_after_months"])
    due = add_months(end, months)
    if ctx.filed_on > due:
        yield finding("GW-LATE-01", end=end, due=due, filed=ctx.filed_on)
