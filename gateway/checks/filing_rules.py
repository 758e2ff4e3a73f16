"""SBR/KVK filing rules on the instance (kvk-filing.md section 5.2): the rule families live
in ``gateway.checks.rules``; this is the check the pipeline runs."""

from __future__ import annotations

from collections.abc import Iterator

from gateway.checks.base import CheckContext, Finding, finding
from gateway.checks.report import iter_unique
from gateway.checks.rules import check as _check_rules

#: Findings after which the rules stop: a 20 MiB file of forbidden characters would otherwise
#: make millions, and the job must end in bounded time. Far more than anyone fixes one by one.
MAX_FINDINGS = 100_000


def check(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.reading.route != "xbrl":
        return  # the Inline XBRL route has its own rules (gateway.checks.ixbrl.rules)
    # One finding per rule and place, however many ways a rule found it.
    for n, f in enumerate(iter_unique(_check_rules(ctx)), start=1):
        yield f
        if n >= MAX_FINDINGS:
            yield finding("GW-XBRL-05", count=MAX_FINDINGS)
            return
