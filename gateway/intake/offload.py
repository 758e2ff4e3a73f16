"""Where a request's CPU work runs: on the event loop for small messages, on a worker
thread for large ones.

Measured on the benchmark machine (bench/intake.py, and parse + verify + decode timed alone):
the work grows as about 1 ms + 9 ms per MB of request (72 KB: 1.6 ms; 273 KB: 3.7 ms; 1.3 MB:
13.5 ms), while each hand-off to a thread costs 0.05 ms of CPU on an idle loop and more under
load, when the loop and the thread contend for the GIL: the four hand-offs of a 50 KB
submission were ~10 % of the intake's CPU, more than the XML work they moved off the loop
saved. Up to INLINE_BYTES the work runs on the loop, which then stalls for at most ~4 ms
per request; beyond it, where the work is tens of milliseconds, it runs on a thread so that
the loop keeps answering everyone else (lxml and libxmlsec1 release the GIL while they work).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from lxml import etree

#: Messages up to this many bytes are handled on the event loop.
INLINE_BYTES = 256 * 1024

P = ParamSpec("P")
T = TypeVar("T")


async def run_sized(size: int, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args)`` for a message of ``size`` bytes: here if small, else on a thread."""
    if size <= INLINE_BYTES:
        return fn(*args, **kwargs)
    return await asyncio.to_thread(fn, *args, **kwargs)


def text_size(el: etree._Element, limit: int = INLINE_BYTES) -> int:
    """The characters of text under an element (a reply to sign), counted up to past ``limit``."""
    total = 0
    for text in el.itertext():
        total += len(text)
        if total > limit:
            break
    return total
