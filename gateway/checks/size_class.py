"""Size class: derive it from the figures with the thresholds of the financial year and
the two-consecutive-balance-sheet-dates rule, compare with the declared class and the
entrypoint, and check that the parts the class must file are there."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from gateway.checks.base import CheckContext, Finding, finding
from gateway.checks.statement import XBRL, Figures
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


def derive_for_year(year: int, current: Figures, previous: Figures | None, previous_class: str | None) -> str | None:
    """The derived class for a financial year; with an optional regime the company may pick the
    more favourable one. None when the figures cannot tell."""
    outcomes = {
        c for classes in limits_for(year) if (c := derive(classes, current, previous, previous_class)) is not None
    }
    return min(outcomes, key=ORDER.index) if outcomes else None


@dataclass(frozen=True)
class Assessment:
    """The size class as declared and as derived with the register's history."""

    year: int
    declared: str
    derived: str | None
    current: Figures

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"current": self.current.as_json(), "class": self.declared}
        if self.derived is not None:
            out["derived"] = self.derived
        return out


def assess(ctx: CheckContext) -> Assessment | None:
    st = ctx.statement
    if st is None:
        return None
    kvk = st.kvk
    year, declared = kvk.financial_year, kvk.size_class_declared
    if year is None or declared is None:
        return None
    previous = kvk.figures_previous
    if previous is None or not previous.complete:
        previous = _from_register(ctx, year - 1) or previous
    derived = derive_for_year(year, kvk.figures_current, previous, _class_on_file(ctx, year - 1))
    return Assessment(year, declared, derived, kvk.figures_current)


def check(ctx: CheckContext) -> Iterator[Finding]:
    st = ctx.statement
    if st is None or st.kvk.financial_year is None:
        return
    result = assess(ctx)
    if result is None:
        yield finding("GW-SIZE-01", value=st.kvk.size_class_declared_raw or "-")
        return
    declared, derived = result.declared, result.derived
    ep = st.entrypoint
    if ep is not None and ep.size_class is not None and ep.size_class != declared:
        yield finding("GW-SIZE-04", entrypoint=NAMES["nl"][ep.size_class], declared=NAMES["nl"][declared])
    current = result.current
    if derived is None:
        yield finding("GW-SIZE-06")
    elif ORDER.index(declared) < ORDER.index(derived):
        yield finding(
            "GW-SIZE-02",
            declared=NAMES["nl"][declared],
            derived=NAMES["nl"][derived],
            year=result.year,
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
    st = ctx.statement
    assert st is not None
    present = st.kvk.parts_present
    for part in filing["parts"][declared]:
        evidence = filing["evidence"][part]
        # The classic route carries the auditor's report as a bijlage; the inline route in the
        # report itself, which the statement's parts_present already says.
        by_bijlage = evidence.get("bijlage") and st.route == XBRL and any(p.position > 0 for p in ctx.parts)
        if part not in present and not by_bijlage:
            yield finding("GW-SIZE-05", part_nl=evidence["nl"], part_en=evidence["en"], declared=NAMES["nl"][declared])
