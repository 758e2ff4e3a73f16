"""Deriving ``KvkData`` from a statement's facts and contexts, for both formats.

Which concepts carry what is data (``schemas/kvk/concepts.json``); a fact counts only in a
KVK-related namespace. The readers have normalised values already (booleans ``true``/``false``,
dates YYYY-MM-DD), so this module only interprets them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any

from gateway.checks.statement import (
    Context,
    Fact,
    Figures,
    KvkData,
    ReportingPeriod,
    parse_date,
)
from gateway.resources import load_json

KVK_NUMBER = re.compile(r"^(?!00)\d{8}$")
# The classic taxonomies' words and the XBRL boolean's lexical forms (the inline route).
YES = frozenset({"Ja", "true", "1"})
NO = frozenset({"Nee", "false", "0"})


@cache
def _config() -> dict[str, Any]:
    return dict(load_json("kvk/concepts.json"))


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in _config()["namespace_patterns"])


@lru_cache(maxsize=4096)
def is_kvk_namespace(namespace: str) -> bool:
    return any(p.match(namespace) for p in _patterns())


class Facts:
    """The KVK facts of one statement, by the gateway's keys (``kvk_number``, ``assets``…)."""

    def __init__(self, facts: Sequence[Fact], contexts: Mapping[str, Context]) -> None:
        wanted = {name: key for key, names in _config()["concepts"].items() for name in names}
        self.by_key: dict[str, list[Fact]] = {}
        self.by_name: dict[str, list[Fact]] = {}
        for f in facts:
            if not is_kvk_namespace(f.namespace):
                continue
            self.by_name.setdefault(f.name, []).append(f)
            key = wanted.get(f.name)
            if key is not None:
                self.by_key.setdefault(key, []).append(f)
        self.contexts = contexts

    def first(self, key: str) -> Fact | None:
        found = self.by_key.get(key)
        return found[0] if found else None

    def value(self, key: str) -> str | None:
        f = self.first(key)
        return None if f is None or f.nil else f.value


def yes_no(value: str | None) -> str | None:
    """'Ja'/'Nee' for the classic words and the inline booleans; anything else as written."""
    if value is None:
        return None
    v = value.strip()
    if v in YES:
        return "Ja"
    if v in NO:
        return "Nee"
    return v


def _number(value: str) -> Decimal | None:
    """A figure the size rules can compare; NaN and infinities are none (the filing rules
    report them as values that are not numbers)."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _plain(ctx: Context | None) -> bool:
    """A context size figures may be read from: no segment, and no dimension but the
    statement type (separate/consolidated) the inline taxonomies put on every figure."""
    if ctx is None or ctx.has_segment:
        return False
    allowed = _config()["figure_dimensions"]
    return all(dim.rsplit("}", 1)[-1] in allowed for dim, _ in ctx.dimensions)


def figures_at(facts: Facts, period: ReportingPeriod, previous: bool) -> Figures:
    start = period.previous_start if previous else period.start
    end = period.previous_end if previous else period.end

    def pick(key: str, instant: bool) -> Decimal | None:
        for f in facts.by_key.get(key, ()):
            ctx = facts.contexts.get(f.context_ref or "")
            if not _plain(ctx) or f.nil:
                continue
            assert ctx is not None
            p = ctx.period
            if instant and p.kind == "instant" and p.end_date == end:
                return _number(f.value)
            if not instant and p.kind == "duration" and p.start_date == start and p.end_date == end:
                return _number(f.value)
        return None

    return Figures(pick("assets", True), pick("turnover", False), pick("employees", False))


def reporting_period(facts: Facts) -> ReportingPeriod:
    start = parse_date(facts.value("period_start"))
    end = parse_date(facts.value("period_end"))
    prev_start = parse_date(facts.value("previous_start"))
    prev_end = parse_date(facts.value("previous_end"))
    if start is None and end is not None:
        # The inline taxonomies have no start-date concept: the duration context ending on
        # the period end gives it, and the one ending the day before it the previous year.
        durations = [c.period for c in facts.contexts.values() if c.period.kind == "duration"]
        start = min((p.start_date for p in durations if p.end_date == end and p.start_date), default=None)
        if start is not None and prev_end is None:
            before = start - timedelta(days=1)
            prev = [p.start_date for p in durations if p.end_date == before and p.start_date]
            if prev:
                prev_start, prev_end = min(prev), before
    return ReportingPeriod(start, end, prev_start, prev_end)


def declared_size(facts: Facts) -> tuple[str | None, str | None]:
    """(class, value as written): the class concept's value, or the pilot taxonomy's one
    boolean fact per class (``kvk:LegalEntitySizeMicro`` = true)."""
    raw = facts.value("size_class")
    if raw is not None:
        return _config()["size_values"].get(raw.rsplit("#", 1)[-1].rsplit(":", 1)[-1]), raw
    for name, cls in _config()["size_flags"].items():
        for f in facts.by_name.get(name, ()):
            if yes_no(f.value) == "Ja":
                return cls, name
    return None, None


def parts_present(facts: Facts) -> frozenset[str]:
    filing = load_json("kvk/filing.json")
    present: set[str] = set()
    for part, evidence in filing["evidence"].items():
        if any(facts.by_name.get(name) for name in evidence.get("facts", ())):
            present.add(part)
        flag = evidence.get("statement_flag")
        if flag and any(yes_no(f.value) == "Ja" for f in facts.by_name.get(flag, ())):
            present.add(part)
    return frozenset(present)


def kvk_number_of(facts: Facts) -> str | None:
    number = facts.value("kvk_number")
    if number is None:
        identifiers = {c.identifier for c in facts.contexts.values()}
        number = next(iter(identifiers)) if len(identifiers) == 1 else None
    return number if number is not None and KVK_NUMBER.match(number) else None


def derive(facts_in: Sequence[Fact], contexts: Mapping[str, Context]) -> KvkData:
    from gateway.checks.size_class import derive_for_year

    facts = Facts(facts_in, contexts)
    period = reporting_period(facts)
    current = figures_at(facts, period, previous=False)
    previous = figures_at(facts, period, previous=True) if period.previous_end is not None else None
    declared, declared_raw = declared_size(facts)
    year = period.financial_year
    number_fact = facts.first("kvk_number")
    consolidated = yes_no(facts.value("consolidated"))
    return KvkData(
        kvk_number=kvk_number_of(facts),
        kvk_number_fact=number_fact.value if number_fact is not None else None,
        kvk_number_location=number_fact.location if number_fact is not None else None,
        legal_form=facts.value("legal_form"),
        period=period,
        adoption_status=yes_no(facts.value("adoption_status")),
        adoption_date=facts.value("adoption_date"),
        resubmission=yes_no(facts.value("resubmission")) == "Ja",
        size_class_declared=declared,
        size_class_declared_raw=declared_raw,
        size_class_derived=None if year is None else derive_for_year(year, current, previous, None),
        figures_current=current,
        figures_previous=previous,
        parts_present=parts_present(facts),
        consolidated=None if consolidated is None else consolidated == "Ja",
    )
