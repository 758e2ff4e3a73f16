"""KVK business rules on the instance (BR-KVK): periods (2.04, 4.07, 4.17), currency (3.01),
adoption and correction (4.10, 4.12, 4.16) and dates (4.20); and the gateway's own period
checks (GW-PER-01/02). The filing date is the day the message was received (for
``gateway check``: today)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING

from gateway.checks.base import Finding, finding
from gateway.checks.facts import facts_for, is_kvk_namespace, parse_date
from gateway.checks.values import is_date
from gateway.checks.xbrl import ISO4217, Context, Instance

if TYPE_CHECKING:
    from gateway.checks.facts import Period
    from gateway.checks.rules import Scope

DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")


def check(scope: Scope, inst: Instance) -> Iterator[Finding]:
    yield from _currency(inst)
    yield from _dates(scope, inst)
    yield from _adoption(scope, inst)
    period = scope.period
    if period is None or period.end is None or period.start is None:
        yield finding("GW-PER-01")
        return
    filed = scope.ctx.filed_on
    if period.end >= filed:
        yield finding("BR-KVK-4.07", end=period.end, filed=filed, value=str(period.end))
    if period.previous_start is not None and period.previous_end is not None:
        if not period.previous_start < period.previous_end < period.start < period.end:
            yield finding("GW-PER-02")
        if period.end > _years_later(period.previous_start, 2) - timedelta(days=1):
            yield finding("BR-KVK-4.17", start=period.previous_start, end=period.end)
        yield from _context_periods(inst, period)


def _currency(inst: Instance) -> Iterator[Finding]:
    measures = [(u.id, m) for u in inst.units.values() for m in u.all_measures if m.startswith(f"{{{ISO4217}}}")]
    if len(measures) != 1:
        shown = ", ".join(f"{uid}: {m.split('}')[1]}" for uid, m in measures) or "-"
        yield finding("BR-KVK-3.01", count=len(measures), currencies=shown)


def _context_periods(inst: Instance, period: Period) -> Iterator[Finding]:
    """BR-KVK-2.04: durations of the current or previous year; instants at the current end,
    the day before the current start or the day before the previous start."""
    assert period.start and period.end and period.previous_start and period.previous_end
    durations = {(period.start, period.end), (period.previous_start, period.previous_end)}
    instants = {period.end, period.start - timedelta(days=1), period.previous_start - timedelta(days=1)}
    for c in inst.contexts.values():
        if c.period_type == "instant":
            ok = _date_of(c.end) in instants
        elif c.period_type == "duration":
            ok = (_date_of(c.start), _date_of(c.end)) in durations
        else:
            ok = False
        if not ok:
            yield finding("BR-KVK-2.04", c.id, id=c.id, line=c.line)


def _date_of(value: str | None) -> date | None:
    """A period date, also when written with a (midnight) time."""
    if value is None:
        return None
    return parse_date(value.split("T", 1)[0])


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return date(day.year + years, 3, 1)


def _dates(scope: Scope, inst: Instance) -> Iterator[Finding]:
    """BR-KVK-4.20: every period date and every date fact a real date as YYYY-MM-DD."""
    for c in inst.contexts.values():
        yield from _period_dates(c)
    # Whether a concept holds dates, once per concept rather than once per fact.
    date_concepts: dict[tuple[str, str], bool] = {}
    for f in inst.facts:
        key = (f.namespace, f.name)
        is_date_fact = date_concepts.get(key)
        if is_date_fact is None:
            base = scope.base_of(f)
            is_date_fact = date_concepts[key] = base == "date" or (
                base is None and is_kvk_namespace(f.namespace) and f.name.endswith("Date")
            )
        if is_date_fact and not f.nil and not is_date(f.value):
            yield finding("BR-KVK-4.20", value=f.value, **scope.at(f))


def _period_dates(c: Context) -> Iterator[Finding]:
    for value in (c.start, c.end):
        if value is None:
            continue
        # A date with a time is FR-NL-3.01's finding; the date part must still be real.
        day = value.split("T", 1)[0]
        if not (DATE_TEXT.fullmatch(day) and is_date(day)):
            yield finding("BR-KVK-4.20", c.id, concept=f"context {c.id}", value=value, line=c.line)


def _adoption(scope: Scope, inst: Instance) -> Iterator[Finding]:
    """BR-KVK-4.10 (adoption date not after filing), 4.12 and 4.16 (a correction must be
    adopted and say when)."""
    dates = facts_for(inst, "adoption_date")
    filed = scope.ctx.filed_on
    if len(dates) == 1 and (when := parse_date(dates[0].value)) is not None and when > filed:
        yield finding("BR-KVK-4.10", date=when, filed=filed, value=dates[0].value, **scope.at(dates[0]))
    resubmission = facts_for(inst, "resubmission")
    if not any(f.value == "Ja" for f in resubmission):
        return
    status = facts_for(inst, "adoption_status")
    if not any(f.value == "Ja" for f in status):
        yield finding("BR-KVK-4.12")
    for key, facts in (("DocumentAdoptionStatus", status), ("DocumentAdoptionDate", dates)):
        if not any(f.value for f in facts):
            yield finding("BR-KVK-4.16", concept=key)
