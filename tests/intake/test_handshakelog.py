"""The refusal log's rate limit, on a fake clock: a flood of one reason gives its first lines
and one summary per window, other reasons keep their own budget, every refusal is counted.
(test_tls_refusals.py shows the lines and the counter through a real ``gateway serve``; a
window there lasts a minute, too long to wait for the summary in a test.)"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

from gateway.intake.handshakelog import HandshakeRefusals


class Recorder:
    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.lines.append({"event": event, **fields})


class Harness:
    def __init__(self) -> None:
        self.now = 1000.0
        self.timers: list[tuple[float, Callable[[], None]]] = []
        self.counted: list[str] = []
        self.log = Recorder()
        self.refusals = HandshakeRefusals(
            15,
            self.counted.append,
            window=60,
            burst=3,
            clock=lambda: self.now,
            schedule=self._schedule,
            logger=self.log,
        )

    def _schedule(self, delay: float, callback: Callable[[], None]) -> None:
        self.timers.append((self.now + delay, callback))

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [t for t in self.timers if t[0] <= self.now]
        self.timers = [t for t in self.timers if t[0] > self.now]
        for _, callback in due:
            callback()


def _no_cert() -> ssl.SSLError:
    err = ssl.SSLError(1, "[SSL: PEER_DID_NOT_RETURN_A_CERTIFICATE] peer did not return a certificate")
    err.reason = "PEER_DID_NOT_RETURN_A_CERTIFICATE"
    return err


def _plain_http() -> ssl.SSLError:
    err = ssl.SSLError(1, "[SSL: HTTP_REQUEST] http request")
    err.reason = "HTTP_REQUEST"
    return err


def test_a_flood_gives_its_first_lines_then_one_summary() -> None:
    h = Harness()
    for i in range(10):
        h.refusals(("192.0.2.7" if i % 2 else "198.51.100.1", 40000 + i), _plain_http())
        h.advance(1)
    assert h.counted == ["not_tls"] * 10
    lines = [line for line in h.log.lines if line["event"] == "TLS handshake refused"]
    assert [line["port"] for line in lines] == [40000, 40001, 40002]
    assert all(line["reason"] == "not_tls" and "plain HTTP" in line["detail"] for line in lines)
    assert len(h.log.lines) == 3  # the rest waits for the window's end
    h.advance(50)
    summary = h.log.lines[-1]
    assert summary["event"] == "TLS handshakes refused, not logged one by one"
    assert summary["reason"] == "not_tls"
    assert summary["suppressed"] == 7
    assert summary["peers"] == {"192.0.2.7": 4, "198.51.100.1": 3}
    assert summary["seconds"] == 60
    # A new window: the next refusal is logged again.
    h.refusals(("192.0.2.7", 50000), _plain_http())
    assert h.log.lines[-1]["port"] == 50000


def test_each_reason_has_its_own_budget_and_a_quiet_window_has_no_summary() -> None:
    h = Harness()
    for i in range(5):
        h.refusals(("192.0.2.7", 40000 + i), _plain_http())
    h.refusals(("203.0.113.9", 41000), _no_cert())
    assert h.log.lines[-1]["reason"] == "no_client_certificate"
    assert h.log.lines[-1]["detail"] == "no client certificate"
    h.advance(61)
    summaries = [line for line in h.log.lines if "suppressed" in line]
    assert [(s["reason"], s["suppressed"]) for s in summaries] == [("not_tls", 2)]
    assert h.counted.count("not_tls") == 5 and h.counted.count("no_client_certificate") == 1


def test_timeouts_and_closed_connections() -> None:
    h = Harness()
    h.refusals(("192.0.2.7", 1), ConnectionAbortedError("SSL handshake is taking longer than 15 seconds"))
    h.refusals(("192.0.2.7", 2), ConnectionResetError())
    assert [(line["reason"], line["detail"]) for line in h.log.lines] == [
        ("handshake_timeout", "handshake timed out after 15 s"),
        ("connection_closed", "the client closed the connection during the handshake"),
    ]
