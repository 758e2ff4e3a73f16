"""Checks against the taxonomy's concept table: unknown concept (GW-TAX-01), value not valid
for its type (GW-TAX-02), period type (GW-TAX-03), abstract concept reported (GW-TAX-04).
Without a table for the entrypoint they are skipped with one warning naming it (GW-TAX-00)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from gateway.checks.base import Finding, finding
from gateway.checks.values import valid
from gateway.checks.xbrl import Instance

if TYPE_CHECKING:
    from gateway.checks.rules import Scope

NT_VERSION = re.compile(r"/nt(\d+)/")


def check(scope: Scope, inst: Instance) -> Iterator[Finding]:
    table = scope.table
    if not inst.schema_refs:
        return
    if table is None:
        href = inst.schema_refs[0]
        m = NT_VERSION.search(href)
        yield finding("GW-TAX-00", href=href, nt=f"NT{m.group(1)}" if m else "-", value=href)
        return
    for f in inst.facts:
        concept = table.get(f.clark)
        if concept is None:
            yield finding("GW-TAX-01", entrypoint=table.entrypoint, **scope.at(f))
            continue
        if concept.abstract:
            yield finding("GW-TAX-04", **scope.at(f))
        context = inst.contexts.get(f.context_ref or "")
        if context is not None and concept.period_type and context.period_type != concept.period_type:
            yield finding(
                "GW-TAX-03", expected=concept.period_type, found=context.period_type, id=context.id, **scope.at(f)
            )
        if not f.nil and not valid(f.value, concept.base, concept.facets):
            yield finding("GW-TAX-02", value=f.value, type=_short(concept.type), **scope.at(f))


def _short(type_name: str | None) -> str:
    if not type_name:
        return "-"
    return type_name.rsplit("}", 1)[-1]
