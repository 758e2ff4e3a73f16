"""The checks a submission goes through, in order, and how their findings decide the outcome.

The berichtInhoud is read once into the statement model (gateway.checks.reading); the
reading's findings come first, then the rules of its format (classic filing rules or the
NL-KVK Inline XBRL rules: each returns nothing for the other format), then the company rules,
which read only the statement model and so run unchanged on both formats.
"""

from __future__ import annotations

from gateway.checks import adoption, channel, deadline, filing_rules, instance, kvk_number, reading, size_class
from gateway.checks.base import (
    ERROR,
    WARNING,
    Check,
    CheckContext,
    Company,
    FilingOnFile,
    Finding,
    PartInfo,
    finding,
)
from gateway.checks.ixbrl import rules as ixbrl_rules

#: Checks that only need the message itself; they run before the store is consulted.
MESSAGE_CHECKS: list[Check] = [reading.check, instance.check, filing_rules.check, ixbrl_rules.check]
#: Checks that also need the register and the statements on file.
REGISTER_CHECKS: list[Check] = [kvk_number.check, adoption.check, size_class.check, deadline.check]
#: Checks of the channel a statement came in by (after the others; their findings lead).
CHANNEL_CHECKS: dict[str, list[Check]] = channel.CHANNEL_CHECKS


def run(checks: list[Check], ctx: CheckContext) -> list[Finding]:
    out: list[Finding] = []
    for check in checks:
        out.extend(check(ctx))
    return out


__all__ = [
    "CHANNEL_CHECKS",
    "ERROR",
    "MESSAGE_CHECKS",
    "REGISTER_CHECKS",
    "WARNING",
    "Check",
    "CheckContext",
    "Company",
    "FilingOnFile",
    "Finding",
    "PartInfo",
    "finding",
    "run",
]
