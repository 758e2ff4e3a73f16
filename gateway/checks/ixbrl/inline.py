"""One Inline XBRL 1.1 document (XHTML) as read: what the statement model and the NL-KVK
rules need from it, with every element's file and line.

The document is read in one streaming pass with a hardened parser (no DTD loading, no entity
expansion, no network; a document with a DTD internal subset is refused before it is parsed).
lxml shows Python only the ``ix:`` elements, the few XHTML constructs the rules name and the
blocks after which what was read is dropped, so the Python work grows with the number of tagged
facts rather than with the size of the prose, and memory stays a small multiple of the facts.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from lxml import etree

from gateway.checks.statement import Context, Location, Period, Unit

IX = "http://www.xbrl.org/2013/inlineXBRL"
XHTML = "http://www.w3.org/1999/xhtml"
XBRLI = "http://www.xbrl.org/2003/instance"
XBRLDI = "http://xbrl.org/2006/xbrldi"
LINK = "http://www.xbrl.org/2003/linkbase"
XLINK = "http://www.w3.org/1999/xlink"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"

_DISPLAY_NONE = re.compile(r"display\s*:\s*none", re.I)


class DocumentError(Exception):
    """The document cannot be read; ``code`` is the finding, ``params`` its placeholders."""

    def __init__(self, code: str, line: int | None = None, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.line = line
        self.params = params


@dataclass(frozen=True, slots=True)
class InlineFact:
    """A tagged fact before its value is computed (continuations may sit in other documents)."""

    kind: str  # "nonFraction" or "nonNumeric"
    namespace: str
    name: str
    context_ref: str | None
    unit_ref: str | None
    decimals: str | None
    precision: str | None
    format: tuple[str, str] | None  # (namespace, local name)
    format_raw: str | None
    scale: str | None
    sign: str | None
    escape: bool
    nil: bool
    text: str
    continued_at: str | None
    id: str | None
    lang: str | None
    hidden: bool
    under_display_none: bool
    target: str | None
    has_markup: bool
    location: Location


@dataclass
class InlineDocument:
    path: str
    lang: str | None
    doctype: str
    #: How much fact text may be kept: nested facts each hold their inner facts' text, so
    #: deep nesting could multiply the document; the budget keeps it at twice its size.
    text_budget: int = 0
    schema_refs: list[str] = field(default_factory=list)
    contexts: dict[str, Context] = field(default_factory=dict)
    #: Contexts whose scenario holds something other than XBRL Dimensions members.
    foreign_scenario: list[str] = field(default_factory=list)
    units: dict[str, Unit] = field(default_factory=dict)
    facts: list[InlineFact] = field(default_factory=list)
    #: id -> (text, continuedAt, location)
    continuations: dict[str, tuple[str, str | None, Location]] = field(default_factory=dict)
    tuples: list[Location] = field(default_factory=list)
    fractions: list[Location] = field(default_factory=list)
    #: (id, lang, location)
    footnotes: list[tuple[str, str | None, Location]] = field(default_factory=list)
    #: (fromRefs, toRefs)
    relationships: list[tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)
    ix_hidden_refs: list[tuple[str, Location]] = field(default_factory=list)
    base_used: list[Location] = field(default_factory=list)
    executable: list[tuple[str, Location]] = field(default_factory=list)
    images: list[tuple[str, Location]] = field(default_factory=list)
    langs: list[tuple[str, Location]] = field(default_factory=list)
    headers: int = 0


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        remove_comments=True,
        collect_ids=False,
    )


def _line(el: etree._Element) -> int | None:
    return getattr(el, "sourceline", None)


def _clark(el: etree._Element, qname: str | None, nsmap: dict[str | None, str] | None = None) -> tuple[str, str] | None:
    if not qname:
        return None
    prefix, _, local = qname.strip().rpartition(":")
    ns = (nsmap if nsmap is not None else el.nsmap).get(prefix or None)
    if ns is None:
        return None
    return ns, local


_PROLOG_DOCTYPE = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>)?\s*(?:<!--.*?-->\s*)*(<!DOCTYPE\b[^>\[]*)([>\[])", re.S
)


def _without_doctype(path: str, data: bytes) -> tuple[bytes, str]:
    """The document with its DOCTYPE blanked out (lines kept), and the DOCTYPE as written.

    A DOCTYPE is a finding of its own (NL-KVK RTS Art. 3); blanking it keeps libxml2 from even
    trying to fetch an external DTD. One with an internal subset can declare entities: such a
    document is refused before it is parsed at all."""
    m = _PROLOG_DOCTYPE.match(data[:65536])
    if m is None:
        return data, ""
    if m.group(2) == b"[":
        raise DocumentError("GW-IXBRL-11", data.count(b"\n", 0, m.start(1)) + 1, file=path)
    start, end = m.start(1), m.end(2)
    blank = bytes(c if c in b"\r\n" else 0x20 for c in data[start:end])
    doctype = " ".join(m.group(1).decode("utf-8", "replace").split()) + ">"
    return data[:start] + blank + data[end:], doctype


def read_document(path: str, data: bytes) -> InlineDocument:
    """Read one document in a single streaming pass (``iterparse``, "end" events): each
    element is handled once complete (tagged facts, contexts, units, continuations, footnotes,
    the XHTML constructs the rules name); its ancestors are still there to say which language,
    ``ix:hidden`` and ``display:none`` apply. Blocks are dropped once read unless an enclosing
    fact still needs their text, so memory stays near the size of the facts rather than a
    multiple of the document."""
    data, doctype = _without_doctype(path, data)
    reader = _Reader(InlineDocument(path=path, lang=None, doctype=doctype, text_budget=2 * len(data) + 4096), data)
    # Python sees only the elements it has something to do with, unless a rare construct that
    # can sit on any element (on… handlers, javascript: links, xml:base) may be there.
    every = reader.scan_on or reader.scan_base
    events = etree.iterparse(
        io.BytesIO(data),
        events=("end",),
        tag=None if every else _VISITED,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        for _event, el in events:
            reader.end(el)
    except etree.XMLSyntaxError as exc:
        raise DocumentError("GW-IXBRL-10", exc.lineno, file=path, reason=exc.msg) from None
    root = events.root
    if root.tag != f"{{{XHTML}}}html":
        raise DocumentError("GW-IXBRL-12", _line(root), file=path, root=str(root.tag))
    # Defence in depth: a DOCTYPE the prolog scan did not see may still not declare anything.
    dtd = cast(Any, root.getroottree().docinfo.internalDTD)  # lxml-stubs lack the DTD iterators
    if dtd is not None and (list(dtd.iterentities()) or list(dtd.iterelements())):
        raise DocumentError("GW-IXBRL-11", 1, file=path)
    reader.doc.lang = root.get(XML_LANG)
    return reader.doc


IX_HIDDEN = f"{{{IX}}}hidden"
#: Elements whose whole content is read when they end: nothing inside them is dropped before.
_KEEP = frozenset(f"{{{IX}}}{t}" for t in ("nonFraction", "nonNumeric", "continuation", "footnote"))
#: Where the reader drops what it has read (blocks, and header resources once handled).
_DROP_AT = frozenset(
    {f"{{{XHTML}}}{t}" for t in ("div", "p", "table", "tbody", "thead", "tr", "ul", "ol", "li", "section")}
    | {f"{{{XHTML}}}h{n}" for n in range(1, 7)}
    | {f"{{{XBRLI}}}context", f"{{{XBRLI}}}unit"}
)
_CODE_NAMES = frozenset(("script", "object", "embed", "iframe", "applet"))
_CODE_TAGS = frozenset(f"{{*}}{t}" for t in _CODE_NAMES)  # in any namespace: SVG has scripts too
_IX_HIDDEN_BYTES = re.compile(rb"-ix-hidden\s*:\s*([^;\s\"']+)", re.I)
# Attribute names cannot hide behind character references, so the bytes are a safe prefilter
# (a literal first, so the scan is fast; the whitespace before it, as in content="…" it is not,
# is checked per match). URL values can (&#106;avascript:), so those are
# read, decoded, from every element that can carry one.
_ON_ATTRIBUTE = re.compile(rb"on[a-z]+\s*=\s*[\"']")
_BEFORE_NAME = frozenset((b" ", b"\t", b"\r", b"\n", b":"))  # an attribute name starts after these
_URL_TAGS = frozenset(
    f"{{*}}{t}"
    for t in ("a", "area", "link", "form", "button", "input", "iframe", "frame", "embed", "object", "script")
)
_URL_ATTRIBUTES = ("href", "src", "action", "formaction", "data", f"{{{XLINK}}}href")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20]+")
_VISITED = sorted({f"{{{IX}}}*", f"{{{XHTML}}}img", f"{{{XHTML}}}base", "{*}image"} | _CODE_TAGS | _DROP_AT | _URL_TAGS)


def _ancestry(el: etree._Element) -> tuple[str | None, bool, bool]:
    """(xml:lang in force, inside ix:hidden, under a display:none style) in one walk up."""
    lang = el.get(XML_LANG)
    hidden = under_none = False
    node = el.getparent()
    while node is not None:
        if lang is None:
            lang = node.get(XML_LANG)
        if node.tag == IX_HIDDEN:
            hidden = True
        style = node.get("style")
        if style and _DISPLAY_NONE.search(style):
            under_none = True
        node = node.getparent()
    return lang, hidden, under_none


_LANG_BYTES = re.compile(rb"""xml:lang\s*=\s*["']([^"']*)["']""")


def _attribute_values(pattern: re.Pattern[bytes], data: bytes, doc: InlineDocument) -> list[tuple[bytes, Location]]:
    """Every match of ``pattern``'s group with its line, lines counted as the scan goes."""
    out: list[tuple[bytes, Location]] = []
    line, pos = 1, 0
    for m in pattern.finditer(data):
        line += data.count(b"\n", pos, m.start())
        pos = m.start()
        out.append((m.group(1), Location(line, doc.path)))
    return out


