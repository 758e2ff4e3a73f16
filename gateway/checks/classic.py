"""The classic reader's side of the statement model: an ``Instance`` (gateway.checks.xbrl)
as a ``Statement``. The filing rules keep reading the instance itself for what only the
classic format has (footnotes, linkbaseRefs, precision, duplicate ids)."""

from __future__ import annotations

from gateway.checks import kvkdata
from gateway.checks.instance import recognise_entrypoint
from gateway.checks.statement import XBRL, Context, Entrypoint, Fact, Location, Period, Statement, Unit
from gateway.checks.xbrl import Instance


def _entrypoint(inst: Instance) -> Entrypoint | None:
    if len(inst.schema_refs) != 1:
        return None
    href = inst.schema_refs[0]
    ep = recognise_entrypoint(href)
    if ep is None:
        return None
    return Entrypoint(
        href=href,
        route=XBRL,
        version=str(ep["nt"]),
        year=ep["year"],
        size_class=ep["size_class"],
        basis=None,
        listed=ep["listed"],
        known=ep["known"],
    )


def statement_from_instance(inst: Instance) -> Statement:
    contexts = {
        cid: Context(
            id=c.id,
            scheme=c.scheme,
            identifier=c.identifier,
            period=Period(c.period_type, c.start, c.end),
            has_segment=c.has_segment,
            location=Location(c.line),
        )
        for cid, c in inst.contexts.items()
    }
    units = {uid: Unit(u.id, u.measures, Location(u.line)) for uid, u in inst.units.items()}
    facts = tuple(
        Fact(
            namespace=f.namespace,
            name=f.name,
            context_ref=f.context_ref,
            unit_ref=f.unit_ref,
            decimals=f.decimals,
            value=f.value,
            location=Location(f.line),
            nil=f.nil,
            lang=f.lang,
        )
        for f in inst.facts
    )
    return Statement(
        route=XBRL,
        lang=inst.root_lang,
        contexts=contexts,
        units=units,
        facts=facts,
        schema_refs=tuple(inst.schema_refs),
        entrypoint=_entrypoint(inst),
        kvk=kvkdata.derive(facts, contexts),
    )
