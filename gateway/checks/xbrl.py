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


@dataclass(slots=True)
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
    _by_name: dict[str, list[Fact]] | None = field(default=None, repr=False)
    _indexed: int = field(default=0, repr=False)

    def by_name(self) -> dict[str, list[Fact]]:
        """Facts by local name, in document order (built once, on first use)."""
        if self._by_name is None or self._indexed != len(self.facts):
            index: dict[str, list[Fact]] = {}
            for f in self.facts:
                index.setdefault(f.name, []).append(f)
            self._by_name, self._indexed = index, len(self.facts)
        return self._by_name


def _parser_events(data: bytes) -> etree.iterparse:
    return etree.iterparse(
        io.BytesIO(data),
        events=("end",),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
    )


def _line(el: etree._Element) -> int:
    return int(getattr(el, "sourceline", 0) or 0)


def _text(el: etree._Element, path: str) -> str | None:
    found = el.find(path)
    if found is None:
        return None
    return (found.text or "").strip()


def _split(tag: str, line: int) -> tuple[str, str]:
    """(namespace, local name) of a Clark-notation tag."""
    if tag[:1] != "{":
        if ":" in tag:
            raise InstanceError(f"niet-gedeclareerd namespace-prefix in {tag}", line)
        return "", tag
    ns, sep, local = tag[1:].partition("}")
    if not sep or not local or "}" in local:
        raise InstanceError(f"ongeldige elementnaam {tag!r}", line)
    return ns, local


def read_instance(data: bytes) -> Instance:
    """Read the instance top-level element by top-level element (iterparse "end" events),
    dropping each once read."""
    root: etree._Element | None = None
    inst: Instance | None = None
    try:
        for _event, el in _parser_events(data):
            tag = el.tag
            if not isinstance(tag, str):
                continue
            if root is None:
                root = el
                while (up := root.getparent()) is not None:
                    root = up
                if root.tag != f"{{{XBRLI}}}xbrl":
                    _split(root.tag, _line(root))
                    raise InstanceError(f"het hoofdelement is {root.tag}, niet xbrli:xbrl", _line(root))
                inst = Instance(root_lang=root.get(XML_LANG), nsmap=dict(root.nsmap))
                if inst.root_lang:
                    inst.langs.add(inst.root_lang)
            if el.getparent() is not root or inst is None:
                if tag[:1] != "{" and ":" in tag:
                    raise InstanceError(f"niet-gedeclareerd namespace-prefix in {tag}", _line(el))
                continue
            _read_top_level(inst, el)
            # Drop what was read, and the siblings before it, to keep memory flat.
            el.clear(keep_tail=False)
            while el.getprevious() is not None:
                del root[0]
    except etree.XMLSyntaxError as exc:
        raise InstanceError(f"geen well-formed XML: {exc.msg}", exc.lineno) from None
    if inst is None:
        raise InstanceError("het document is leeg")
    return inst


def _read_top_level(inst: Instance, el: etree._Element) -> None:
    if not isinstance(el.tag, str):
        return
    line = _line(el)
    namespace, localname = _split(el.tag, line)
    if namespace == LINK:
        if localname == "schemaRef":
            inst.schema_refs.append(el.get(f"{{{XLINK}}}href") or "")
        elif localname == "linkbaseRef":
            inst.linkbase_refs += 1
        elif localname == "footnoteLink":
            inst.footnote_links += 1
        return
    if namespace == XBRLI:
        if localname == "context":
            _read_context(inst, el, line)
        elif localname == "unit":
            _read_unit(inst, el, line)
        return
    _read_fact(inst, el, line, namespace, localname)


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


XSI_NIL = f"{{{XSI}}}nil"


def _read_fact(inst: Instance, el: etree._Element, line: int, namespace: str, name: str, depth: int = 0) -> None:
    attrib = el.attrib
    context_ref = attrib.get("contextRef")
    if context_ref is None and len(el):
        # A tuple: its children are the facts.
        if depth > 8:
            raise InstanceError("tuples zijn te diep genest", line)
        for child in el:
            if isinstance(child.tag, str):
                child_line = _line(child) or line
                ns, local = _split(child.tag, child_line)
                _read_fact(inst, child, child_line, ns, local, depth + 1)
        return
    lang = attrib.get(XML_LANG)
    if lang:
        inst.langs.add(lang)
    text = el.text
    inst.facts.append(
        Fact(
            namespace=namespace,
            name=name,
            context_ref=context_ref,
            unit_ref=attrib.get("unitRef"),
            decimals=attrib.get("decimals"),
            precision=attrib.get("precision"),
            nil=attrib.get(XSI_NIL) in ("true", "1"),
            value=text.strip() if text else "",
            lang=lang,
            line=line,
            has_id="id" in attrib,
        )
    )
