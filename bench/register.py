"""Register look-ups per second: the KVK API source answering from its cache (a cache read
plus the look-up's record, one write) beside the floor, the local table (one read).

Also how long a burst of 100 concurrent look-ups of one company takes through the API source
against the local stand-in for the KVK API answering after 200 ms, and how many requests it
made. SQLite always; PostgreSQL too when GATEWAY_TEST_POSTGRES_URL is set.

    .venv/bin/python bench/register.py [--seconds 3] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid

from common import machine  # type: ignore[import-not-found]  # puts the project on sys.path

from gateway import logs
from gateway.register.api_source import KvkApiRegister
from gateway.register.config import RegisterConfig
from gateway.register.source import StoreRegister
from gateway.store.db import Store
from tests.support.kvk_contract import TEST_COMPANIES, TEST_KEY, KvkContractServer


async def per_second(lookup, seconds: float = 3.0) -> float:  # type: ignore[no-untyped-def]
    await lookup()
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        await lookup()
        n += 1
    return n / (time.perf_counter() - start)


async def measure(url: str, server: KvkContractServer, seconds: float) -> tuple[float, float, float, int]:
    store = Store.from_url(url)
    await store.init_schema()
    await store.upsert_company({"kvk_number": "68750110", "name": "X", "legal_form": "BV", "status": "active"})
    config = RegisterConfig("kvk-api", server.base_url, TEST_KEY)
    api = KvkApiRegister(store, config)
    local = StoreRegister(store)
    try:
        floor = await per_second(lambda: local.lookup("68750110"), seconds)
        cached = await per_second(lambda: api.lookup("68750110"), seconds)
        server.delay = 0.2
        before = server.requests_for("/90000749")
        start = time.perf_counter()
        await asyncio.gather(*(api.lookup("90000749") for _ in range(100)))
        burst = time.perf_counter() - start
        server.delay = 0.0
        return floor, cached, burst, server.requests_for("/90000749") - before
    finally:
        await api.close()
        await store.close()


async def databases() -> list[tuple[str, str]]:
    out = [("sqlite", f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='gw-bench-')}/bench.db")]
    admin = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
    if admin:
        import asyncpg

        name = f"gw_bench_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        out.append(("postgres", f"{base}/{name}"))
    return out


async def main(seconds: float) -> None:
    logs.configure("WARNING")
    server = KvkContractServer(extra=dict(TEST_COMPANIES)).start()
    print(f"# register look-ups (wall time: the database is another process) — {machine()}")
    print("# floor: the local table (one read), same database, this run")
    print(f"{'database':>9} {'local/s':>9} {'cached/s':>9} {'ratio':>6} {'burst 100 s':>12} {'requests':>9}")
    made = await databases()
    try:
        for name, url in made:
            floor, cached, burst, requests = await measure(url, server, seconds)
            print(f"{name:>9} {floor:>9.0f} {cached:>9.0f} {cached / floor:>6.2f} {burst:>12.2f} {requests:>9}")
    finally:
        server.stop()
        await drop([url for name, url in made if name == "postgres"])


async def drop(urls: list[str]) -> None:
    import asyncpg

    for url in urls:
        conn = await asyncpg.connect(os.environ["GATEWAY_TEST_POSTGRES_URL"])
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0, help="seconds per rate measurement")
    ap.add_argument("--smoke", action="store_true", help="short runs (CI: the script still works)")
    args = ap.parse_args()
    asyncio.run(main(0.3 if args.smoke else args.seconds))
