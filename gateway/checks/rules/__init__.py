"""The SBR/KVK filing rules for classic XBRL instances (FR-NL, FR-KVK, BR-KVK, FG-NL), each
under its published code (shared/reference/kvk-filing.md 5.2), plus the checks that need
the taxonomy's concept table.

Every rule reports every occurrence (one finding per place, with line, column, concept and
value where there is one); capping what a person is shown is ``gateway.checks.report``'s job.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from gateway.checks.base import CheckContext, Finding
from gateway.checks.facts import Period, builtin_types, is_kvk_namespace, period_of
from gateway.checks.rules.lines import LineIndex
from gateway.checks.taxonomy import ConceptTable, table_for
from gateway.checks.xbrl import ISO4217, Fact, Instance
from gateway.resources import load_json


@cache
def numeric_bases() -> frozenset[str]:
    return frozenset(load_json("xbrl/item-types.json")["numeric_bases"])


_numeric_bases = numeric_bases()


@dataclass
class Scope:
    """What the rules of one check share: the instance, its text with a line index, the
    concept table (if a taxonomy is installed) and the reporting period."""

    ctx: CheckContext
    inst: Instance | None
    text: str | None = None
    lines: LineIndex | None = None
    table: ConceptTable | None = None
    period: Period | None = None
    _columns: dict[int, int | None] | None = field(default=None, repr=False)
    #: base_of per concept: looked up once per concept, not once per fact and rule.
    _bases: dict[tuple[str, str], str | None] = field(default_factory=dict, repr=False)

    def at(self, fact: Fact) -> dict[str, Any]:
        """Where a fact is and what it is, as finding parameters."""
        if self._columns is None:
            self._columns = self._fact_columns()
        return {"line": fact.line, "column": self._columns.get(id(fact)), "concept": fact.qname}

    def _fact_columns(self) -> dict[int, int | None]:
        # One pass in document order, so the search on each line moves forward only.
        lines, inst = self.lines, self.inst
        if lines is None or inst is None:
            return {}
        return {id(f): lines.column_of(f.line, f"<{f.qname}") for f in inst.facts}

    def base_of(self, fact: Fact) -> str | None:
        """The XML Schema base of a fact's type: from the taxonomy, else from the gateway's
        own table of the concepts it reads; None when unknown."""
        key = (fact.namespace, fact.name)
        try:
            return self._bases[key]
        except KeyError:
            base = self._bases[key] = self._base_of(fact)
            return base

    def _base_of(self, fact: Fact) -> str | None:
        if self.table is not None:
            concept = self.table.get(fact.clark)
            if concept is not None:
                return concept.base or None
        if is_kvk_namespace(fact.namespace):
            return builtin_types().get(fact.name)
        return None

    def monetary_numeric(self, fact: Fact) -> tuple[bool, bool]:
        """(monetary, numeric) by the concept's type; by the unit only where the type is
        unknown."""
        base = self.base_of(fact)
        if base is not None:
            return base == "monetary", base in _numeric_bases
        if fact.unit_ref is None or self.inst is None:
            return False, False
        unit = self.inst.units.get(fact.unit_ref)
        monetary = (
            unit is not None and not unit.denominator and any(m.startswith(f"{{{ISO4217}}}") for m in unit.measures)
        )
        return monetary, True


def check(ctx: CheckContext) -> Iterator[Finding]:
    return _without_gc(_check(ctx))


def _without_gc(findings: Iterator[Finding]) -> Iterator[Finding]:
    """The rules' passes allocate a few objects per fact and make no reference cycles: the
    cyclic garbage collector would walk every fact of the instance again and again (a sixth
    of the rules' time on 5 MB) and find nothing. It is off while a rule runs, on while the
    caller handles a finding (the rules stay lazy: the caller may stop after a cap)."""
    while True:
        collecting = gc.isenabled()
        gc.disable()
        try:
            found = next(findings, None)
        finally:
            if collecting:
                gc.enable()
        if found is None:
            return
        yield found


def _check(ctx: CheckContext) -> Iterator[Finding]:
    from gateway.checks.rules import business, guidance, numbers, structure, text, typed, xhtml

    scope = Scope(ctx, ctx.instance)
    yield from text.check(scope)
    inst = scope.inst
    if inst is None:
        return
    if inst.schema_refs:
        scope.table = table_for(inst.schema_refs[0])
    scope.period = period_of(inst)
    for family in (structure, numbers, business, guidance, xhtml, typed):
        yield from family.check(scope, inst)
