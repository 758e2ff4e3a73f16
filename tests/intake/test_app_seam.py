"""The intake app in process (aiohttp's test client against ``create_app``), at the seam
between HTTP and the protocol code: no TLS here, so the client certificate comes the way a
TLS proxy passes it on (proxy mode)."""

from __future__ import annotations

import base64
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient, TestServer
from arq.connections import ArqRedis
from lxml import etree

from gateway.intake.app import create_app
from gateway.intake.offload import INLINE_BYTES
from gateway.intake.senders import SenderDirectory
from gateway.intake.trust import CertificateChecker, CrlStore, load_bundle
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.wus import wssec
from tests.support.pki import Pki
from tests.support.raw import AANLEVER_ACTION, aanlever_envelope
from tests.support.smtp import free_port
from tests.support.wus_client import ClientCert

KV = "http://logius.nl/digipoort/koppelvlakservices/1.2/"
A = "http://www.w3.org/2005/08/addressing"
STATUS_ACTION = (
    "http://logius.nl/digipoort/wus/2.0/statusinformatieservice/1.2/StatusinformatieService/getStatussenProcesRequest"
)


@pytest.fixture
async def client(pki: Pki, tmp_path: Path) -> AsyncIterator[TestClient[object, object]]:
    settings = Settings(
        data_dir=tmp_path,
        proxy_cert_header="X-Client-Cert",
        trusted_proxies=("127.0.0.1",),
        public_url="https://gateway.example",
        oin="00000004000000000099",
        sign_responses=False,
    )
    store = Store.from_url(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}")
    await store.init_schema()
    # Nothing listens here: queueing fails, which intake survives (the reconciler queues later).
    pool = ArqRedis(host="127.0.0.1", port=free_port())
    bundle = load_bundle(pki.client_bundle)
    checker = CertificateChecker(bundle, CrlStore([], tmp_path / "crl", bundle))
    app = create_app(settings, store, pool, SenderDirectory({}, None), checker)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client
    await pool.aclose()
    await store.close()


async def _post(
    client: TestClient[object, object], cert: ClientCert, body: bytes, path: str, action: str
) -> tuple[int, etree._Element]:
    response = await client.post(
        path,
        data=body,
        headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{action}"',
            "X-Client-Cert": quote(cert.cert.read_text()),
        },
    )
    return response.status, etree.fromstring(await response.read())


def _sign(envelope: bytes, cert: ClientCert, *, wrap_token: bool = False) -> bytes:
    env = etree.fromstring(envelope)
    wssec.sign(env, cert.key.read_bytes(), cert.cert.read_bytes(), sha1=True)
    if wrap_token:
        # As xmlsec and zeep write it: 64-character lines (whitespace is allowed in base64Binary).
        token = env.find(f".//{{{wssec.WSSE}}}BinarySecurityToken")
        assert token is not None and token.text
        token.text = "\n" + "\n".join(textwrap.wrap(token.text, 64)) + "\n"
    return etree.tostring(env)


