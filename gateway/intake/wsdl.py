"""Serving the WSDLs and the XSD. The address written into them comes from configuration
(GATEWAY_PUBLIC_URL, else the listener's own address), never from the request's Host
header, which the client controls."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from functools import cache

from aiohttp import web
from lxml import etree

from gateway.resources import schema_path
from gateway.settings import Settings

XSD_PATH = "/wus/2.0/digipoort-koppelvlak-1.2.xsd"
SOAP_ADDRESS = "{http://schemas.xmlsoap.org/wsdl/soap/}address"
XSD_IMPORT = "{http://www.w3.org/2001/XMLSchema}import"


@cache
def _template(name: str) -> bytes:
    return schema_path(f"wus/{name}").read_bytes()


def render_wsdl(name: str, base_url: str, path: str) -> bytes:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    doc = etree.fromstring(_template(name), parser)
    for addr in doc.iter(SOAP_ADDRESS):
        addr.set("location", base_url + path)
    for imp in doc.iter(XSD_IMPORT):
        imp.set("schemaLocation", base_url + XSD_PATH)
    return etree.tostring(doc, xml_declaration=True, encoding="utf-8")


def _host(host: str) -> str:
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def public_base_url(request: web.Request, settings: Settings) -> str:
    """The configured public URL; else the configured listener host with the port the
    connection actually reached (a wildcard host replaced by the local address it reached)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    local_host, port = (sockname[0], sockname[1]) if sockname else (settings.host, settings.port)
    host = local_host if settings.host in ("", "0.0.0.0", "::") else settings.host
    scheme = "http" if settings.proxy_cert_header else "https"
    return f"{scheme}://{_host(host)}:{port}"


def wsdl_endpoint(settings: Settings, name: str, path: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def get(request: web.Request) -> web.StreamResponse:
        if "wsdl" not in {k.lower() for k in request.query}:
            raise web.HTTPMethodNotAllowed("GET", ["POST"], text="Use POST for SOAP requests, or ?wsdl.")
        body = render_wsdl(name, public_base_url(request, settings), path)
        return web.Response(body=body, content_type="text/xml", charset="utf-8")

    return get


async def xsd(request: web.Request) -> web.StreamResponse:
    return web.Response(body=_template("digipoort-koppelvlak-1.2.xsd"), content_type="text/xml", charset="utf-8")
