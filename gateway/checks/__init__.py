"""The checks a submission goes through, in order, and how their findings decide the outcome."""

from __future__ import annotations

from gateway.checks import adoption, deadline, filing_rules, instance, kvk_number, size_class
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

#: Checks that only need the message itself; they run before the store is consulted.
MESSAGE_CHECKS: list[Check] = [instance.check, filing_rules.check]
#: Checks that also need the register and the statements on file.
REGISTER_CHECKS: list[Check] = [kvk_number.check, adoption.check, size_class.check, deadline.check]


def run(checks: list[Check], ctx: CheckContext) -> list[Finding]:
    out: list[Finding] = []
    for check in checks:
        out.extend(check(ctx))
    return out


__all__ = [
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
