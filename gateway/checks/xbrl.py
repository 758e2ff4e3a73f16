"""A small streaming reader for XBRL 2.1 instances.

It collects what the KVK rules look at (schemaRef, contexts, units, facts with their line
numbers) without keeping the whole tree: each top-level element is dropped once read, so
memory stays near the size of the facts' values rather than a multiple of the file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from lxml import etree

XBRLI = "http://www.xbrl.org/2003/instance"
LINK = "http://www.xbrl.org/2003/linkbase"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ISO4217 = "http://www.xbrl.org/2003/iso4217"


class InstanceError(Exception):
    """The bytes are not a readable XBRL instance; ``reason`` says why, ``line`` where."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass
class Context:
    id: str
    scheme: str
    identifier: str
    #: ("instant", date, None) / ("duration", start, end) / ("forever", None, None); raw text.
    period_type: str
    start: str | None
    end: str | None
    has_segment: bool
    has_scenario: bool
    line: int


@dataclass
class Unit:
    id: str
    measures: tuple[str, ...]
    line: int


@dataclass
class Fact:
    namespace: str
    name: str
    context_ref: str | None
    unit_ref: str | None
    decimals: str | None
    precision: str | None
    nil: bool
    value: str
    lang: str | None
    line: int
    has_id: bool

    @property
    def clark(self) -> str:
        return f"{{{self.namespace}}}{self.name}"


@dataclass
class Instance:
    root_lang: str | None
    schema_refs: list[str] = field(default_factory=list)
    linkbase_refs: int = 0
    footnote_links: int = 0
    contexts: dict[str, Context] = field(default_factory=dict)
    duplicate_context_ids: list[str] = field(default_factory=list)
    units: dict[str, Unit] = field(default_factory=dict)
    duplicate_unit_ids: list[str] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    langs: set[str] = field(default_factory=set)
    has_doctype: bool = False
    nsmap: dict[str | None, str] = field(default_factory=dict)

    def facts_named(self, *names: str) -> list[Fact]:
        wanted = set(names)
        return [f for f in self.facts if f.name in wanted]


def _parser_events(data: bytes) -> etree.iterparse:
    return etree.iterparse(
        io.BytesIO(data),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
    )


def _qname(el: etree._Element) -> etree.QName:
    try:
        return etree.QName(el)
    except ValueError:
        raise InstanceError(f"ongeldige elementnaam {el.tag!r}", _line(el)) from None


def _line(el: etree._Element) -> int:
    return int(getattr(el, "sourceline", 0) or 0)


def _text(el: etree._Element, path: str) -> str | None:
    found = el.find(path)
    if found is None:
        return None
    return (found.text or "").strip()


def read_instance(data: bytes) -> Instance:
    depth = 0
    inst: Instance | None = None
    try:
        for event, el in _parser_events(data):
            if event == "start":
                depth += 1
                if ":" in el.tag and not el.tag.startswith("{"):
                    raise InstanceError(f"niet-gedeclareerd namespace-prefix in {el.tag}", _line(el))
                _qname(el)
                if depth == 1:
                    if el.tag != f"{{{XBRLI}}}xbrl":
                        raise InstanceError(
                            f"het hoofdelement is {_qname(el).localname}, niet xbrli:xbrl", el.sourceline
                        )
                    inst = Instance(root_lang=el.get(XML_LANG), nsmap=dict(el.nsmap))
                    if inst.root_lang:
                        inst.langs.add(inst.root_lang)
                elif depth > 32:
                    raise InstanceError("het document is te diep genest", el.sourceline)
                continue
            depth -= 1
            if depth != 1 or inst is None:
                continue
            _read_top_level(inst, el)
            # Drop what was read, and the siblings before it, to keep memory flat.
            el.clear(keep_tail=False)
            parent = el.getparent()
            if parent is not None:
                while el.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        raise InstanceError(f"geen well-formed XML: {exc.msg}", exc.lineno) from None
    if inst is None:
        raise InstanceError("het document is leeg")
    return inst


def _read_top_level(inst: Instance, el: etree._Element) -> None:
    if not isinstance(el.tag, str):
        return
    qn = _qname(el)
    line = _line(el)
    if qn.namespace == LINK:
        if qn.localname == "schemaRef":
            inst.schema_refs.append(el.get(f"{{{XLINK}}}href") or "")
        elif qn.localname == "linkbaseRef":
            inst.linkbase_refs += 1
        elif qn.localname == "footnoteLink":
            inst.footnote_links += 1
        return
    if qn.namespace == XBRLI:
        if qn.localname == "context":
            _read_context(inst, el, line)
        elif qn.localname == "unit":
            _read_unit(inst, el, line)
        return
    _read_fact(inst, el, line)


def _read_context(inst: Instance, el: etree._Element, line: int) -> None:
    cid = el.get("id") or ""
    ident = el.find(f"{{{XBRLI}}}entity/{{{XBRLI}}}identifier")
    period = el.find(f"{{{XBRLI}}}period")
    if period is None or ident is None:
        raise InstanceError(f"context {cid} mist entity/identifier of period", line)
    if period.find(f"{{{XBRLI}}}instant") is not None:
        ptype, start, end = "instant", None, _text(period, f"{{{XBRLI}}}instant")
    elif period.find(f"{{{XBRLI}}}forever") is not None:
        ptype, start, end = "forever", None, None
    else:
        ptype = "duration"
        start = _text(period, f"{{{XBRLI}}}startDate")
        end = _text(period, f"{{{XBRLI}}}endDate")
    ctx = Context(
        id=cid,
        scheme=(ident.get("scheme") or "").strip(),
        identifier=(ident.text or "").strip(),
        period_type=ptype,
        start=start,
        end=end,
        has_segment=el.find(f"{{{XBRLI}}}entity/{{{XBRLI}}}segment") is not None,
        has_scenario=el.find(f"{{{XBRLI}}}scenario") is not None,
        line=line,
    )
    if cid in inst.contexts:
        inst.duplicate_context_ids.append(cid)
    inst.contexts[cid] = ctx


def _read_unit(inst: Instance, el: etree._Element, line: int) -> None:
    uid = el.get("id") or ""
    measures = tuple(sorted(_resolve(m, (m.text or "").strip()) for m in el.iter(f"{{{XBRLI}}}measure")))
    if uid in inst.units:
        inst.duplicate_unit_ids.append(uid)
    inst.units[uid] = Unit(uid, measures, line)


def _resolve(el: etree._Element, qname: str) -> str:
    """A prefixed name in element text, in Clark notation ({namespace}local)."""
    prefix, _, local = qname.rpartition(":")
    ns = el.nsmap.get(prefix or None)
    return f"{{{ns}}}{local}" if ns else qname


def _read_fact(inst: Instance, el: etree._Element, line: int) -> None:
    qn = _qname(el)
    context_ref = el.get("contextRef")
    if context_ref is None and len(el):
        # A tuple: its children are the facts.
        for child in el:
            if isinstance(child.tag, str):
                _read_fact(inst, child, _line(child) or line)
        return
    lang = el.get(XML_LANG)
    if lang:
        inst.langs.add(lang)
    inst.facts.append(
        Fact(
            namespace=qn.namespace or "",
            name=qn.localname,
            context_ref=context_ref,
            unit_ref=el.get("unitRef"),
            decimals=el.get("decimals"),
            precision=el.get("precision"),
            nil=el.get(f"{{{XSI}}}nil") in ("true", "1"),
            value=(el.text or "").strip(),
            lang=lang,
            line=line,
            has_id=el.get("id") is not None,
        )
    )
