"""The statement model every check reads, whatever format the statement came in.

Two readers produce it: the classic XBRL instance reader (``gateway.checks.classic``) and the
Inline XBRL report-package reader (``gateway.checks.ixbrl``). Values are normalised by the
readers: a fact's ``value`` is what XBRL says the fact is (an iXBRL amount after format, scale
and sign; a date as YYYY-MM-DD; a boolean as ``true``/``false``), so the company checks need not
know which format they look at. ``KvkData`` holds what the KVK checks derive once per statement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

XBRL = "xbrl"
IXBRL = "ixbrl"
SIZE_ORDER = ("micro", "small", "medium", "large")

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(value: str | None) -> date | None:
    """A YYYY-MM-DD date (nothing else: no time, no time zone), or None."""
    if value is None or not _ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Location:
    """Where something is in the source: a line, and for a package the file in it."""

    line: int | None = None
    file: str | None = None

    def __str__(self) -> str:
        where = [p for p in (self.file, f"regel {self.line}" if self.line else None) if p]
        return ", ".join(where)

    def text(self) -> str | None:
        return str(self) or None


@dataclass(frozen=True, slots=True)
class Period:
    kind: str  # "instant", "duration" or "forever"
    start: str | None  # the text as written (the rules look at times and zones)
    end: str | None

    @property
    def start_date(self) -> date | None:
        return parse_date(self.start)

    @property
    def end_date(self) -> date | None:
        return parse_date(self.end)


@dataclass(frozen=True, slots=True)
class Context:
    id: str
    scheme: str
    identifier: str
    period: Period
    #: (dimension, member) in Clark notation; a typed member's value as text.
    dimensions: tuple[tuple[str, str], ...] = ()
    has_segment: bool = False
    location: Location = field(default_factory=Location)


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    measures: tuple[str, ...]  # Clark notation, sorted
    location: Location = field(default_factory=Location)


@dataclass(frozen=True, slots=True)
class Fact:
    namespace: str
    name: str
    context_ref: str | None
    unit_ref: str | None
    decimals: str | None
    value: str
    location: Location
    nil: bool = False
    lang: str | None = None
    id: str | None = None

    @property
    def concept(self) -> str:
        return f"{{{self.namespace}}}{self.name}"


@dataclass(frozen=True, slots=True)
class Entrypoint:
    """The KVK entrypoint a statement uses (classic: the schemaRef; iXBRL: what the extension
    schema imports, or the schemaRef itself for other-GAAP reports)."""

    href: str
    route: str  # XBRL or IXBRL
    version: str  # classic: the NT number; iXBRL: the taxonomy date
    year: int | None
    size_class: str | None  # classic entrypoints name a class; iXBRL ones do not
    basis: str | None  # nlgaap, ifrs, other
    listed: bool  # the version is in the gateway's table
    known: bool  # ... and this entrypoint of it is accepted


@dataclass(frozen=True, slots=True)
class ReportingPeriod:
    start: date | None
    end: date | None
    previous_start: date | None = None
    previous_end: date | None = None

    @property
    def financial_year(self) -> int | None:
        # Thresholds and the duplicate rule go by the year the financial year starts in.
        if self.start is not None:
            return self.start.year
        return self.end.year if self.end is not None else None


@dataclass(frozen=True, slots=True)
class Figures:
    """The size criteria for one financial year."""

    assets: Decimal | None = None
    turnover: Decimal | None = None
    employees: Decimal | None = None

    @property
    def complete(self) -> bool:
        return None not in (self.assets, self.turnover, self.employees)

    def as_json(self) -> dict[str, str | None]:
        return {
            "assets": None if self.assets is None else str(self.assets),
            "turnover": None if self.turnover is None else str(self.turnover),
            "employees": None if self.employees is None else str(self.employees),
        }


@dataclass(frozen=True, slots=True)
class KvkData:
    """What the KVK checks derive from a statement, once."""

    #: A well-formed KVK number (8 digits, not 00…) from the fact, else the only identifier.
    kvk_number: str | None
    #: The ChamberOfCommerceRegistrationNumber fact as written, and where.
    kvk_number_fact: str | None
    kvk_number_location: Location | None
    legal_form: str | None
    period: ReportingPeriod
    #: "Ja", "Nee", something else as written, or None when not reported.
    adoption_status: str | None
    adoption_date: str | None
    resubmission: bool
    size_class_declared: str | None
    size_class_declared_raw: str | None
    #: The class the statement's own figures give (None when they cannot tell); the size
    #: check refines it with the register's history.
    size_class_derived: str | None
    figures_current: Figures
    figures_previous: Figures | None
    #: Parts of the annual report the statement itself shows (balance_sheet, …).
    parts_present: frozenset[str]
    consolidated: bool | None = None

    @property
    def adopted(self) -> bool:
        return self.adoption_status == "Ja"

    @property
    def financial_year(self) -> int | None:
        return self.period.financial_year


@dataclass(frozen=True)
class Statement:
    route: str  # XBRL or IXBRL
    lang: str | None
    contexts: Mapping[str, Context]
    units: Mapping[str, Unit]
    facts: tuple[Fact, ...]
    schema_refs: tuple[str, ...]
    entrypoint: Entrypoint | None
    kvk: KvkData
    _by_name: dict[str, tuple[Fact, ...]] = field(default_factory=dict, repr=False, compare=False)

    def by_name(self, name: str) -> tuple[Fact, ...]:
        """Facts with this local name, in document order (indexed once, on first use)."""
        if not self._by_name and self.facts:
            index: dict[str, list[Fact]] = {}
            for f in self.facts:
                index.setdefault(f.name, []).append(f)
            self._by_name.update({k: tuple(v) for k, v in index.items()})
        return self._by_name.get(name, ())
