"""The checks of a submission, run in a child process that is killed when it overruns.

A thread cannot be stopped: a statement that makes the checks run long would keep a thread
(and the GIL) busy after its job timed out, starving intake and the worker's event loop.
A process can be killed. Each worker keeps one checking process per CPU core; a process
serves one statement at a time, is killed the moment its statement uses more CPU time than
the budget, and is then replaced. The child does no I/O: what it needs from the database
(the register entry and the statements on file) it asks the parent for, over the same
pipe, so that a database failure is always the parent's (and retried), never a verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import os
import resource
import signal
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from gateway.domain import FilingClaim, Finding

log = structlog.get_logger(__name__)

#: A checking process is replaced once its memory grew this much beyond what it had when it
#: was ready (a leak, or what a big statement left behind), or after this many statements.
#: Starting one costs about a second of CPU time (interpreter, imports, warm-up): replacing
#: it every 200 statements cost as much CPU as checking 50 KB statements did.
MAX_GROWTH = 256 * 1024 * 1024
MAX_TASKS_PER_CHILD = 10_000
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
#: Statements up to this size are written to the child's pipe from the event loop: with the
#: request around them they fit the pipe's buffer (64 KiB on Linux), so the write never waits
#: for the child. A larger one is written from a thread.
INLINE_SEND = 60 * 1024

# ----------------------------------------------------------------------- messages


@dataclass(frozen=True)
class Part:
    position: int
    mime_type: str
    bestandsnaam: str
    size: int


@dataclass(frozen=True)
class KnownRegister:
    """What the parent already read for one company (with the claim of the run): sent with
    the request, so that the child need not ask when the statement is about that company."""

    kvk_number: str
    company: Any  # gateway.checks.Company | None
    #: (financial year, gateway.checks.FilingOnFile) of every active filing of the company.
    filings: tuple[tuple[int, Any], ...]

    def for_year(self, financial_year: int | None) -> RegisterData:
        on_file = tuple(f for year, f in self.filings if year == financial_year) if financial_year is not None else ()
        return RegisterData(self.company, on_file)


@dataclass(frozen=True)
class CheckRequest:
    berichtsoort: str
    belanghebbende_nummer: str
    belanghebbende_type: str
    filed_at: datetime
    parts: tuple[Part, ...]
    raw_instance: bytes
    #: CPU seconds the checks may use (the parent enforces it; the child sets a backstop).
    cpu_budget: float = 30.0
    #: The channel it came in by when that has rules of its own ("zdj": web filing).
    channel: str | None = None
    #: The register and the filings on file, when the parent has them already.
    known: KnownRegister | None = None


@dataclass(frozen=True)
class Needs:
    """The child asks for the register entry and the statements on file."""

    kvk_number: str
    financial_year: int | None


@dataclass(frozen=True)
class RegisterData:
    company: Any  # gateway.checks.Company | None (kept loose: the checks own that type)
    on_file: tuple[Any, ...]  # gateway.checks.FilingOnFile


@dataclass(frozen=True)
class CheckResult:
    found: tuple[Finding, ...]
    kvk_number: str | None
    financial_year: int | None
    #: Set when the statement is accepted and registers a filing.
    claim: FilingClaim | None


@dataclass(frozen=True)
class CheckCrashed:
    """A check raised: a bug, deterministic for this statement."""

    error: str


class CheckOverran(Exception):
    """The checks did not finish within their budget; the child was killed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the checks used more than their {seconds:g} s of CPU time")
        self.seconds = seconds


class CheckDied(Exception):
    """The child ended without an answer (killed by the OS, e.g. out of memory)."""


class CheckStalled(Exception):
    """No verdict within the job's time although the checks did not use their CPU budget:
    the machine's fault (overloaded), not the statement's."""


class _StillStarting(CheckStalled):
    """A new checking process is not ready yet: it is kept (killing it would only make the
    next attempt wait for another one)."""


# ----------------------------------------------------------------------- child side


def _limit_cpu(seconds: float) -> None:
    # The parent kills the child at its budget; this is the kernel's backstop, also for a
    # child orphaned by a killed worker: the soft limit ends it a little after the budget.
    used = resource.getrusage(resource.RUSAGE_SELF)
    limit = int(used.ru_utime + used.ru_stime + seconds) + 3
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (limit, resource.RLIM_INFINITY))