def _kept(el: etree._Element) -> bool:
    node = el.getparent()
    while node is not None:
        if node.tag in _KEEP:
            return True
        node = node.getparent()
    return False


class _Reader:
    def __init__(self, doc: InlineDocument, data: bytes) -> None:
        self.doc = doc
        # The raw bytes tell cheaply whether rarer constructs can be there at all.
        self.scan_on = any(data[m.start() - 1 : m.start()] in _BEFORE_NAME for m in _ON_ATTRIBUTE.finditer(data))
        self.scan_base = b"xml:base" in data
        # Attributes on any element, read from the bytes with their lines in one pass each.
        doc.langs.extend((v.decode("utf-8", "replace"), loc) for v, loc in _attribute_values(_LANG_BYTES, data, doc))
        if b"-ix-hidden" in data:
            found = _attribute_values(_IX_HIDDEN_BYTES, data, doc)
            doc.ix_hidden_refs.extend((v.decode("utf-8", "replace"), loc) for v, loc in found)

    def end(self, el: etree._Element) -> None:
        tag = el.tag
        if not isinstance(tag, str):
            return
        handler = _HANDLERS.get(tag)
        if handler is not None:
            handler(self.doc, el, *_ancestry(el))
        dropping = tag in _DROP_AT
        if not dropping or self.scan_on or self.scan_base:
            # The blocks dropped here carry none of the constructs looked for, bar the rare ones.
            self._xhtml(el, tag)
        if dropping and not _kept(el):
            # Done with it: drop it, and the siblings before it, to keep memory flat.
            el.clear()
            parent = el.getparent()
            if parent is not None:
                while el.getprevious() is not None:
                    del parent[0]

    def _xhtml(self, el: etree._Element, tag: str) -> None:
        doc = self.doc
        if tag.rpartition("}")[2] in _CODE_NAMES:
            doc.executable.append((etree.QName(el).localname, _loc(doc, el)))
        elif tag == f"{{{XHTML}}}img":
            doc.images.append(((el.get("src") or "").strip(), _loc(doc, el)))
        elif tag == f"{{{XHTML}}}base":
            doc.base_used.append(_loc(doc, el))
        elif tag.endswith("}image") and el.get("href"):
            doc.images.append(((el.get("href") or "").strip(), _loc(doc, el)))
        if self.scan_base and el.get(XML_BASE) is not None:
            doc.base_used.append(_loc(doc, el))
        if self.scan_on and any(str(k).rpartition("}")[2].startswith("on") for k in el.attrib):
            doc.executable.append(("on…", _loc(doc, el)))
        for name in _URL_ATTRIBUTES:
            value = el.get(name)
            if value and _CONTROL_OR_SPACE.sub("", value).lower().startswith("javascript:"):
                doc.executable.append(("javascript:", _loc(doc, el)))


