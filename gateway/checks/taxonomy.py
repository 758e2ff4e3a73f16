"""Taxonomies: install once, compile per entrypoint a concept table, look it up when checking.

``gateway taxonomy add`` takes an XBRL taxonomy package (a zip with ``META-INF/catalog.xml``)
or a folder in URL layout (``<folder>/<host>/<path>`` is ``http://<host>/<path>``), finds the
KVK entrypoints in it, walks each entrypoint's DTS (schema imports and includes, linkbase
references and locators) and writes one concept table per entrypoint into the data dir:
name, type, period type, balance, abstract, nillable and substitution group of every item
and tuple, with what its type allows. The checks read only these tables, never the
taxonomy itself, so a check costs a dictionary lookup per fact.

Every document is parsed without DTDs, entities or network access; only files inside the
package or folder (or, for ``gateway check`` on local files, beside the instance) are read.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree

from gateway.resources import load_json

XS = "http://www.w3.org/2001/XMLSchema"
XBRLI = "http://www.xbrl.org/2003/instance"
LINK = "http://www.xbrl.org/2003/linkbase"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
CATALOG = "urn:oasis:names:tc:entity:xmlns:xml:catalog"
TP = "http://xbrl.org/2016/taxonomy-package"
FORMATTED = "formattedExplanationItemType"
#: Largest single taxonomy document read; the NT's largest label linkbases are a few MB.
MAX_DOCUMENT = 64 * 1024 * 1024
FORMAT_VERSION = 1


class TaxonomyError(Exception):
    """The package or folder cannot be installed; the message says why."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, remove_pis=True, huge_tree=True
    )


# ----------------------------------------------------------------------- where documents are


class Source:
    """Maps a document URL to its bytes inside a package, a URL-layout folder or local files."""

    name: str = ""
    #: Documents already read: what each contributes and refers to (None: not found).
    documents: dict[str, tuple[_Dts, list[str]] | None]

    def __init__(self) -> None:
        self.documents = {}

    def read(self, url: str) -> bytes | None:
        raise NotImplementedError

    def entrypoints(self) -> list[str]:
        return []


