"""What a SOAP client or code generator sees of a WSDL or XSD, as plain comparable data.

Formatting, prefixes, comments, declaration order, documentation wording and defaulted
attributes (``nillable="false"``, ``style="document"``, ``namespace=""`` on soap:fault) are
not visible to a generator and are normalised away; everything else is kept. ``differences``
names each place where two models disagree, as a path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
XSD = "http://www.w3.org/2001/XMLSchema"
WSP = "http://schemas.xmlsoap.org/ws/2004/09/policy"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSAW = "http://www.w3.org/2006/05/addressing/wsdl"
WSAM = "http://www.w3.org/2007/05/addressing/metadata"

Model = dict[str, Any]


def _parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True))


def _qname(el: etree._Element, value: str | None) -> str | None:
    """A QName-valued attribute as {namespace}local, whatever prefix the file used."""
    if value is None:
        return None
    prefix, _, local = value.rpartition(":")
    ns = el.nsmap.get(prefix or None)
    return f"{{{ns}}}{local}" if ns else local


def _children(el: etree._Element, ns: str, name: str) -> list[etree._Element]:
    return [c for c in el if c.tag == f"{{{ns}}}{name}"]


def _action(el: etree._Element) -> str | None:
    return el.get(f"{{{WSAW}}}Action") or el.get(f"{{{WSAM}}}Action")


def _policy_refs(el: etree._Element) -> list[str | None]:
    return [r.get("URI") for r in _children(el, WSP, "PolicyReference")]


def _generic(el: etree._Element) -> Any:
    """Any element tree as (tag, attributes, text, children), without whitespace-only text."""
    attrs = tuple(sorted((k, v) for k, v in el.attrib.items()))
    text = (el.text or "").strip()
    return (el.tag, attrs, text, tuple(_generic(c) for c in el if isinstance(c.tag, str)))


def _io(op: etree._Element, kind: str) -> Any:
    found = _children(op, WSDL, kind)
    if not found:
        return None
    io = found[0]
    return {"name": io.get("name"), "message": _qname(io, io.get("message")), "action": _action(io)}


def _port_type(pt: etree._Element) -> Model:
    ops: Model = {}
    for op in _children(pt, WSDL, "operation"):
        faults = {
            f.get("name"): {"message": _qname(f, f.get("message")), "action": _action(f)}
            for f in _children(op, WSDL, "fault")
        }
        ops[op.get("name") or ""] = {"input": _io(op, "input"), "output": _io(op, "output"), "faults": faults}
    return ops


def _binding_io(op: etree._Element, kind: str) -> Any:
    found = _children(op, WSDL, kind)
    if not found:
        return None
    io = found[0]
    bodies = [
        {"use": b.get("use"), "parts": b.get("parts"), "namespace": b.get("namespace") or None}
        for b in _children(io, SOAP, "body")
    ]
    return {
        "name": io.get("name"),
        "body": bodies,
        "policy": _policy_refs(io),
        "headers": [_generic(h) for h in _children(io, SOAP, "header")],
    }


def _binding(b: etree._Element) -> Model:
    soap = _children(b, SOAP, "binding")
    ops: Model = {}
    for op in _children(b, WSDL, "operation"):
        soap_op = _children(op, SOAP, "operation")
        faults = {}
        for f in _children(op, WSDL, "fault"):
            sf = _children(f, SOAP, "fault")
            faults[f.get("name")] = [
                {"name": s.get("name"), "use": s.get("use"), "namespace": s.get("namespace") or None} for s in sf
            ]
        ops[op.get("name") or ""] = {
            "soapAction": soap_op[0].get("soapAction") if soap_op else None,
            "style": (soap_op[0].get("style") if soap_op else None) or "document",
            "input": _binding_io(op, "input"),
            "output": _binding_io(op, "output"),
            "faults": faults,
        }
    return {
        "type": _qname(b, b.get("type")),
        "soap_binding": [{"style": s.get("style") or "document", "transport": s.get("transport")} for s in soap],
        "policy": _policy_refs(b),
        "addressing": [_generic(u) for u in _children(b, WSAW, "UsingAddressing")],
        "operations": ops,
    }


def _types(defs: etree._Element) -> list[Any]:
    schemas = []
    for types in _children(defs, WSDL, "types"):
        for schema in _children(types, XSD, "schema"):
            schemas.append(
                {
                    "targetNamespace": schema.get("targetNamespace"),
                    "elementFormDefault": schema.get("elementFormDefault") or "unqualified",
                    # The schemaLocation is an address, like soap:address: it may differ.
                    "imports": sorted(i.get("namespace") or "" for i in _children(schema, XSD, "import")),
                    "declarations": [c.tag for c in schema if isinstance(c.tag, str) and c.tag != f"{{{XSD}}}import"],
                }
            )
    return schemas


def wsdl_model(data: bytes) -> Model:
    defs = _parse(data)
    return {
        "targetNamespace": defs.get("targetNamespace"),
        "name": defs.get("name"),
        "documentation": bool(_children(defs, WSDL, "documentation")),
        "imports": [_generic(i) for i in _children(defs, WSDL, "import")],
        "types": _types(defs),
        "messages": {
            m.get("name"): [
                {"name": p.get("name"), "element": _qname(p, p.get("element")), "type": _qname(p, p.get("type"))}
                for p in _children(m, WSDL, "part")
            ]
            for m in _children(defs, WSDL, "message")
        },
        "portTypes": {pt.get("name"): _port_type(pt) for pt in _children(defs, WSDL, "portType")},
        "bindings": {b.get("name"): _binding(b) for b in _children(defs, WSDL, "binding")},
        "services": {
            s.get("name"): {
                p.get("name"): {
                    "binding": _qname(p, p.get("binding")),
                    # The address itself is the one thing that differs; its kind may not.
                    "address": [a.tag for a in p if isinstance(a.tag, str)],
                }
                for p in _children(s, WSDL, "port")
            }
            for s in _children(defs, WSDL, "service")
        },
        "policies": {p.get(f"{{{WSU}}}Id"): _generic(p) for p in _children(defs, WSP, "Policy")},
    }


# ----------------------------------------------------------------------------- XSD


def _documented(el: etree._Element) -> bool:
    return any(_children(a, XSD, "documentation") for a in _children(el, XSD, "annotation"))


def _simple(st: etree._Element) -> Model:
    out: Model = {"documented": _documented(st)}
    for r in _children(st, XSD, "restriction"):
        out["base"] = _qname(r, r.get("base"))
        out["facets"] = sorted(
            (etree.QName(f).localname, f.get("value") or "")
            for f in r
            if isinstance(f.tag, str)
            if f.tag != f"{{{XSD}}}annotation"
        )
    for other in ("list", "union"):
        if _children(st, XSD, other):
            out[other] = [_generic(x) for x in _children(st, XSD, other)]
    return out


def _element(el: etree._Element) -> Model:
    inline_simple = _children(el, XSD, "simpleType")
    inline_complex = _children(el, XSD, "complexType")
    return {
        "name": el.get("name"),
        "ref": _qname(el, el.get("ref")),
        "type": _qname(el, el.get("type")),
        "minOccurs": el.get("minOccurs", "1"),
        "maxOccurs": el.get("maxOccurs", "1"),
        "nillable": el.get("nillable", "false"),
        "default": el.get("default"),
        "fixed": el.get("fixed"),
        "simpleType": _simple(inline_simple[0]) if inline_simple else None,
        "complexType": _complex(inline_complex[0]) if inline_complex else None,
    }


def _particles(group: etree._Element) -> list[Any]:
    out: list[Any] = []
    for c in group:
        if c.tag == f"{{{XSD}}}element":
            out.append(_element(c))
        elif c.tag in (f"{{{XSD}}}sequence", f"{{{XSD}}}choice", f"{{{XSD}}}all"):
            out.append(
                {
                    etree.QName(c).localname: _particles(c),
                    "minOccurs": c.get("minOccurs", "1"),
                    "maxOccurs": c.get("maxOccurs", "1"),
                }
            )
        elif isinstance(c.tag, str) and c.tag != f"{{{XSD}}}annotation":
            out.append(_generic(c))
    return out


def _complex(ct: etree._Element) -> Model:
    return {
        "documented": _documented(ct),
        "mixed": ct.get("mixed", "false"),
        "abstract": ct.get("abstract", "false"),
        "content": _particles(ct),
    }


def xsd_model(data: bytes) -> Model:
    schema = _parse(data)
    kinds = {"element": _element, "complexType": _complex, "simpleType": _simple}
    model: Model = {
        "targetNamespace": schema.get("targetNamespace"),
        "elementFormDefault": schema.get("elementFormDefault") or "unqualified",
        "attributeFormDefault": schema.get("attributeFormDefault") or "unqualified",
    }
    for kind, read in kinds.items():
        model[kind] = {c.get("name"): read(c) for c in _children(schema, XSD, kind)}
    model["other"] = sorted(
        etree.QName(c).localname
        for c in schema
        if isinstance(c.tag, str) and etree.QName(c).localname not in (*kinds, "annotation")
    )
    return model


# ----------------------------------------------------------------------------- comparing


def differences(official: Any, served: Any, path: str = "") -> Iterator[str]:
    """Each place where ``served`` differs from ``official``, as 'path: official … served …'."""
    if isinstance(official, dict) and isinstance(served, dict):
        for key in sorted(set(official) | set(served), key=str):
            where = f"{path}/{key}"
            if key not in served:
                yield f"{where}: missing in the served file"
            elif key not in official:
                yield f"{where}: not in the official file"
            else:
                yield from differences(official[key], served[key], where)
    elif isinstance(official, list) and isinstance(served, list) and len(official) == len(served):
        for i, (a, b) in enumerate(zip(official, served, strict=True)):
            yield from differences(a, b, f"{path}[{i}]")
    elif official != served:
        yield f"{path}: official {official!r}, served {served!r}"
