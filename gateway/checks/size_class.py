"""Size class: derive it from the figures with the thresholds of the financial year and
the two-consecutive-balance-sheet-dates rule, compare with the declared class and the
entrypoint, and check that the parts the class must file are there."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from typing import Any

from gateway.checks.base import CheckContext, Finding, finding
from gateway.checks.facts import Figures, figures_at, first_value, size_class_of
from gateway.resources import load_json

ORDER = ["micro", "small", "medium", "large"]
NAMES = {
    "nl": {"micro": "micro", "small": "klein", "medium": "middelgroot", "large": "groot"},
}


@cache
def _thresholds() -> dict[str, Any]:
    return dict(load_json("kvk/thresholds.json"))


def limits_for(year: int) -> list[dict[str, Any]]:
    """The class limits that may apply to a financial year: the year's own regime first,
    then any later regime the company may already opt into."""
    regimes = _thresholds()["regimes"]
    own = [r["classes"] for r in regimes if r["first_year"] <= year <= r["last_year"]]
    optional = [r["classes"] for r in regimes if year in r["optional_for"]]
    return own + optional


def meets(limits: dict[str, Any], f: Figures) -> bool | None:
    """Two or three criteria met: True; two or more failed: False; undecidable: None."""
    checks = [
        None if f.assets is None else f.assets <= Decimal(limits["assets"]),
        None if f.turnover is None else f.turnover <= Decimal(limits["turnover"]),
        None if f.employees is None else f.employees < Decimal(limits["employees_below"]),
    ]
    if checks.count(True) >= 2:
        return True
    if checks.count(False) >= 2:
        return False
    return None


def derive(
    classes: dict[str, Any], current: Figures, previous: Figures | None, previous_class: str | None
) -> str | None:
    """The smallest class the company is in; None when the figures cannot tell."""
    for name in ORDER[:-1]:
        limits = classes.get(name)
        if limits is None:
            continue
        now = meets(limits, current)
        if previous is None:
            # A new company: its first balance-sheet date decides (BW 2:398 lid 1).
            before: bool | None = now
        else:
            before = meets(limits, previous)
        if now is None or before is None:
            return None
        if now and before:
            return name
        # One date in, one out: the company stays in the class it had last year (leaving
        # and entering both take two consecutive dates). With last year's class unknown,
        # the reading most favourable to the filer stands.
        if (now or before) and (previous_class is None or ORDER.index(previous_class) <= ORDER.index(name)):
            return name
    return "large"


def check(ctx: CheckContext) -> Iterator[Finding]:
    inst = ctx.instance
    period = ctx.derived.get("period")
    year = ctx.derived.get("financial_year")
    if inst is None or period is None or year is None:
        return
    declared_raw = first_value(inst, "size_class")
    declared = size_class_of(declared_raw)
    if declared is None:
        yield finding("GW-SIZE-01", value=declared_raw or "-")
        return
    ep = ctx.derived.get("entrypoint")
    if ep is not None and ep["size_class"] is not None and ep["size_class"] != declared:
        yield finding("GW-SIZE-04", entrypoint=NAMES["nl"][ep["size_class"]], declared=NAMES["nl"][declared])

    current = figures_at(inst, period.start, period.end)
    previous: Figures | None = None
    if period.previous_start is not None and period.previous_end is not None:
        previous = figures_at(inst, period.previous_start, period.previous_end)
        if not previous.complete:
            previous = _from_register(ctx, year - 1) or previous
    else:
        previous = _from_register(ctx, year - 1)
    previous_class = _class_on_file(ctx, year - 1)
    ctx.derived["figures"] = {"current": current.as_json(), "class": declared}

    outcomes = {
        c for classes in limits_for(year) if (c := derive(classes, current, previous, previous_class)) is not None
    }
    if not outcomes:
        yield finding("GW-SIZE-06")
    else:
        # With an optional regime the company may pick the more favourable one.
        derived = min(outcomes, key=ORDER.index)
        ctx.derived["figures"]["derived"] = derived
        if ORDER.index(declared) < ORDER.index(derived):
            yield finding(
                "GW-SIZE-02",
                declared=NAMES["nl"][declared],
                derived=NAMES["nl"][derived],
                year=year,
                assets=current.assets,
                turnover=current.turnover,
                employees=current.employees,
            )
        elif ORDER.index(declared) > ORDER.index(derived):
            yield finding("GW-SIZE-03", declared=NAMES["nl"][declared], derived=NAMES["nl"][derived])
    yield from _parts(ctx, declared)


def _from_register(ctx: CheckContext, year: int) -> Figures | None:
    if ctx.company is None:
        return None
    entry = ctx.company.size_history.get(str(year))
    if not entry:
        return None

    def dec(key: str) -> Decimal | None:
        v = entry.get(key)
        return None if v is None else Decimal(str(v))

    return Figures(dec("assets"), dec("turnover"), dec("employees"))


def _class_on_file(ctx: CheckContext, year: int) -> str | None:
    if ctx.company is None:
        return None
    entry = ctx.company.size_history.get(str(year)) or {}
    value = entry.get("class")
    return value if value in ORDER else None


def _parts(ctx: CheckContext, declared: str) -> Iterator[Finding]:
    filing = load_json("kvk/filing.json")
    inst = ctx.instance
    assert inst is not None
    present_names = {f.name for f in inst.facts}
    for part in filing["parts"][declared]:
        evidence = filing["evidence"][part]
        if evidence.get("bijlage"):
            ok = any(p.position > 0 for p in ctx.parts)
        else:
            ok = bool(present_names & set(evidence["facts"]))
        if not ok:
            yield finding("GW-SIZE-05", part_nl=evidence["nl"], part_en=evidence["en"], declared=NAMES["nl"][declared])
