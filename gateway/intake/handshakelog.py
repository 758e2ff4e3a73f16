"""One warning line per refused TLS handshake, and a count per reason for /metrics.

Every refusal is counted (the counter is exact); the log is rate-limited per reason. A flood of
bad handshakes, a filer's client retrying in a tight loop or a scanner, costs the attacker a TCP
connection per line and must not fill the disk. Within a window of ``window`` seconds (60),
opened by a reason's first refusal, the first ``burst`` (10) refusals of that reason are logged
one by one, so an operator sees each peer of an ordinary failure; the rest are only counted,
with the peers they came from, and one summary line at the window's end gives that count and
the most frequent peers. So a reason writes at most ``burst + 1`` lines a minute, whatever the
rate: with the 13 reasons at most 143 lines (about 45 KB) a minute even if every reason were
flooded at once, and a single flood, the usual case, 11 lines (about 3 KB) a minute. Per reason
rather than overall, so that a flood of one kind (say plain HTTP scans) does not hide a filer
whose certificate just expired.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from gateway.intake.refusals import classify

log = structlog.get_logger(__name__)

#: How many distinct peers a window remembers for its summary (the rest count as "other").
MAX_PEERS = 256
#: How many of them the summary names.
TOP_PEERS = 5

Schedule = Callable[[float, Callable[[], None]], object]


class Logger(Protocol):
    def warning(self, event: str, **fields: Any) -> Any: ...


def _call_later(delay: float, callback: Callable[[], None]) -> object:
    return asyncio.get_running_loop().call_later(delay, callback)


@dataclass
class _Window:
    started: float
    logged: int = 0
    suppressed: int = 0
    peers: Counter[str] = field(default_factory=Counter)


class HandshakeRefusals:
    """Called with (peer, exception) for each refused handshake (gateway.intake.tlsfront)."""

    def __init__(
        self,
        timeout: float,
        count: Callable[[str], None],
        *,
        window: float = 60.0,
        burst: int = 10,
        clock: Callable[[], float] = time.monotonic,
        schedule: Schedule = _call_later,
        logger: Logger = log,
    ) -> None:
        self.timeout = timeout
        self.count = count
        self.window = window
        self.burst = burst
        self.clock = clock
        self.schedule = schedule
        self.log = logger
        self.windows: dict[str, _Window] = {}

    def __call__(self, peer: tuple[str, int], exc: BaseException) -> None:
        refusal = classify(exc, self.timeout)
        self.count(refusal.reason)
        now = self.clock()
        win = self.windows.get(refusal.reason)
        if win is None:
            win = self.windows[refusal.reason] = _Window(now)
            self.schedule(self.window, lambda: self._close(refusal.reason))
        if win.logged < self.burst:
            win.logged += 1
            self.log.warning(
                "TLS handshake refused",
                remote=peer[0],
                port=peer[1],
                reason=refusal.reason,
                detail=refusal.detail,
            )
            return
        win.suppressed += 1
        host = peer[0] if peer[0] in win.peers or len(win.peers) < MAX_PEERS else "other"
        win.peers[host] += 1

    def _close(self, reason: str) -> None:
        win = self.windows.pop(reason, None)
        if win is None or not win.suppressed:
            return
        self.log.warning(
            "TLS handshakes refused, not logged one by one",
            reason=reason,
            suppressed=win.suppressed,
            seconds=round(self.clock() - win.started),
            peers=dict(win.peers.most_common(TOP_PEERS)),
            distinct_peers=len(win.peers),
        )
