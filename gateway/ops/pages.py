"""The operators' search page and the page of one submission."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.ops.html import (
    STATUS_CLASS,
    duration,
    esc,
    kenmerk_link,
    page,
    search_url,
    submission_url,
    table,
    when,
)
from gateway.store.operators import (
    CodeCount,
    SearchResult,
    SubmissionDetail,
    SubmissionQuery,
    SubmissionSummary,
)

#: Choices of the status filter: final Digipoort statuses, and "open" for unfinished ones.
STATUS_CHOICES = (
    ("", "any"),
    ("open", "open (no final status)"),
    ("500", "500 accepted"),
    ("311", "311 rejected"),
    ("321", "321 technical error"),
    ("210", "210 authentication failed"),
)


def status_badge(state: str, final_status: str | None) -> str:
    if state != "done" or not final_status:
        return '<span class="badge open">open</span>'
    return f'<span class="badge {STATUS_CLASS.get(final_status, "")}">{esc(final_status)}</span>'


def _options(choices: Sequence[tuple[str, str]], selected: str | None) -> str:
    return "".join(
        f'<option value="{esc(v)}"{" selected" if v == (selected or "") else ""}>{esc(label)}</option>'
        for v, label in choices
    )


def _filters(q: SubmissionQuery, codes: Sequence[CodeCount]) -> str:
    fout = [("", "any"), *((c.code, f"{c.code} ({c.count})") for c in codes)]
    return f"""<form class="filters" method="get" action="/submissions" id="filters">
<label>search<input type="search" name="q" value="{esc(q.text)}" size="34"
 placeholder="kenmerk, KVK number, aanleverkenmerk or sender"></label>
<label>status<select name="status" id="status-filter">{_options(STATUS_CHOICES, q.status)}</select></label>
<label>foutcode<select name="foutcode" id="foutcode-filter">{_options(fout, q.foutcode)}</select></label>
<button type="submit">Filter</button> <a href="/submissions">clear</a></form>"""


def _row(s: SubmissionSummary) -> str:
    return (
        f"<tr><td class='t'>{when(s.received_at)}</td><td>{kenmerk_link(s.kenmerk)}</td>"
        f"<td class='k'>{esc(s.aanleverkenmerk)}</td><td class='k'>{esc(s.kvk_number)}</td>"
        f"<td class='k'>{esc(s.sender)}</td><td>{status_badge(s.state, s.final_status)}</td>"
        f"<td class='k foutcode'>{esc(s.foutcode)}</td><td class='n'>{s.run}</td></tr>"
    )


def _pager(r: SearchResult) -> str:
    q = r.query
    links = []
    params = {"q": q.text, "status": q.status, "foutcode": q.foutcode}
    if q.offset > 0:
        links.append(f'<a rel="prev" href="{esc(search_url(**params, offset=max(0, q.offset - q.limit)))}">newer</a>')
    if q.offset + len(r.items) < r.total:
        links.append(f'<a rel="next" href="{esc(search_url(**params, offset=q.offset + q.limit))}">older</a>')
    return " · ".join(links)


def search_page(r: SearchResult, codes: Sequence[CodeCount]) -> str:
    q = r.query
    first = q.offset + 1 if r.items else 0
    body = f"""<h1>Submissions</h1>{_filters(q, codes)}
<p id="result-count"><b>{r.total}</b> submission{"" if r.total == 1 else "s"}{
        f", showing {first}–{q.offset + len(r.items)}" if r.total > len(r.items) else ""
    }</p>
{
        table(
            "results",
            ["received (UTC)", "kenmerk", "aanleverkenmerk", "KVK", "sender", "status", "foutcode", "run"],
            [_row(s) for s in r.items],
            "no submission matches",
        )
    }
