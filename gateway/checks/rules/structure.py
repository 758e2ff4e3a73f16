"""Rules on the instance's structure: language (FR-NL-2.03, FR-KVK-2.01/2.02), linkbaseRef
(FR-NL-2.05), footnotes (FR-NL-6.01), contexts (FR-NL-3.01–3.04), units (FR-NL-4.01/4.02)
and facts (FR-NL-2.07, 5.01, 5.03, 5.06; references to contexts and units)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from gateway.checks.base import Finding, finding
from gateway.checks.rules.text import LANGS
from gateway.checks.xbrl import Fact, Instance

if TYPE_CHECKING:
    from gateway.checks.rules import Scope

STRING_BASES = {"string", "normalizedString", "token", "language", "Name", "NCName", ""}


def check(scope: Scope, inst: Instance) -> Iterator[Finding]:
    yield from _language(scope, inst)
    if inst.linkbase_refs:
        yield finding("FR-NL-2.05", count=inst.linkbase_refs)
    if inst.footnote_links:
        yield finding("FR-NL-6.01", count=inst.footnote_links)
    yield from _contexts(inst)
    yield from _units(inst)
    yield from _facts(scope, inst)


def _language(scope: Scope, inst: Instance) -> Iterator[Finding]:
    root = inst.root_lang
    if not root:
        yield finding("FR-NL-2.03", line=inst.root_line)
    if root not in LANGS:
        yield finding("FR-KVK-2.01", lang=root or "-", line=inst.root_line)
    for f in inst.facts:
        if f.lang is not None and f.lang != root:
            yield finding("FR-KVK-2.02", langs=f.lang, root=root or "-", value=f.lang, **scope.at(f))


def _contexts(inst: Instance) -> Iterator[Finding]:
    used = {f.context_ref for f in inst.facts}
    groups: dict[tuple[object, ...], list[str]] = defaultdict(list)
    for cid in inst.duplicate_context_ids:
        yield finding("FR-NL-3.04", cid, id=cid, ids=cid)
    for cid, c in inst.contexts.items():
        if c.period_type == "forever":
            yield finding("FR-NL-3.02", cid, id=cid, line=c.line)
        for value in (c.start, c.end):
            if value is not None and "T" in value:
                yield finding("FR-NL-3.01", cid, id=cid, value=value, line=c.line)
        if cid not in used:
            yield finding("FR-NL-3.03", cid, id=cid, line=c.line)
        groups[c.key].append(cid)
    for ids in groups.values():
        if len(ids) > 1:
            yield finding("FR-NL-3.04", ids[1], id=ids[1], ids=", ".join(ids), line=inst.contexts[ids[1]].line)


def _units(inst: Instance) -> Iterator[Finding]:
    used = {f.unit_ref for f in inst.facts}
    groups: dict[tuple[object, ...], list[str]] = defaultdict(list)
    for uid in inst.duplicate_unit_ids:
        yield finding("FR-NL-4.01", uid, id=uid, ids=uid)
    for uid, u in inst.units.items():
        if uid not in used:
            yield finding("FR-NL-4.02", uid, id=uid, line=u.line)
        groups[u.key].append(uid)
    for ids in groups.values():
        if len(ids) > 1:
            yield finding("FR-NL-4.01", ids[1], id=ids[1], ids=", ".join(ids), line=inst.units[ids[1]].line)


def _facts(scope: Scope, inst: Instance) -> Iterator[Finding]:
    groups: dict[tuple[object, ...], int] = defaultdict(int)
    keys = [(f.namespace, f.name, f.context_ref, f.unit_ref, f.tuple_index) for f in inst.facts]
    for key in keys:
        groups[key] += 1
    contexts, units = inst.contexts, inst.units
    for f, key in zip(inst.facts, keys, strict=True):
        if groups[key] > 1:
            yield finding("FR-NL-5.01", count=groups[key], **scope.at(f))
            groups[key] = 0  # one finding per group, at its first fact
        # Most facts trigger none of _fact's rules: test that cheaply before calling it.
        if (
            f.nil_attribute
            or not f.value
            or f.precision is not None
            or f.context_ref not in contexts
            or (f.unit_ref is not None and f.unit_ref not in units)
        ):
            yield from _fact(scope, inst, f)


def _fact(scope: Scope, inst: Instance, f: Fact) -> Iterator[Finding]:
    if f.nil_attribute:
        yield finding("FR-NL-2.07", **scope.at(f))
    elif f.value == "" and (scope.base_of(f) or "") in STRING_BASES and f.unit_ref is None:
        yield finding("FR-NL-5.03", **scope.at(f))
    if f.precision is not None:
        yield finding("FR-NL-5.06", value=f.precision, **scope.at(f))
    if f.context_ref is None or f.context_ref not in inst.contexts:
        yield finding("GW-XBRL-02", ref=f.context_ref or "-", **scope.at(f))
    if f.unit_ref is not None and f.unit_ref not in inst.units:
        yield finding("GW-XBRL-03", ref=f.unit_ref, **scope.at(f))
