"""TLS for the filers' port: TLS 1.2+, a required client certificate, and who it names."""

from __future__ import annotations

import ssl
from pathlib import Path


def server_context(cert: Path, key: Path, client_ca: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(client_ca))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    ctx.verify_mode = ssl.CERT_REQUIRED
    # Refuse renegotiation-era weak suites; the defaults already drop RC4/3DES/CBC-SHA1 in 3.11.
    ctx.options |= ssl.OP_NO_COMPRESSION
    return ctx
