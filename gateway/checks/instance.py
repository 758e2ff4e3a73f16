"""Is the berichtInhoud a readable XBRL 2.1 instance with one schemaRef to a KVK entrypoint?

What later checks and the store need (KVK number, period, the entrypoint's NT version and
size class) is in the statement model, built by gateway.checks.classic.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from gateway.checks.base import CheckContext, Finding, finding
from gateway.resources import load_json


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
        "known": known is not None
        and known["release"] == m.group("release").split(".")[0]
        and known["year"] == int(m.group("year"))
        and (size is not None or variant in data.get("sectors", [])),
        "listed": known is not None,
    }


def check(ctx: CheckContext) -> Iterator[Finding]:
    # Reading (and GW-XBRL-01 when that fails) happens once in gateway.checks.reading; the
    # statement model carries what was derived here before.
    inst = ctx.instance
    if inst is None:
        return
    if len(inst.schema_refs) != 1:
        yield finding("FR-NL-2.04", count=len(inst.schema_refs))
    if inst.schema_refs:
        yield from _schema_ref(inst.schema_refs[0])


def _schema_ref(href: str) -> Iterator[Finding]:
    ep = recognise_entrypoint(href)
    if ep is None or (ep["listed"] and not ep["known"]):
        yield finding("FR-KVK-2.03", href=href, value=href)
    elif not ep["listed"]:
        yield finding("GW-EP-01", nt=ep["nt"])
