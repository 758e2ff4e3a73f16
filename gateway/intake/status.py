"""StatusinformatieService: the statuses of a sender's own processes, as Digipoort words
them; the final status carries the outcome document in statusdetails."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

from lxml import etree

from gateway.domain import final_statuses
from gateway.intake.context import Intake
from gateway.intake.outcomes import outcome_view
from gateway.intake.security import VerifiedRequest
from gateway.resources import berichtsoorten, load_json
from gateway.store.outcomes import OutcomeQuery, StatusQuery, final_outcomes, new_statuses
from gateway.wus import messages
from gateway.wus.faults import nonconforming
from gateway.wus.ophaal import BerichtenFilter
from gateway.wus.outcome import outcome_document


@cache
def _descriptions() -> dict[str, str]:
    table = load_json("wus/statusomschrijvingen.json")
    return {code: str(v["text"]) for code, v in table.items() if not code.startswith("_")}


def _resultaat(r: Any, details: dict[int, str]) -> messages.StatusResultaat:
    final_details = details.get(int(r.run)) if r.code in final_statuses() else None
    return messages.StatusResultaat(
        kenmerk=r.kenmerk,
        belanghebbende=messages.Identiteit(r.belanghebbende_nummer, r.belanghebbende_type),
        statuscode=r.code,
        tijdstempel=r.created_at,
        omschrijving=_descriptions().get(r.code, r.description),
        foutcode=r.foutcode,
        foutbeschrijving=r.foutbeschrijving,
        details=r.details or final_details,
    )


async def _outcome_details(intake: Intake, req: VerifiedRequest, rows: list[Any]) -> dict[int, str]:
    """The outcome document per run, for final statuses that carry no details of their own."""
    wanted = {r.kenmerk for r in rows if r.code in final_statuses() and not r.details}
    details: dict[int, str] = {}
    for kenmerk in wanted:
        for record in await final_outcomes(intake.store, OutcomeQuery(req.sender.subject, kenmerk=kenmerk)):
            details[record.run] = outcome_document(outcome_view(record)).decode("utf-8")
    return details


async def _statussen_proces(intake: Intake, req: VerifiedRequest) -> etree._Element:
    q = messages.StatussenRequest.from_element(req.soap.body)
    # getNieuweStatussenProces hands each status out once; getStatussenProces only reads.
    new_only = req.operation == "getNieuweStatussenProces"
    fetch = intake.store.take_new_statuses_for_sender if new_only else intake.store.statuses_for_sender
    rows = await fetch(q.kenmerk, req.sender, vanaf=q.vanaf, tot=q.tot)
    if rows is None:
        # Same answer for "unknown" and "not yours": kenmerken are not to be probed.
        raise nonconforming(
            f"kenmerk {q.kenmerk} is onbekend of hoort niet bij deze verzender. / "
            f"kenmerk {q.kenmerk} is unknown or does not belong to this sender."
        )
    details = await _outcome_details(intake, req, rows)
    return messages.statussen_response(req.operation, [_resultaat(r, details) for r in rows])


async def _nieuwe_statussen(intake: Intake, req: VerifiedRequest) -> etree._Element:
    f = BerichtenFilter.from_element(req.soap.body)
    assert f.berichtsoort is not None and f.belanghebbende is not None  # required by the XSD
    rows = await new_statuses(
        intake.store,
        StatusQuery(req.sender.subject, f.berichtsoort, f.belanghebbende.nummer, vanaf=f.vanaf, tot=f.tot),
    )
    details = await _outcome_details(intake, req, rows)
    return messages.statussen_response(req.operation, [_resultaat(r, details) for r in rows])


async def _berichtsoorten(intake: Intake, req: VerifiedRequest) -> etree._Element:
    return messages.berichtsoorten_response(sorted(berichtsoorten()))


async def _processen(intake: Intake, req: VerifiedRequest) -> etree._Element:
    f = BerichtenFilter.from_element(req.soap.body)
    assert f.berichtsoort is not None and f.belanghebbende is not None  # required by the XSD
    rows = await intake.store.processes_for_sender(req.sender, f.berichtsoort, f.belanghebbende.nummer)
    return messages.processen_response(
        [
            messages.ProcesResultaat(
                kenmerk=r.kenmerk,
                berichtsoort=r.berichtsoort,
                belanghebbende=messages.Identiteit(r.belanghebbende_nummer, r.belanghebbende_type),
                ontvanger=messages.Identiteit(r.ontvanger_nummer, r.ontvanger_type) if r.ontvanger_nummer else None,
            )
            for r in rows
        ]
    )


OPERATIONS: dict[str, Callable[[Intake, VerifiedRequest], Awaitable[etree._Element]]] = {
    "getStatussenProces": _statussen_proces,
    "getNieuweStatussenProces": _statussen_proces,
    "getNieuweStatussen": _nieuwe_statussen,
    "getBerichtsoorten": _berichtsoorten,
    "getProcessen": _processen,
}


async def statusinformatie(intake: Intake, req: VerifiedRequest) -> etree._Element:
    return await OPERATIONS[req.operation](intake, req)
