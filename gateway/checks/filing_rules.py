"""SBR/KVK filing rules on the instance as a file: encoding, characters, structure,
contexts, units, facts, dates and decimals (kvk-filing.md section 5.2)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

from gateway.checks.base import CheckContext, Finding, finding
from gateway.checks.facts import parse_date
from gateway.checks.xbrl import ISO4217, Instance

# FR-NL-1.02: Basic Latin, Latin-1 Supplement and Currency Symbols (plus the XML whitespace).
DISALLOWED = re.compile("[^\t\n\r\u0020-\u007f\u00a0-\u00ff\u20a0-\u20cf]")
CHAR_REF = re.compile(rb"&#(x[0-9a-fA-F]+|[0-9]+);")
NAMED_REF = re.compile(rb"&([A-Za-z][A-Za-z0-9._-]*);")
ALLOWED_NAMED = {b"lt", b"gt", b"amp", b"apos", b"quot"}
FILE_NAME = re.compile(r"^[0-9A-Za-z_-]+$")
LANGS = {"nl", "en", "de", "fr"}
MONETARY_DECIMALS = {"INF", "-9", "-6", "-3", "0", "2"}
MAX_REPORTED = 20  # per rule, so that one systematic mistake does not bury the rest


def check(ctx: CheckContext) -> Iterator[Finding]:
    yield from _file(ctx)
    if ctx.instance is not None:
        yield from _structure(ctx.instance)
        yield from _periods(ctx, ctx.instance)
        yield from _facts(ctx.instance)


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _file(ctx: CheckContext) -> Iterator[Finding]:
    raw = ctx.raw_instance
    name = ctx.parts[0].bestandsnaam if ctx.parts else "instance.xbrl"
    stem, _, ext = name.rpartition(".")
    if ext.lower() != "xbrl":
        yield finding("FR-KVK-1.01", name=name)
    if not FILE_NAME.match(stem or name):
        yield finding("FR-NL-1.06", name=name)
    if raw.startswith(b"\xef\xbb\xbf"):
        yield finding("FR-NL-1.01")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield finding("FR-NL-1.05", position=exc.start)
        return
    if "<!DOCTYPE" in text[:4096]:
        yield finding("FR-NL-1.03")
    for n, m in enumerate(DISALLOWED.finditer(text)):
        if n >= MAX_REPORTED:
            break
        line = _line_of(text, m.start())
        char = m.group()
        yield finding("FR-NL-1.02", f"regel {line}", char=repr(char), codepoint=f"U+{ord(char):04X}", line=line)
    for ref_match in CHAR_REF.finditer(raw):
        ref = ref_match.group(1)
        cp = int(ref[1:], 16) if ref.startswith(b"x") else int(ref)
        if cp >= 0x110000 or DISALLOWED.match(chr(cp)):
            line = raw.count(b"\n", 0, ref_match.start()) + 1
            yield finding("FR-NL-1.04", f"regel {line}", ref=ref_match.group().decode(), line=line)
    for ref_match in NAMED_REF.finditer(raw):
        if ref_match.group(1) not in ALLOWED_NAMED:
            line = raw.count(b"\n", 0, ref_match.start()) + 1
            yield finding("FR-NL-1.04", f"regel {line}", ref=ref_match.group().decode(), line=line)
    if b"]]>" in raw:
        yield finding("FR-NL-2.06")


def _structure(inst: Instance) -> Iterator[Finding]:
    if not inst.root_lang:
        yield finding("FR-NL-2.03")
    elif inst.root_lang not in LANGS:
        yield finding("FR-KVK-2.01", lang=inst.root_lang)
    others = sorted(lang for lang in inst.langs if lang != inst.root_lang)
    if inst.root_lang and others:
        yield finding("FR-KVK-2.02", langs=", ".join(others), root=inst.root_lang)
    if inst.linkbase_refs:
        yield finding("FR-NL-2.05")
    if inst.footnote_links:
        yield finding("FR-NL-6.01")
    for cid in inst.duplicate_context_ids:
        yield finding("FR-NL-3.04", f"context {cid}", id=cid)
    for uid in inst.duplicate_unit_ids:
        yield finding("FR-NL-4.01", f"unit {uid}", id=uid)
    # Contexts equal in all but id are duplicates too.
    seen: dict[tuple[object, ...], str] = {}
    for c in inst.contexts.values():
        key = (c.scheme, c.identifier, c.period_type, c.start, c.end, c.has_segment, c.has_scenario)
        if key in seen and not (c.has_segment or c.has_scenario):
            yield finding("FR-NL-3.04", f"context {c.id}", id=f"{seen[key]} = {c.id}")
        seen.setdefault(key, c.id)
    used_contexts = {f.context_ref for f in inst.facts}
    for cid, c in inst.contexts.items():
        if cid not in used_contexts:
            yield finding("FR-NL-3.03", f"regel {c.line}", id=cid)
    used_units = {f.unit_ref for f in inst.facts}
    for uid, u in inst.units.items():
        if uid not in used_units:
            yield finding("FR-NL-4.02", f"regel {u.line}", id=uid)
    currencies = {m for u in inst.units.values() for m in u.measures if m.startswith(f"{{{ISO4217}}}")}
    if len(currencies) > 1:
        yield finding("BR-KVK-3.01", currencies=", ".join(sorted(m.split("}")[1] for m in currencies)))


def _periods(ctx: CheckContext, inst: Instance) -> Iterator[Finding]:
    period = ctx.derived.get("period")
    for c in inst.contexts.values():
        if c.period_type == "forever":
            yield finding("FR-NL-3.02", f"context {c.id}", id=c.id)
            continue
        for value in (c.start, c.end):
            if value is None:
                continue
            if "T" in value:
                yield finding("FR-NL-3.01", f"context {c.id}", id=c.id, value=value)
            elif parse_date(value) is None:
                yield finding("BR-KVK-4.20", f"context {c.id}", value=value, concept=f"context {c.id}")
    if period is None or period.end is None or period.start is None:
        yield finding("GW-PER-01")
        return
    if period.end >= ctx.filed_on:
        yield finding("BR-KVK-4.07", end=period.end, filed=ctx.filed_on)
    if period.previous_start is not None and period.previous_end is not None:
        ordered = period.previous_start < period.previous_end < period.start < period.end
        if not ordered:
            yield finding("GW-PER-02")
        if period.end >= _years_later(period.previous_start, 2):
            yield finding("BR-KVK-4.17", start=period.previous_start, end=period.end)
    # BR-KVK-2.04: durations of the current or previous period; instants at the current end,
    # the day before the current start or the day before the previous start.
    durations = {(period.start, period.end)}
    instants = {period.end, period.start - timedelta(days=1)}
    if period.previous_start is not None and period.previous_end is not None:
        durations.add((period.previous_start, period.previous_end))
        instants.add(period.previous_start - timedelta(days=1))
        instants.add(period.previous_end)
    reported = 0
    for c in inst.contexts.values():
        if c.period_type == "instant":
            ok = parse_date(c.end) in instants
        elif c.period_type == "duration":
            ok = (parse_date(c.start), parse_date(c.end)) in durations
        else:
            continue
        if not ok and reported < MAX_REPORTED:
            reported += 1
            yield finding("BR-KVK-2.04", f"context {c.id}", id=c.id)


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return date(day.year + years, 3, 1)


def _facts(inst: Instance) -> Iterator[Finding]:
    keys = Counter((f.namespace, f.name, f.context_ref, f.unit_ref, f.lang) for f in inst.facts)
    reported: Counter[str] = Counter()

    def limited(code: str) -> bool:
        reported[code] += 1
        return reported[code] <= MAX_REPORTED

    for f in inst.facts:
        where = f"regel {f.line}"
        key = (f.namespace, f.name, f.context_ref, f.unit_ref, f.lang)
        if keys[key] > 1 and limited("FR-NL-5.01"):
            yield finding("FR-NL-5.01", where, concept=f.name)
            keys[key] = 1  # report each group once
        if f.nil and limited("FR-NL-2.07"):
            yield finding("FR-NL-2.07", where, concept=f.name)
        elif f.value == "" and limited("FR-NL-5.03"):
            yield finding("FR-NL-5.03", where, concept=f.name)
        if f.precision is not None and limited("FR-NL-5.06"):
            yield finding("FR-NL-5.06", where, concept=f.name)
        if f.context_ref is not None and f.context_ref not in inst.contexts and limited("GW-XBRL-02"):
            yield finding("GW-XBRL-02", where, concept=f.name, ref=f.context_ref)
        if f.unit_ref is not None:
            unit = inst.units.get(f.unit_ref)
            if unit is None:
                if limited("GW-XBRL-03"):
                    yield finding("GW-XBRL-03", where, concept=f.name, ref=f.unit_ref)
                continue
            monetary = any(m.startswith(f"{{{ISO4217}}}") for m in unit.measures)
            if monetary and f.decimals not in MONETARY_DECIMALS and limited("FR-KVK-5.01"):
                yield finding("FR-KVK-5.01", where, concept=f.name, decimals=f.decimals)
            elif not monetary and f.decimals != "INF" and limited("FR-KVK-5.02"):
                yield finding("FR-KVK-5.02", where, concept=f.name, decimals=f.decimals)
        if f.name.endswith("Date") and f.value and parse_date(f.value) is None and limited("BR-KVK-4.20"):
            yield finding("BR-KVK-4.20", where, value=f.value, concept=f.name)
