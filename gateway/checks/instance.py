"""Is the berichtInhoud a readable XBRL 2.1 instance with exactly one schemaRef?"""

from __future__ import annotations

from collections.abc import Iterator

from gateway.checks.base import CheckContext, Finding, finding
from gateway.checks.xbrl import InstanceError, read_instance


def check(ctx: CheckContext) -> Iterator[Finding]:
    try:
        ctx.instance = read_instance(ctx.raw_instance)
    except InstanceError as exc:
        yield finding("GW-XBRL-01", f"regel {exc.line}" if exc.line else None, reason=exc.reason)
        return
    refs = ctx.instance.schema_refs
    if len(refs) != 1:
        yield finding("FR-NL-2.04", count=len(refs))