def _claim(ctx: Any, found: list[Finding]) -> FilingClaim | None:
    """What an accepted statement registers (gateway.checks.CheckContext in, so the child
    decides with the same model the checks read)."""
    from gateway.checks import adoption, size_class

    st = ctx.statement
    if any(f.is_error for f in found) or st is None or not st.kvk.kvk_number or st.kvk.financial_year is None:
        return None
    size = size_class.assess(ctx)
    return FilingClaim(
        kvk_number=st.kvk.kvk_number,
        financial_year=st.kvk.financial_year,
        adopted=st.kvk.adopted,
        supersedes=tuple(adoption.supersedes(ctx)),
        seen=tuple(sorted(f.id for f in ctx.on_file)),
        figures=size.as_json() if size is not None else None,
    )


def _evaluate(conn: multiprocessing.connection.Connection, req: CheckRequest) -> CheckResult:
    from gateway import checks

    ctx = checks.CheckContext(
        berichtsoort=req.berichtsoort,
        belanghebbende_nummer=req.belanghebbende_nummer,
        belanghebbende_type=req.belanghebbende_type,
        filed_at=req.filed_at,
        parts=[checks.PartInfo(p.position, p.mime_type, p.bestandsnaam, p.size) for p in req.parts],
        raw_instance=req.raw_instance,
    )
    found = list(checks.run(checks.MESSAGE_CHECKS, ctx))
    kvk = ctx.kvk_number
    if kvk:
        if req.known is not None and req.known.kvk_number == kvk:
            data = req.known.for_year(ctx.financial_year)
        else:
            conn.send(Needs(kvk, ctx.financial_year))
            data = conn.recv()
        ctx = ctx.with_register(data.company, list(data.on_file))
    found += checks.run(checks.REGISTER_CHECKS, ctx)
    # A channel's own rule leads, so that it is the statusFoutcode.
    found = [*checks.run(checks.CHANNEL_CHECKS.get(req.channel or "", []), ctx), *found]
    return CheckResult(tuple(found), kvk, ctx.financial_year, _claim(ctx, found))


READY = "ready"


def _warm_up() -> None:
    """Import the checks and fill their lazy tables before the first statement's CPU time
    is counted."""
    from datetime import UTC

    from gateway import checks

    ctx = checks.CheckContext("-", "-", "-", datetime.now(UTC), [], b"<x/>")
    with contextlib.suppress(Exception):
        checks.run([*checks.MESSAGE_CHECKS, *checks.REGISTER_CHECKS], ctx)


def child_main(conn: multiprocessing.connection.Connection) -> None:
    """Serve statements until the parent closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the worker, which stops us
    with contextlib.suppress(ValueError, OSError):  # SIGXCPU must not leave a core file behind
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _warm_up()
    try:
        conn.send(READY)
    except OSError:
        return
    while True:
        try:
            req: CheckRequest = conn.recv()
        except (EOFError, OSError):
            return
        _limit_cpu(req.cpu_budget)
        try:
            answer: CheckResult | CheckCrashed = _evaluate(conn, req)
        except (EOFError, OSError):
            return  # the parent gave up on us
        except Exception as exc:
            answer = CheckCrashed(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}")
        try:
            conn.send(answer)
        except OSError:
            return


# ----------------------------------------------------------------------- parent side

Lookup = Callable[[Needs], Awaitable[RegisterData]]

#: How often the parent looks at the child's CPU time.
_TICK = 0.02
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def resident_bytes(pid: int) -> int | None:
    """A process's resident memory, from /proc; None where unknown."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return None


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used, from /proc; None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return None