<p>{_pager(r)}</p>"""
    return page("Submissions", body, query=q.text)


# ---------------------------------------------------------------------- one submission


def _facts(d: SubmissionDetail) -> str:
    s = d.summary
    documents = "<br>".join(
        f"{doc.position}: {esc(doc.bestandsnaam)} ({esc(doc.mime_type)}, {doc.size} bytes, sha256 "
        f"<code>{esc(doc.sha256[:16])}…</code>)"
        for doc in d.documents
    )
    rows = [
        ("berichtsoort", esc(s.berichtsoort)),
        ("aanleverkenmerk", f"<span class='k'>{esc(s.aanleverkenmerk)}</span>"),
        ("eerder aanleverkenmerk", esc(d.eerder_aanleverkenmerk or "—")),
        ("belanghebbende", f"<span class='k'>{esc(d.belanghebbende)}</span>"),
        ("KVK number", f"<span class='k'>{esc(s.kvk_number)}</span>"),
        ("financial year", esc(d.financial_year or "—")),
        ("sender", f"{esc(d.sender_subject)} (OIN <span class='k'>{esc(d.sender_oin or '—')}</span>)"),
        ("outcome mails to", esc(d.notify_address or "— (no address)")),
        ("received", f"{when(s.received_at)} UTC"),
        ("state", f"{esc(s.state)}, run {s.run}, outcome {esc(s.outcome or '—')}"),
        (
            "original message",
            f"<a id='download' href='{esc(submission_url(s.kenmerk))}/message' download>download</a> "
            f"({d.raw_size} bytes, sha256 <code>{esc(d.raw_sha256)}</code>)",
        ),
        ("documents", documents or "—"),
    ]
    return '<dl class="facts" id="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _runs(d: SubmissionDetail) -> str:
    rows = [
        f"<tr><td class='n'>{r.run}</td><td>{esc(r.trigger)}</td><td class='actor'>{esc(r.actor)}</td>"
        f"<td class='text reason'>{esc(r.reason or '')}</td><td class='t'>{when(r.started_at)}</td>"
        f"<td>{status_badge('done' if r.final_status else 'open', r.final_status)}</td>"
        f"<td class='t'>{when(r.finished_at)}</td></tr>"
        for r in d.runs
    ]
    return table("runs", ["run", "started by", "who", "why", "started (UTC)", "final status", "finished (UTC)"], rows)


def _timeline(d: SubmissionDetail) -> str:
    rows = [
        f"<tr data-run='{e.run}'><td class='n'>{e.run}</td><td class='t'>{when(e.created_at)}</td>"
        f"<td><span class='badge {STATUS_CLASS.get(e.code, '')}'>{esc(e.code)}</span></td>"
        f"<td class='t'>{esc(e.description)}</td><td class='k'>{esc(e.foutcode)}</td>"
        f"<td class='text'>{esc(e.details or e.foutbeschrijving or '')}</td>"
        f"<td class='t'>{when(e.fetched_at)}</td></tr>"
        for e in d.statuses
    ]
    headers = ["run", "at (UTC)", "status", "description", "foutcode", "details", "fetched by sender"]
    return table("timeline", headers, rows)


def _findings(d: SubmissionDetail) -> str:
    rows = [
        f"<tr><td class='n'>{f.run}</td><td class='k code'>{esc(f.code)}</td><td>{esc(f.severity)}</td>"
        f"<td class='text'>{esc(f.location or '')}</td><td class='text'>{esc(f.message_en)}</td>"
        f"<td class='text'>{esc(f.message_nl)}</td></tr>"
        for f in d.findings
    ]
    return table("findings", ["run", "code", "severity", "location", "English", "Nederlands"], rows, "no findings")


def _mails(d: SubmissionDetail) -> str:
    rows = [
        f"<tr><td class='n'>{m.run}</td><td>{esc(m.outcome)}</td><td class='k'>{esc(m.recipient or '—')}</td>"
        f"<td class='state'>{esc(m.state)}</td><td class='n'>{m.attempts}</td><td class='t'>{when(m.created_at)}</td>"
        f"<td class='t'>{when(m.sent_at)}</td><td class='text'>{esc(m.last_error or '')}</td></tr>"
        for m in d.mails
    ]
    headers = ["run", "outcome", "to", "state", "attempts", "created (UTC)", "sent (UTC)", "last error"]
    return table("mails", headers, rows, "no mail yet")


def _replay_form(d: SubmissionDetail, csrf_field: str) -> str:
    s = d.summary
    if s.state != "done":
        return f"<p id='replay-busy'>Run {s.run} is not finished yet; a replay is possible once it is.</p>"
    return f"""<form class="replay" id="replay" method="post" action="{esc(submission_url(s.kenmerk))}/replay">
{csrf_field}
<label>who <input type="text" name="actor" required maxlength="200" placeholder="your name"></label>
<label>why <input type="text" name="reason" required maxlength="1000"
 placeholder="e.g. company registered late; register fixed"></label>
<button type="submit">Replay: check again as run {s.run + 1}</button>
<p><small>A replay appends a new run; the filer is mailed only if the outcome changes.</small></p></form>"""


def detail_page(d: SubmissionDetail, csrf_field: str, notice: str = "") -> str:
    s = d.summary
    banner = f'<p class="notice" id="notice">{esc(notice)}</p>' if notice else ""
    waited = duration((d.updated_at - s.received_at).total_seconds())
    body = f"""{banner}<h1><span class="k" id="kenmerk">{esc(s.kenmerk)}</span>
{status_badge(s.state, s.final_status)} <span class="k">{esc(s.foutcode or "")}</span></h1>
<p>Last change {when(d.updated_at)} UTC ({waited} after receipt).</p>
<div class="panel">{_facts(d)}</div>
<h2>Runs and replays</h2>{_runs(d)}
<h2>Status timeline</h2>{_timeline(d)}
<h2>Findings</h2>{_findings(d)}
<h2>Mails</h2>{_mails(d)}
<h2>Replay</h2>{_replay_form(d, csrf_field)}"""
    return page(s.kenmerk, body)
