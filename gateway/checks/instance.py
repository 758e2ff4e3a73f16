"""Is the berichtInhoud a readable XBRL 2.1 instance with one schemaRef to a KVK entrypoint?

Also derives what later checks and the store need: KVK number, reporting period and
financial year, and the entrypoint's NT version and size class.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from gateway.checks.base import CheckContext, Finding, finding
from gateway.checks.facts import first_value, period_of
from gateway.checks.xbrl import InstanceError, read_instance
from gateway.resources import load_json

KVK_NUMBER = re.compile(r"^(?!00)\d{8}$")


@cache
def _entrypoints() -> tuple[re.Pattern[str], dict[str, Any]]:
    data = load_json("kvk/entrypoints.json")
    return re.compile(data["pattern"]), data


def recognise_entrypoint(href: str) -> dict[str, Any] | None:
    pattern, data = _entrypoints()
    m = pattern.match(href)
    if not m:
        return None
    variant = m.group("variant")
    size = data["classes"].get(variant)
    known = data["releases"].get(m.group("nt"))
    return {
        "nt": int(m.group("nt")),
        "release": m.group("release"),
        "year": int(m.group("year")),
        "size_class": size,
        "known": known is not None and known["release"] == m.group("release").split(".")[0],
        "listed": known is not None,
    }


def check(ctx: CheckContext) -> Iterator[Finding]:
    try:
        ctx.instance = read_instance(ctx.raw_instance)
    except InstanceError as exc:
        yield finding("GW-XBRL-01", f"regel {exc.line}" if exc.line else None, reason=exc.reason)
        return
    inst = ctx.instance
    if len(inst.schema_refs) != 1:
        yield finding("FR-NL-2.04", count=len(inst.schema_refs))
    if inst.schema_refs:
        href = inst.schema_refs[0]
        ep = recognise_entrypoint(href)
        if ep is None:
            yield finding("FR-KVK-2.03", href=href)
        else:
            ctx.derived["entrypoint"] = ep
            if ep["listed"] and not ep["known"]:
                yield finding("FR-KVK-2.03", href=href)
            elif not ep["listed"]:
                yield finding("GW-EP-01", nt=ep["nt"])
    # Derived values for the register checks and the duplicate rule.
    number = first_value(inst, "kvk_number")
    if number is None:
        identifiers = {c.identifier for c in inst.contexts.values()}
        number = next(iter(identifiers)) if len(identifiers) == 1 else None
    if number is not None and KVK_NUMBER.match(number):
        ctx.derived["kvk_number"] = number
    period = period_of(inst)
    ctx.derived["period"] = period
    if period.financial_year is not None:
        ctx.derived["financial_year"] = period.financial_year
