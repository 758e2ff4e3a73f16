"""A TLS-terminating reverse proxy for tests that drops chosen connections.

It stands where nginx stands in production (the gateway runs in reverse-proxy mode and gets
the client certificate in a header) and can drop the connection of the first N aanleveren
POSTs, either before forwarding them (the gateway never saw the message) or after the
gateway answered (stored and acknowledged, but the filer never hears it): the two ways a
filer loses a connection. It records every POST body and every answer it got.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import requests

HEADER = "X-SSL-Client-Cert"


@dataclass
class DropPlan:
    when: Literal["before", "after"]
    count: int = 1
    #: Which POSTs to drop (and record): the aanleveren service by default.
    path: str = "/wus/2.0/aanleverservice/"
    posts: list[bytes] = field(default_factory=list)
    answers: list[bytes] = field(default_factory=list)
    dropped: int = 0


class DroppingProxy:
    def __init__(self, upstream: str, cert: Path, key: Path, client_ca: Path, plan: DropPlan, port: int = 0) -> None:
        self.upstream = upstream.rstrip("/")
        self.plan = plan
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(client_ca))
        ctx.load_cert_chain(str(cert), str(key))
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> DroppingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _drop_now(self) -> bool:
        with self._lock:
            if self.plan.dropped < self.plan.count:
                self.plan.dropped += 1
                return True
            return False

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _forward(self, method: str, body: bytes | None) -> requests.Response:
                assert isinstance(self.connection, ssl.SSLSocket)
                der = self.connection.getpeercert(binary_form=True)
                assert der is not None
                pem = ssl.DER_cert_to_PEM_cert(der)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                headers[HEADER] = quote(pem)
                with requests.Session() as s:
                    s.trust_env = False
                    return s.request(method, proxy.upstream + self.path, data=body, headers=headers, timeout=60)

            def _reply(self, answer: requests.Response) -> None:
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "text/xml"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def do_GET(self) -> None:
                self._reply(self._forward("GET", None))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                aanleveren = self.path.startswith(proxy.plan.path)
                if aanleveren:
                    proxy.plan.posts.append(body)
                drop = aanleveren and proxy._drop_now()
                if drop and proxy.plan.when == "before":
                    self.close_connection = True  # closed without a byte of answer
                    return
                answer = self._forward("POST", body)
                if aanleveren:
                    proxy.plan.answers.append(answer.content)
                if drop:
                    self.close_connection = True  # the gateway answered; the filer never hears it
                    return
                self._reply(answer)

        return Handler
