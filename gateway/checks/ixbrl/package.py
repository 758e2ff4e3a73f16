"""Reading a KVK report package (``.xbri``: a zip with one top-level folder holding
``META-INF/reportPackage.json``, ``reports/<report>/*.xhtml`` and the extension taxonomy).

Hardened: the zip's entry count, total unpacked size and per-entry compression ratio are
bounded before anything is unpacked, and every entry is read with a bound on its declared
size; absolute paths, ``..``, backslashes and nested archives are refused. Each breach is a
finding with its own code; nothing here raises on hostile input.
"""

from __future__ import annotations

import io
import json
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache, cached_property
from typing import Any

from lxml import etree

from gateway.checks import kvkdata
from gateway.checks.base import Finding, Reading, finding
from gateway.checks.ixbrl import transforms
from gateway.checks.ixbrl.inline import DocumentError, InlineDocument, InlineFact, _parser, read_document
from gateway.checks.ixbrl.taxonomy import Taxonomy, read_taxonomy
from gateway.checks.statement import IXBRL, Context, Entrypoint, Fact, Statement, Unit
from gateway.resources import load_json

ZIP_MAGIC = b"PK\x03\x04"
MAX_SCALE = 30
CATALOG = "urn:oasis:names:tc:entity:xmlns:xml:catalog"


@cache
def config() -> dict[str, Any]:
    return dict(load_json("kvk/ixbrl.json"))


@dataclass(frozen=True)
class Limits:
    max_package_bytes: int
    max_entries: int
    max_unpacked_bytes: int
    max_entry_ratio: int
    ratio_applies_from_bytes: int
    max_path_length: int

    @classmethod
    def default(cls) -> Limits:
        p = config()["package"]
        return cls(**{k: int(p[k]) for k in cls.__dataclass_fields__})


@dataclass
class Package:
    """A report package as read: its files (paths below the top-level folder), the inline
    documents of its one report, and the extension taxonomy."""

    name: str
    size: int
    files: dict[str, bytes]
    documents: list[InlineDocument] = field(default_factory=list)
    taxonomy: Taxonomy = field(default_factory=Taxonomy)
    #: The facts with their inline details, in document order, value computed.
    facts: list[tuple[InlineFact, Fact]] = field(default_factory=list)
    entrypoint_hrefs: list[str] = field(default_factory=list)

    @property
    def report_lang(self) -> str | None:
        return next((d.lang for d in self.documents if d.lang), None)

    @cached_property
    def rewrites(self) -> list[tuple[str, str]]:
        """META-INF/catalog.xml, read once."""
        return catalog(self.files)


class Refused(Exception):
    """The package cannot be read further; the findings say why."""

    def __init__(self, *found: Finding) -> None:
        super().__init__(found[0].code if found else "")
        self.found = found


# ----------------------------------------------------------------------- the zip


def _unsafe(name: str, limits: Limits) -> bool:
    if not name or len(name) > limits.max_path_length or "\\" in name or "\x00" in name:
        return True
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return True
    segments = name.rstrip("/").split("/")
    return any(s in ("", ".", "..") for s in segments) or any(ord(c) < 32 for c in name)


def _nested(name: str, head: bytes) -> bool:
    p = config()["package"]
    if name.lower().endswith(tuple(p["nested_suffixes"])):
        return True
    return any(head.startswith(bytes.fromhex(m)) for m in p["nested_magics_hex"])


def _entries(zf: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise Refused(finding("GW-PKG-02", count=len(infos), limit=limits.max_entries))
    bad = [i.filename for i in infos if _unsafe(i.filename, limits)]
    if bad:
        raise Refused(*(finding("GW-PKG-03", name=_printable(n)) for n in bad[:5]))
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise Refused(finding("GW-PKG-04", name=_printable(dup)))
    total = sum(i.file_size for i in infos)
    if total > limits.max_unpacked_bytes:
        raise Refused(finding("GW-PKG-05", size=total, limit=limits.max_unpacked_bytes))
    for i in infos:
        if i.flag_bits & 0x1:
            raise Refused(finding("GW-PKG-01", reason=f"{_printable(i.filename)} is versleuteld / is encrypted"))
        ratio = i.file_size / max(i.compress_size, 1)
        if i.file_size >= limits.ratio_applies_from_bytes and ratio > limits.max_entry_ratio:
            raise Refused(
                finding("GW-PKG-06", name=_printable(i.filename), ratio=int(ratio), limit=limits.max_entry_ratio)
            )
    return [i for i in infos if not i.is_dir()]


def _printable(name: str) -> str:
    """A zip entry name for a message: control and bidi characters shown as escapes."""
    return "".join(
        c
        if c.isprintable() and not 0x202A <= ord(c) <= 0x202E and not 0x2066 <= ord(c) <= 0x2069
        else f"\\u{ord(c):04x}"
        for c in name[:200]
    )


def _unpack(content: bytes, limits: Limits) -> dict[str, bytes]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise Refused(finding("GW-PKG-01", reason=str(exc)[:200])) from None
    with zf:
        files: dict[str, bytes] = {}
        for info in _entries(zf, limits):
            try:
                with zf.open(info) as fh:
                    data = fh.read(info.file_size + 1)
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError, ValueError) as exc:
                raise Refused(finding("GW-PKG-01", reason=f"{_printable(info.filename)}: {str(exc)[:200]}")) from None
            if len(data) != info.file_size:
                raise Refused(finding("GW-PKG-05", size=len(data), limit=info.file_size))
            if _nested(info.filename, data[:8]):
                raise Refused(finding("GW-PKG-07", name=_printable(info.filename)))
            files[info.filename] = data
    return files


