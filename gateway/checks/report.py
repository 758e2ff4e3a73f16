"""Findings people can act on: one per rule and place, and a status text within its limit.

The full list (after ``unique``) is what is stored with a submission; ``statusdetails``
is what Digipoort's ``statusdetails`` carries: per rule at most ``PER_RULE`` places plus a
line saying how many more there are, and never more than ``STATUSDETAILS_LIMIT``
characters (the field's limit).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from gateway.checks.base import Finding
from gateway.resources import load_json

PER_RULE = 20
STATUSDETAILS_LIMIT = 1_048_576


def iter_unique(found: Iterable[Finding]) -> Iterator[Finding]:
    """One finding per rule and place (the first), in order. Findings without a place are
    the same when their texts are."""
    seen: set[tuple[str, str]] = set()
    for f in found:
        key = (f.code, f.location if f.location is not None else "\0" + f.message_en)
        if key not in seen:
            seen.add(key)
            yield f


def unique(found: Iterable[Finding]) -> list[Finding]:
    return list(iter_unique(found))


def detail_line(f: Finding) -> str:
    where = f" ({f.location})" if f.location else ""
    return f"{f.code} [{f.severity}] {f.message_nl}{where} / {f.message_en}{where}"


def _more(first: Finding, n: int) -> Finding:
    texts = load_json("findings.json")["_more"]
    return Finding(first.code, first.severity, texts["nl"].format(n=n), texts["en"].format(n=n))


def capped(found: Iterable[Finding], per_rule: int = PER_RULE) -> list[Finding]:
    """What people are shown (status text, mail): each rule's first ``per_rule`` places,
    then one entry saying how many more there are."""
    by_code: dict[str, list[Finding]] = {}
    for f in unique(found):
        by_code.setdefault(f.code, []).append(f)
    out: list[Finding] = []
    for items in by_code.values():
        out.extend(items[:per_rule])
        if len(items) > per_rule:
            out.append(_more(items[0], len(items) - per_rule))
    return out


def capped_lines(found: Iterable[Finding], per_rule: int = PER_RULE) -> list[str]:
    return [detail_line(f) for f in capped(found, per_rule)]


def statusdetails(found: Iterable[Finding], limit: int = STATUSDETAILS_LIMIT) -> str | None:
    """The ``statusdetails`` text: capped per rule and cut to the field's limit at a line
    boundary, with a last line saying how many findings were left out."""
    lines = capped_lines(found)
    if not lines:
        return None
    texts = load_json("findings.json")["_truncated"]
    out: list[str] = []
    size = 0
    reserve = 400  # room for the closing line
    for i, line in enumerate(lines):
        if size + len(line) + 1 > limit - reserve:
            n = len(lines) - i
            out.append(f"{texts['nl'].format(n=n)} / {texts['en'].format(n=n)}")
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)
