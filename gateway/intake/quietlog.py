"""aiohttp logs a request it cannot parse with the parser's exception, whose text holds up to
64 KB of the raw request: base64 content, the BinarySecurityToken. No payload belongs in a
log, so its server logger's records keep only the kind of error and the peer."""

from __future__ import annotations

import logging


class NoRawRequests(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None or record.args:
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else "-"
            kind = type(exc).__name__ if exc is not None else "error"
            record.msg = "HTTP request refused by the server (%s) from %s"
            record.args = (kind, str(remote)[:64])
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


def quiet_aiohttp_server_log() -> None:
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, NoRawRequests) for f in logger.filters):
        logger.addFilter(NoRawRequests())
