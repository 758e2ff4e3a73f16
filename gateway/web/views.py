"""The pages' HTML, in Dutch with English alongside (as KVK's own pages offer both)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from gateway.settings import Settings
from gateway.store.access_codes import AccessCode, Authorisation, WebFiling, ZdjError
from gateway.web import codes
from gateway.web.html import csrf_field, error, esc, notice, page
from gateway.web.html import error as error_box
from gateway.web.service import Issued

B = "/zelf-deponeren"

WRONG = "Toegangscode of wachtwoord onjuist. / Access code or password incorrect."
MALFORMED = (
    "Dit is geen geldige toegangscode: controleer de tekens. Een toegangscode begint met W; de cijfers 0 en 1 en "
    "de letters O, I en l komen er niet in voor. / This is not a valid access code: check the characters. An "
    "access code begins with W and never contains 0, 1, O, I or l."
)
TOO_MANY_FROM_ADDRESS = (
    "Te veel inlogpogingen vanaf dit adres; probeer het over een minuut opnieuw. / Too many log-in attempts from "
    "this address; try again in a minute."
)
WRONG_CURRENT = "Het huidige wachtwoord is onjuist. / The current password is incorrect."
NO_MATCH = "De twee nieuwe wachtwoorden zijn niet gelijk. / The two new passwords differ."
NO_FILE = "Kies een jaarrekening om te uploaden. / Choose a financial statement to upload."
WRONG_TYPE = "Upload een XBRL-bestand (.xbrl of .xml). / Upload an XBRL file (.xbrl or .xml)."
NOT_YET = (
    "Inline XBRL kan nog niet via Zelf Deponeren worden gedeponeerd; upload de jaarrekening als XBRL (.xbrl). / "
    "Inline XBRL cannot be filed here yet; upload the statement as XBRL (.xbrl)."
)
STATE_NL = {"requested": "aangevraagd", "approved": "goedgekeurd", "rejected": "afgewezen", "removed": "verwijderd"}
MELDING = {
    "aangevraagd": "Machtiging aangevraagd: de financiële administratie van het bedrijf krijgt een brief. / "
    "Authorisation requested: the business's financial administration will receive a letter.",
    "verwijderd": "Machtiging verwijderd. / Authorisation removed.",
}


def html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def forbidden(body: str) -> web.HTTPForbidden:
    return web.HTTPForbidden(text=body, content_type="text/html")


def locked(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return (
        f"Te veel mislukte pogingen met deze toegangscode. Probeer het over {minutes} minuten opnieuw, of vraag een "
        f"vervangend wachtwoord aan. / Too many failed attempts with this access code. Try again in {minutes} "
        "minutes, or request a replacement password."
    )


def not_active(code: AccessCode) -> str:
    if code.state == "blocked":
        return (
            "Uw toegangscode is geblokkeerd. Neem contact op met KVK; na betaling van een openstaande factuur wordt "
            "de code gedeblokkeerd. / Your access code is blocked. Contact KVK; once an outstanding invoice is paid "
            "the code is unblocked."
        )
    return (
        "Uw toegangscode is opgeheven (bijvoorbeeld omdat de vestiging is gesloten) en kan niet meer worden "
        "gebruikt. Neem contact op met KVK. / Your access code has been closed (for instance because its branch "
        "closed) and can no longer be used. Contact KVK."
    )


def technical_error() -> str:
    return page(
        "Storing / Technical problem",
        error(
            "Er ging iets mis aan onze kant; er is niets verloren. Probeer het later opnieuw. / Something went "
            "wrong on our side; nothing was lost. Please try again later."
        ),
    )


def csrf_refused() -> str:
    return page(
        "Formulier verlopen / Form expired",
        error("Het formulier is verlopen of niet van deze site. / The form expired or did not come from this site.")
        + f'<p><a href="{B}/">Opnieuw inloggen / Log in again</a></p>',
    )


def not_authorised() -> str:
    return page(
        "Geen machtiging / Not authorised",
        error("U bent niet gemachtigd voor dit bedrijf. / You are not authorised for this business.")
        + f'<p><a href="{B}/overzicht">Overzicht / Overview</a></p>',
    )


def too_large(settings: Settings) -> str:
    mib = settings.max_part_bytes // (1024 * 1024)
    return f"Het bestand is groter dan {mib} MiB. / The file is larger than {mib} MiB."


def login(csrf: str, message: str = "") -> str:
    form = (
        f'<form method="post" action="{B}/inloggen" autocomplete="off">{csrf_field(csrf)}'
        '<label for="code">Toegangscode / Access code</label>'
        '<input type="text" id="code" name="code" placeholder="W-XXXX-XXXX-X" autocapitalize="characters">'
        '<label for="password">Wachtwoord / Password</label>'
        '<input type="password" id="password" name="password">'
        '<button type="submit" id="login">Inloggen / Log in</button></form>'
        f'<p><small><a href="{B}/aanvragen">Toegangscode aanvragen / Apply for an access code</a></small></p>'
        f'<p><small><a href="{B}/vervangend-wachtwoord">Wachtwoord vergeten? Vraag een vervangend wachtwoord aan / '
        "Forgot your password? Request a replacement</a></small></p>"
        "<p><small>Alleen voor micro- en kleine ondernemingen. / For micro and small companies only.</small></p>"
    )
    return page("Inloggen / Log in", error(message) + form)


def replacement(csrf: str, message: str = "", *, sent: bool = False) -> str:
    done = (
        notice(
            "Als de toegangscode en het e-mailadres bij elkaar horen, is een vervangend wachtwoord verstuurd naar "
            "het e-mailadres van de aanvraag. / If the access code and email address belong together, a "
            "replacement password has been sent to the application's email address."
        )
        if sent
        else ""
    )
    form = (
        f'<form method="post" action="{B}/vervangend-wachtwoord">{csrf_field(csrf)}'
        '<label for="code">Toegangscode / Access code</label><input type="text" id="code" name="code">'
        '<label for="email">E-mailadres van de aanvraag / Email address used for the application</label>'
        '<input type="email" id="email" name="email">'
        '<button type="submit" id="send">Verstuur / Send</button></form>'
        f'<p><a href="{B}/">Inloggen / Log in</a></p>'
    )
    return page("Vervangend wachtwoord / Replacement password", error(message) + done + form)


INCOMPLETE = (
    "Vul het vestigingsnummer (12 cijfers), uw naam en uw e-mailadres in. / Enter the branch number (12 digits), "
    "your name and your email address."
)


def application(csrf: str, message: str = "") -> str:
    form = (
        "<p>Voor bedrijven en organisaties: elke medewerker vraagt een eigen, persoonlijke toegangscode aan. / "
        "For businesses and organisations: every employee applies for their own personal access code.</p>"
        f'<form method="post" action="{B}/aanvragen">{csrf_field(csrf)}'
        '<label for="vestigingsnummer">Vestigingsnummer / Branch number</label>'
        '<input type="text" id="vestigingsnummer" name="vestigingsnummer">'
        '<label for="name">Uw naam / Your name</label><input type="text" id="name" name="name">'
        '<label for="email">Uw e-mailadres / Your email address</label><input type="email" id="email" name="email">'
        '<button type="submit" id="apply">Aanvragen / Apply</button></form>'
        f'<p><a href="{B}/">Inloggen / Log in</a></p>'
    )
    return page("Toegangscode aanvragen / Apply for an access code", error(message) + form)


def application_refused(exc: ZdjError) -> str:
    texts = {
        "branch_closed": "Deze vestiging is gesloten: er kan geen toegangscode meer voor worden aangevraagd. Neem "
        "contact op met KVK. / This branch has closed: no access code can be applied for it. Contact KVK.",
        "unknown_branch": "Dit vestigingsnummer is onbekend. / This branch number is unknown.",
        "person_has_code": "U heeft al een toegangscode voor deze organisatie (één code per persoon). Vraag zo nodig "
        "een vervangend wachtwoord aan. / You already have an access code for this organisation (one per person). "
        "Request a replacement password if needed.",
    }
    return texts.get(exc.reason, exc.message)


def applied(issued: Issued) -> str:
    if issued.delivery == "email":
        text = (
            "Uw e-mailadres is het adres waarmee het bedrijf in het Handelsregister staat: u ontvangt de toegangscode "
            "per e-mail. / Your email address is the one the company is registered with: the access code comes by "
            "email."
        )
    else:
        text = (
            f"U ontvangt de toegangscode per post: verzonden op {issued.dispatch_on}, uiterlijk {issued.deliver_by} "
            f"bezorgd. / The access code comes by post: sent on {issued.dispatch_on}, delivered by "
            f"{issued.deliver_by}."
        )
    body = notice(text) + f'<p><a href="{B}/">Inloggen / Log in</a></p>'
    return page("Aanvraag ontvangen / Application received", body)


def password(csrf: str, holder: AccessCode, message: str = "") -> str:
    must = (
        notice("Kies eerst een eigen wachtwoord. / Choose your own password first.")
        if holder.must_change_password
        else ""
    )
    form = (
        f'<form method="post" action="{B}/wachtwoord">{csrf_field(csrf)}'
        '<label for="current">Huidig wachtwoord / Current password</label>'
        '<input type="password" id="current" name="current">'
        '<label for="new">Nieuw wachtwoord (minstens 12 tekens) / New password (12 characters or more)</label>'
        '<input type="password" id="new" name="new">'
        '<label for="repeat">Herhaal / Repeat</label><input type="password" id="repeat" name="repeat">'
        '<button type="submit" id="change">Wijzig wachtwoord / Change password</button></form>'
    )
    return page("Wijzig wachtwoord / Change password", must + error(message) + form)


def _auth_row(csrf: str, a: Authorisation) -> str:
    action = ""
    if a.state == "approved":
        action = f'<a id="file-{esc(a.kvk_number)}" href="{B}/bedrijf/{esc(a.kvk_number)}">Deponeer jaarrekening</a> '
    if a.state in ("requested", "approved"):
        action += (
            f'<form class="inline" method="post" action="{B}/machtiging/{a.id}/verwijderen">{csrf_field(csrf)}'
            f'<button class="link" id="remove-{a.id}" type="submit">Verwijder machtiging</button></form>'
        )
    return (
        f"<tr><td>{esc(a.company_name or '')}</td><td>{esc(a.kvk_number)}</td>"
        f'<td class="state">{esc(STATE_NL.get(a.state, a.state))}</td><td>{action}</td></tr>'
    )


def _filing_row(f: WebFiling) -> str:
    status = f.final_status or f.last_status or "-"
    return (
        f'<tr><td><a href="{B}/deponering/{esc(f.kenmerk)}">{esc(f.kenmerk)}</a></td><td>{esc(f.kvk_number)}</td>'
        f"<td>{esc(f.bestandsnaam)}</td><td>{esc(f.created_at.strftime('%Y-%m-%d %H:%M'))} UTC</td>"
        f"<td>{esc(status)}</td></tr>"
    )


def overview(
    csrf: str,
    holder: AccessCode,
    auths: Sequence[Authorisation],
    filings: Sequence[WebFiling],
    melding: str,
    *,
    error: str = "",
) -> str:
    message = error
    who = (
        f"<p>Ingelogd als <b>{esc(holder.holder_name)}</b> met toegangscode <b>{esc(codes.display(holder.code))}"
        f"</b>.</p>"
    )
    rows = "".join(_auth_row(csrf, a) for a in auths if a.state != "removed")
    table = (
        "<h3>Bedrijven / Businesses</h3><table id=businesses><tr><th>Naam</th><th>KVK</th><th>Machtiging</th>"
        f"<th></th></tr>{rows}</table>"
        if rows
        else "<p>Nog geen machtigingen. / No authorisations yet.</p>"
    )
    ask = (
        f'<h3>Machtiging aanvragen / Request authorisation</h3><form method="post" action="{B}/machtiging">'
        f'{csrf_field(csrf)}<label for="kvk">KVK-nummer / KVK number</label><input type="text" id="kvk" name="kvk">'
        '<button type="submit" id="request">Machtiging aanvragen</button></form>'
    )
    done = "".join(_filing_row(f) for f in filings)
    history = (
        "<h3>Deponeringen / Filings</h3><table id=filings><tr><th>Kenmerk</th><th>KVK</th><th>Bestand</th>"
        f"<th>Ontvangen</th><th>Status</th></tr>{done}</table>"
        if done
        else ""
    )
    out = (
        f'<form method="post" action="{B}/uitloggen">{csrf_field(csrf)}'
        f'<button type="submit" id="logout">Uitloggen / Log out</button></form>'
        f'<p><a href="{B}/wachtwoord">Wijzig wachtwoord / Change password</a></p>'
    )
    body = who + notice(MELDING.get(melding, "")) + error_box(message) + table + ask + history + out
    return page("Overzicht / Overview", body)


def upload(csrf: str, kvk: str, name: str, message: str = "", accept: Sequence[str] = (".xbrl", ".xml")) -> str:
    form = (
        f"<p>Bedrijf: <b>{esc(name)}</b> (KVK {esc(kvk)})</p>"
        f'<form method="post" action="{B}/bedrijf/{esc(kvk)}" enctype="multipart/form-data">{csrf_field(csrf)}'
        '<label for="jaarrekening">Jaarrekening (XBRL) / Financial statement (XBRL)</label>'
        f'<input type="file" id="jaarrekening" name="jaarrekening" accept="{esc(",".join(accept))}">'
        '<button type="submit" id="upload">Deponeer / File</button></form>'
        f'<p><a href="{B}/overzicht">Overzicht / Overview</a></p>'
    )
    return page("Deponeer jaarrekening / File financial statement", error(message) + form)


FINAL = {"311", "321", "500", "210"}


def filing(sub: Any, history: Sequence[Any], found: Sequence[Any], mails: Sequence[Any]) -> str:
    final = sub.state == "done"
    outcome = {
        "accepted": '<p class="ok" id="outcome">Gedeponeerd / Filed</p>',
        "rejected": '<p class="bad" id="outcome">Afgewezen / Rejected</p>',
        "error": '<p class="bad" id="outcome">Technische fout bij de controle / Technical error while checking</p>',
    }.get(sub.outcome or "", '<p id="outcome">In behandeling… / Being processed…</p>')
    statuses = "".join(
        f"<tr><td>{esc(s.created_at.strftime('%Y-%m-%d %H:%M:%S'))}</td><td class=code>{esc(s.code)}</td>"
        f"<td>{esc(s.description)}</td><td>{esc(s.foutcode or '')}</td></tr>"
        for s in history
    )
    findings = "".join(
        f"<tr><td class=code>{esc(f.code)}</td><td>{esc(f.severity)}</td><td>{esc(f.message_nl)}"
        f"<br><small>{esc(f.message_en)}</small></td><td>{esc(f.location or '')}</td></tr>"
        for f in found
    )
    mail_lines = "".join(
        f"<li id=mail>E-mail {'verzonden / sent' if m.state == 'sent' else 'wacht / pending'} "
        f"{esc(m.sent_at.strftime('%Y-%m-%d %H:%M') + ' UTC' if m.sent_at else '')}</li>"
        for m in mails
        if m.state != "skipped"
    )
    body = (
        f"<p>Kenmerk: <b id=kenmerk>{esc(sub.kenmerk)}</b> · KVK {esc(sub.belanghebbende_nummer)}</p>{outcome}"
        f"<h3>Statussen / Statuses</h3><table id=statuses><tr><th>Tijd (UTC)</th><th>Code</th><th>Omschrijving</th>"
        f"<th>Foutcode</th></tr>{statuses}</table>"
        + (
            f"<h3>Bevindingen / Findings</h3><table id=findings><tr><th>Code</th><th>Ernst</th><th>Tekst</th>"
            f"<th>Plaats</th></tr>{findings}</table>"
            if findings
            else ""
        )
        + (f"<h3>Bericht / Notification</h3><ul>{mail_lines}</ul>" if mail_lines else "")
        + f'<p><a href="{B}/overzicht">Overzicht / Overview</a></p>'
    )
    waiting = not final or any(m.state == "pending" for m in mails)
    return page("Deponering / Filing", body, refresh=2 if waiting else None)
