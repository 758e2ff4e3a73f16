"""The SBR filing guidance (FG-NL, SHOULD rules, reported as warnings): recommended prefixes
(03), element order (04), unused namespace declarations (05), fact ids (09), standard units
from the XBRL Units Registry (11)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from gateway.checks.base import Finding, finding
from gateway.checks.xbrl import XML_NS, Instance
from gateway.resources import load_json

if TYPE_CHECKING:
    from gateway.checks.rules import Scope


@cache
def _prefix_rules() -> tuple[dict[str, str], re.Pattern[str], dict[str, str], dict[str, str]]:
    data: dict[str, Any] = load_json("kvk/prefixes.json")
    return data["fixed"], re.compile(data["dictionary_pattern"]), data["names"], data["suffixes"]


@cache
def recommended_prefix(namespace: str) -> str | None:
    """The NT's prefix for a namespace, by the NT naming convention; None if not an NT or
    XBRL namespace."""
    fixed, pattern, names, suffixes = _prefix_rules()
    if namespace in fixed:
        return fixed[namespace]
    m = pattern.match(namespace)
    if m is None:
        return None
    name = m.group("name")
    if name in names:
        return names[name]
    for suffix, replacement in suffixes.items():
        if name.endswith(suffix):
            return name[: -len(suffix)] + replacement
    return None


@cache
def _utr() -> frozenset[str]:
    units: dict[str, list[str]] = load_json("utr.json")["units"]
    return frozenset(f"{{{ns}}}{u}" for ns, ids in units.items() for u in ids)


def check(scope: Scope, inst: Instance) -> Iterator[Finding]:
    yield from _prefixes(scope, inst)
    for kind, after, line in inst.order_violations:
        nl = {"fact": "feit"}
        yield finding(
            "FG-NL-04", kind=kind, after=after, kind_nl=nl.get(kind, kind), after_nl=nl.get(after, after), line=line
        )
    yield from _unused(inst)
    for f in inst.facts:
        if f.has_id:
            yield finding("FG-NL-09", **scope.at(f))
    utr = _utr()
    for u in inst.units.values():
        for m in u.all_measures:
            if m not in utr:
                yield finding("FG-NL-11", u.id, id=u.id, measure=m, value=m, line=u.line)


def _prefixes(scope: Scope, inst: Instance) -> Iterator[Finding]:
    taxonomy = scope.table.prefixes if scope.table is not None else {}
    declared = [(p, ns) for p, ns in inst.nsmap.items() if p] + inst.inner_declarations
    for prefix, ns in declared:
        wanted = taxonomy.get(ns) or recommended_prefix(ns)
        if wanted is not None and prefix != wanted:
            yield finding("FG-NL-03", prefix, prefix=prefix, namespace=ns, recommended=wanted, value=prefix)


def _unused(inst: Instance) -> Iterator[Finding]:
    used_ns = inst.used_namespaces | {f.namespace for f in inst.facts}
    for prefix, ns in inst.nsmap.items():
        if prefix is None or ns == XML_NS:
            continue
        if prefix not in inst.used_prefixes and ns not in used_ns:
            yield finding("FG-NL-05", prefix, prefix=prefix, namespace=ns, value=prefix)
