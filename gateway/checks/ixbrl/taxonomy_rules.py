"""The NL-KVK rules on the company's extension taxonomy (4.x and RTS Annex IV), for NL-GAAP
and IFRS reports. Only what the package itself shows is judged: rules that need the KVK base
taxonomy loaded (4.3.1.2 anchoring data types, 4.4.2.4/4.4.2.5 placeholder roles, 4.4.6.1,
Annex II par 1, Annex IV par 4.1, the formula rules 3.7.1.x and prohibitedUseOfDimensions)
are not run; the README says so."""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Iterator

from gateway.checks.base import Finding, finding
from gateway.checks.ixbrl.package import Package, config
from gateway.checks.ixbrl.taxonomy import (
    ALL,
    DIM_ARCROLES,
    DIMENSION_DEFAULT,
    DIMENSION_DOMAIN,
    DOMAIN_MEMBER,
    NOT_ALL,
    WIDER_NARROWER,
    XBRLDT,
    XBRLI,
    Concept,
    Taxonomy,
)
from gateway.checks.statement import Statement

STANDARD_LABEL = "http://www.xbrl.org/2003/role/label"
STANDARD_ROLE_PREFIXES = (
    "http://www.xbrl.org/2003/role/",
    "http://www.xbrl.org/2009/role/",
    "http://www.xbrl.org/2008/role/",
)
DOMAIN_ITEM_TYPES = frozenset(
    {
        "{http://www.xbrl.org/dtr/type/2022-03-31}domainItemType",
        "{http://www.xbrl.org/dtr/type/2024-01-31}domainItemType",
    }
)


def _local(clark: str) -> str:
    return clark.rpartition("}")[2]


def structure(tax: Taxonomy) -> Iterator[Finding]:
    with_arcs = {a.kind for a in tax.arcs}
    if tax.labels:
        with_arcs.add("lab")
    needed = ["pre", "cal", "def"] + (["lab"] if tax.concepts else [])
    missing = [k for k in needed if k not in with_arcs]
    if missing:
        yield finding("NL-KVK.4.1.1.1", missing=", ".join(missing))
    if "cal" not in with_arcs:
        yield finding("NL-KVK.IV-6")
    for path, kinds in sorted(tax.linkbase_kinds.items()):
        if len(kinds) > 1:
            yield finding("NL-KVK.4.1.1.2", file=path, kinds=", ".join(sorted(kinds)))


def names(tax: Taxonomy) -> Iterator[Finding]:
    pattern = re.compile(config()["extension_name_pattern"])
    limit = config()["max_base_length"]
    for path in sorted([*tax.schemas, *tax.linkbase_kinds]):
        name = posixpath.basename(path)
        m = pattern.match(name)
        if m is None:
            yield finding("NL-KVK.4.1.5.2", file=name)
        elif len(m.group("base")) > limit:
            yield finding("NL-KVK.4.1.5.1", file=name, limit=limit)


def concepts(tax: Taxonomy) -> Iterator[Finding]:
    for c in tax.concepts.values():
        where = c.location.text()
        if c.substitution_group == f"{{{XBRLI}}}tuple":
            yield finding("NL-KVK.4.2.0.1", where, concept=c.name)
        if _local(c.type) == "fractionItemType":
            yield finding("NL-KVK.4.2.0.2", where, concept=c.name)
        if c.typed_domain:
            yield finding("NL-KVK.4.2.3.1", where, concept=c.name)
        if _local(c.type) == "monetaryItemType" and c.balance is None:
            yield finding("NL-KVK.IV-4.2", where, concept=c.name)


