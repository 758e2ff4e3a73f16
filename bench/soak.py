"""Soak: the gateway as deployed (2 `gateway serve`, 2 `gateway worker`, PostgreSQL, a
private redis-server, an SMTP sink) under load from 8 concurrent signed clients, with one
fault injected per phase. Per fault it prints what the clients and the database saw and
exits non-zero when an invariant breaks:

- lost: acknowledged (the client holds a kenmerk) but not in the database;
- stuck: acknowledged but without a final status when the phase ends;
- wrong outcome: a final status other than the one the statement deserves (500 for a
  valid one, 311 for one of an unknown company, 321 GW-TECH-02 for the poison statement);
- duplicate mails, or a final outcome without its mail;
- (replay fault) the same signed message accepted twice.

Client errors and ambiguous outcomes (the client got no answer, yet the submission was
stored) are reported, not judged: a dropped connection is a fault the client must retry.

    bench/soak.py                 # 400 submissions per fault, for people
    bench/soak.py --short         # a few per fault, for CI (tests/queue/test_soak.py)

PostgreSQL: --postgres or GATEWAY_TEST_POSTGRES_URL (an admin URL; a database is created
and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from tests.support.gateway import Stack  # noqa: E402
from tests.support.pki import Pki, make_pki  # noqa: E402
from tests.support.raw import aanlever_envelope, post, signed  # noqa: E402
from tests.support.redis_server import PrivateRedis  # noqa: E402
from tests.support.smtp import SmtpSink, free_port  # noqa: E402
from tests.support.xbrl import Statement, padded  # noqa: E402

KVK = "12345678"
UNKNOWN_KVK = "87654321"
COMPANY = ("12345678", "Voorbeeld Handel B.V.", "Besloten vennootschap met beperkte aansprakelijkheid", "active")
#: CPU seconds the checks may use in the soak: a normal statement needs a fraction of it,
#: the poison statement (a big valid one) many times more.
CHECK_BUDGET = "0.3"
POISON_BYTES = 16_000_000
FINAL = ("500", "311", "321", "210")

ALL_FAULTS = (
    "baseline",
    "db-blip",
    "redis-kill",
    "same-year",
    "poison",
    "ops-endpoints",
    "replay-redis-down",
    "dev-redis",
    "gateway-kill",
    "gateway-term",
    "worker-kill",
)


@dataclass
class Filed:
    aanleverkenmerk: str
    expected: str  # the final status it deserves
    kenmerk: str | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Phase:
    fault: str
    filed: list[Filed] = field(default_factory=list)
    #: Invariant breaks the fault itself found (e.g. a message accepted twice).
    extra_breaks: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class Soak:
    def __init__(self, admin_url: str, work: Path, per_phase: int, clients: int, settle: float) -> None:
        self.admin_url = admin_url
        self.work = work
        self.per_phase = per_phase
        self.clients = clients
        self.settle = settle
        self.db_name = f"gw_soak_{uuid.uuid4().hex[:10]}"
        self.pki: Pki = make_pki(work / "pki")
        self.cert = self.pki.client("filer-a")  # once: issuing writes the key files
        self.smtp = SmtpSink()
        self.redis = PrivateRedis(work / "redis")
        base = admin_url.rsplit("/", 1)[0]
        self.db_url = f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{self.db_name}"
        self.pg_url = f"{base}/{self.db_name}"
        self.gateways: list[Stack] = []
        self.workers: list[Any] = []
        self._clients: dict[tuple[int, int], Any] = {}

    # ------------------------------------------------------------------ set-up

    def _admin(self, sql: str) -> None:
        async def run() -> None:
            conn = await asyncpg.connect(self.admin_url)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(run())

    def _query(self, sql: str, *args: Any) -> list[Any]:
        async def run() -> list[Any]:
            conn = await asyncpg.connect(self.pg_url)
            try:
                return list(await conn.fetch(sql, *args))
            finally:
                await conn.close()

        return asyncio.run(run())

    def start(self) -> None:
        self.smtp.start()
        self.redis.start()
        self._admin(f'CREATE DATABASE "{self.db_name}"')
        env = {"GATEWAY_CHECK_TIMEOUT": CHECK_BUDGET, "GATEWAY_JOB_TIMEOUT": "20"}
        first = Stack(
            data_dir=self.work / "data",
            pki=self.pki,
            smtp=self.smtp,
            database_url=self.db_url,
            redis_url=self.redis.url,
            extra_env=env,
        )
        first.data_dir.mkdir(parents=True)
        second = Stack(
            data_dir=first.data_dir,
            pki=self.pki,
            smtp=self.smtp,
            database_url=self.db_url,
            redis_url=self.redis.url,
            queue_name=first.queue_name,
            ops_token=first.ops_token,
            extra_env=env,
        )
        self.gateways = [first, second]
        first.cli("register", "import", str(self._register_file()))
        starting = [threading.Thread(target=g.start_server, kwargs={"timeout": 60}) for g in self.gateways]
        for t in starting:
            t.start()
        self.workers = [first.start_worker(), first.start_worker()]
        for t in starting:
            t.join()

    def _register_file(self) -> Path:
        path = self.work / "register.csv"
        path.write_text("kvk_number,name,legal_form,status\n" + ",".join(COMPANY) + "\n", encoding="utf-8")
        return path

    def stop(self) -> None:
        for g in self.gateways:
            g.stop()
        self.redis.stop()
        self.smtp.stop()
        self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    # ------------------------------------------------------------------ load

    def _client(self, thread: int, gateway: int) -> Any:
        key = (thread, gateway)
        if key not in self._clients:
            self._clients[key] = self.gateways[gateway].client(self.cert, timeout=60)
        return self._clients[key]

    def _file(self, item: Filed, thread: int, instance: bytes, kvk: str) -> None:
        started = time.monotonic()
        try:
            client = self._client(thread, thread % 2)
            item.kenmerk = client.submit(instance, kvk, aanleverkenmerk=item.aanleverkenmerk).kenmerk
        except Exception as exc:  # a fault, a dropped connection: recorded, judged later
            item.error = f"{type(exc).__name__}: {str(exc)[-160:]}"
        item.seconds = time.monotonic() - started

    def load(self, phase: Phase, inject: Callable[[], None] | None, poison: bool = False) -> None:
        """File per_phase submissions with the clients; inject the fault halfway."""
        items = []
        for i in range(self.per_phase):
            unknown = i % 8 == 7
            items.append(
                (
                    Filed(f"{phase.fault}-{i}-{uuid.uuid4().hex[:6]}", "311" if unknown else "500"),
                    Statement(adopted=False, kvk_number=UNKNOWN_KVK if unknown else KVK).build(),
                    UNKNOWN_KVK if unknown else KVK,
                )
            )
        if poison:
            poison = padded(Statement(adopted=False).build(), POISON_BYTES)
            items.insert(1, (Filed(f"{phase.fault}-poison-{uuid.uuid4().hex[:6]}", "321"), poison, KVK))
        phase.filed = [f for f, _, _ in items]
        done = threading.Semaphore(0)
        fault_thread: threading.Thread | None = None
        with ThreadPoolExecutor(self.clients) as pool:
            futures = []
            for n, (item, instance, kvk) in enumerate(items):
                futures.append(pool.submit(self._file, item, n % self.clients, instance, kvk))
                futures[-1].add_done_callback(lambda _: done.release())
            if inject is not None:
                for _ in range(max(1, len(items) // 2)):
                    done.acquire()
                fault_thread = threading.Thread(target=inject)
                fault_thread.start()
            for f in futures:
                f.result()
        if fault_thread is not None:
            fault_thread.join()

    # ------------------------------------------------------------------ faults

    def db_blip(self) -> None:
        for _ in range(3):
            self._admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{self.db_name}' AND pid <> pg_backend_pid()"
            )
            time.sleep(0.3)

    def redis_kill(self) -> None:
        self.redis.kill()
        time.sleep(2)
        self.redis.start()

    def gateway_kill(self, sig: int) -> Callable[[], None]:
        def inject() -> None:
            g = self.gateways[0]
            server = next(p for p in g.procs if p.args[-1] == "serve" and p.poll() is None)
            server.send_signal(sig)
            server.wait(30)
            g.procs.remove(server)
            g.start_server(timeout=60)

        return inject

    def worker_kill(self) -> None:
        victim = self.workers.pop(0)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        self.gateways[0].procs.remove(victim)
        self.workers.append(self.gateways[0].start_worker())

    def ops_endpoints(self, phase: Phase) -> None:
        for path in ("/metrics", "/dashboard"):
            r = self.gateways[0].ops_get(path)
            if r.status_code != 200:
                phase.extra_breaks.append(f"{path} answered {r.status_code}")

    def replay_redis_down(self, phase: Phase) -> None:
        """The same signed message to both intake processes while Redis is down: it may be
        accepted once. The second answer is a replay fault, or (a retransmission of the
        identical message) the original answer with the same kenmerk, never a second kenmerk."""
        self.redis.kill()
        try:
            cert = self.cert
            once = signed(aanlever_envelope(instance=Statement(adopted=False).build()), cert)
            answers = [post(g.base_url, self.pki.root, cert, once) for g in self.gateways]
            kenmerken = {
                m.group(1)
                for r in answers
                if r.status_code == 200 and (m := re.search(rb"<(?:\w+:)?kenmerk>([^<]+)<", r.content))
            }
            if len(kenmerken) > 1:
                phase.extra_breaks.append("one signed message accepted twice, under two kenmerken")
        finally:
            self.redis.start()

    def dev_redis(self, phase: Phase) -> None:
        """`gateway dev` killed, restarted, stopped: its redis-server must not outlive it."""
        import socket
        import subprocess

        from gateway.queue.redis_server import EmbeddedRedis

        data = Path(f"/tmp/gw-soak-dev-{uuid.uuid4().hex[:6]}")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        env.update(
            GATEWAY_DATA_DIR=str(data),
            GATEWAY_PORT=str(port),
            GATEWAY_OPS_PORT=str(free_port()),
            GATEWAY_WEB_PORT=str(free_port()),
        )

        def listening() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                return False

        def dev() -> subprocess.Popen[bytes]:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "dev"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 120
            while not listening() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            return proc

        first = dev()
        pid = int(EmbeddedRedis(data).pidfile.read_text())
        first.kill()
        first.wait()
        second = dev()
        second.send_signal(signal.SIGTERM)
        second.wait(30)
        time.sleep(2)
        try:
            os.kill(pid, 0)
            phase.extra_breaks.append("gateway dev left its adopted redis-server running")
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    # ------------------------------------------------------------------ judging

    def judge(self, phase: Phase, timeout: float) -> None:
        acked = {f.kenmerk: f for f in phase.filed if f.kenmerk}
        deadline = time.monotonic() + timeout
        rows: dict[str, Any] = {}
        while True:
            found = self._query(
                "SELECT kenmerk, state, final_status FROM submissions WHERE kenmerk = ANY($1::text[])", list(acked)
            )
            rows = {r["kenmerk"]: r for r in found}
            unfinished = [k for k in acked if k not in rows or rows[k]["final_status"] not in FINAL]
            mails_due = [k for k in acked if k in rows and rows[k]["final_status"] in FINAL]
            unmailed = [k for k in mails_due if not self.smtp.for_kenmerk(k)]
            if (not unfinished and not unmailed) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        time.sleep(self.settle)  # a duplicate mail would arrive right behind the first
        stored_unacked = self._query(
            "SELECT aanleverkenmerk FROM submissions WHERE aanleverkenmerk = ANY($1::text[])",
            [f.aanleverkenmerk for f in phase.filed if f.error],
        )
        wrong = [
            k
            for k, f in acked.items()
            if k in rows and rows[k]["final_status"] in FINAL and rows[k]["final_status"] != f.expected
        ]
        mails = {k: len(self.smtp.for_kenmerk(k)) for k in acked}
        finals = [k for k in acked if k in rows and rows[k]["final_status"] in FINAL]
        phase.counts = {
            "acknowledged": len(acked),
            "final": len(finals),
            "stuck": sum(1 for k in acked if k in rows and rows[k]["final_status"] not in FINAL),
            "lost": sum(1 for k in acked if k not in rows),
            "wrong outcome": len(wrong),
            "mails": sum(mails.values()),
            "duplicate mails": sum(1 for n in mails.values() if n > 1),
            "missing mails": sum(1 for k in finals if mails[k] == 0),
            "client errors": sum(1 for f in phase.filed if f.error),
            "ambiguous": len(stored_unacked),
        }
        if wrong:
            phase.extra_breaks.append(
                "wrong: " + ", ".join(f"{acked[k].aanleverkenmerk}={rows[k]['final_status']}" for k in wrong[:5])
            )

    def run_phase(self, fault: str, timeout: float) -> Phase:
        phase = Phase(fault)
        injections: dict[str, Callable[[], None] | None] = {
            "baseline": None,
            "db-blip": self.db_blip,
            "redis-kill": self.redis_kill,
            "same-year": None,  # every statement is for one company and year: acceptances race
            "poison": None,
            "gateway-kill": self.gateway_kill(signal.SIGKILL),
            "gateway-term": self.gateway_kill(signal.SIGTERM),
            "worker-kill": self.worker_kill,
            "ops-endpoints": lambda: self.ops_endpoints(phase),
            "replay-redis-down": lambda: self.replay_redis_down(phase),
            "dev-redis": lambda: self.dev_redis(phase),
        }
        self.load(phase, injections[fault], poison=fault == "poison")
        self.judge(phase, timeout)
        return phase


INVARIANTS = ("stuck", "lost", "wrong outcome", "duplicate mails", "missing mails")
COLUMNS = (
    "acknowledged",
    "final",
    "stuck",
    "lost",
    "wrong outcome",
    "mails",
    "duplicate mails",
    "missing mails",
    "client errors",
    "ambiguous",
)


def report(phases: list[Phase]) -> bool:
    """Print the table; True if every invariant held."""
    head = f"{'fault':<18}" + "".join(f"{c:>16}" for c in COLUMNS)
    print(head)
    ok = True
    for p in phases:
        print(f"{p.fault:<18}" + "".join(f"{p.counts.get(c, 0):>16}" for c in COLUMNS))
        for error in sorted({f.error for f in p.filed if f.error})[:3]:
            print(f"  client error: {error}")
        broken = [f"{c}={p.counts[c]}" for c in INVARIANTS if p.counts.get(c)] + p.extra_breaks
        if broken:
            ok = False
            print(f"  ! {p.fault}: " + "; ".join(broken))
    print("invariants held" if ok else "INVARIANT BROKEN")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="a few submissions per fault (CI)")
    parser.add_argument("-n", type=int, help="submissions per fault (default 400, --short 8)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--faults", default=",".join(ALL_FAULTS), help=f"comma-separated, of: {', '.join(ALL_FAULTS)}")
    parser.add_argument("--postgres", default=os.environ.get("GATEWAY_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)
    if not args.postgres:
        parser.error("give --postgres ADMIN_URL or set GATEWAY_TEST_POSTGRES_URL")
    faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = set(faults) - set(ALL_FAULTS)
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")
    per_phase = args.n or (8 if args.short else 400)
    work = Path(f"/tmp/gw-soak-{uuid.uuid4().hex[:8]}")
    soak = Soak(args.postgres, work, per_phase, args.clients, settle=0.5 if args.short else 3.0)
    started = time.monotonic()
    soak.start()
    phases = []
    try:
        for fault in faults:
            phases.append(soak.run_phase(fault, timeout=60 if args.short else 300))
    finally:
        soak.stop()
    ok = report(phases)
    print(
        f"{per_phase} submissions per fault, {args.clients} clients, {time.monotonic() - started:.0f} s; logs in {work}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
