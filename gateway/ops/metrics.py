"""Prometheus text exposition of a Snapshot (computed at scrape time from the database).

Counters come from append-only facts (submissions, statuses, mail attempts), so they only go
up; gauges are the current state. deploy/prometheus/alerts.yml and the Grafana dashboard in
deploy/grafana/ use these names (a test checks that every name they use is exported).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from gateway.ops.stats import Snapshot
from gateway.store.operators import Overview


def _submissions(o: Overview) -> Iterator[Metric]:
    received = CounterMetricFamily(
        "gateway_submissions_received", "Submissions received and stored, by berichtsoort.", labels=["berichtsoort"]
    )
    current = GaugeMetricFamily(
        "gateway_submissions",
        "Submissions by berichtsoort and current outcome (pending = current run not finished).",
        labels=["berichtsoort", "outcome"],
    )
    per_soort: dict[str, int] = {}
    for oc in o.by_outcome:
        per_soort[oc.berichtsoort] = per_soort.get(oc.berichtsoort, 0) + oc.count
        current.add_metric([oc.berichtsoort, oc.outcome], oc.count)
    for soort, n in per_soort.items():
        received.add_metric([soort], n)
    yield received
    yield current
    finals = CounterMetricFamily(
        "gateway_final_statuses", "Runs that ended, by final Digipoort status (500, 311, 321, 210).", labels=["status"]
    )
    for c in o.final_statuses:
        finals.add_metric([c.code], c.count)
    yield finals
    rejections = CounterMetricFamily(
        "gateway_rejections", "Runs ending in 311/321, by foutcode (the first error).", labels=["foutcode"]
    )
    for c in o.rejections:
        rejections.add_metric([c.code], c.count)
    yield rejections
    yield GaugeMetricFamily("gateway_unfinished_submissions", "Submissions without a final status.", value=o.unfinished)
    yield GaugeMetricFamily(
        "gateway_oldest_unfinished_age_seconds",
        "Seconds the longest-waiting unfinished submission has waited since it was queued (intake or replay).",
        value=o.oldest_unfinished_seconds,
    )
    hist = HistogramMetricFamily("gateway_check_duration_seconds", "Time the checks of a submission's last run took.")
    buckets = [(str(b), c) for b, c in o.durations.buckets] + [("+Inf", o.durations.count)]
    hist.add_metric([], buckets, o.durations.total_seconds)
    yield hist


def _mail(o: Overview) -> Iterator[Metric]:
    m = o.mail
    yield CounterMetricFamily(
        "gateway_mail_send_failures", "Failed attempts to send a notification.", value=m.failed_attempts
    )
    yield CounterMetricFamily("gateway_mails_sent", "Notifications sent.", value=m.sent)
    yield GaugeMetricFamily("gateway_mail_backlog", "Notifications waiting to be sent.", value=m.backlog)
    yield GaugeMetricFamily(
        "gateway_mail_oldest_pending_age_seconds",
        "Seconds the oldest notification waiting to be sent has waited (0 when none waits).",
        value=m.oldest_pending_seconds,
    )


def _redis(s: Snapshot) -> Iterator[Metric]:
    yield GaugeMetricFamily("gateway_redis_up", "1 if Redis answered this scrape.", value=0 if s.queue is None else 1)
    depth = GaugeMetricFamily("gateway_queue_depth", "Jobs in the arq queue (queued, deferred and running).")
    kinds = GaugeMetricFamily("gateway_queued_jobs", "Jobs in the arq queue by kind.", labels=["kind"])
    if s.queue is not None:
        depth.add_metric([], s.queue.depth)
        for kind, n in (("check", s.queue.checks), ("mail", s.queue.mails), ("other", s.queue.other)):
            if n is not None:
                kinds.add_metric([kind], n)
    yield depth
    yield kinds
    tls = CounterMetricFamily(
        "gateway_tls_handshake_failures",
        "TLS handshakes the filers' port refused, by reason (counted by the intake processes in Redis).",
        labels=["reason"],
    )
    for reason, n in s.tls_failures:
        tls.add_metric([reason], n)
    yield tls
    yield GaugeMetricFamily("gateway_workers_alive", "Workers whose heartbeat is current.", value=len(s.workers))
    age = GaugeMetricFamily(
        "gateway_worker_heartbeat_age_seconds", "Seconds since a worker's last heartbeat.", labels=["worker"]
    )
    now = time.time()
    for w in s.workers:
        age.add_metric([w.name], max(0.0, now - w.seen))
    yield age


class _SnapshotCollector(Collector):
    def __init__(self, snap: Snapshot, extra: Sequence[Metric]) -> None:
        self.snap = snap
        self.extra = extra

    def collect(self) -> Iterator[Metric]:
        yield from _submissions(self.snap.overview)
        yield from _mail(self.snap.overview)
        yield from _redis(self.snap)
        yield from self.extra


def render(snap: Snapshot, extra: Sequence[Metric] = ()) -> bytes:
    """The exposition text; ``extra`` are families from gateway.ops.extensions sources."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snap, extra))
    return generate_latest(registry)