def hypercubes(tax: Taxonomy) -> Iterator[Finding]:
    summation = config()["summation_item_arcrole"]
    for a in tax.arcs:
        where = a.location.text()
        if a.arcrole in (ALL, NOT_ALL) and a.context_element != "scenario":
            yield finding("NL-KVK.4.2.1.1", where, role=a.role)
        if a.arcrole == NOT_ALL:
            yield finding("NL-KVK.4.4.2.1", where, role=a.role)
            if (a.closed or "").strip() == "true":
                yield finding("NL-KVK.4.4.2.3", where, role=a.role)
        if a.arcrole == ALL and (a.closed or "").strip() != "true":
            yield finding("NL-KVK.4.4.2.2", where, role=a.role)
        if a.kind == "cal" and a.arcrole != summation:
            yield finding("NL-KVK.4.4.1.1", where, arcrole=a.arcrole)


def domains(tax: Taxonomy) -> Iterator[Finding]:
    """Extension domain members typed domainItemType (4.2.2.2); each extension dimension with
    a default in the KVK axis-defaults role (4.4.3.2)."""
    members: set[str] = set()
    frontier = [(a.role, a.target) for a in tax.arcs if a.arcrole == DIMENSION_DOMAIN]
    by_source: dict[tuple[str, str], list[str]] = {}
    for a in tax.arcs:
        if a.arcrole == DOMAIN_MEMBER:
            by_source.setdefault((a.role, a.source), []).append(a.target)
    while frontier:
        role, key = frontier.pop()
        if key in members:
            continue
        members.add(key)
        frontier.extend((role, t) for t in by_source.get((role, key), ()))
    for key in sorted(members):
        c = tax.concepts.get(key)
        if c is not None and c.type not in DOMAIN_ITEM_TYPES:
            yield finding("NL-KVK.4.2.2.2", c.location.text(), concept=c.name)
    defaults_role = config()["axis_defaults_role"]
    with_default = {a.source for a in tax.arcs if a.arcrole == DIMENSION_DEFAULT and a.role == defaults_role}
    for c in tax.concepts.values():
        if c.substitution_group == f"{{{XBRLDT}}}dimensionItem" and c.key not in with_default:
            yield finding("NL-KVK.4.4.3.2", c.location.text(), concept=c.name)


def anchoring(tax: Taxonomy) -> Iterator[Finding]:
    """Anchoring arcs in their own roles (4.3.2.1), between line items only (4.3.1.1, judged
    on the extension's side: a base concept's kind is in the base taxonomy)."""
    anchor_roles = {a.role for a in tax.arcs if a.arcrole == WIDER_NARROWER}
    dimensional_roles = {a.role for a in tax.arcs if a.arcrole in DIM_ARCROLES}
    for role in sorted(anchor_roles & dimensional_roles):
        yield finding("NL-KVK.4.3.2.1", role=role)
    line_items = {c.key for c in _line_items(tax)}
    for a in tax.arcs:
        if a.arcrole != WIDER_NARROWER:
            continue
        for key in (a.source, a.target):
            c = tax.concepts.get(key)
            if c is not None and key not in line_items:
                yield finding("NL-KVK.4.3.1.1", a.location.text(), concept=c.name)


def defaults_and_labels(tax: Taxonomy) -> Iterator[Finding]:
    """The base taxonomy's default members are not overridden or prohibited (4.4.3.1); a
    concept shown more than once in a presentation role has preferred labels (4.4.4.1)."""
    for a in tax.arcs:
        if a.arcrole == DIMENSION_DEFAULT and (a.prohibited or a.source not in tax.concepts):
            yield finding("NL-KVK.4.4.3.1", a.location.text(), concept=a.source.rpartition("#")[2])
    shown = Counter((a.role, a.target) for a in tax.arcs if a.kind == "pre" and not a.prohibited)
    for a in tax.arcs:
        if a.kind == "pre" and shown[(a.role, a.target)] > 1 and not a.preferred_label:
            yield finding("NL-KVK.4.4.4.1", a.location.text(), concept=a.target.rpartition("#")[2], role=a.role)


def custom_types(tax: Taxonomy) -> Iterator[Finding]:
    """No custom type that redefines an XBRL 2.1 or DTR type (RTS Annex IV par. 11)."""
    standard = set(config()["standard_type_names"])
    for schema in tax.schemas.values():
        for name, loc in schema.types:
            if name in standard:
                yield finding("NL-KVK.IV-11", loc.text(), type=name)


