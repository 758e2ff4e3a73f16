"""Intake: what the server spends per request, beside the work it cannot avoid.

Every request is built and WS-Security signed before the timed phase (each with its own
MessageID: the gateway refuses replays) and sent over mutual TLS with keep-alive by a light
client (aiohttp, N concurrent connections), so the figures are the server's, not the load
generator's. For a 50 KB and a 5 MB statement it prints:

- req/s and p50/p99 latency for one intake process (embedded: SQLite + private Redis) and,
  when PostgreSQL is reachable, for one and two intake processes on PostgreSQL + Redis;
- the intake processes' own CPU seconds per request (utime + stime from /proc/<pid>/stat,
  all threads, read before and after the timed phase);
- the floor, measured in this run on the same bytes, in this process, one core: XML parse,
  XSD validation of the body, exclusive c14n + digests of the signed parts and the RSA
  verification (libxmlsec1), base64 decoding of the statement, signing the response
  (c14n + digests of its parts + one RSA signature), and the commit's share under group
  commit (SQLite, WAL, synchronous=FULL, 8 submissions per transaction);
- the ratio server CPU ÷ floor (aim: at most 1.5x).

With --profile the embedded gateway runs under py-spy (all threads) and the benchmark
prints where the intake's CPU goes, by the gateway's own functions.

    .venv/bin/python bench/intake.py [--clients 8] [--requests 200] [--profile] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from common import (  # type: ignore[import-not-found]
    ROOT,
    cpu_per_call,
    cpu_seconds,
    machine,
    pct,
    profile_summary,
    start_profiler,
    statement_of_size,
    stop_profiler,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from gateway.devcerts import write_dev_ca
from gateway.wus.envelope import koppelvlak_schema
from gateway.wus.namespaces import DS, SOAP11, WSSE, WSU
from gateway.wus.wssec import WSU_ID, xmlsec
from tests.support.raw import AANLEVER_ACTION, aanlever_envelope, signed
from tests.support.wus_client import ClientCert

AIM = 1.5

#: The causes the profile is summed by (label: a frame that is in each of its samples' stacks).
CAUSES = {
    "TLS client certificate": "identify (",
    "reading the body": "read_body (",
    "parse + XSD": "parse_request (",
    "signature verification": "_verify (",
    "reading + base64": "from_element (",
    "storing (group commit)": "Store._commit_intake (",
    "SQLite's thread": "_connection_worker_thread (",
    "Redis (queue)": "enqueue_processing (",
    "signing the response": "ResponseSigner.sign (",
}
K = "{http://logius.nl/digipoort/koppelvlakservices/1.2/}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway serve exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


# ----------------------------------------------------------------------- the load


async def load(ports: list[int], bodies: list[bytes], certs: Path, clients: int) -> tuple[float, list[float]]:
    """Send every body once, ``clients`` at a time, spread over the ports; (seconds, latencies)."""
    ctx = ssl.create_default_context(cafile=str(certs / "root.pem"))
    ctx.load_cert_chain(str(certs / "client.pem"), str(certs / "client-key.pem"))
    urls = [f"https://127.0.0.1:{port}/wus/2.0/aanleverservice/1.2" for port in ports]
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{AANLEVER_ACTION}"'}
    latencies: list[float] = []
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    connector = aiohttp.TCPConnector(ssl=ctx, limit=clients)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker(url: str) -> None:
            while not queue.empty():
                body = queue.get_nowait()
                t = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as r:
                    answer = await r.read()
                    if r.status != 200 or b"Fault>" in answer:
                        raise RuntimeError(f"HTTP {r.status}: {fault_text(answer)}")
                latencies.append(time.perf_counter() - t)

        start = time.perf_counter()
        await asyncio.gather(*(worker(urls[i % len(urls)]) for i in range(clients)))
        elapsed = time.perf_counter() - start
    return elapsed, latencies


def fault_text(answer: bytes) -> str:
    try:
        doc = etree.fromstring(answer)
    except etree.XMLSyntaxError:
        return repr(answer[:400])
    return " / ".join(t.strip() for t in doc.itertext() if t.strip() and not t.startswith(("http", "urn:")))


def bodies_for(instance: bytes, count: int, certs: Path) -> list[bytes]:
    cert = ClientCert(certs / "client.pem", certs / "client-key.pem")
    return [signed(aanlever_envelope(instance=instance), cert) for _ in range(count)]


# ----------------------------------------------------------------------- the floor


def _signing_parts(env: etree._Element) -> tuple[etree._Element, list[etree._Element], dict[str, etree._Element]]:
    header = env.find(f"{{{SOAP11}}}Header")
    assert header is not None
    signature = header.find(f"{{{WSSE}}}Security/{{{DS}}}Signature")
    assert signature is not None
    ids = {e.get(WSU_ID): e for e in env.iter() if isinstance(e.tag, str) and e.get(WSU_ID)}
    refs = [ids[r.get("URI", "#")[1:]] for r in signature.iter(f"{{{DS}}}Reference") if r.get("URI", "#")[1:] in ids]
    return signature, refs, {k: v for k, v in ids.items() if k}


def floor(raw: bytes, certs: Path, seconds: float, work: Path) -> dict[str, float]:
    """CPU seconds per request of the work intake cannot avoid, each on the same bytes."""
    parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
    env = etree.fromstring(raw, parser)
    body = env.find(f"{{{SOAP11}}}Body")
    assert body is not None
    payload = body[0]
    schema = koppelvlak_schema()
    assert schema.validate(payload)
    signature, _refs, ids = _signing_parts(env)
    # The signer's bare public key, loaded once, as the gateway does (a key loaded from the
    # certificate carries its X.509 data into every context: ~0.3 ms more per verification).
    public_key = x509.load_pem_x509_certificate((certs / "client.pem").read_bytes()).public_key()
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    key = xmlsec.Key.from_memory(pem, xmlsec.KeyFormat.PEM, None)

    def verify() -> None:
        ctx = xmlsec.SignatureContext()
        for el in ids.values():
            ctx.register_id(el, "Id", WSU)
        ctx.key = key
        ctx.verify(signature)

    inhoud = payload.findtext(f"{K}berichtInhoud/{K}inhoud") or ""
    decoded = base64.b64decode(inhoud, validate=True)

    # The response: a signed aanleverResponse of the gateway's size, signed as the gateway
    # does (exclusive c14n and SHA-1 digests of Body, Timestamp and the WS-Addressing
    # headers, one RSA-SHA1 signature over SignedInfo), with the key already loaded.
    server_key = serialization.load_pem_private_key((certs / "server-key.pem").read_bytes(), None)
    assert isinstance(server_key, rsa.RSAPrivateKey)
    response = _sample_response(certs)
    r_env = etree.fromstring(response)
    r_signature, r_refs, _ = _signing_parts(r_env)
    r_info = r_signature.find(f"{{{DS}}}SignedInfo")
    assert r_info is not None

    def sign_response() -> None:
        for el in r_refs:
            hashlib.sha1(etree.tostring(el, method="c14n", exclusive=True)).digest()
        server_key.sign(etree.tostring(r_info, method="c14n", exclusive=True), padding.PKCS1v15(), hashes.SHA1())

    commit = _commit_share(raw, decoded, work, seconds)
    return {
        "XML parse": cpu_per_call(lambda: etree.fromstring(raw, parser), seconds),
        "XSD validation": cpu_per_call(lambda: schema.validate(payload), seconds),
        "c14n + digests + RSA verify": cpu_per_call(verify, seconds),
        "base64 decode": cpu_per_call(lambda: base64.b64decode(inhoud, validate=True), seconds),
        "sign response": cpu_per_call(sign_response, seconds),
        "commit (1/8 of a group)": commit,
    }


def _sample_response(certs: Path) -> bytes:
    from datetime import UTC, datetime

    from gateway.intake.security import ResponseSigner
    from gateway.wus import messages
    from gateway.wus.envelope import response_envelope, serialise
    from gateway.wus.namespaces import Service

    req = messages.AanleverRequest(
        "Jaarverantwoording_KvK",
        messages.Identiteit("12345678", "KvK"),
        "Bedrijf",
        (messages.Part(0, "application/xml", "j.xbrl", b"<x/>"),),
        aanleverkenmerk="bench",
    )
    gateway_oin = messages.Identiteit("00000001999999999000", "OIN")
    payload = messages.aanlever_response(req, str(uuid.uuid4()), datetime.now(UTC), gateway_oin)
    env = response_envelope(Service.AANLEVER, "aanleveren", payload, f"urn:uuid:{uuid.uuid4()}")
    ResponseSigner(certs / "server.pem", certs / "server-key.pem").sign(env)
    return serialise(env)


def _commit_share(raw: bytes, decoded: bytes, work: Path, seconds: float) -> float:
    """CPU seconds per submission of storing the message and its part durably, eight
    submissions per transaction (group commit with 8 clients)."""
    db = sqlite3.connect(work / f"floor-{uuid.uuid4().hex[:8]}.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE m (id TEXT PRIMARY KEY, raw BLOB, part BLOB)")

    def group() -> None:
        db.execute("BEGIN")
        for _ in range(8):
            db.execute("INSERT INTO m VALUES (?, ?, ?)", (uuid.uuid4().hex, raw, decoded))
        db.execute("COMMIT")
        db.execute("DELETE FROM m")

    per_group = cpu_per_call(group, seconds)
    db.close()
    return per_group / 8


# ----------------------------------------------------------------------- the gateway


@dataclass
class Variant:
    name: str
    env: dict[str, str]
    processes: int


def run_gateways(variant: Variant, base_env: dict[str, str], data_dir: Path) -> list[Any]:
    procs: list[Any] = []
    try:
        for _ in range(variant.processes):
            port = free_port()
            env = {
                **base_env,
                **variant.env,
                "GATEWAY_PORT": str(port),
                "GATEWAY_OPS_PORT": str(free_port()),
                # Each process its own Zelf Deponeren port (else all want 8444).
                "GATEWAY_WEB_PORT": str(free_port()),
                "GATEWAY_DATA_DIR": str(data_dir),
            }
            cmd = [sys.executable, "-m", "gateway.cli", "--log-level", "WARNING", "serve"]
            # The gateway's own log, for when a request is refused.
            log = open(data_dir.parent / f"serve-{port}.log", "ab")  # noqa: SIM115 - the process writes it
            proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=log)
            log.close()
            procs.append((proc, port))
            wait_port(port, proc)
    except BaseException:
        for proc, _ in procs:
            stop(proc)
        raise
    return procs


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


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


def postgres_variant_env(args: argparse.Namespace) -> dict[str, str]:
    import asyncpg

    name = f"gw_bench_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(args.postgres)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    pg = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + name
    return {"GATEWAY_DATABASE_URL": pg, "GATEWAY_REDIS_URL": args.redis}


# ----------------------------------------------------------------------- main


def measure(
    variant: Variant,
    base_env: dict[str, str],
    work: Path,
    bodies: list[bytes],
    certs: Path,
    clients: int,
    profile: Path | None,
) -> tuple[float, list[float], float]:
    data_dir = work / f"data-{variant.name}-{uuid.uuid4().hex[:6]}"
    procs = run_gateways(variant, base_env, data_dir)
    try:
        return _measure(procs, bodies, certs, clients, profile)
    except RuntimeError as exc:
        logs = "".join(
            f"\n--- gateway log (port {port}) ---\n" + "\n".join(_log(data_dir, port).splitlines()[-40:])
            for _, port in procs
        )
        raise RuntimeError(f"{exc}{logs}") from None
    finally:
        for proc, _ in procs:
            stop(proc)
        if "GATEWAY_REDIS_URL" not in variant.env:
            from gateway.queue.redis_server import EmbeddedRedis

            EmbeddedRedis(data_dir).stop()


def _log(data_dir: Path, port: int) -> str:
    path = data_dir.parent / f"serve-{port}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def _measure(
    procs: list[Any], bodies: list[bytes], certs: Path, clients: int, profile: Path | None
) -> tuple[float, list[float], float]:
    # Warm up (first requests compile the XSD, open pools), then the timed phase.
    warm = min(len(bodies) // 10 + 1, 8)
    asyncio.run(load([p for _, p in procs], bodies[:warm], certs, clients))
    pids = [p.pid for p, _ in procs]
    spy = start_profiler(pids[0], profile) if profile is not None else None
    before = sum(cpu_seconds(pid) for pid in pids)
    elapsed, lat = asyncio.run(load([p for _, p in procs], bodies[warm:], certs, clients))
    cpu = sum(cpu_seconds(pid) for pid in pids) - before
    if spy is not None:
        stop_profiler(spy)
    n = len(bodies) - warm
    return n / elapsed, lat, cpu / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=200, help="requests per run for the 50 KB statement")
    ap.add_argument("--large-requests", type=int, default=24, help="requests per run for the 5 MB statement")
    ap.add_argument("--seconds", type=float, default=1.5, help="CPU seconds per floor measurement")
    ap.add_argument("--profile", action="store_true", help="run the embedded gateway under py-spy and summarise")
    ap.add_argument("--smoke", action="store_true", help="one small run (CI: the script still works)")
    ap.add_argument("--embedded-only", action="store_true", help="skip the PostgreSQL + Redis variants")
    ap.add_argument(
        "--postgres", default=os.environ.get("GATEWAY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--redis", default=os.environ.get("GATEWAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10"))
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
    variants = [Variant("embedded", {}, 1)]
    if not args.smoke and not args.embedded_only and postgres_reachable(args.postgres):
        pg = postgres_variant_env(args)
        variants += [Variant("postgres+redis", pg, 1), Variant("postgres+redis", pg, 2)]
    if args.smoke:
        sizes = [(20_000, "20 KB", 12)]
        args.seconds = min(args.seconds, 0.2)
    else:
        sizes = [(50_000, "50 KB", args.requests), (5_000_000, "5 MB", args.large_requests)]
        sizes = [s for s in sizes if s[2] > 0]

    try:
        report(args, variants, sizes, certs, work, base_env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if len(variants) > 1:
            drop_database(args.postgres, variants[1].env["GATEWAY_DATABASE_URL"].rsplit("/", 1)[1])


def report(
    args: argparse.Namespace,
    variants: list[Variant],
    sizes: list[tuple[int, str, int]],
    certs: Path,
    work: Path,
    base_env: dict[str, str],
) -> None:
    print(f"# intake over mTLS, keep-alive, {args.clients} clients, pre-signed requests — {machine()}")
    print(
        "# server CPU = the intake processes' own CPU seconds per request (/proc/<pid>/stat); floor = "
        "parse + XSD + c14n/digests/RSA verify + base64 + response signing + commit share, same bytes, this run"
    )
    print(
        f"{'variant':>15} {'procs':>5} {'statement':>9} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'CPU ms/req':>10} {'floor ms':>8} {'ratio':>6} {'aim':>4}"
    )
    floors: list[tuple[str, dict[str, float]]] = []
    profiles: list[tuple[str, Path, float]] = []
    for size, label, count in sizes:
        instance = statement_of_size(size)
        parts = floor(bodies_for(instance, 1, certs)[0], certs, args.seconds, work)
        floors.append((label, parts))
        floor_s = sum(parts.values())
        for variant in variants:
            # Fresh MessageIDs for every run: the variants share a replay guard.
            bodies = bodies_for(instance, count + min(count // 10 + 1, 8), certs)
            profiled = args.profile and variant.name == "embedded"
            profile = work / f"profile-{label.replace(' ', '')}.txt" if profiled else None
            rps, lat, cpu = measure(variant, base_env, work, bodies, certs, args.clients, profile)
            if profile is not None:
                profiles.append((label, profile, cpu))
            met = "met" if cpu / floor_s <= AIM else "NOT met"
            print(
                f"{variant.name:>15} {variant.processes:>5} {label:>9} {rps:>7.1f} {pct(lat, 0.5) * 1e3:>7.1f} "
                f"{pct(lat, 0.99) * 1e3:>7.1f} {cpu * 1e3:>10.2f} {floor_s * 1e3:>8.2f} {cpu / floor_s:>5.2f}x "
                f"{AIM:>3}x {met}"
            )
    print("floor, CPU ms per request:")
    for label, parts in floors:
        print(f"  {label}: " + ", ".join(f"{name} {value * 1e3:.2f}" for name, value in parts.items()))
    for label, path, cpu in profiles:
        print(f"where the embedded intake's CPU goes, {label} (py-spy, all threads):")
        shares = profile_summary(path, groups=CAUSES)
        if shares:
            causes = ", ".join(f"{name} {share * cpu * 1e3:.2f}" for name, share in shares.items())
            rest = (1 - sum(shares.values())) * cpu * 1e3
            print(f"  by cause, ms per request of the {cpu * 1e3:.2f}: {causes}; the rest {rest:.2f}")


def drop_database(admin_url: str, name: str) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(drop())


if __name__ == "__main__":
    main()
