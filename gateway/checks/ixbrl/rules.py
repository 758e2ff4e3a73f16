"""The NL-KVK rules on the Inline XBRL documents (kvk-inline.md section 5: 3.x, 5.x, 7.x and
the RTS articles); the extension-taxonomy rules (4.x, RTS Annex IV) are in taxonomy_rules.

Each rule is a function over the package and its statement that yields its findings, at most
``MAX_REPORTED`` per rule so one systematic mistake does not bury the rest. Which rules apply
depends on the KVK taxonomy version (its rule set, '2024' or '2025', in schemas/kvk/ixbrl.json).
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation

from gateway.checks.base import CheckContext, Finding, finding
from gateway.checks.ixbrl import taxonomy_rules
from gateway.checks.ixbrl.inline import InlineFact
from gateway.checks.ixbrl.package import Package, config, resolve_in_package
from gateway.checks.kvkdata import KVK_NUMBER
from gateway.checks.statement import Fact, Location, Statement

MAX_REPORTED = 20
Rule = Callable[[Package, Statement], Iterable[Finding]]

_TIME = re.compile(r"T|\d:\d")
_ZONE = re.compile(r"\d{4}-\d{2}-\d{2}.*(Z|[+-]\d{2}:?\d{2})$")
_URI_OR_QNAME = re.compile(r"^([a-z][a-z0-9+.-]*://\S+|[A-Za-z_][\w.-]*:[A-Za-z_][\w.-]*)$")
_DATA_URL = re.compile(r"^data:(?P<mime>[^;,]*)(?P<params>(;[^;,]*)*),(?P<data>.*)$", re.S)


def _where(loc: Location | None) -> str | None:
    return loc.text() if loc is not None else None


def _text_facts(pkg: Package) -> Iterator[InlineFact]:
    """Text facts: nonNumeric facts without a format (formats make dates and booleans)."""
    for doc in pkg.documents:
        for f in doc.facts:
            if f.kind == "nonNumeric" and f.format is None and not f.nil:
                yield f


def _all_facts(pkg: Package) -> Iterator[InlineFact]:
    for doc in pkg.documents:
        yield from doc.facts


# ----------------------------------------------------------------------- 3.1 contexts


def identifiers(pkg: Package, st: Statement) -> Iterator[Finding]:
    scheme = config()["kvk_scheme"]
    for ident in sorted({c.identifier for c in st.contexts.values()}):
        if not KVK_NUMBER.match(ident):
            yield finding("NL-KVK.3.1.1.1", identifier=ident)
    for other in sorted({c.scheme for c in st.contexts.values()} - {scheme}):
        yield finding("NL-KVK.3.1.1.2", scheme=other)
    pairs = sorted({(c.scheme, c.identifier) for c in st.contexts.values()})
    if len(pairs) > 1:
        yield finding("NL-KVK.3.1.4.1", identifiers=", ".join(i for _, i in pairs))
    number = st.kvk.kvk_number_fact
    if number is not None:
        for ident in sorted({c.identifier for c in st.contexts.values()} - {number}):
            yield finding("NL-KVK.3.1.4.2", _where(st.kvk.kvk_number_location), identifier=ident, value=number)


def periods(pkg: Package, st: Statement) -> Iterator[Finding]:
    for c in st.contexts.values():
        for value in (c.period.start, c.period.end):
            if value is None:
                continue
            if _TIME.search(value):
                yield finding("NL-KVK.3.1.2.1", _where(c.location), id=c.id, value=value)
            if _ZONE.match(value):
                yield finding("NL-KVK.3.1.2.2", _where(c.location), id=c.id, value=value)


def segments_scenarios(pkg: Package, st: Statement) -> Iterator[Finding]:
    for c in st.contexts.values():
        if c.has_segment:
            yield finding("NL-KVK.3.1.3.1", _where(c.location), id=c.id)
    for doc in pkg.documents:
        for cid in doc.foreign_scenario:
            yield finding("NL-KVK.3.1.3.2", _where(doc.contexts[cid].location), id=cid)


# ----------------------------------------------------------------------- 3.2 facts


def precision_and_formats(pkg: Package, st: Statement) -> Iterator[Finding]:
    accepted = set(config()["transformations"]["accepted"])
    for f in _all_facts(pkg):
        if f.precision is not None:
            yield finding("NL-KVK.3.2.1.1", _where(f.location), concept=f.name)
        if f.format is not None and f.format[0] not in accepted:
            yield finding("NL-KVK.3.2.3.1", _where(f.location), concept=f.name, format=f.format_raw)


def _rounded(value: str, decimals: str | None) -> Decimal | None:
    try:
        d = Decimal(value)
        if decimals in (None, "INF"):
            return d
        return d.quantize(Decimal(1).scaleb(-int(decimals))) if -30 <= int(decimals) <= 30 else d
    except (InvalidOperation, ValueError):
        return None


def duplicates(pkg: Package, st: Statement) -> Iterator[Finding]:
    numeric: dict[tuple[str, str | None, str | None], list[tuple[InlineFact, Fact]]] = defaultdict(list)
    text: dict[tuple[str, str | None, str | None], list[tuple[InlineFact, Fact]]] = defaultdict(list)
    for inline, fact in pkg.facts:
        if fact.nil:
            continue
        if inline.kind == "nonFraction":
            numeric[(fact.concept, fact.context_ref, fact.unit_ref)].append((inline, fact))
        else:
            text[(fact.concept, fact.context_ref, fact.lang)].append((inline, fact))
    for group in numeric.values():
        if len(group) < 2:
            continue
        decimals = [g[1].decimals for g in group]
        lowest = min((int(d) for d in decimals if d is not None and re.fullmatch(r"-?\d{1,4}", d)), default=None)
        values = {_rounded(g[1].value, None if lowest is None else str(lowest)) for g in group}
        if len(values) > 1:
            yield finding("NL-KVK.3.2.4.1", _where(group[1][1].location), concept=group[0][1].name)
    for group in text.values():
        if len({g[1].value for g in group}) > 1:
            yield finding("NL-KVK.3.2.4.2", _where(group[1][1].location), concept=group[0][1].name)


def escaping(pkg: Package, st: Statement) -> Iterator[Finding]:
    for f in _all_facts(pkg):
        if f.kind == "nonNumeric" and not f.escape and (f.has_markup or "<" in f.text or "&" in f.text):
            yield finding("NL-KVK.3.2.7.1", _where(f.location), concept=f.name)


def fact_ids(pkg: Package, st: Statement) -> Iterator[Finding]:
    for f in _all_facts(pkg):
        if not f.id:
            yield finding("NL-KVK.3.2.8.1", _where(f.location), concept=f.name)


# ----------------------------------------------------------------------- 3.3 footnotes


def footnotes(pkg: Package, st: Statement) -> Iterator[Finding]:
    notes = {fid: (lang, loc) for doc in pkg.documents for fid, lang, loc in doc.footnotes}
    if not notes:
        return
    rels = [r for doc in pkg.documents for r in doc.relationships]
    linked = {t for _, to in rels for t in to}
    fact_langs = {(f.lang or "").split("-")[0] for f in _text_facts(pkg)}
    report = (pkg.report_lang or "").split("-")[0]
    for fid, (lang, loc) in notes.items():
        if fid not in linked:
            yield finding("NL-KVK.3.3.1.1", _where(loc), id=fid)
        if (lang or "").split("-")[0] not in fact_langs:
            yield finding("NL-KVK.3.3.1.2", _where(loc), id=fid, lang=lang or "-")
    by_fact: dict[str, set[str]] = defaultdict(set)
    for frm, to in rels:
        for source in frm:
            by_fact[source].update((notes[t][0] or "").split("-")[0] for t in to if t in notes)
    for fact_id, langs in sorted(by_fact.items()):
        if langs and report not in langs:
            yield finding("NL-KVK.3.3.1.3", id=fact_id, lang=report or "-")


# ----------------------------------------------------------------------- 3.4 structure


def forbidden_elements(pkg: Package, st: Statement) -> Iterator[Finding]:
    for doc in pkg.documents:
        for loc in doc.tuples:
            yield finding("NL-KVK.3.4.1.1", _where(loc))
        for loc in doc.fractions:
            yield finding("NL-KVK.3.4.1.2", _where(loc))
        for loc in doc.base_used:
            yield finding("NL-KVK.3.4.2.1", _where(loc))


def hidden(pkg: Package, st: Statement) -> Iterator[Finding]:
    refs = [r for doc in pkg.documents for r in doc.ix_hidden_refs]
    referenced = {ref for ref, _ in refs}
    hidden_ids = set()
    for f in _all_facts(pkg):
        if not f.hidden:
            continue
        if f.id:
            hidden_ids.add(f.id)
        if f.nil:
            continue
        transformable = f.kind == "nonFraction" or f.format is not None or not _URI_OR_QNAME.match(f.text.strip())
        if transformable:
            yield finding("NL-KVK.3.4.1.3", _where(f.location), concept=f.name)
        elif not f.id or f.id not in referenced:
            yield finding("NL-KVK.3.4.1.4", _where(f.location), concept=f.name)
    for ref, loc in refs:
        if ref not in hidden_ids:
            yield finding("NL-KVK.3.4.1.5", _where(loc), id=ref)


# ----------------------------------------------------------------------- 3.5 content


def executable(pkg: Package, st: Statement) -> Iterator[Finding]:
    for doc in pkg.documents:
        for what, loc in doc.executable:
            yield finding("NL-KVK.3.5.1.1", _where(loc), what=what)


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    head = data[:2048].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "svg"
    return None


def _image_bytes(data: bytes, where: str | None, what: str) -> Iterator[Finding]:
    kind = _sniff(data)
    if kind is None:
        yield finding("NL-KVK.3.5.1.5", where, image=what)
    elif kind == "svg" and re.search(rb"<script|\son[a-z]+\s*=|javascript:", data, re.I):
        yield finding("NL-KVK.3.5.1.1", where, what=f"svg {what}")


def _data_url(src: str, where: str | None) -> Iterator[Finding]:
    m = _DATA_URL.match(src)
    if m is None or not m.group("mime").strip():
        yield finding("NL-KVK.3.5.1.2", where)
        return
    mime = m.group("mime").strip().lower()
    try:
        data = (
            base64.b64decode(m.group("data"), validate=False)
            if ";base64" in m.group("params")
            else m.group("data").encode()
        )
    except (binascii.Error, ValueError):
        data = b""
    kind = _sniff(data)
    if kind is not None and config()["image_types"].get(kind) != mime and not (kind == "jpeg" and mime == "image/jpg"):
        yield finding("NL-KVK.3.5.1.3", where, mime=mime, actual=kind)
    yield from _image_bytes(data, where, mime)


def images(pkg: Package, st: Statement) -> Iterator[Finding]:
    # Each source once, and each file once: a thousand references to one image are one image.
    checked: set[str] = set()
    for doc in pkg.documents:
        for src, loc in doc.images:
            if src in checked:
                continue
            checked.add(src)
            where = _where(loc)
            if src.startswith("data:"):
                yield from _data_url(src, where)
            elif re.match(r"^([a-z][a-z0-9+.-]*:|//)", src, re.I):
                yield finding("NL-KVK.3.6.2.1", where, src=src[:200])
            else:
                path = resolve_in_package(pkg, src.split("#")[0].split("?")[0], doc.path)
                if path is None:
                    yield finding("NL-KVK.3.5.1", where, src=src[:200])
                elif path not in checked:
                    checked.add(path)
                    yield from _image_file(pkg.files[path], path, where, src[:200])


def _image_file(data: bytes, path: str, where: str | None, src: str) -> Iterator[Finding]:
    ext = posixpath.splitext(path)[1].lstrip(".").lower()
    kind = _sniff(data)
    if kind is not None and config()["image_types"].get(ext) != config()["image_types"][kind]:
        yield finding("NL-KVK.3.5.1.4", where, src=src, actual=kind)
    yield from _image_bytes(data, where, src)


def languages(pkg: Package, st: Statement) -> Iterator[Finding]:
    allowed = set(config()["languages"])
    report = (pkg.report_lang or "").split("-")[0]
    by_key: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    for f in _text_facts(pkg):
        if f.lang is None:
            yield finding("NL-KVK.3.5.2.1", _where(f.location), concept=f.name)
        else:
            by_key[(f.name, f.context_ref)].add(f.lang.split("-")[0])
    for (name, _ctx), langs in sorted(by_key.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if report not in langs:
            yield finding("NL-KVK.3.5.2.2", concept=name, lang=report or "-")
    seen: set[str] = set()
    for doc in pkg.documents:
        for lang, loc in doc.langs:
            if lang.split("-")[0].lower() not in allowed and lang not in seen:
                seen.add(lang)
                yield finding("NL-KVK.3.5.2.3", _where(loc), lang=lang)


def targets_and_display(pkg: Package, st: Statement) -> Iterator[Finding]:
    for f in _all_facts(pkg):
        if f.target is not None:
            yield finding("NL-KVK.3.5.3.1", _where(f.location), concept=f.name, target=f.target)
        if f.under_display_none and not f.hidden:
            yield finding("NL-KVK.3.5.4.1", _where(f.location), concept=f.name)


# ----------------------------------------------------------------------- 3.6 file names


def file_names(pkg: Package, st: Statement) -> Iterator[Finding]:
    c = config()
    pattern, chars = re.compile(c["file_name_pattern"]), re.compile(c["file_name_chars"])
    for doc in pkg.documents:
        name = posixpath.basename(doc.path)
        m = pattern.match(name)
        if m is None:
            yield finding("NL-KVK.3.6.3.2", file=name)
        elif len(m.group("base")) > c["max_base_length"]:
            yield finding("NL-KVK.3.6.3.1", file=name, limit=c["max_base_length"])
        if not chars.match(name):
            yield finding("NL-KVK.3.6.3.3", file=name)


def _rule_set(st: Statement) -> str | None:
    ep = st.entrypoint
    version = config()["versions"].get(ep.version) if ep is not None else None
    return str(version["rules"]) if version else None


def filing_document(pkg: Package, st: Statement) -> Iterator[Finding]:
    """FY 2025 (rule set 2025) with more than one document: the document with the filing
    information (the KVK number) is named kvk-{date}-{lang} and holds only that."""
    if _rule_set(st) != "2025" or len(pkg.documents) < 2:
        return
    named = re.compile(config()["filing_document_pattern"])
    doc = next((d for d in pkg.documents if named.match(posixpath.basename(d.path))), None) or next(
        (d for d in pkg.documents if any(f.name == "ChamberOfCommerceRegistrationNumber" for f in d.facts)), None
    )
    if doc is None:
        return
    name = posixpath.basename(doc.path)
    if not re.match(config()["filing_document_pattern"], name):
        yield finding("NL-KVK.3.6.3.4", file=name)
    mandatory = set(config()["mandatory_elements"])
    others = sorted({f.name for f in doc.facts} - mandatory)
    if others:
        yield finding("NL-KVK.3.6.3.5", file=name, concepts=", ".join(others[:10]))
    used = {f.context_ref or "" for f in doc.facts}
    if len(used) > 1 or any(st.contexts[c].dimensions for c in used if c in st.contexts):
        yield finding("NL-KVK.3.6.3.6", file=name)
    if doc.units or any(f.unit_ref for f in doc.facts):
        yield finding("NL-KVK.3.6.3.7", file=name)


# ----------------------------------------------------------------------- entrypoints


def entrypoints(pkg: Package, st: Statement) -> Iterator[Finding]:
    """4.1.2.x for NL-GAAP/IFRS reports (through the extension schema), 5.1.3.x for
    other-GAAP reports (a schemaRef straight to the entrypoint)."""
    pattern = re.compile(config()["entrypoint_pattern"])
    versions = config()["versions"]
    direct = [h for h in st.schema_refs if pattern.match(h)]
    if direct:
        for href in direct:
            m = pattern.match(href)
            assert m is not None
            version = versions.get(m.group("version"))
            if version is None or version["entrypoints"].get(m.group("basis")) != "other":
                yield finding("NL-KVK.5.1.3.1", href=href)
            elif not version["accepted"]:
                yield finding("NL-KVK.5.1.3.2", href=href)
        return
    imported = [m for h in pkg.entrypoint_hrefs if (m := pattern.match(h))]
    required = [
        m
        for m in imported
        if (v := versions.get(m.group("version")))
        and v["accepted"]
        and v["entrypoints"].get(m.group("basis")) in ("nlgaap", "ifrs")
    ]
    if not required:
        yield finding("NL-KVK.4.1.2.1", found=", ".join(pkg.entrypoint_hrefs) or "-")
    for m in imported:
        v = versions.get(m.group("version"))
        if v is None or not v["accepted"]:
            yield finding("NL-KVK.4.1.2.2", version=m.group("version"))


def exemption_flags(pkg: Package, st: Statement) -> Iterator[Finding]:
    if st.entrypoint is None or st.entrypoint.basis != "other":
        return
    for name, code in config()["exemption_flags"].items():
        for f in st.by_name(name):
            if f.value == "false":
                yield finding(code, _where(f.location), concept=name)


# ----------------------------------------------------------------------- RTS articles


def articles(pkg: Package, st: Statement) -> Iterator[Finding]:
    for doc in pkg.documents:
        name = posixpath.basename(doc.path)
        if doc.doctype:
            xhtml_dtd = "XHTML" in doc.doctype.upper() and "DTD" in doc.doctype.upper()
            yield finding(
                "NL-KVK.Art3.xhtml" if xhtml_dtd else "NL-KVK.Art3.html", file=name, doctype=doc.doctype[:120]
            )
        if not doc.facts:
            yield finding("NL-KVK.Art6a", file=name)


RULES: list[Rule] = [
    identifiers,
    periods,
    segments_scenarios,
    precision_and_formats,
    duplicates,
    escaping,
    fact_ids,
    footnotes,
    forbidden_elements,
    hidden,
    executable,
    images,
    languages,
    targets_and_display,
    file_names,
    filing_document,
    entrypoints,
    exemption_flags,
    articles,
    taxonomy_rules.check,
]


def _capped(found: Iterable[Finding]) -> Iterator[Finding]:
    counts: Counter[str] = Counter()
    for f in found:
        counts[f.code] += 1
        if counts[f.code] <= MAX_REPORTED:
            yield f


def check(ctx: CheckContext) -> Iterator[Finding]:
    pkg, st = ctx.package, ctx.statement
    if pkg is None or st is None:
        return
    for rule in RULES:
        yield from _capped(rule(pkg, st))