def _loc(doc: InlineDocument, el: etree._Element) -> Location:
    return Location(_line(el), doc.path)


Handler = Callable[[InlineDocument, etree._Element, "str | None", bool, bool], None]


def _on_fact(kind: str) -> Handler:
    def handle(doc: InlineDocument, el: etree._Element, lang: str | None, hidden: bool, none: bool) -> None:
        fact = _fact(doc, el, kind, lang, hidden, none)
        _spend(doc, len(fact.text), el)
        doc.facts.append(fact)

    return handle


def _on_continuation(doc: InlineDocument, el: etree._Element, lang: str | None, hidden: bool, none: bool) -> None:
    text = _text(el)
    _spend(doc, len(text), el)
    doc.continuations[el.get("id") or ""] = (text, el.get("continuedAt"), _loc(doc, el))


def _spend(doc: InlineDocument, size: int, el: etree._Element) -> None:
    doc.text_budget -= size
    if doc.text_budget < 0:
        raise DocumentError("GW-IXBRL-16", _line(el), file=doc.path)


def _on_header(doc: InlineDocument, el: etree._Element, lang: str | None, hidden: bool, none: bool) -> None:
    doc.headers += 1


def _on_references(doc: InlineDocument, el: etree._Element, lang: str | None, hidden: bool, none: bool) -> None:
    for ref in el.iter(f"{{{LINK}}}schemaRef"):
        doc.schema_refs.append(ref.get(f"{{{XLINK}}}href") or "")


