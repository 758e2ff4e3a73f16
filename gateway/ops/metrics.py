"""Prometheus text exposition of a Snapshot (computed at scrape time from the database)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from gateway.ops.stats import Snapshot


class _SnapshotCollector(Collector):
    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self):  # type: ignore[no-untyped-def]
        s = self.snap
        received = CounterMetricFamily(
            "gateway_submissions",
            "Submissions received, by berichtsoort and outcome (pending = not finished).",
            labels=["berichtsoort", "outcome"],
        )
        for berichtsoort, outcome, count in s.received:
            received.add_metric([berichtsoort, outcome], count)
        yield received
        rejections = CounterMetricFamily(
            "gateway_rejections", "Runs ending in 311/321, by foutcode (the first error).", labels=["foutcode"]
        )
        for code, count in s.rejections:
            rejections.add_metric([code], count)
        yield rejections
        depth = GaugeMetricFamily("gateway_queue_depth", "Jobs in the arq queue (queued, deferred and running).")
        if s.queue_depth is not None:
            depth.add_metric([], s.queue_depth)
        yield depth
        yield GaugeMetricFamily(
            "gateway_unfinished_submissions", "Submissions without a final status.", value=s.unfinished
        )
        yield GaugeMetricFamily(
            "gateway_oldest_unfinished_age_seconds",
            "Age of the oldest submission without a final status.",
            value=s.oldest_unfinished_seconds,
        )
        hist = HistogramMetricFamily("gateway_check_duration_seconds", "Time the checks of one run took.")
        buckets = [(str(b), c) for b, c in s.duration_buckets] + [("+Inf", s.duration_count)]
        hist.add_metric([], buckets, s.duration_sum)
        yield hist
        yield CounterMetricFamily(
            "gateway_mail_send_failures", "Failed attempts to send a notification.", value=s.mail_failures
        )
        yield CounterMetricFamily("gateway_mails_sent", "Notifications sent.", value=s.mails_sent)
        yield GaugeMetricFamily("gateway_mail_backlog", "Notifications waiting to be sent.", value=s.mail_backlog)
        workers = GaugeMetricFamily(
            "gateway_workers_alive", "Workers whose heartbeat is current.", value=len(s.workers)
        )
        yield workers
        age = GaugeMetricFamily(
            "gateway_worker_heartbeat_age_seconds", "Seconds since a worker's last heartbeat.", labels=["worker"]
        )
        now = time.time()
        for w in s.workers:
            age.add_metric([f"{w['host']}:{w['pid']}"], max(0.0, now - float(w["seen"])))
        yield age


def render(snap: Snapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snap))
    return generate_latest(registry)