def _url_path(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    path = parts.path.lstrip("/")
    if ".." in path.split("/"):
        return None
    return f"{parts.netloc}/{path}"


class FolderSource(Source):
    """A folder in URL layout, or an unpacked taxonomy package (with META-INF/catalog.xml)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root.resolve()
        self.name = str(root)
        self.rewrites = _catalog_rewrites(self._file("META-INF/catalog.xml"), "META-INF/catalog.xml")

    def _file(self, rel: str) -> bytes | None:
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        if path.stat().st_size > MAX_DOCUMENT:
            raise TaxonomyError(f"{rel} is larger than {MAX_DOCUMENT} bytes")
        return path.read_bytes()

    def read(self, url: str) -> bytes | None:
        for prefix, target in self.rewrites:
            if url.startswith(prefix):
                return self._file(target + url[len(prefix) :])
        rel = _url_path(url)
        return self._file(rel) if rel else None

    def entrypoints(self) -> list[str]:
        found = _package_entrypoints(self._file("META-INF/taxonomyPackage.xml"))
        for path in self.root.rglob("*.xsd"):
            url = "http://" + path.relative_to(self.root).as_posix()
            if is_entrypoint(url):
                found.append(url)
        return sorted(set(found))


class ZipSource(Source):
    """An XBRL taxonomy package: a zip with one top folder holding META-INF/catalog.xml."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.name = str(path)
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise TaxonomyError(f"{path} is not a readable zip: {exc}") from None
        names = self.zip.namelist()
        catalog = next((n for n in names if n.endswith("META-INF/catalog.xml") and n.count("/") <= 2), None)
        self.top = catalog[: -len("META-INF/catalog.xml")] if catalog else ""
        self.members = set(names)
        self.rewrites = _catalog_rewrites(self._member("META-INF/catalog.xml"), "META-INF/catalog.xml")

    def _member(self, rel: str) -> bytes | None:
        name = _normalise(self.top + rel)
        if name is None or name not in self.members:
            return None
        if self.zip.getinfo(name).file_size > MAX_DOCUMENT:
            raise TaxonomyError(f"{name} is larger than {MAX_DOCUMENT} bytes")
        return self.zip.read(name)

    def read(self, url: str) -> bytes | None:
        for prefix, target in self.rewrites:
            if url.startswith(prefix):
                return self._member(target + url[len(prefix) :])
        return None

    def entrypoints(self) -> list[str]:
        found = _package_entrypoints(self._member("META-INF/taxonomyPackage.xml"))
        for name in self.members:
            if not name.startswith(self.top) or not name.endswith(".xsd"):
                continue
            rel = name[len(self.top) :]
            for prefix, target in self.rewrites:
                if rel.startswith(target) and is_entrypoint(url := prefix + rel[len(target) :]):
                    found.append(url)
        return sorted(set(found))


class LocalSource(Source):
    """Local files next to an instance (``gateway check`` on a filer's own machine only)."""

    name = "local files"

    def read(self, url: str) -> bytes | None:
        parts = urlsplit(url)
        if parts.scheme != "file":
            return None
        path = Path(parts.path)
        if not path.is_file() or path.stat().st_size > MAX_DOCUMENT:
            return None
        return path.read_bytes()


def _normalise(name: str) -> str | None:
    out: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not out:
                return None
            out.pop()
        else:
            out.append(part)
    return "/".join(out)


def _catalog_rewrites(data: bytes | None, where: str) -> list[tuple[str, str]]:
    if data is None:
        return []
    root = etree.fromstring(data, _parser())
    base = where.rsplit("/", 1)[0] + "/"
    rewrites = []
    for el in root.iter(f"{{{CATALOG}}}rewriteURI"):
        start, prefix = el.get("uriStartString"), el.get("rewritePrefix")
        if start and prefix is not None:
            target = _normalise(base + prefix)
            if target is not None:
                rewrites.append((start, target + ("/" if prefix.endswith("/") and target else "")))
    # Longest prefix first, as catalog resolution prescribes.
    return sorted(rewrites, key=lambda r: -len(r[0]))


def _package_entrypoints(data: bytes | None) -> list[str]:
    if data is None:
        return []
    root = etree.fromstring(data, _parser())
    return [href for el in root.iter(f"{{{TP}}}entryPointDocument") if (href := el.get("href"))]


def open_source(path: Path) -> Source:
    if path.is_dir():
        return FolderSource(path)
    if path.is_file():
        return ZipSource(path)
    raise TaxonomyError(f"{path} is neither a taxonomy package nor a folder")


@cache
def _entrypoint_pattern() -> re.Pattern[str]:
    return re.compile(load_json("kvk/entrypoints.json")["pattern"])


def is_entrypoint(url: str) -> bool:
    return bool(_entrypoint_pattern().match(url))


# ----------------------------------------------------------------------- compiling


@dataclass
class _Dts:
    elements: dict[str, dict[str, Any]] = field(default_factory=dict)
    types: dict[str, dict[str, Any]] = field(default_factory=dict)
    prefixes: dict[str, str] = field(default_factory=dict)
    documents: int = 0
    missing: list[str] = field(default_factory=list)


def _qname(el: etree._Element, value: str | None) -> str | None:
    if not value:
        return None
    prefix, _, local = value.strip().rpartition(":")
    ns = el.nsmap.get(prefix or None)
    return f"{{{ns}}}{local}" if ns else local


def _references(root: etree._Element, url: str) -> Iterator[str]:
    """Every document a schema or linkbase points to (document part of the reference)."""
    if root.tag == f"{{{XS}}}schema":
        for el in root.iter(f"{{{XS}}}import", f"{{{XS}}}include"):
            if loc := el.get("schemaLocation"):
                yield urljoin(url, loc.strip())
    for el in root.iter(f"{{{LINK}}}linkbaseRef", f"{{{LINK}}}loc", f"{{{LINK}}}roleRef", f"{{{LINK}}}arcroleRef"):
        if href := el.get(XLINK_HREF):
            doc = href.strip().split("#", 1)[0]
            if doc:
                yield urljoin(url, doc)


def _facets(node: etree._Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    enums = [e.get("value", "") for e in node.iter(f"{{{XS}}}enumeration")]
    if enums:
        out["enumeration"] = enums
    patterns = [e.get("value", "") for e in node.iter(f"{{{XS}}}pattern")]
    if patterns:
        out["pattern"] = patterns
    for facet in ("length", "minLength", "maxLength"):
        el = node.find(f".//{{{XS}}}{facet}")
        if el is not None and (v := el.get("value", "")).isdigit():
            out[facet] = int(v)
    return out


def _read_schema(dts: _Dts, root: etree._Element) -> None:
    tns = root.get("targetNamespace") or ""
    for prefix, ns in root.nsmap.items():
        if prefix and ns == tns and tns:
            dts.prefixes.setdefault(tns, prefix)
    for el in root.iterchildren(f"{{{XS}}}element"):
        if name := el.get("name"):
            dts.elements[f"{{{tns}}}{name}"] = {
                "type": _qname(el, el.get("type")),
                "substitutionGroup": _qname(el, el.get("substitutionGroup")),
                "abstract": el.get("abstract") in ("true", "1"),
                "nillable": el.get("nillable") in ("true", "1"),
                "periodType": el.get(f"{{{XBRLI}}}periodType"),
                "balance": el.get(f"{{{XBRLI}}}balance"),
            }
    for el in root.iterchildren(f"{{{XS}}}complexType", f"{{{XS}}}simpleType"):
        if name := el.get("name"):
            derivation = next(el.iter(f"{{{XS}}}restriction", f"{{{XS}}}extension"), None)
            base = _qname(derivation, derivation.get("base")) if derivation is not None else None
            dts.types[f"{{{tns}}}{name}"] = {"base": base, **_facets(el)}


def _document(source: Source, url: str) -> tuple[_Dts, list[str]] | None:
    """What one document contributes (its schema content) and what it refers to; read once
    per source, since the entrypoints of one taxonomy share most of their documents."""
    if url in source.documents:
        return source.documents[url]
    data = source.read(url)
    result = None
    if data is not None:
        try:
            root = etree.fromstring(data, _parser())
        except etree.XMLSyntaxError as exc:
            raise TaxonomyError(f"{url} is not well-formed XML: {exc.msg}") from None
        part = _Dts()
        if root.tag == f"{{{XS}}}schema":
            _read_schema(part, root)
        result = (part, list(_references(root, url)))
    source.documents[url] = result
    return result


def walk(source: Source, entrypoint: str) -> _Dts:
    """Discover the DTS of an entrypoint and read its schemas."""
    dts = _Dts()
    seen = {entrypoint}
    queue = [entrypoint]
    while queue:
        url = queue.pop()
        doc = _document(source, url)
        if doc is None:
            dts.missing.append(url)
            continue
        part, refs = doc
        dts.documents += 1
        dts.elements.update(part.elements)
        dts.types.update(part.types)
        for ns, prefix in part.prefixes.items():
            dts.prefixes.setdefault(ns, prefix)
        for ref in refs:
            if ref not in seen:
                seen.add(ref)
                queue.append(ref)
    return dts


@cache
def _item_types() -> tuple[dict[str, str], frozenset[str]]:
    data = load_json("xbrl/item-types.json")
    return dict(data["item_types"]), frozenset(data["numeric_bases"])


def _type_chain(dts: _Dts, type_name: str | None) -> tuple[str, bool, dict[str, Any]]:
    """(XML Schema base, derives from formattedExplanationItemType, facets) of a type."""
    item_types, _ = _item_types()
    facets: dict[str, Any] = {}
    patterns: list[list[str]] = []
    formatted = False
    current = type_name
    for _ in range(32):  # type hierarchies are shallow; a cycle must not hang us
        if current is None:
            break
        ns, _, local = current[1:].partition("}") if current.startswith("{") else ("", "", current)
        formatted = formatted or local == FORMATTED
        if ns == XBRLI and local in item_types:
            return item_types[local], formatted, _merged(facets, patterns)
        if ns == XS:
            return local, formatted, _merged(facets, patterns)
        entry = dts.types.get(current)
        if entry is None:
            break
        for key in ("enumeration", "length", "minLength", "maxLength"):
            if key in entry and key not in facets:
                facets[key] = entry[key]
        if "pattern" in entry:
            patterns.append(entry["pattern"])
        current = entry["base"]
    return "", formatted, _merged(facets, patterns)


def _merged(facets: dict[str, Any], patterns: list[list[str]]) -> dict[str, Any]:
    return {**facets, "pattern": patterns} if patterns else facets


def _kind(dts: _Dts, name: str) -> str | None:
    """'item' or 'tuple' by the substitution-group chain; None for anything else."""
    current: str | None = dts.elements[name]["substitutionGroup"]
    for _ in range(32):
        if current == f"{{{XBRLI}}}item":
            return "item"
        if current == f"{{{XBRLI}}}tuple":
            return "tuple"
        entry = dts.elements.get(current or "")
        if entry is None:
            return None
        current = entry["substitutionGroup"]
    return None


def compile_table(source: Source, entrypoint: str) -> dict[str, Any]:
    """The concept table of one entrypoint, as stored in the data dir."""
    dts = walk(source, entrypoint)
    if dts.documents == 0:
        raise TaxonomyError(f"{entrypoint} is not in {source.name}")
    concepts: dict[str, list[Any]] = {}
    facets: list[dict[str, Any]] = []
    facet_index: dict[str, int] = {}
    for name, el in dts.elements.items():
        kind = _kind(dts, name)
        if kind is None:
            continue
        base, formatted, fac = _type_chain(dts, el["type"])
        key = json.dumps(fac, sort_keys=True)
        if fac and key not in facet_index:
            facet_index[key] = len(facets)
            facets.append(fac)
        concepts[name] = [
            el["type"], base, formatted, el["periodType"], el["balance"], el["abstract"], el["nillable"],
            el["substitutionGroup"], kind, facet_index.get(key) if fac else None,
        ]  # fmt: skip
    return {
        "format": FORMAT_VERSION,
        "entrypoint": entrypoint,
        "source": source.name,
        "documents": dts.documents,
        "missing": sorted(dts.missing),
        "prefixes": dts.prefixes,
        "facets": facets,
        "concepts": concepts,
    }


# ----------------------------------------------------------------------- the compiled table


@dataclass(frozen=True, slots=True)
class Concept:
    name: str
    type: str | None
    base: str
    formatted: bool
    period_type: str | None
    balance: str | None
    abstract: bool
    nillable: bool
    substitution_group: str | None
    kind: str
    facets: dict[str, Any]

    @property
    def numeric(self) -> bool:
        return self.base in _item_types()[1]

    @property
    def monetary(self) -> bool:
        return self.base == "monetary"


class ConceptTable:
    def __init__(self, data: dict[str, Any]) -> None:
        self.entrypoint: str = data["entrypoint"]
        self.source: str = data["source"]
        self.prefixes: dict[str, str] = data["prefixes"]
        self._facets: list[dict[str, Any]] = data["facets"]
        self._raw: dict[str, list[Any]] = data["concepts"]
        self._cache: dict[str, Concept | None] = {}

    def __len__(self) -> int:
        return len(self._raw)

    def get(self, name: str) -> Concept | None:
        if name in self._cache:
            return self._cache[name]
        raw = self._raw.get(name)
        concept = None
        if raw is not None:
            facets = self._facets[raw[9]] if raw[9] is not None else {}
            concept = Concept(
                name=name, type=raw[0], base=raw[1], formatted=raw[2], period_type=raw[3], balance=raw[4],
                abstract=raw[5], nillable=raw[6], substitution_group=raw[7], kind=raw[8], facets=facets,
            )  # fmt: skip
        self._cache[name] = concept
        return concept


# ----------------------------------------------------------------------- installing and finding


def default_dir() -> Path:
    """Where installed tables live: ``$GATEWAY_DATA_DIR/taxonomies`` (the data dir's default)."""
    return Path(os.environ.get("GATEWAY_DATA_DIR", "data")) / "taxonomies"


def _file_for(entrypoint: str) -> str:
    return hashlib.sha256(entrypoint.encode()).hexdigest()[:24] + ".json"


@dataclass(frozen=True)
class Installed:
    entrypoint: str
    concepts: int
    documents: int
    missing: int
    compiled: bool


def install(path: Path, target: Path | None = None) -> list[Installed]:
    """Compile every KVK entrypoint of a package or URL-layout folder into ``target``."""
    target = target or default_dir()
    source = open_source(path)
    entrypoints = source.entrypoints()
    if not entrypoints:
        raise TaxonomyError(f"{path} contains no KVK entrypoint")
    target.mkdir(parents=True, exist_ok=True)
    index_path = target / "index.json"
    index: dict[str, str] = json.loads(index_path.read_text()) if index_path.exists() else {}
    done = []
    for ep in entrypoints:
        out = target / _file_for(ep)
        if index.get(ep) == out.name and out.exists():
            existing = json.loads(out.read_text())
            if existing.get("format") == FORMAT_VERSION:
                done.append(Installed(ep, len(existing["concepts"]), existing["documents"], 0, False))
                continue
        table = compile_table(source, ep)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(table, separators=(",", ":")))
        tmp.replace(out)
        index[ep] = out.name
        done.append(Installed(ep, len(table["concepts"]), table["documents"], len(table["missing"]), True))
    tmp_index = index_path.with_suffix(".tmp")
    tmp_index.write_text(json.dumps(index, indent=1, sort_keys=True))
    tmp_index.replace(index_path)
    return done


@lru_cache(maxsize=16)
def _load(path: Path, mtime: float) -> ConceptTable:
    return ConceptTable(json.loads(path.read_text()))


def installed(entrypoint: str, directory: Path | None = None) -> ConceptTable | None:
    directory = directory or default_dir()
    index_path = directory / "index.json"
    if not index_path.exists():
        return None
    name = json.loads(index_path.read_text()).get(entrypoint)
    if not name or not (directory / name).exists():
        return None
    path = directory / name
    return _load(path, path.stat().st_mtime)


#: Tables given for one run (``gateway check --taxonomy``) and the folder of the file being
#: checked (relative schemaRefs of local files); the worker sets neither.
extra_tables: ContextVar[OnDemand | None] = ContextVar("extra_tables", default=None)
local_base: ContextVar[Path | None] = ContextVar("local_base", default=None)


class OnDemand:
    """A package or folder given for one run: each entrypoint compiled in memory when an
    instance first refers to it."""

    def __init__(self, path: Path) -> None:
        self.source = open_source(path)
        self.entrypoints = set(self.source.entrypoints())
        self.tables: dict[str, ConceptTable] = {}

    def get(self, href: str) -> ConceptTable | None:
        if href not in self.entrypoints:
            return None
        if href not in self.tables:
            self.tables[href] = ConceptTable(compile_table(self.source, href))
        return self.tables[href]


def tables_from(path: Path) -> OnDemand:
    return OnDemand(path)


@lru_cache(maxsize=32)
def _local_table(url: str) -> ConceptTable | None:
    try:
        return ConceptTable(compile_table(LocalSource(), url))
    except TaxonomyError:
        return None


def table_for(href: str) -> ConceptTable | None:
    """The concept table for a schemaRef: given for this run, installed, or (for local
    files only) compiled from the schema beside the instance."""
    extra = extra_tables.get()
    if extra is not None and (table := extra.get(href)) is not None:
        return table
    if "://" in href:
        return installed(href)
    base = local_base.get()
    if base is None or not href:
        return None
    return _local_table((base / href).resolve().as_uri())


def valid_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True
