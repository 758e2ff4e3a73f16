"""Rules of a channel a statement came in by, beside the checks every statement gets.

Web filing with an access code (Zelf Deponeren) is for micro and small companies only. KVK:
"you only use an access code if your business falls into the micro or small class"
(seeds/kvk-access-codes.txt). Any of the declared class, the class from the figures (with the
register's history) and the entrypoint's class above small refuses it with GW-ZDJ-01.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from gateway.checks.base import Check, CheckContext, Finding, finding
from gateway.checks.size_class import NAMES, ORDER, assess
from gateway.resources import load_json

ENGLISH = {"micro": "micro", "small": "small", "medium": "medium-sized", "large": "large"}


@cache
def _allowed() -> frozenset[str]:
    return frozenset(load_json("zdj/rules.json")["filing"]["allowed_size_classes"])


def size_gate(ctx: CheckContext) -> Iterator[Finding]:
    st = ctx.statement
    if st is None:
        return
    assessed = assess(ctx)
    derived = assessed.derived if assessed is not None else st.kvk.size_class_derived
    ep_class = st.entrypoint.size_class if st.entrypoint is not None else None
    too_big = [c for c in (st.kvk.size_class_declared, derived, ep_class) if c in ORDER and c not in _allowed()]
    if too_big:
        largest = max(too_big, key=ORDER.index)
        yield finding("GW-ZDJ-01", size_class=NAMES["nl"][largest], size_class_en=ENGLISH[largest])


#: Per channel (CheckRequest.channel), the checks its statements get besides the others.
CHANNEL_CHECKS: dict[str, list[Check]] = {"zdj": [size_gate]}