def _on_tuple(doc: InlineDocument, el: etree._Element, lang: str | None, hidden: bool, none: bool) -> None:
    doc.tuples.append(_loc(doc, el))


def _on_fraction(doc: InlineDocument, el: etree._Element, lang: str | None, hidden: bool, none: bool) -> None:
    doc.fractions.append(_loc(doc, el))


def _on_footnote(doc: InlineDocument, el: etree._Element, lang: str | None, hidden: bool, none: bool) -> None:
    doc.footnotes.append((el.get("id") or "", lang, _loc(doc, el)))


def _on_relationship(doc: InlineDocument, el: etree._Element, lang: str | None, hidden: bool, none: bool) -> None:
    doc.relationships.append((tuple((el.get("fromRefs") or "").split()), tuple((el.get("toRefs") or "").split())))


def _on_context(doc: InlineDocument, el: etree._Element, lang: str | None, hidden: bool, none: bool) -> None:
    _context(doc, el)


def _on_unit(doc: InlineDocument, el: etree._Element, lang: str | None, hidden: bool, none: bool) -> None:
    uid = el.get("id") or ""
    measures = []
    for m in el.iter(f"{{{XBRLI}}}measure"):
        qn = _clark(m, m.text)
        measures.append(f"{{{qn[0]}}}{qn[1]}" if qn else (m.text or "").strip())
    doc.units[uid] = Unit(uid, tuple(sorted(measures)), _loc(doc, el))


_HANDLERS: dict[str, Handler] = {
    f"{{{IX}}}nonFraction": _on_fact("nonFraction"),
    f"{{{IX}}}nonNumeric": _on_fact("nonNumeric"),
    f"{{{IX}}}continuation": _on_continuation,
    f"{{{IX}}}header": _on_header,
    f"{{{IX}}}references": _on_references,
    f"{{{IX}}}tuple": _on_tuple,
    f"{{{IX}}}fraction": _on_fraction,
    f"{{{IX}}}footnote": _on_footnote,
    f"{{{IX}}}relationship": _on_relationship,
    f"{{{XBRLI}}}context": _on_context,
    f"{{{XBRLI}}}unit": _on_unit,
}


