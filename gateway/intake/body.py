"""Reading a request body: bounded in size and time; a body that does not decode as its
Content-Encoding says is the sender's error."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.http_exceptions import PayloadEncodingError

from gateway.wus.faults import nonconforming


async def read_body(request: web.Request, limit: int, timeout: float) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise nonconforming(f"het bericht is groter dan de toegestane {limit} bytes.")
    chunks: list[bytes] = []
    total = 0

    async def read() -> None:
        nonlocal total
        async for chunk in request.content.iter_chunked(1 << 16):
            total += len(chunk)
            if total > limit:
                raise nonconforming(f"het bericht is groter dan de toegestane {limit} bytes.")
            chunks.append(chunk)

    try:
        # A timeout scope, not wait_for: that runs the read as a task of its own.
        async with asyncio.timeout(timeout):
            await read()
    except TimeoutError:
        raise nonconforming("het bericht kwam niet binnen de toegestane tijd binnen.") from None
    except (PayloadEncodingError, web.RequestPayloadError):
        # aiohttp decompresses per Content-Encoding; bytes that are not what the header says
        # (gzip sent as deflate, say) are the sender's mistake, not a technical failure here.
        encoding = request.headers.get("Content-Encoding", "")
        raise nonconforming(f"de inhoud kon niet worden gedecodeerd volgens Content-Encoding {encoding!r}.") from None
    return b"".join(chunks)
