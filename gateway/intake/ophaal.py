"""OphaalService: a sender fetches its outcome messages, one per final outcome. Only its own:
every query is bound to the sender's certificate."""

from __future__ import annotations

from lxml import etree

from gateway.intake.context import Intake
from gateway.intake.outcomes import bericht
from gateway.intake.security import VerifiedRequest
from gateway.store.outcomes import OutcomeQuery, final_outcomes
from gateway.wus.ophaal import BerichtenFilter, berichten_lijst_response, berichten_response


def _query(req: VerifiedRequest) -> OutcomeQuery:
    f = BerichtenFilter.from_element(req.soap.body)
    return OutcomeQuery(
        req.sender.subject,
        kenmerk=f.kenmerk,
        berichtsoort=f.berichtsoort,
        belanghebbende_nummer=f.belanghebbende.nummer if f.belanghebbende else None,
        vanaf=f.vanaf,
        tot=f.tot,
        only_new=req.operation.startswith("getNieuwe"),
    )


async def ophalen(intake: Intake, req: VerifiedRequest) -> etree._Element:
    records = await final_outcomes(intake.store, _query(req))
    berichten = [bericht(r, intake.receiver) for r in records]
    if req.operation.endswith("Lijst"):
        return berichten_lijst_response(req.operation, berichten)
    return berichten_response(req.operation, berichten)
