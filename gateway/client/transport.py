"""zeep transport that sends the identical signed aanleveren message again when a connection
drops.

A filer whose connection dropped after sending cannot know whether the gateway stored the
message. Sending the *same bytes* again (same MessageID, Timestamp and signature) is safe: the
gateway answers an identical retransmission with the original kenmerk. A new signature would
make a new message, and a new kenmerk. Status requests are not retransmitted here: the same
MessageID would be refused as a replay, and asking again is harmless, so GatewayClient sends
a new request instead.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import requests
from zeep.transports import Transport

#: Pauses before each retransmission; together well within the 5-minute Timestamp validity.
DEFAULT_BACKOFF = (1.0, 2.0, 4.0)


def transient(exc: BaseException) -> bool:
    """A dropped or refused connection, or no answer in time; not a TLS or HTTP refusal."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(exc, requests.ConnectionError | requests.Timeout)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class RetransmittingTransport(Transport):
    """POSTs the same message bytes again after a dropped connection, up to len(backoff) times."""

    def __init__(
        self,
        *args: Any,
        backoff: tuple[float, ...] = DEFAULT_BACKOFF,
        report: Callable[[str], None] = _stderr,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.backoff = backoff
        self.report = report
        #: Every body POSTed, in order (retransmissions included): what went over the wire.
        self.sent: list[bytes] = []

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        attempt = 0
        while True:
            self.sent.append(message)
            try:
                response: requests.Response = super().post(address, message, headers)
                return response
            except requests.RequestException as exc:
                if attempt >= len(self.backoff) or not transient(exc) or "/aanleverservice/" not in address:
                    raise
                pause = self.backoff[attempt]
                attempt += 1
                self.report(
                    f"connection to {address} lost ({type(exc).__name__}); sending the same signed message "
                    f"again in {pause:g} s (retransmission {attempt} of {len(self.backoff)})"
                )
                # A fresh connection: the pooled one may be the one that broke.
                self.session.close()
                time.sleep(pause)
