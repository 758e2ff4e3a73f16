"""The operators' dashboard: one server-rendered page that refreshes itself. No build step,
no JavaScript; the chart is inline SVG."""

from __future__ import annotations

import html
from datetime import timedelta

from gateway.ops.stats import Snapshot

COLOURS = {"accepted": "#2e7d32", "rejected": "#c62828", "error": "#ef6c00", "received": "#1565c0"}


def _e(value: object) -> str:
    return html.escape(str(value))


def _chart(s: Snapshot) -> str:
    minutes = [(s.taken_at - timedelta(minutes=59 - i)).strftime("%H:%M") for i in range(60)]
    series = ["received", "accepted", "rejected", "error"]
    peak = max([1] + [s.per_minute.get(m, {}).get(k, 0) for m in minutes for k in series])
    width, height, bar = 720, 160, 720 / 60
    parts = [
        f'<svg id="per-minute" width="{width}" height="{height + 20}" role="img" '
        f'aria-label="submissions per minute by outcome">'
    ]
    for i, m in enumerate(minutes):
        counts = s.per_minute.get(m, {})
        slot = bar / len(series)
        for j, key in enumerate(series):
            n = counts.get(key, 0)
            if n:
                h = height * n / peak
                parts.append(
                    f'<rect x="{i * bar + j * slot:.1f}" y="{height - h:.1f}" width="{slot:.1f}" height="{h:.1f}" '
                    f'fill="{COLOURS[key]}"><title>{m} {key}: {n}</title></rect>'
                )
        if i % 10 == 0:
            parts.append(f'<text x="{i * bar:.1f}" y="{height + 15}" font-size="10">{m}</text>')
    parts.append("</svg>")
    legend = " ".join(f'<span style="color:{COLOURS[k]}">■ {k}</span>' for k in series)
    return "".join(parts) + f"<p>{legend} (peak {peak}/min)</p>"


def render(s: Snapshot, refresh_seconds: int = 10) -> str:
    totals: dict[str, int] = {}
    for _, outcome, count in s.received:
        totals[outcome] = totals.get(outcome, 0) + count
    stuck = (
        "".join(
            f"<tr><td><code>{_e(r['kenmerk'])}</code></td><td>{_e(r['received_at'].isoformat(timespec='seconds'))}</td>"
            f"<td>{int(r['age'])} s</td><td>{r['run']}</td></tr>"
            for r in s.stuck
        )
        or '<tr><td colspan="4">none</td></tr>'
    )
    failures = (
        "".join(
            f"<tr><td><code>{_e(r['kenmerk'])}</code></td><td>{_e(r['final_status'])}</td>"
            f'<td class="foutcode">{_e(r["foutcode"])}</td><td>{_e(r["kvk_number"] or r["belanghebbende_nummer"])}</td>'
            f"<td>{_e((r['foutbeschrijving'] or '')[:160])}</td></tr>"
            for r in s.recent_failures
        )
        or '<tr><td colspan="5">none</td></tr>'
    )
    workers = (
        "".join(
            f"<tr><td>{_e(w['host'])}:{w['pid']}</td><td>{w['jobs_complete']}</td><td>{w['jobs_failed']}</td>"
            f"<td>{int(s.taken_at.timestamp() - float(w['seen']))} s ago</td></tr>"
            for w in s.workers
        )
        or '<tr><td colspan="4">no live workers</td></tr>'
    )
    depth = "unknown (Redis unreachable)" if s.queue_depth is None else str(s.queue_depth)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{refresh_seconds}">
<title>Filing gateway — operations</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #222 }}
.tiles {{ display: flex; gap: 1em; flex-wrap: wrap }}
.tile {{ border: 1px solid #ccc; border-radius: 6px; padding: .6em 1em; min-width: 9em }}
.tile b {{ display: block; font-size: 1.6em }}
table {{ border-collapse: collapse; margin-bottom: 1.5em }}
td, th {{ border-bottom: 1px solid #eee; padding: .2em .6em; text-align: left; font-size: .9em }}
</style></head><body>
<h1>Filing gateway</h1>
<p>As of {_e(s.taken_at.isoformat(timespec="seconds"))}; refreshes every {refresh_seconds} s.</p>
<div class="tiles">
 <div class="tile" id="queue-depth">queue depth<b>{_e(depth)}</b></div>
 <div class="tile" id="unfinished">unfinished<b>{s.unfinished}</b></div>
 <div class="tile" id="oldest">oldest unfinished<b>{int(s.oldest_unfinished_seconds)} s</b></div>
 <div class="tile" id="received-hour">received, last hour<b>{s.received_last_hour}</b></div>
 <div class="tile" id="finished-hour">finished, last hour<b>{s.finished_last_hour}</b></div>
 <div class="tile" id="accepted">accepted, all time<b>{totals.get("accepted", 0)}</b></div>
 <div class="tile" id="rejected">rejected, all time<b>{totals.get("rejected", 0)}</b></div>
 <div class="tile" id="mail-backlog">mail backlog<b>{s.mail_backlog}</b></div>
</div>
<h2>Submissions per minute, last hour</h2>
{_chart(s)}
<h2>Oldest unfinished submissions</h2>
<table id="stuck"><tr><th>kenmerk</th><th>received</th><th>age</th><th>run</th></tr>{stuck}</table>
<h2>Recent failures</h2>
<table id="failures"><tr><th>kenmerk</th><th>status</th><th>foutcode</th><th>KVK</th><th>description</th></tr>
{failures}</table>
<h2>Workers</h2>
<table id="workers"><tr><th>worker</th><th>jobs done</th><th>jobs failed</th><th>heartbeat</th></tr>{workers}</table>
</body></html>"""
