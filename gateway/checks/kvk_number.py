"""The KVK number: well-formed, one identifier, consistent with the request, known to the
register, company not dissolved and obliged to file."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from typing import Any

from gateway.checks.base import CheckContext, Finding, finding
from gateway.checks.kvkdata import KVK_NUMBER
from gateway.checks.statement import XBRL, Statement
from gateway.resources import load_json

KVK_SCHEME = "http://www.kvk.nl/kvk-id"


@cache
def _filing() -> dict[str, Any]:
    return dict(load_json("kvk/filing.json"))


def _norm(text: str) -> str:
    return " ".join(text.lower().replace(".", "").split())


def obligation(legal_form: str) -> str:
    """'obliged', 'above_turnover', 'not_obliged' or 'unknown' for a legal form."""
    data = _filing()
    form = _norm(legal_form)
    for key, verdict in (
        ("obliged", "obliged"),
        ("obliged_above_turnover", "above_turnover"),
        ("not_obliged", "not_obliged"),
    ):
        if any(_norm(name) == form for name in data[key]):
            return verdict
    return "unknown"


def check(ctx: CheckContext) -> Iterator[Finding]:
    st = ctx.statement
    if st is None:
        return
    number = st.kvk.kvk_number_fact
    where = st.kvk.kvk_number_location.text() if st.kvk.kvk_number_location else None
    if number is None:
        yield finding("GW-KVK-01")
    elif not KVK_NUMBER.match(number):
        yield finding("GW-KVK-02", where, value=number)
    if st.route == XBRL:
        # The inline route reports these with the published NL-KVK codes (3.1.1.2, 3.1.4.x).
        yield from _identifiers(st, number)
    kvk = st.kvk.kvk_number
    if kvk is not None and kvk != ctx.belanghebbende_nummer:
        yield finding("GW-KVK-06", value=kvk, requested=ctx.belanghebbende_nummer)
    if kvk is None or not ctx.company_looked_up:
        return
    yield from _register(ctx, st, kvk)


def _identifiers(st: Statement, number: str | None) -> Iterator[Finding]:
    schemes = {c.scheme for c in st.contexts.values()}
    for scheme in sorted(schemes - {KVK_SCHEME}):
        yield finding("GW-KVK-03", scheme=scheme)
    identifiers = sorted({c.identifier for c in st.contexts.values()})
    if len(identifiers) > 1:
        yield finding("GW-KVK-04", identifiers=", ".join(identifiers))
    if number is not None and identifiers and any(i != number for i in identifiers):
        yield finding("GW-KVK-05", identifier=identifiers[0], value=number)


def _register(ctx: CheckContext, st: Statement, kvk: str) -> Iterator[Finding]:
    company = ctx.company
    if company is None:
        yield finding("GW-KVK-07", value=kvk)
        return
    if company.status != "active":
        yield finding("GW-KVK-08", value=kvk, name=company.name)
    form = company.legal_form or st.kvk.legal_form or ""
    verdict = obligation(form)
    if verdict == "not_obliged":
        yield finding("GW-KVK-09", form=form)
    elif verdict == "above_turnover":
        yield from _association_turnover(st, form)


def _association_turnover(st: Statement, form: str) -> Iterator[Finding]:
    """A stichting/vereniging files only when its enterprise's turnover reaches half the
    small-company limit (BW 2:360 lid 3)."""
    from gateway.checks.size_class import limits_for

    year = st.kvk.financial_year
    turnover = st.kvk.figures_current.turnover
    if year is None or turnover is None:
        return
    share = Decimal(str(load_json("kvk/thresholds.json")["stichting_vereniging_turnover_share"]))
    limit = (Decimal(limits_for(year)[0]["small"]["turnover"]) * share).quantize(Decimal(1))
    if turnover < limit:
        yield finding("GW-KVK-10", form=form, turnover=turnover, limit=limit)
