"""The operators' overview page: tiles, the per-minute chart, what waits, what failed, workers.

Every figure comes from one Snapshot (one database transaction plus one Redis read), and the
figures are chosen to add up: the outcome tiles sum to "received, all time", the chart's bars
sum to "received, last 60 min", and the queue is split into checks and mails, so that it can
be held against "unfinished" and "mail backlog".
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from gateway.ops.extensions import Tile
from gateway.ops.html import duration, esc, kenmerk_link, page, search_url, table, when
from gateway.ops.stats import QueueState, Snapshot
from gateway.store.operators import CodeCount, MinuteCounts, Overview

SERIES = (("accepted", "#2e7d32"), ("rejected", "#c62828"), ("error", "#ef6c00"), ("pending", "#1e6fd9"))

# Chart geometry, in viewBox units; the SVG is scaled to the page's full width.
WIDTH, HEIGHT = 1200, 300
WORKER_COLUMNS = ["worker", "jobs done (at heartbeat)", "jobs failed", "last heartbeat"]
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 52


def nice_step(peak: int, ticks: int = 5) -> int:
    """A 1-2-5 step that covers ``peak`` with at most ``ticks`` steps."""
    raw = max(1.0, peak / ticks)
    base = 10 ** math.floor(math.log10(raw))
    return int(next(m * base for m in (1, 2, 5, 10) if m * base >= raw))


def _bar(m: MinuteCounts, x: float, width: float, scale: float) -> str:
    y = float(TOP + (HEIGHT - TOP - BOTTOM))
    parts = []
    for key, colour in SERIES:
        n = m.counts.get(key, 0)
        if n:
            h = n * scale
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" fill="{colour}"/>')
    detail = ", ".join(f"{m.counts[k]} {k}" for k, _ in SERIES if m.counts.get(k))
    label = f"{m.minute:%H:%M}: {m.total} received" + (f" ({detail})" if detail else "")
    return (
        f'<g class="bar" data-minute="{m.minute:%H:%M}" data-count="{m.total}"><title>{esc(label)}</title>'
        + "".join(parts)
        + "</g>"
    )


def _y_axis(peak: int, plot_h: float) -> tuple[str, float]:
    step = nice_step(peak)
    top = step * max(1, math.ceil(peak / step))
    scale = plot_h / top
    base = TOP + plot_h
    out = []
    for value in range(0, top + 1, step):
        y = base - value * scale
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ec"/>'
            f'<text class="ytick" x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="13">{value}</text>'
        )
    out.append(
        f'<text transform="translate(16 {TOP + plot_h / 2:.0f}) rotate(-90)" text-anchor="middle" font-size="13">'
        "received per minute</text>"
    )
    return "".join(out), scale


def _x_axis(minutes: Sequence[MinuteCounts], slot: float, plot_h: float) -> str:
    base = TOP + plot_h
    out = [f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" stroke="#5b6474"/>']
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{base}" stroke="#5b6474"/>')
    for i, m in enumerate(minutes):
        if i % 10 == 0 or i == len(minutes) - 1:
            x = LEFT + (i + 0.5) * slot
            out.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 5}" stroke="#5b6474"/>'
                f'<text class="xtick" x="{x:.1f}" y="{base + 20}" text-anchor="middle" font-size="13">'
                f"{m.minute:%H:%M}</text>"
            )
    out.append(
        f'<text x="{LEFT + (WIDTH - LEFT - RIGHT) / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle" font-size="13">'
        "minute received (UTC); colour = outcome now</text>"
    )
    return "".join(out)


def chart(minutes: Sequence[MinuteCounts]) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(minutes))
    peak = max([1] + [m.total for m in minutes])
    grid, scale = _y_axis(peak, plot_h)
    bars = "".join(_bar(m, LEFT + i * slot + slot * 0.12, slot * 0.76, scale) for i, m in enumerate(minutes) if m.total)
    totals = {k: sum(m.counts.get(k, 0) for m in minutes) for k, _ in SERIES}
    legend = " ".join(
        f'<span class="legend" data-series="{k}"><span style="color:{c}">■</span> {k} <b>{totals[k]}</b></span>'
        for k, c in SERIES
    )
    return (
        f'<svg id="per-minute" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="submissions received per minute, last hour, by outcome">'
        f"{grid}{bars}{_x_axis(minutes, slot, plot_h)}</svg><p>{legend}</p>"
    )


def _tile(key: str, label: str, value: object, note: str = "") -> str:
    small = f"<small>{esc(note)}</small>" if note else ""
    return f'<div class="tile" id="{esc(key)}">{esc(label)}<b>{esc(value)}</b>{small}</div>'


def _queue_tile(q: QueueState | None) -> str:
    if q is None:
        return _tile("queue-depth", "jobs in queue", "?", "Redis unreachable")
    note = f"{q.checks} checks, {q.mails} mails" if q.checks is not None else "too many to split"
    if q.other:
        note += f", {q.other} other"
    return _tile("queue-depth", "jobs in queue", q.depth, note)


def _now_tiles(s: Snapshot) -> str:
    o = s.overview
    return "".join(
        [
            _queue_tile(s.queue),
            _tile("unfinished", "unfinished submissions", o.unfinished, "no final status yet"),
            _tile("oldest", "longest wait", duration(o.oldest_unfinished_seconds), "of the unfinished"),
            _tile("mail-backlog", "mails waiting", o.mail.backlog, f"{o.mail.failed_attempts} failed attempts"),
            _tile("workers", "live workers", len(s.workers) if s.queue is not None else "?"),
        ]
    )


def _total_tiles(o: Overview, extra: Sequence[Tile]) -> str:
    tiles = [
        _tile("received", "received, all time", o.received_total),
        *(_tile(k, k, o.outcome_total(k), "now") for k, _ in SERIES),
        _tile("received-window", "received, last 60 min", o.received_in_window),
        *(_tile(t.key, t.label, t.value) for t in extra),
    ]
    return "".join(tiles)


def _open_rows(s: Snapshot) -> list[str]:
    now = s.taken_at
    return [
        f"<tr><td>{kenmerk_link(r.kenmerk)}</td><td class='t'>{when(r.received_at)}</td>"
        f"<td class='n'>{duration((now - r.waiting_since).total_seconds())}</td><td class='n'>{r.run}</td></tr>"
        for r in s.overview.oldest_open
    ]


def _failure_rows(o: Overview) -> list[str]:
    return [
        f"<tr><td>{kenmerk_link(r.kenmerk)}</td><td class='t'>{when(r.finished_at)}</td>"
        f"<td><span class='badge bad'>{esc(r.final_status)}</span></td>"
        f"<td class='foutcode'><a href='{esc(search_url(foutcode=r.foutcode))}'>{esc(r.foutcode)}</a></td>"
        f"<td class='k'>{esc(r.kvk_number)}</td><td class='text'>{esc(r.foutbeschrijving)}</td></tr>"
        for r in o.recent_failures
    ]


def _foutcode_rows(codes: Sequence[CodeCount]) -> list[str]:
    return [
        f"<tr><td class='k'><a href='{esc(search_url(foutcode=c.code))}'>{esc(c.code)}</a></td>"
        f"<td class='n'>{c.count}</td></tr>"
        for c in codes
    ]


def _worker_rows(s: Snapshot) -> list[str]:
    now = time.time()
    return [
        f"<tr><td class='k'>{esc(w.name)}</td><td class='n'>{w.jobs_complete}</td><td class='n'>{w.jobs_failed}</td>"
        f"<td class='n'>{duration(max(0.0, now - w.seen))} ago</td></tr>"
        for w in s.workers
    ]


def render(s: Snapshot, codes: Sequence[CodeCount], extra: Sequence[Tile] = (), refresh_seconds: int = 30) -> str:
    o = s.overview
    body = f"""<h1>Overview</h1>
<p>As of {when(s.taken_at)} UTC; refreshes every {refresh_seconds} s.</p>
<h2>Now</h2><div class="tiles" id="now">{_now_tiles(s)}</div>
<h2>Submissions by outcome</h2><div class="tiles" id="totals">{_total_tiles(o, extra)}</div>
<h2>Received per minute, last hour</h2><div class="panel">{chart(o.minutes)}</div>
<h2>Waiting longest</h2>
{table("stuck", ["kenmerk", "received (UTC)", "waiting", "run"], _open_rows(s), "nothing waits")}
<h2>Recent failures</h2>
{table("failures", ["kenmerk", "finished (UTC)", "status", "foutcode", "KVK", "description"], _failure_rows(o))}
<h2>Current rejections by foutcode</h2>
{table("foutcodes", ["foutcode", "submissions"], _foutcode_rows(codes))}
<h2>Workers</h2>
{table("workers", WORKER_COLUMNS, _worker_rows(s), "no live workers")}"""
    return page("Overview", body, refresh=refresh_seconds)
