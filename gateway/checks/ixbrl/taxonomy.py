"""The company's extension taxonomy in a report package: its schemas and linkbases, read
with the same hardened parser as the reports, reduced to what the NL-KVK rules (4.x and the
RTS Annex IV ones) look at. Locators are resolved within the package; whatever points outside
it is the KVK/NT base taxonomy, which the gateway does not load."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from gateway.checks.ixbrl.inline import LINK, XLINK, DocumentError, _line, _parser, _without_doctype
from gateway.checks.statement import Location

XS = "http://www.w3.org/2001/XMLSchema"
XBRLI = "http://www.xbrl.org/2003/instance"
XBRLDT = "http://xbrl.org/2005/xbrldt"
DIM_ARCROLES = frozenset(
    f"http://xbrl.org/int/dim/arcrole/{a}"
    for a in ("all", "notAll", "hypercube-dimension", "dimension-domain", "domain-member", "dimension-default")
)
ALL = "http://xbrl.org/int/dim/arcrole/all"
NOT_ALL = "http://xbrl.org/int/dim/arcrole/notAll"
DIMENSION_DOMAIN = "http://xbrl.org/int/dim/arcrole/dimension-domain"
DOMAIN_MEMBER = "http://xbrl.org/int/dim/arcrole/domain-member"
DIMENSION_DEFAULT = "http://xbrl.org/int/dim/arcrole/dimension-default"
WIDER_NARROWER = "http://www.esma.europa.eu/xbrl/esef/arcrole/wider-narrower"
LINK_KINDS = {
    "presentationLink": "pre",
    "calculationLink": "cal",
    "definitionLink": "def",
    "labelLink": "lab",
    "referenceLink": "ref",
}


@dataclass(frozen=True, slots=True)
class Concept:
    key: str  # "file.xsd#id"
    namespace: str
    name: str
    type: str  # Clark notation
    substitution_group: str
    abstract: bool
    balance: str | None
    typed_domain: bool
    location: Location


@dataclass(frozen=True, slots=True)
class Arc:
    kind: str  # pre, cal, def
    role: str
    arcrole: str
    source: str  # concept key: package "file.xsd#id", or the absolute href of a base concept
    target: str
    closed: str | None
    context_element: str | None
    location: Location
    preferred_label: str | None = None
    prohibited: bool = False


@dataclass(frozen=True, slots=True)
class Label:
    concept: str
    role: str
    lang: str | None
    location: Location


@dataclass
class Schema:
    path: str
    target_namespace: str
    imports: list[str] = field(default_factory=list)  # schemaLocations
    #: Names of the simple and complex types the schema defines, with their lines.
    types: list[tuple[str, Location]] = field(default_factory=list)


@dataclass
class Taxonomy:
    schemas: dict[str, Schema] = field(default_factory=dict)
    concepts: dict[str, Concept] = field(default_factory=dict)
    arcs: list[Arc] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    #: linkbase file -> the kinds of extended link in it
    linkbase_kinds: dict[str, set[str]] = field(default_factory=dict)

    @property
    def namespaces(self) -> set[str]:
        return {s.target_namespace for s in self.schemas.values()}

    def concept_by_qname(self) -> dict[tuple[str, str], Concept]:
        return {(c.namespace, c.name): c for c in self.concepts.values()}


def _qname(el: etree._Element, value: str | None) -> str:
    if not value:
        return ""
    prefix, _, local = value.strip().rpartition(":")
    ns = el.nsmap.get(prefix or None)
    return f"{{{ns}}}{local}" if ns else value


def read_taxonomy(files: Mapping[str, bytes]) -> Taxonomy:
    """The extension taxonomy: every .xsd and linkbase .xml outside META-INF/ and reports/."""
    tax = Taxonomy()
    for path in sorted(files):
        if path.startswith(("META-INF/", "reports/")) or not path.endswith((".xsd", ".xml")):
            continue
        data, _doctype = _without_doctype(path, files[path])
        try:
            root = etree.fromstring(data, _parser())
        except etree.XMLSyntaxError as exc:
            raise DocumentError("GW-IXBRL-10", exc.lineno, file=path, reason=exc.msg) from None
        if root.tag == f"{{{XS}}}schema":
            _schema(tax, path, root)
        elif root.tag == f"{{{LINK}}}linkbase":
            _linkbase(tax, path, root)
    return tax


def _schema(tax: Taxonomy, path: str, root: etree._Element) -> None:
    schema = Schema(path, root.get("targetNamespace") or "")
    for imp in root.iter(f"{{{XS}}}import"):
        schema.imports.append(imp.get("schemaLocation") or "")
    tax.schemas[path] = schema
    for t in (*root.iterchildren(f"{{{XS}}}simpleType"), *root.iterchildren(f"{{{XS}}}complexType")):
        schema.types.append((t.get("name") or "", Location(_line(t), path)))
    for el in root.iterchildren(f"{{{XS}}}element"):
        cid = el.get("id") or ""
        key = f"{path}#{cid}"
        tax.concepts[key] = Concept(
            key=key,
            namespace=schema.target_namespace,
            name=el.get("name") or "",
            type=_qname(el, el.get("type")),
            substitution_group=_qname(el, el.get("substitutionGroup")),
            abstract=(el.get("abstract") or "").strip() == "true",
            balance=el.get(f"{{{XBRLI}}}balance"),
            typed_domain=el.get(f"{{{XBRLDT}}}typedDomainRef") is not None,
            location=Location(_line(el), path),
        )


def resolve(base_file: str, href: str) -> str:
    """A locator's href as a concept key: within the package relative to the linkbase file,
    else (the base taxonomy) as written."""
    if "://" in href:
        return href
    doc, _, frag = href.partition("#")
    return f"{posixpath.normpath(posixpath.join(posixpath.dirname(base_file), doc))}#{frag}"


def _linkbase(tax: Taxonomy, path: str, root: etree._Element) -> None:
    kinds: set[str] = set()
    for link in root:
        kind = LINK_KINDS.get(etree.QName(link).localname) if isinstance(link.tag, str) else None
        if kind is not None:
            kinds.add(kind)
            _extended_link(tax, path, kind, link)
    tax.linkbase_kinds[path] = kinds


def _extended_link(tax: Taxonomy, path: str, kind: str, link: etree._Element) -> None:
    role = link.get(f"{{{XLINK}}}role") or ""
    locs: dict[str, str] = {}
    resources: dict[str, etree._Element] = {}
    arcs: list[etree._Element] = []
    for el in link:
        t = el.get(f"{{{XLINK}}}type") if isinstance(el.tag, str) else None
        label = el.get(f"{{{XLINK}}}label") or ""
        if t == "locator":
            locs[label] = resolve(path, el.get(f"{{{XLINK}}}href") or "")
        elif t == "resource":
            resources[label] = el
        elif t == "arc":
            arcs.append(el)
    for arc in arcs:
        frm = locs.get(arc.get(f"{{{XLINK}}}from") or "")
        to = arc.get(f"{{{XLINK}}}to") or ""
        loc = Location(_line(arc), path)
        if frm is None:
            continue
        if kind == "lab":
            res = resources.get(to)
            if res is not None:
                lang = res.get("{http://www.w3.org/XML/1998/namespace}lang")
                tax.labels.append(Label(frm, res.get(f"{{{XLINK}}}role") or "", lang, loc))
        elif to in locs:
            arcrole = arc.get(f"{{{XLINK}}}arcrole") or ""
            closed, element = arc.get(f"{{{XBRLDT}}}closed"), arc.get(f"{{{XBRLDT}}}contextElement")
            preferred, prohibited = arc.get("preferredLabel"), (arc.get("use") or "").strip() == "prohibited"
            tax.arcs.append(Arc(kind, role, arcrole, frm, locs[to], closed, element, loc, preferred, prohibited))