def _layout(files: dict[str, bytes]) -> tuple[str, dict[str, bytes]]:
    """(top-level folder, files by their path below it)."""
    tops = {n.split("/", 1)[0] for n in files}
    loose = [n for n in files if "/" not in n]
    if len(tops) != 1 or loose:
        raise Refused(finding("GW-RP-01", found=", ".join(sorted(_printable(t) for t in tops))[:300] or "-"))
    (top,) = tops
    return top, {n.split("/", 1)[1]: data for n, data in files.items()}


def _package_json(files: dict[str, bytes]) -> Iterator[Finding]:
    raw = files.get("META-INF/reportPackage.json")
    if raw is None:
        yield finding("GW-RP-02")
        return
    try:
        data = json.loads(raw.decode("utf-8"))
        doc_type = data["documentInfo"]["documentType"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError):
        yield finding("GW-RP-03")
        return
    if doc_type != config()["package"]["document_type"]:
        yield finding("GW-RP-04", found=str(doc_type)[:200])


def _reports(files: dict[str, bytes]) -> list[str]:
    suffixes = tuple(config()["package"]["report_suffixes"])
    if not any(n.startswith("reports/") for n in files):
        raise Refused(finding("GW-RP-05"))
    docs = [n for n in files if n.startswith("reports/") and n.lower().endswith(suffixes)]
    # One report: the documents directly in reports/, or those in one reports/<sub>/ folder.
    folders = {posixpath.dirname(n) for n in docs}
    if not docs:
        raise Refused(finding("GW-RP-06"))
    if len(folders) > 1:
        raise Refused(finding("GW-RP-07", folders=", ".join(sorted(folders))[:300]))
    return sorted(docs)


# ----------------------------------------------------------------------- the report


def read_report_package(content: bytes, bestandsnaam: str, mime_type: str, limits: Limits | None = None) -> Reading:
    limits = limits or Limits.default()
    found: list[Finding] = []
    if len(content) > limits.max_package_bytes:
        found.append(finding("NL-KVK.8.1.1.1", size=len(content), limit=limits.max_package_bytes))
    if not bestandsnaam.lower().endswith(config()["package"]["suffix"]):
        found.append(finding("GW-IXBRL-03", name=_printable(bestandsnaam)))
    if mime_type.split(";")[0].strip().lower() not in config()["package"]["mime_types"]:
        found.append(finding("GW-IXBRL-04", mime=_printable(mime_type)))
    if not content.startswith(ZIP_MAGIC):
        return Reading(None, (*found, finding("GW-IXBRL-01")), route=IXBRL)
    try:
        _top, files = _layout(_unpack(content, limits))
        found.extend(_package_json(files))
        pkg = Package(bestandsnaam, len(content), files)
        for path in _reports(files):
            pkg.documents.append(read_document(path, files[path]))
        pkg.taxonomy = read_taxonomy(files)
    except Refused as refused:
        return Reading(None, (*found, *refused.found), route=IXBRL)
    except DocumentError as exc:
        where = f"{exc.params.get('file')}, regel {exc.line}" if exc.line else None
        return Reading(None, (*found, finding(exc.code, where, **exc.params)), route=IXBRL)
    statement, value_findings = build_statement(pkg)
    return Reading(statement, (*found, *value_findings), package=pkg, route=IXBRL)


# ----------------------------------------------------------------------- values


def _numeric(f: InlineFact) -> str:
    text = f.text
    if f.format is None:
        value = Decimal(transforms.plain_number(text))
    else:
        value = Decimal(transforms.apply(f.format[0], f.format[1], text))
    if f.scale:
        scale = int(f.scale)
        if not -MAX_SCALE <= scale <= MAX_SCALE:
            # Bounded: scale="1000000000" would ask for a number with a billion digits.
            raise transforms.TransformError(f.scale)
        value = value.scaleb(scale)
    if (f.sign or "").strip() == "-":
        value = -value
    return format(value, "f")


def _chain(f: InlineFact, continuations: Mapping[str, tuple[str, str | None, object]], used: set[str]) -> str:
    """The fact's text and its continuations'. A continuation belongs to one chain only
    (Inline XBRL 1.1), so ``used``, shared by all facts, keeps the total work linear even when
    many facts point into one long chain."""
    parts = [f.text]
    nxt = f.continued_at
    while nxt and nxt not in used and nxt in continuations:
        used.add(nxt)
        text, nxt, _loc = continuations[nxt]
        parts.append(text)
    return "".join(parts)


