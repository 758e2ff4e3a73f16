"""A small streaming reader for XBRL 2.1 instances.

It collects what the KVK rules look at (schemaRef, contexts, units, facts with their line
numbers, namespace prefixes and the order of the top-level elements) without keeping the
whole tree: each top-level element is dropped once read, so memory stays near the size of
the facts' values rather than a multiple of the file.
"""

from __future__ import annotations

import gc
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from lxml import etree

XBRLI = "http://www.xbrl.org/2003/instance"
LINK = "http://www.xbrl.org/2003/linkbase"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XBRLDI = "http://xbrl.org/2006/xbrldi"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XML_LANG = f"{{{XML_NS}}}lang"
ISO4217 = "http://www.xbrl.org/2003/iso4217"

#: FG-NL-04: the order of the children of xbrli:xbrl.
ORDER = {"schemaRef": 0, "linkbaseRef": 1, "roleRef": 2, "arcroleRef": 3, "context": 4, "unit": 5, "fact": 6}
_QNAME_VALUE = re.compile(r"^\s*([A-Za-z_][\w.-]*):[A-Za-z_][\w.-]*\s*$")


class InstanceError(Exception):
    """The bytes are not a readable XBRL instance; the reasons say why (in Dutch and in
    English, each complete in its language), ``line`` and ``column`` where."""

    def __init__(self, reason_nl: str, reason_en: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(reason_en)
        self.reason_nl = reason_nl
        self.reason_en = reason_en
        self.line = line
        self.column = column


@dataclass
class Context:
    id: str
    scheme: str
    identifier: str
    #: "instant" (end = the date), "duration" or "forever"; raw text of the dates.
    period_type: str
    start: str | None
    end: str | None
    has_segment: bool
    has_scenario: bool
    line: int
    #: Segment and scenario content in a canonical, order-independent form (FR-NL-3.04).
    dimensions: tuple[object, ...] = ()

    @property
    def key(self) -> tuple[object, ...]:
        """Everything but the id: two contexts with the same key are duplicates."""
        return (self.scheme, self.identifier, self.period_type, self.start, self.end, self.dimensions)


@dataclass
class Unit:
    id: str
    #: Numerator measures (or the plain measures), sorted, Clark notation.
    measures: tuple[str, ...]
    line: int
    denominator: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return (self.measures, self.denominator)

    @property
    def all_measures(self) -> tuple[str, ...]:
        return self.measures + self.denominator


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
    prefix: str | None = None
    #: Which tuple occurrence the fact sits in (0 = not in a tuple).
    tuple_index: int = 0
    nil_attribute: bool = False

    @property
    def clark(self) -> str:
        return f"{{{self.namespace}}}{self.name}"

    @property
    def qname(self) -> str:
        return f"{self.prefix}:{self.name}" if self.prefix else self.name


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
    #: Prefixes used by element names, attributes and QName values (FG-NL-05).
    used_prefixes: set[str] = field(default_factory=set)
    used_namespaces: set[str] = field(default_factory=set)
    #: Top-level elements that came after a later kind: (kind, the later kind, line) (FG-NL-04).
    order_violations: list[tuple[str, str, int]] = field(default_factory=list)
    #: Prefixes declared below the root: (prefix, namespace).
    inner_declarations: list[tuple[str, str]] = field(default_factory=list)
    root_line: int = 1
    _by_name: dict[str, list[Fact]] | None = field(default=None, repr=False)
    _indexed: int = field(default=0, repr=False)
    _order_bound: str = field(default="schemaRef", repr=False)
    _tuples: int = field(default=0, repr=False)

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
        events=("start-ns", "end"),
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
            raise InstanceError(
                f"niet-gedeclareerd namespace-prefix in {tag}", f"undeclared namespace prefix in {tag}", line
            )
        return "", tag
    ns, sep, local = tag[1:].partition("}")
    if not sep or not local or "}" in local:
        raise InstanceError(f"ongeldige elementnaam {tag!r}", f"invalid element name {tag!r}", line)
    return ns, local


class _Reader:
    """State of one read: the root, the instance being filled, namespace declarations seen."""

    def __init__(self) -> None:
        self.root: etree._Element | None = None
        self.inst: Instance | None = None
        self.declared: set[tuple[str, str]] = set()

    def start(self, el: etree._Element) -> Instance:
        root = el
        while (up := root.getparent()) is not None:
            root = up
        self.root = root
        if root.tag != f"{{{XBRLI}}}xbrl":
            _split(root.tag, _line(root))
            raise InstanceError(
                f"het hoofdelement is {root.tag}, niet xbrli:xbrl",
                f"the root element is {root.tag}, not xbrli:xbrl",
                _line(root),
            )
        inst = Instance(root_lang=root.get(XML_LANG), nsmap=dict(root.nsmap), root_line=_line(root))
        if inst.root_lang:
            inst.langs.add(inst.root_lang)
        self.inst = inst
        return inst

    def feed(self, el: etree._Element) -> None:
        tag = el.tag
        if not isinstance(tag, str):
            return
        inst = self.inst if self.root is not None else None
        if inst is None:
            inst = self.start(el)
        root = self.root
        if el.getparent() is not root:
            if tag[:1] != "{" and ":" in tag:
                raise InstanceError(
                    f"niet-gedeclareerd namespace-prefix in {tag}", f"undeclared namespace prefix in {tag}", _line(el)
                )
            return
        _note_prefixes(inst, el)
        _read_top_level(inst, el)
        # Drop what was read, and the siblings before it, to keep memory flat.
        el.clear()
        assert root is not None
        while el.getprevious() is not None:
            del root[0]


def read_instance(data: bytes) -> Instance:
    """Read the instance top-level element by top-level element (iterparse "end" events),
    dropping each once read."""
    # The read allocates a few objects per fact and frees none of them: the cyclic garbage
    # collector would walk the growing heap again and again (a third of the read on 5 MB)
    # while finding nothing to free. It runs again as soon as the read ends.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _read(data)
    finally:
        if collecting:
            gc.enable()


def _read(data: bytes) -> Instance:
    reader = _Reader()
    declared = reader.declared
    try:
        events = iter(_parser_events(data))
        for event, item in events:
            if event == "start-ns":
                declared.add(item)
                continue
            reader.feed(item)
            if reader.inst is not None:
                break
        if reader.inst is not None:
            _read_rest(reader, events)
    except etree.XMLSyntaxError as exc:
        raise InstanceError(
            "het bestand is geen well-formed XML",
            f"not well-formed XML: {exc.msg}",
            exc.lineno,
            exc.position[1] if exc.position else None,
        ) from None
    inst = reader.inst
    if inst is None:
        raise InstanceError("het document is leeg", "the document is empty")
    root_pairs = set(inst.nsmap.items())
    inst.inner_declarations = sorted((p, ns) for p, ns in declared if p and (p, ns) not in root_pairs)
    return inst


def _read_rest(reader: _Reader, events: Iterator[tuple[str, Any]]) -> None:
    """The events after the root is known. A plain fact (a leaf with a known tag) is read
    here without further calls: the per-fact Python work is most of the reader's time."""
    root, inst, declared = reader.root, reader.inst, reader.declared
    assert root is not None and inst is not None
    read = 0
    for event, el in events:
        if event == "start-ns":
            declared.add(el)
            continue
        if el.getparent() is not root or len(el) or inst._order_bound != "fact":
            reader.feed(el)
            continue
        tag = el.tag
        if not isinstance(tag, str) or tag[:1] != "{" or tag.startswith(_STRUCTURAL):
            reader.feed(el)
            continue
        namespace, _, name = tag[1:].partition("}")
        if not name or "}" in name:
            reader.feed(el)  # raises the reader's error
            continue
        _read_leaf_fact(inst, el, namespace, name)
        read += 1
        if read >= _DROP_EVERY:
            # Drop what was read in one call rather than one element at a time. Only up to
            # this element: the parser reads ahead, so later siblings may already be there.
            del root[: root.index(el) + 1]
            read = 0


#: Facts read between two drops: memory stays flat, the drop costs one call per batch.
_DROP_EVERY = 64
_STRUCTURAL = (f"{{{LINK}}}", f"{{{XBRLI}}}")


def _read_leaf_fact(inst: Instance, el: etree._Element, namespace: str, name: str) -> None:
    """_note_prefixes and _read_fact of a fact without children, in one step."""
    # Attribute names and values are str here (lxml's stubs allow bytes).
    attrib = cast("dict[str, str]", dict(el.items()))
    prefix = el.prefix
    if prefix:
        inst.used_prefixes.add(prefix)
    for key in attrib:
        if key[:1] == "{":
            inst.used_namespaces.add(key[1:].partition("}")[0])
    text = el.text
    if text and ":" in text and len(text) < 512 and (m := _QNAME_VALUE.match(text)):
        inst.used_prefixes.add(m.group(1))
    context_ref = attrib.get("contextRef")
    lang = attrib.get(XML_LANG)
    if lang:
        inst.langs.add(lang)
    nil = attrib.get(XSI_NIL)
    inst.facts.append(
        Fact(
            namespace,
            name,
            context_ref,
            attrib.get("unitRef"),
            attrib.get("decimals"),
            attrib.get("precision"),
            nil in ("true", "1"),
            text.strip() if text else "",
            lang,
            getattr(el, "sourceline", 0) or 0,
            "id" in attrib,
            prefix,
            0,
            nil is not None,
        )
    )


def _note_prefixes(inst: Instance, el: etree._Element) -> None:
    """Record the prefixes a top-level element and its descendants use (FG-NL-05)."""
    if not len(el):
        # A fact (most elements): its own prefix, namespaced attributes and a QName value only.
        _note_element(inst, el)
        return
    for node in el.iter():
        if isinstance(node.tag, str):
            _note_element(inst, node)
            value = node.get("dimension")
            if value and (m := _QNAME_VALUE.match(value)):
                inst.used_prefixes.add(m.group(1))


def _note_element(inst: Instance, node: etree._Element) -> None:
    if node.prefix:
        inst.used_prefixes.add(node.prefix)
    for key in node.attrib:
        name = str(key)
        if name[:1] == "{":
            inst.used_namespaces.add(name[1:].partition("}")[0])
    text = node.text
    if text and ":" in text and len(text) < 512 and (m := _QNAME_VALUE.match(text)):
        inst.used_prefixes.add(m.group(1))


def _order(inst: Instance, kind: str, line: int) -> None:
    rank = ORDER[kind]
    bound = ORDER[inst._order_bound]
    if rank > bound:
        inst._order_bound = kind
    elif rank < bound:
        inst.order_violations.append((kind, inst._order_bound, line))


def _read_top_level(inst: Instance, el: etree._Element) -> None:
    line = _line(el)
    namespace, localname = _split(el.tag, line)
    if namespace == LINK:
        if localname in ORDER:
            _order(inst, localname, line)
        if localname == "schemaRef":
            inst.schema_refs.append(el.get(f"{{{XLINK}}}href") or "")
        elif localname == "linkbaseRef":
            inst.linkbase_refs += 1
        elif localname == "footnoteLink":
            inst.footnote_links += 1
        return
    if namespace == XBRLI:
        if localname == "context":
            _order(inst, "context", line)
            _read_context(inst, el, line)
        elif localname == "unit":
            _order(inst, "unit", line)
            _read_unit(inst, el, line)
        return
    _order(inst, "fact", line)
    _read_fact(inst, el, line, namespace, localname)


def _dimensions(container: etree._Element | None, where: str) -> tuple[object, ...]:
    """Segment or scenario content, canonical and order-independent."""
    if container is None:
        return ()
    items: list[tuple[str, ...]] = []
    for child in container:
        if not isinstance(child.tag, str):
            continue
        dim = child.get("dimension")
        if dim is not None:
            member = (child.text or "").strip() if len(child) == 0 else etree.tostring(child[0], method="c14n")
            items.append((where, child.tag, _resolve(child, dim.strip()), _resolve_value(child, member)))
        else:
            items.append((where, child.tag, etree.tostring(child, method="c14n").decode()))
    return tuple(sorted(items))


def _resolve_value(el: etree._Element, member: str | bytes) -> str:
    if isinstance(member, bytes):
        return member.decode()
    return _resolve(el, member)


def _read_context(inst: Instance, el: etree._Element, line: int) -> None:
    cid = el.get("id") or ""
    ident = el.find(f"{{{XBRLI}}}entity/{{{XBRLI}}}identifier")
    period = el.find(f"{{{XBRLI}}}period")
    if period is None or ident is None:
        raise InstanceError(
            f"context {cid} mist entity/identifier of period", f"context {cid} lacks entity/identifier or period", line
        )
    if period.find(f"{{{XBRLI}}}instant") is not None:
        ptype, start, end = "instant", None, _text(period, f"{{{XBRLI}}}instant")
    elif period.find(f"{{{XBRLI}}}forever") is not None:
        ptype, start, end = "forever", None, None
    else:
        ptype = "duration"
        start = _text(period, f"{{{XBRLI}}}startDate")
        end = _text(period, f"{{{XBRLI}}}endDate")
    segment = el.find(f"{{{XBRLI}}}entity/{{{XBRLI}}}segment")
    scenario = el.find(f"{{{XBRLI}}}scenario")
    ctx = Context(
        id=cid,
        scheme=(ident.get("scheme") or "").strip(),
        identifier=(ident.text or "").strip(),
        period_type=ptype,
        start=start,
        end=end,
        has_segment=segment is not None,
        has_scenario=scenario is not None,
        line=line,
        dimensions=_dimensions(segment, "segment") + _dimensions(scenario, "scenario"),
    )
    if cid in inst.contexts:
        inst.duplicate_context_ids.append(cid)
    inst.contexts[cid] = ctx


def _measures(el: etree._Element | None) -> tuple[str, ...]:
    if el is None:
        return ()
    return tuple(sorted(_resolve(m, (m.text or "").strip()) for m in el.iter(f"{{{XBRLI}}}measure")))


def _read_unit(inst: Instance, el: etree._Element, line: int) -> None:
    uid = el.get("id") or ""
    divide = el.find(f"{{{XBRLI}}}divide")
    if divide is not None:
        unit = Unit(
            uid,
            _measures(divide.find(f"{{{XBRLI}}}unitNumerator")),
            line,
            _measures(divide.find(f"{{{XBRLI}}}unitDenominator")),
        )
    else:
        unit = Unit(uid, _measures(el), line)
    if uid in inst.units:
        inst.duplicate_unit_ids.append(uid)
    inst.units[uid] = unit


def _resolve(el: etree._Element, qname: str) -> str:
    """A prefixed name in element text, in Clark notation ({namespace}local)."""
    prefix, _, local = qname.rpartition(":")
    ns = el.nsmap.get(prefix or None)
    return f"{{{ns}}}{local}" if ns else qname


XSI_NIL = f"{{{XSI}}}nil"


def _read_fact(
    inst: Instance, el: etree._Element, line: int, namespace: str, name: str, depth: int = 0, tuple_index: int = 0
) -> None:
    attrib = el.attrib
    context_ref = attrib.get("contextRef")
    if context_ref is None and len(el):
        # A tuple: its children are the facts.
        if depth > 8:
            raise InstanceError("tuples zijn te diep genest", "tuples are nested too deeply", line)
        inst._tuples += 1
        index = inst._tuples
        for child in el:
            if isinstance(child.tag, str):
                child_line = _line(child) or line
                ns, local = _split(child.tag, child_line)
                _read_fact(inst, child, child_line, ns, local, depth + 1, index)
        return
    lang = attrib.get(XML_LANG)
    if lang:
        inst.langs.add(lang)
    text = el.text
    nil = attrib.get(XSI_NIL)
    inst.facts.append(
        Fact(
            namespace=namespace,
            name=name,
            context_ref=context_ref,
            unit_ref=attrib.get("unitRef"),
            decimals=attrib.get("decimals"),
            precision=attrib.get("precision"),
            nil=nil in ("true", "1"),
            value=text.strip() if text else "",
            lang=lang,
            line=line,
            has_id="id" in attrib,
            prefix=el.prefix,
            tuple_index=tuple_index,
            nil_attribute=nil is not None,
        )
    )
