"""Reading the KVK-relevant facts out of an instance, whatever NT family it uses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache

from gateway.checks.values import is_decimal
from gateway.checks.xbrl import Fact, Instance
from gateway.resources import load_json


@cache
def _config() -> tuple[tuple[re.Pattern[str], ...], dict[str, frozenset[str]], dict[str, str]]:
    data = load_json("kvk/concepts.json")
    patterns = tuple(re.compile(p) for p in data["namespace_patterns"])
    concepts = {k: frozenset(v) for k, v in data["concepts"].items()}
    return patterns, concepts, dict(data["size_values"])


@cache
def builtin_types() -> dict[str, str]:
    """Base types of the concepts the gateway reads, for when no taxonomy is installed."""
    return {k: v for k, v in load_json("kvk/concepts.json")["types"].items() if not k.startswith("_")}


@lru_cache(maxsize=4096)
def is_kvk_namespace(namespace: str) -> bool:
    return any(p.match(namespace) for p in _config()[0])


def facts_for(inst: Instance, key: str) -> list[Fact]:
    return [f for name in _config()[1][key] for f in inst.by_name().get(name, ()) if is_kvk_namespace(f.namespace)]


def first_value(inst: Instance, key: str) -> str | None:
    found = facts_for(inst, key)
    return found[0].value if found else None


def parse_date(value: str | None) -> date | None:
    if value is None or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def size_class_of(value: str | None) -> str | None:
    if value is None:
        return None
    local = value.rsplit("#", 1)[-1]
    return _config()[2].get(local)


def number(value: str) -> Decimal | None:
    """The value as a number, when it is one in xs:decimal's lexical form: NaN, Infinity,
    exponents and absurdly long numerals are not numbers here (they are reported as findings
    by the filing rules and must never reach a comparison)."""
    if not is_decimal(value):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


@dataclass
class Figures:
    assets: Decimal | None
    turnover: Decimal | None
    employees: Decimal | None

    @property
    def complete(self) -> bool:
        return None not in (self.assets, self.turnover, self.employees)

    def as_json(self) -> dict[str, str | None]:
        return {k: (str(v) if v is not None else None) for k, v in vars(self).items()}


def figures_at(inst: Instance, start: date | None, end: date | None) -> Figures:
    """Size figures for the period start..end: assets at the end date, turnover and
    employees over the period."""

    def pick(key: str, instant: bool) -> Decimal | None:
        for f in facts_for(inst, key):
            ctx = inst.contexts.get(f.context_ref or "")
            if ctx is None or ctx.has_segment:
                continue
            if instant and ctx.period_type == "instant" and parse_date(ctx.end) == end:
                return number(f.value)
            if (
                not instant
                and ctx.period_type == "duration"
                and parse_date(ctx.start) == start
                and parse_date(ctx.end) == end
            ):
                return number(f.value)
        return None

    return Figures(pick("assets", True), pick("turnover", False), pick("employees", False))


@dataclass
class Period:
    start: date | None
    end: date | None
    previous_start: date | None
    previous_end: date | None

    @property
    def financial_year(self) -> int | None:
        # Thresholds and the duplicate rule go by the year the financial year starts in.
        if self.start is not None:
            return self.start.year
        return self.end.year if self.end is not None else None


def period_of(inst: Instance) -> Period:
    return Period(
        parse_date(first_value(inst, "period_start")),
        parse_date(first_value(inst, "period_end")),
        parse_date(first_value(inst, "previous_start")),
        parse_date(first_value(inst, "previous_end")),
    )