def fact_value(
    f: InlineFact, continuations: Mapping[str, tuple[str, str | None, object]], used: set[str] | None = None
) -> str:
    """The XBRL value of a tagged fact; TransformError/InvalidOperation when unreadable."""
    if f.nil:
        return ""
    if f.kind == "nonFraction":
        return _numeric(f)
    text = _chain(f, continuations, set() if used is None else used)
    if f.format is not None:
        return transforms.apply(f.format[0], f.format[1], text)
    return text.strip()


def build_statement(pkg: Package) -> tuple[Statement, list[Finding]]:
    accepted_tr = set(config()["transformations"]["accepted"])
    contexts: dict[str, Context] = {}
    units: dict[str, Unit] = {}
    continuations: dict[str, tuple[str, str | None, object]] = {}
    schema_refs: list[str] = []
    for doc in pkg.documents:
        contexts.update(doc.contexts)
        units.update(doc.units)
        continuations.update(doc.continuations)
        schema_refs.extend(doc.schema_refs)
    found: list[Finding] = []
    facts: list[Fact] = []
    used: set[str] = set()
    for doc in pkg.documents:
        for f in doc.facts:
            value = ""
            # A format outside TR4/TR5 is NL-KVK.3.2.3.1's finding; its value is not computed.
            if f.format is None or f.format[0] in accepted_tr:
                try:
                    value = fact_value(f, continuations, used)
                except (transforms.TransformError, InvalidOperation, ValueError):
                    found.append(
                        finding(
                            "GW-IXBRL-15",
                            str(f.location),
                            concept=f.name,
                            text=f.text.strip()[:80],
                            format=f.format_raw or "-",
                        )
                    )
            fact = Fact(
                f.namespace, f.name, f.context_ref, f.unit_ref, f.decimals, value, f.location, f.nil, f.lang, f.id
            )
            facts.append(fact)
            pkg.facts.append((f, fact))
    pkg.entrypoint_hrefs = entrypoint_hrefs(pkg, schema_refs)
    statement = Statement(
        route=IXBRL,
        lang=pkg.report_lang,
        contexts=contexts,
        units=units,
        facts=tuple(facts),
        schema_refs=tuple(schema_refs),
        entrypoint=entrypoint_of(pkg.entrypoint_hrefs),
        kvk=kvkdata.derive(facts, contexts),
    )
    return statement, found


# ----------------------------------------------------------------------- entrypoint


def catalog(files: Mapping[str, bytes]) -> list[tuple[str, str]]:
    """META-INF/catalog.xml's rewriteURI entries as (prefix, package path)."""
    raw = files.get("META-INF/catalog.xml")
    if raw is None:
        return []
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError:
        return []
    out = []
    for el in root.iter(f"{{{CATALOG}}}rewriteURI"):
        start = el.get("uriStartString") or ""
        target = posixpath.normpath(posixpath.join("META-INF", el.get("rewritePrefix") or ""))
        out.append((start, target.rstrip("/") + "/"))
    return out


def resolve_in_package(pkg: Package, href: str, base: str) -> str | None:
    for start, target in pkg.rewrites:
        if start and href.startswith(start):
            path = posixpath.normpath(target + href[len(start) :])
            return path if path in pkg.files else None
    if "://" in href:
        return None
    path = posixpath.normpath(posixpath.join(posixpath.dirname(base), href))
    return path if path in pkg.files else None


def entrypoint_hrefs(pkg: Package, schema_refs: list[str]) -> list[str]:
    """The KVK entrypoints the report uses: a schemaRef straight to one (other GAAP), or what
    the extension schema it names imports (NL-GAAP, IFRS)."""
    pattern = re.compile(config()["entrypoint_pattern"])
    out: list[str] = []
    for href in schema_refs:
        if pattern.match(href):
            out.append(href)
            continue
        first_doc = pkg.documents[0].path if pkg.documents else "reports/x"
        path = resolve_in_package(pkg, href, first_doc)
        schema = pkg.taxonomy.schemas.get(path or "")
        if schema is not None:
            out.extend(loc for loc in schema.imports if loc.startswith("https://www.nltaxonomie.nl/kvk/"))
    return out


def entrypoint_of(hrefs: list[str]) -> Entrypoint | None:
    pattern = re.compile(config()["entrypoint_pattern"])
    for href in hrefs:
        m = pattern.match(href)
        if m is None:
            continue
        version = config()["versions"].get(m.group("version"))
        basis = version["entrypoints"].get(m.group("basis")) if version else None
        return Entrypoint(
            href=href,
            route=IXBRL,
            version=m.group("version"),
            year=int(version["year"]) if version else None,
            size_class=None,
            basis=basis,
            listed=version is not None,
            known=bool(version and version["accepted"] and basis is not None),
        )
    return None
