"""Intake throughput and latency over mutual TLS with keep-alive.

For a 50 KB and a 5 MB statement and N concurrent clients, prints requests per second and
p50/p99 latency of `gateway serve` (every request WS-Security signed, stored durably and
queued before it is answered) on the embedded default (SQLite + private Redis) and, when
reachable, on PostgreSQL + Redis; beside it, measured in the same run, the ceiling: a bare
aiohttp TLS handler that only reads the same body and answers a fixed response.

    .venv/bin/python bench/intake.py [--clients 8] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from common import ROOT, machine, pct, statement_of_size  # type: ignore[import-not-found]

from gateway.devcerts import write_dev_ca
from tests.support.raw import AANLEVER_ACTION, aanlever_envelope, signed
from tests.support.wus_client import ClientCert

BARE_SERVER = r"""
import ssl, sys
from aiohttp import web
cert, key, ca, port = sys.argv[1:5]
async def handle(request):
    await request.read()
    return web.Response(body=b"<ok/>", content_type="text/xml")
app = web.Application(client_max_size=200 * 1024 * 1024)
app.router.add_post("/wus/2.0/aanleverservice/1.2", handle)
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=ca)
ctx.load_cert_chain(cert, key)
ctx.verify_mode = ssl.CERT_REQUIRED
web.run_app(app, host="127.0.0.1", port=int(port), ssl_context=ctx, print=None)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


async def load(port: int, bodies: list[bytes], certs: Path, clients: int) -> tuple[float, list[float]]:
    ctx = ssl.create_default_context(cafile=str(certs / "root.pem"))
    ctx.load_cert_chain(str(certs / "client.pem"), str(certs / "client-key.pem"))
    url = f"https://127.0.0.1:{port}/wus/2.0/aanleverservice/1.2"
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{AANLEVER_ACTION}"'}
    latencies: list[float] = []
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    connector = aiohttp.TCPConnector(ssl=ctx, limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as session:
        # warm up one connection per client
        async def one(body: bytes) -> None:
            t = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as r:
                await r.read()
                if r.status != 200:
                    raise RuntimeError(f"HTTP {r.status}: {(await r.text())[:300]}")
            latencies.append(time.perf_counter() - t)

        async def worker() -> None:
            while not queue.empty():
                await one(queue.get_nowait())

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return elapsed, latencies


def bodies_for(size: int, count: int, certs: Path) -> list[bytes]:
    instance = statement_of_size(size)
    cert = ClientCert(certs / "client.pem", certs / "client-key.pem")
    # Pre-signed, each with its own MessageID (the gateway refuses replays).
    return [signed(aanlever_envelope(instance=instance), cert) for _ in range(count)]


def run_gateway(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "--log-level", "WARNING", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def postgres_reachable(url: str) -> bool:
    try:
        import asyncpg

        async def ping() -> None:
            conn = await asyncpg.connect(url, timeout=3)
            await conn.close()

        asyncio.run(ping())
        return True
    except Exception:
        return False


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=200, help="requests per run for the 50 KB statement")
    ap.add_argument("--large-requests", type=int, default=24, help="requests per run for the 5 MB statement")
    ap.add_argument(
        "--postgres", default=os.environ.get("GATEWAY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--redis", default=os.environ.get("GATEWAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/6"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gw-bench-"))
    certs = work / "certs"
    write_dev_ca(certs)

    base_env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    base_env.update(
        GATEWAY_TLS_CERT=str(certs / "server.pem"),
        GATEWAY_TLS_KEY=str(certs / "server-key.pem"),
        GATEWAY_CLIENT_CA=str(certs / "ca.pem"),
        GATEWAY_HOST="127.0.0.1",
        GATEWAY_DEFAULT_NOTIFY_ADDRESS="bench@example.test",
    )
    variants: list[tuple[str, dict[str, str]]] = [("embedded", {})]
    if postgres_reachable(args.postgres):
        import asyncpg

        name = f"gw_bench_{uuid.uuid4().hex[:8]}"

        async def create() -> None:
            conn = await asyncpg.connect(args.postgres)
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()

        asyncio.run(create())
        pg = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + name
        variants.append(("postgres+redis", {"GATEWAY_DATABASE_URL": pg, "GATEWAY_REDIS_URL": args.redis}))

    print(f"# intake over mTLS, keep-alive, {args.clients} clients — {machine()}")
    print(
        f"{'variant':>15} {'statement':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'bare req/s':>10} {'bare p50':>8} {'ratio':>6}"
    )
    for size, label, count in ((50_000, "50 KB", args.requests), (5_000_000, "5 MB", args.large_requests)):
        bare_port = free_port()
        bare = subprocess.Popen(
            [
                sys.executable,
                "-c",
                BARE_SERVER,
                str(certs / "server.pem"),
                str(certs / "server-key.pem"),
                str(certs / "ca.pem"),
                str(bare_port),
            ]
        )
        wait_port(bare_port)
        try:
            b_elapsed, b_lat = asyncio.run(load(bare_port, bodies_for(size, count, certs), certs, args.clients))
        finally:
            stop(bare)
        bare_rps = count / b_elapsed
        for name, extra in variants:
            port = free_port()
            env = {
                **base_env,
                **extra,
                "GATEWAY_PORT": str(port),
                "GATEWAY_OPS_PORT": str(free_port()),
                "GATEWAY_DATA_DIR": str(work / f"data-{name}-{label.replace(' ', '')}"),
                "GATEWAY_QUEUE_NAME": f"bench:{uuid.uuid4().hex[:6]}",
            }
            gw = run_gateway(env, port)
            try:
                elapsed, lat = asyncio.run(load(port, bodies_for(size, count, certs), certs, args.clients))
            finally:
                stop(gw)
                if not extra:
                    from gateway.queue.redis_server import EmbeddedRedis

                    EmbeddedRedis(Path(env["GATEWAY_DATA_DIR"])).stop()
            rps = count / elapsed
            print(
                f"{name:>15} {label:>9} {rps:>8.1f} {pct(lat, 0.5) * 1000:>8.1f} {pct(lat, 0.99) * 1000:>8.1f} "
                f"{bare_rps:>10.1f} {pct(b_lat, 0.5) * 1000:>8.1f} {rps / bare_rps:>6.2f}"
            )


if __name__ == "__main__":
    main()
