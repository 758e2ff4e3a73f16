"""FR-NL-5.11: escaped XHTML only in facts of type formattedExplanationItemType (else a
warning, as the rule is applied), and there only the allowed elements, style properties
and list-item types (else an error). Needs the concept's type, so only with a taxonomy."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from lxml import etree

from gateway.checks.base import Finding, finding
from gateway.checks.xbrl import Instance
from gateway.resources import load_json

if TYPE_CHECKING:
    from gateway.checks.rules import Scope


@cache
def _rules() -> tuple[frozenset[str], frozenset[str], dict[str, frozenset[str]]]:
    data: dict[str, Any] = load_json("kvk/formatting.json")
    lists = {k: frozenset(v) for k, v in data["list_types"].items()}
    return frozenset(data["tags"]), frozenset(data["styles"]), lists


def _parse(value: str) -> etree._Element | None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        return etree.fromstring(f"<div>{value}</div>", parser)
    except etree.XMLSyntaxError:
        return None


def check(scope: Scope, inst: Instance) -> Iterator[Finding]:
    table = scope.table
    if table is None:
        return
    for f in inst.facts:
        if "<" not in f.value:
            continue
        concept = table.get(f.clark)
        if concept is None:
            continue
        tree = _parse(f.value)
        if not concept.formatted:
            if tree is not None and len(tree):
                yield finding("FR-NL-5.11#type", **scope.at(f))
            continue
        if tree is None:
            yield finding("FR-NL-5.11#xml", **scope.at(f))
            continue
        problems = sorted(_problems(tree))
        if problems:
            yield finding("FR-NL-5.11", problems=", ".join(problems), **scope.at(f))


def _problems(tree: etree._Element) -> set[str]:
    tags, styles, list_types = _rules()
    found: set[str] = set()
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        tag = etree.QName(el).localname
        if tag not in tags:
            found.add(f"<{tag}>")
        for part in (el.get("style") or "").split(";"):
            prop, sep, _ = part.partition(":")
            if sep and prop.strip() not in styles:
                found.add(f"style {prop.strip()}")
        parent = el.getparent()
        if tag == "li" and parent is not None and isinstance(parent.tag, str):
            allowed = list_types.get(etree.QName(parent).localname)
            li_type = " ".join((el.get("type") or "").split())
            if allowed is not None and li_type not in allowed:
                found.add(f'li type="{li_type}"')
    return found