async def test_wsdl_address_is_configured_not_the_host_header(client: TestClient[object, object]) -> None:
    response = await client.get("/wus/2.0/ophaalservice/1.2?wsdl", headers={"Host": "evil.example"})
    doc = etree.fromstring(await response.read())
    (address,) = doc.iter("{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address.get("location") == "https://gateway.example/wus/2.0/ophaalservice/1.2"


async def test_base64_with_whitespace_is_accepted_and_retransmission_keeps_the_kenmerk(
    client: TestClient[object, object], pki: Pki
) -> None:
    cert = pki.client("filer-a")
    inhoud = "\n".join(textwrap.wrap(base64.b64encode(b"<xbrl/>" * 40).decode(), 76))
    message = _sign(aanlever_envelope(inhoud), cert, wrap_token=True)
    status, reply = await _post(client, cert, message, "/wus/2.0/aanleverservice/1.2", AANLEVER_ACTION)
    assert status == 200, etree.tostring(reply)
    kenmerk = reply.findtext(f".//{{{KV}}}kenmerk")
    ontvanger = reply.find(f".//{{{KV}}}identiteitOntvanger")
    assert ontvanger is not None and ontvanger.findtext(f"{{{KV}}}nummer") == "00000004000000000099"
    status, again = await _post(client, cert, message, "/wus/2.0/aanleverservice/1.2", AANLEVER_ACTION)
    assert status == 200 and again.findtext(f".//{{{KV}}}kenmerk") == kenmerk


async def test_an_empty_value_the_xsd_allows_gets_a_business_fault(
    client: TestClient[object, object], pki: Pki
) -> None:
    cert = pki.client("filer-a")
    body = aanlever_envelope("PHgvPg==").replace(b"<mimeType>application/xml</mimeType>", b"<mimeType></mimeType>")
    status, reply = await _post(client, cert, _sign(body, cert), "/wus/2.0/aanleverservice/1.2", AANLEVER_ACTION)
    assert status == 500
    assert reply.findtext(f".//{{{KV}}}foutcode") == "ALS100"
    assert "berichtInhoud/mimeType is leeg" in (reply.findtext(f".//{{{KV}}}foutbeschrijving") or "")


async def test_a_fault_relates_to_the_request_and_answers_its_operation(
    client: TestClient[object, object], pki: Pki
) -> None:
    cert = pki.client("filer-a")
    message_id = f"urn:uuid:{uuid.uuid4()}"
    envelope = (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing">'
        f"<s:Header><a:Action>{STATUS_ACTION}</a:Action><a:MessageID>{message_id}</a:MessageID></s:Header>"
        f'<s:Body><getStatussenProcesRequest xmlns="{KV}"><kenmerk>unknown</kenmerk></getStatussenProcesRequest>'
        "</s:Body></s:Envelope>"
    ).encode()
    status, reply = await _post(
        client, cert, _sign(envelope, cert), "/wus/2.0/statusinformatieservice/1.2", STATUS_ACTION
    )
    assert status == 500
    assert reply.findtext(f".//{{{KV}}}foutcode") == "STS100"
    assert reply.findtext(f".//{{{A}}}RelatesTo") == message_id
    assert reply.findtext(f".//{{{A}}}Action", "").endswith("/StatusinformatieService/getStatussenProces/Fault/")


async def test_a_large_message_is_handled_off_the_event_loop_with_the_same_answers(
    client: TestClient[object, object], pki: Pki
) -> None:
    # Above INLINE_BYTES parsing, verifying and decoding run on a worker thread: accepted,
    # refused and faulted exactly as on the loop.
    cert = pki.client("filer-a")
    inhoud = base64.b64encode(b"<xbrl>" + b"<fact>1</fact>" * 30_000 + b"</xbrl>").decode()
    for envelope in (aanlever_envelope(inhoud), aanlever_envelope(instance=b"<xbrl/>")):
        message = _sign(envelope, cert)
        status, reply = await _post(client, cert, message, "/wus/2.0/aanleverservice/1.2", AANLEVER_ACTION)
        assert status == 200 and reply.findtext(f".//{{{KV}}}kenmerk"), etree.tostring(reply)
    large = _sign(aanlever_envelope(inhoud), cert)
    assert len(large) > INLINE_BYTES
    piece = inhoud[4000:4008].encode()
    tampered = large.replace(piece, piece[::-1] if piece != piece[::-1] else b"AAAAAAAA", 1)
    assert tampered != large
    status, reply = await _post(client, cert, tampered, "/wus/2.0/aanleverservice/1.2", AANLEVER_ACTION)
    assert status == 500 and "de handtekening klopt niet" in (reply.findtext(f".//{{{KV}}}foutbeschrijving") or "")
    bad_base64 = _sign(aanlever_envelope(inhoud[:-8] + "!!!!!!!!"), cert)
    status, reply = await _post(client, cert, bad_base64, "/wus/2.0/aanleverservice/1.2", AANLEVER_ACTION)
    assert status == 500 and reply.findtext(f".//{{{KV}}}foutcode") == "ALS100"