class _Child:
    """One checking process and the parent's end of its pipe."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child_end = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=child_main, args=(child_end,), daemon=True, name="gateway-checks")
        self.proc.start()
        child_end.close()
        self.budget = 0.0
        self.ready = False
        self.tasks = 0
        self.broken = False
        #: Resident memory when it was ready to serve.
        self.resident_at_start: int | None = None
        self._cpu_at_start = 0.0

    def _watch(self, deadline: float) -> None:
        used = cpu_seconds(self.proc.pid or 0)
        if used is not None and used - self._cpu_at_start > self.budget:
            raise CheckOverran(self.budget)
        if time.monotonic() > deadline:
            raise CheckStalled("the checks got too little CPU time within the job's time (the machine is overloaded)")

    async def receive(self, deadline: float) -> Any:
        """The child's next message; the event loop runs on while the child works."""
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        fd = self.conn.fileno()

        def readable() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, readable)
        try:
            while not ready.done():
                await asyncio.wait([ready], timeout=_TICK)
                if not ready.done():
                    self._watch(deadline)
        finally:
            loop.remove_reader(fd)
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            self.proc.join(1)
            if self.proc.exitcode == -signal.SIGXCPU:  # the kernel's CPU limit struck first
                raise CheckOverran(self.budget) from None
            raise CheckDied("the checking process ended without an answer") from None

    async def wait_ready(self, deadline: float) -> None:
        if self.ready:
            return
        self.budget = float("inf")  # a new process: its start-up is not a statement's time
        try:
            if await self.receive(deadline) != READY:
                raise CheckDied("the checking process did not start")
        except CheckStalled:
            raise _StillStarting("the checking process is still starting (the machine is busy)") from None
        self.ready = True
        self.resident_at_start = resident_bytes(self.proc.pid or 0)

    async def converse(self, req: CheckRequest, lookup: Lookup, deadline: float) -> Any:
        await self.wait_ready(deadline)
        self.tasks += 1
        self.budget = req.cpu_budget
        self._cpu_at_start = cpu_seconds(self.proc.pid or 0) or 0.0
        if len(req.raw_instance) > INLINE_SEND:
            await asyncio.to_thread(self.conn.send, req)  # megabytes: not on the event loop
        else:
            self.conn.send(req)
        answer = await self.receive(deadline)
        if isinstance(answer, Needs):
            # The look-up's time is not the statement's: only the deadline bounds it.
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    data = await lookup(answer)
            except TimeoutError:
                raise CheckStalled("the register look-up did not answer within the job's time") from None
            self.conn.send(data)
            answer = await self.receive(deadline)
        return answer

    def grown(self) -> bool:
        """Its memory grew by MAX_GROWTH since it was ready."""
        now = resident_bytes(self.proc.pid or 0)
        return self.resident_at_start is not None and now is not None and now - self.resident_at_start > MAX_GROWTH

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        with contextlib.suppress(ValueError):
            self.proc.close()


class CheckerPool:
    """At most ``size`` checking processes, started when needed, reused while healthy."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size or max(1, os.cpu_count() or 1)
        self._idle: list[_Child] = []
        self._free = asyncio.Semaphore(self.size)

    async def run(self, req: CheckRequest, lookup: Lookup, wall: float) -> CheckResult | CheckCrashed:
        """The verdict on ``req``, all within ``wall`` seconds.

        Raises CheckOverran (the statement's fault: its checks used their CPU budget),
        CheckStalled (the machine's: no answer within ``wall``), CheckDied; an error of
        ``lookup`` (the database) propagates unchanged. A child that did not answer is killed.
        """
        deadline = time.monotonic() + wall
        try:
            async with asyncio.timeout(wall):
                await self._free.acquire()
        except TimeoutError:
            raise CheckStalled("no checking process free within the job's time") from None
        child: _Child | None = None
        try:
            child = self._idle.pop() if self._idle else await asyncio.to_thread(_Child)
            answer = await child.converse(req, lookup, deadline)
        except BaseException as exc:
            if child is not None and not isinstance(exc, _StillStarting):
                child.broken = True
            raise
        finally:
            if child is not None:
                await self._give_back(child)
            self._free.release()
        if not isinstance(answer, CheckResult | CheckCrashed):
            raise CheckDied(f"unexpected answer from the checking process: {type(answer).__name__}")
        return answer

    async def _give_back(self, child: _Child) -> None:
        if child.broken or child.tasks >= MAX_TASKS_PER_CHILD or child.grown() or not child.proc.is_alive():
            await asyncio.to_thread(child.stop)
        else:
            self._idle.append(child)

    async def start(self, wait: float = 60.0) -> None:
        """Start the processes now and give them up to ``wait`` seconds to be ready, so that
        the first statements need not wait for them (one still starting after that is
        waited for by the statement that gets it)."""
        for _ in range(self.size - len(self._idle)):
            self._idle.append(await asyncio.to_thread(_Child))
        deadline = time.monotonic() + wait
        for child in list(self._idle):
            try:
                await child.wait_ready(deadline)
            except _StillStarting:
                return
            except CheckDied:
                self._idle.remove(child)
                await asyncio.to_thread(child.stop)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for child in idle:
            await asyncio.to_thread(child.stop)
