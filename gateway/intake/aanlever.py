"""AanleverService.aanleveren: a valid submission is stored durably, queued, and answered
with its kenmerk. The identical message sent again (a client that lost the answer) gets the
original answer with the same kenmerk."""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog
from lxml import etree

from gateway.domain import utc_now
from gateway.intake.context import Intake
from gateway.intake.offload import run_sized
from gateway.intake.security import VerifiedRequest, refuse_replay
from gateway.queue.jobs import enqueue_processing
from gateway.resources import berichtsoorten
from gateway.store.ledger import Claim, ClaimState
from gateway.wus import messages
from gateway.wus.faults import nonconforming, technical

log = structlog.get_logger(__name__)

#: A retransmission whose first copy is not stored after this long was lost with its process.
ORPHANED_CLAIM = timedelta(seconds=60)


def check_berichtsoort(req: messages.AanleverRequest) -> None:
    """The berichtsoort is one this gateway accepts, with an identity type it allows
    (both from schemas/berichtsoorten.json); no kenmerk on a new process."""
    kinds = berichtsoorten()
    if req.berichtsoort not in kinds:
        raise nonconforming(f"berichtsoort {req.berichtsoort!r} is onbekend; toegestaan: {', '.join(sorted(kinds))}.")
    allowed_types = [str(t) for t in kinds[req.berichtsoort]["identity_types"]]
    if req.identiteit_belanghebbende.type.lower() not in {t.lower() for t in allowed_types}:
        raise nonconforming(
            f"identiteitBelanghebbende/type moet {' of '.join(allowed_types)} zijn voor {req.berichtsoort}."
        )
    if req.kenmerk:
        raise nonconforming("een nieuw aanleverproces mag geen kenmerk meegeven.")


async def aanleveren(intake: Intake, req: VerifiedRequest) -> etree._Element:
    settings = intake.settings
    # Reading and base64-decoding tens of MiB is CPU work: off the loop when large.
    read = messages.AanleverRequest.from_element
    parsed = await run_sized(len(req.raw), read, req.soap.body, settings.max_part_bytes)
    check_berichtsoort(parsed)
    kenmerk, received = str(uuid.uuid4()), utc_now()
    await intake.ledger.purge(received)
    # The MessageID is recorded in the transaction that stores the submission: spent only
    # on a message that was accepted, and without a transaction of its own.
    claim_request = intake.ledger.request(req.sender.subject, req.message_id, req.digest, kenmerk, received)
    notify = intake.senders.notify_address(req.sender)
    try:
        claim = await intake.store.record_submission(
            kenmerk, parsed, req.raw, req.sender, notify, received, claim=claim_request
        )
    except Exception as exc:
        log.error("could not store submission", error=type(exc).__name__, sender=req.sender.oin)
        # Nothing was committed: the sender may send the very same message again.
        raise technical("Het bericht kon niet worden opgeslagen.") from None
    assert claim is not None
    if refuse_replay(req, claim).state is ClaimState.RETRANSMISSION:
        return await _original_response(intake, req, claim)
    # Stored durably: from here on the kenmerk is the sender's, even if Redis is down.
    await enqueue_processing(intake.pool, kenmerk, 1, intake.settings.queue_name)
    log.info(
        "submission received",
        kenmerk=kenmerk,
        berichtsoort=parsed.berichtsoort,
        sender=req.sender.oin,
        parts=len(parsed.parts),
        size=len(req.raw),
    )
    return messages.aanlever_response(parsed, kenmerk, received, intake.receiver)


async def _original_response(intake: Intake, req: VerifiedRequest, claim: Claim) -> etree._Element:
    """The aanleverResponse the first copy of this message got, rebuilt from what was stored."""
    assert claim.kenmerk is not None
    row = await intake.store.get_submission(claim.kenmerk)
    if row is None:
        # A MessageID is committed with its submission; only a record from a gateway that
        # committed them apart (an earlier version) can lack one: the first copy is still being
        # stored, or its process died before it was. In the latter case, release the
        # MessageID so that the next attempt is taken as new.
        if utc_now() - claim.claimed_at > ORPHANED_CLAIM:
            await intake.ledger.release(req.sender.subject, req.message_id)
        raise technical("Dit bericht is al ontvangen en wordt nog opgeslagen; probeer het zo opnieuw.")
    log.info("retransmission answered with the original kenmerk", kenmerk=claim.kenmerk, sender=req.sender.oin)
    original = messages.AanleverRequest(
        berichtsoort=row.berichtsoort,
        identiteit_belanghebbende=messages.Identiteit(row.belanghebbende_nummer, row.belanghebbende_type),
        rol_belanghebbende=row.rol_belanghebbende,
        parts=(),
        aanleverkenmerk=row.aanleverkenmerk,
        eerder_aanleverkenmerk=row.eerder_aanleverkenmerk,
        identiteit_ontvanger=messages.Identiteit(row.ontvanger_nummer, row.ontvanger_type)
        if row.ontvanger_nummer
        else None,
        rol_ontvanger=row.rol_ontvanger,
        autorisatie_adres=row.autorisatie_adres,
    )
    return messages.aanlever_response(original, claim.kenmerk, row.received_at, intake.receiver)
