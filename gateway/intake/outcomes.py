"""A stored final outcome as the interface hands it out: the outcome document, and the
OphaalService's bericht with the notification text beside it."""

from __future__ import annotations

from gateway import notice
from gateway.domain import Finding
from gateway.store.outcomes import OutcomeRecord
from gateway.wus.messages import Identiteit, Part
from gateway.wus.ophaal import BerichtResultaat, Constatering
from gateway.wus.outcome import FindingView, OutcomeView, outcome_document


def outcome_view(r: OutcomeRecord) -> OutcomeView:
    return OutcomeView(
        kenmerk=r.kenmerk,
        run=r.run,
        berichtsoort=r.berichtsoort,
        outcome=r.outcome,
        statuscode=r.statuscode,
        statusomschrijving=r.statusomschrijving,
        tijdstempel_status=r.status_at,
        foutcode=r.foutcode,
        findings=tuple(FindingView(f.code, f.severity, f.message_nl, f.message_en, f.location) for f in r.findings),
    )


def notification_text(r: OutcomeRecord) -> str:
    """The plain-text part of the outcome mail, exactly as the notification sends it."""
    return notice.text(
        notice.Notice(
            kenmerk=r.kenmerk,
            run=r.run,
            outcome=r.outcome,
            aanleverkenmerk=r.aanleverkenmerk,
            kvk_number=r.kvk_number or r.belanghebbende_nummer,
            final_status=r.statuscode,
            findings=[Finding(f.code, f.severity, f.message_nl, f.message_en, f.location) for f in r.findings],
        )
    )


def _constatering(f: Finding) -> Constatering:
    where = f" ({f.location})" if f.location else ""
    return Constatering(f.code, f"{f.severity}: {f.message_nl} / {f.message_en}{where}")


def bericht(r: OutcomeRecord, receiver: Identiteit | None) -> BerichtResultaat:
    findings = [Finding(f.code, f.severity, f.message_nl, f.message_en, f.location) for f in r.findings]
    return BerichtResultaat(
        kenmerk=r.kenmerk,
        berichtsoort=r.berichtsoort,
        berichtkenmerk=f"uitkomst-{r.kenmerk}-{r.run}",
        tijdstempel_aangeleverd=r.received_at,
        belanghebbende=Identiteit(r.belanghebbende_nummer, r.belanghebbende_type),
        rol_belanghebbende=r.rol_belanghebbende,
        inhoud=Part(0, "application/xml", f"uitkomst-{r.kenmerk}.xml", outcome_document(outcome_view(r))),
        bijlagen=(
            Part(
                1,
                "text/plain; charset=utf-8",
                f"melding-{r.kenmerk}.txt",
                notification_text(r).encode("utf-8"),
            ),
        ),
        constateringen=tuple(_constatering(f) for f in findings),
        aanleverkenmerk=r.aanleverkenmerk,
        eerder_aanleverkenmerk=r.eerder_aanleverkenmerk,
        aanleveraar=r.sender_oin,
        ontvanger=receiver,
    )