def labels(tax: Taxonomy, report_lang: str | None) -> Iterator[Finding]:
    counts = Counter((lab.concept, lab.role, lab.lang) for lab in tax.labels)
    for lab in tax.labels:
        where = lab.location.text()
        if not lab.role.startswith(STANDARD_ROLE_PREFIXES):
            yield finding("NL-KVK.4.4.5.1", where, role=lab.role)
        if counts[(lab.concept, lab.role, lab.lang)] > 1:
            counts[(lab.concept, lab.role, lab.lang)] = 0  # once per duplicate set
            yield finding("NL-KVK.4.4.5.2", where, concept=lab.concept.rpartition("#")[2], role=lab.role)
        if lab.concept not in tax.concepts:
            yield finding("NL-KVK.IV-8", where, concept=lab.concept.rpartition("#")[2])
    lang = (report_lang or "").split("-")[0]
    labelled = {
        lab.concept for lab in tax.labels if lab.role == STANDARD_LABEL and (lab.lang or "").split("-")[0] == lang
    }
    for c in _line_items(tax):
        if c.key not in labelled:
            yield finding("NL-KVK.IV-4.3", c.location.text(), concept=c.name, lang=lang or "-")


def _line_items(tax: Taxonomy) -> list[Concept]:
    """Extension concepts that are neither dimensions, hypercubes nor domain members."""
    skip = {a.target for a in tax.arcs if a.arcrole in (DIMENSION_DOMAIN, DOMAIN_MEMBER)} & {
        a.source for a in tax.arcs if a.arcrole in (DIMENSION_DOMAIN, DOMAIN_MEMBER)
    } | {a.target for a in tax.arcs if a.arcrole == DIMENSION_DOMAIN}
    return [
        c
        for c in tax.concepts.values()
        if not c.abstract and c.key not in skip and c.substitution_group == f"{{{XBRLI}}}item"
    ]


def usage(tax: Taxonomy, pkg: Package) -> Iterator[Finding]:
    """Tagged extension concepts sit in a presentation and a definition tree (Annex IV par 5);
    extension line items are anchored, or are a calculation total (par 9-10)."""
    tagged = {(f.namespace, f.name) for f in (fact for _i, fact in pkg.facts)}
    in_tree = {kind: {k for a in tax.arcs if a.kind == kind for k in (a.source, a.target)} for kind in ("pre", "def")}
    anchored = {k for a in tax.arcs if a.arcrole == WIDER_NARROWER for k in (a.source, a.target)}
    totals = {a.source for a in tax.arcs if a.kind == "cal"}
    for c in tax.concepts.values():
        if (c.namespace, c.name) in tagged and (c.key not in in_tree["pre"] or c.key not in in_tree["def"]):
            yield finding("NL-KVK.IV-5", c.location.text(), concept=c.name)
    for c in _line_items(tax):
        if c.key not in anchored and c.key not in totals:
            yield finding("NL-KVK.IV-9-10", c.location.text(), concept=c.name)


def check(pkg: Package, st: Statement) -> Iterator[Finding]:
    if st.entrypoint is not None and st.entrypoint.basis == "other":
        return  # other-GAAP reports have no extension taxonomy (kvk-inline.md section 2)
    tax = pkg.taxonomy
    if not tax.schemas:
        yield finding("NL-KVK.4.1.1.1", missing="xsd, pre, cal, def")
        yield finding("NL-KVK.IV-6")
        return
    yield from structure(tax)
    yield from names(tax)
    yield from concepts(tax)
    yield from hypercubes(tax)
    yield from domains(tax)
    yield from anchoring(tax)
    yield from defaults_and_labels(tax)
    yield from custom_types(tax)
    yield from labels(tax, pkg.report_lang)
    yield from usage(tax, pkg)
