"""Numbers: decimals of monetary (FR-KVK-5.01) and other numeric facts (FR-KVK-5.02), by the
concept's type; and numeric values that are not numbers at all (NaN, INF, "twelve") — a
finding, never a technical error further on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from gateway.checks.base import Finding, finding
from gateway.checks.values import is_decimal
from gateway.checks.xbrl import Instance

if TYPE_CHECKING:
    from gateway.checks.rules import Scope

MONETARY_DECIMALS = {"INF", "-9", "-6", "-3", "0", "2"}


def check(scope: Scope, inst: Instance) -> Iterator[Finding]:
    table = scope.table
    # Whether the taxonomy knows a concept, once per concept rather than once per fact.
    known_concepts: dict[tuple[str, str], bool] = {}
    for f in inst.facts:
        monetary, numeric = scope.monetary_numeric(f)
        if monetary and f.decimals not in MONETARY_DECIMALS:
            yield finding("FR-KVK-5.01", decimals=f.decimals or "-", **scope.at(f))
        elif numeric and not monetary and f.decimals != "INF":
            yield finding("FR-KVK-5.02", decimals=f.decimals or "-", **scope.at(f))
        if not numeric or f.nil:
            continue
        # With the concept in the taxonomy, its type check (GW-TAX-02) says the same.
        key = (f.namespace, f.name)
        known = known_concepts.get(key)
        if known is None:
            known = known_concepts[key] = table is not None and table.get(f.clark) is not None
        if not known and not is_decimal(f.value):
            yield finding("GW-XBRL-04", value=f.value, **scope.at(f))