def _text(el: etree._Element) -> str:
    """Text content without ``ix:exclude`` parts."""
    if el.find(f".//{{{IX}}}exclude") is None:
        return "".join(cast(Iterator[str], el.itertext()))
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            if child.tag != f"{{{IX}}}exclude":
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(el)
    return "".join(parts)


def _fact(
    doc: InlineDocument, el: etree._Element, kind: str, lang: str | None, hidden: bool, under_none: bool
) -> InlineFact:
    nsmap = el.nsmap  # built by walking the ancestors: once per fact
    concept = _clark(el, el.get("name"), nsmap)
    if concept is None:
        raise DocumentError("GW-IXBRL-13", _line(el), file=doc.path, name=el.get("name") or "")
    fmt_raw = el.get("format")
    fmt = _clark(el, fmt_raw, nsmap)
    if fmt_raw and fmt is None:
        raise DocumentError("GW-IXBRL-13", _line(el), file=doc.path, name=fmt_raw)
    if kind == "nonFraction":
        inner = el.find(f"{{{IX}}}nonFraction")
        text = _text(inner if inner is not None else el)
    else:
        text = _text(el)
    return InlineFact(
        kind=kind,
        namespace=concept[0],
        name=concept[1],
        context_ref=el.get("contextRef"),
        unit_ref=el.get("unitRef"),
        decimals=el.get("decimals"),
        precision=el.get("precision"),
        format=fmt,
        format_raw=fmt_raw,
        scale=el.get("scale"),
        sign=el.get("sign"),
        escape=(el.get("escape") or "").strip() in ("true", "1"),
        nil=(el.get(XSI_NIL) or "").strip() in ("true", "1"),
        text=text,
        continued_at=el.get("continuedAt"),
        id=el.get("id"),
        lang=lang,
        hidden=hidden,
        under_display_none=under_none,
        target=el.get("target"),
        has_markup=kind == "nonNumeric"
        and any(isinstance(c.tag, str) and not c.tag.startswith(f"{{{IX}}}") for c in el.iterdescendants()),
        location=_loc(doc, el),
    )


def _context(doc: InlineDocument, el: etree._Element) -> None:
    cid = el.get("id") or ""
    ident = el.find(f"{{{XBRLI}}}entity/{{{XBRLI}}}identifier")
    period = el.find(f"{{{XBRLI}}}period")
    if ident is None or period is None:
        raise DocumentError("GW-IXBRL-14", _line(el), file=doc.path, id=cid)
    instant = period.find(f"{{{XBRLI}}}instant")
    if instant is not None:
        p = Period("instant", None, (instant.text or "").strip())
    elif period.find(f"{{{XBRLI}}}forever") is not None:
        p = Period("forever", None, None)
    else:
        p = Period(
            "duration",
            (period.findtext(f"{{{XBRLI}}}startDate") or "").strip() or None,
            (period.findtext(f"{{{XBRLI}}}endDate") or "").strip() or None,
        )
    dims: list[tuple[str, str]] = []
    scenario = el.find(f"{{{XBRLI}}}scenario")
    if scenario is not None:
        for child in scenario:
            if not isinstance(child.tag, str):
                continue
            dim = _clark(child, child.get("dimension"))
            if child.tag == f"{{{XBRLDI}}}explicitMember" and dim is not None:
                member = _clark(child, child.text)
                dims.append((f"{{{dim[0]}}}{dim[1]}", f"{{{member[0]}}}{member[1]}" if member else ""))
            elif child.tag == f"{{{XBRLDI}}}typedMember" and dim is not None:
                dims.append((f"{{{dim[0]}}}{dim[1]}", "".join(cast(Iterator[str], child.itertext())).strip()))
            else:
                doc.foreign_scenario.append(cid)
    doc.contexts[cid] = Context(
        id=cid,
        scheme=(ident.get("scheme") or "").strip(),
        identifier=(ident.text or "").strip(),
        period=p,
        dimensions=tuple(sorted(dims)),
        has_segment=el.find(f"{{{XBRLI}}}entity/{{{XBRLI}}}segment") is not None,
        location=_loc(doc, el),
    )
