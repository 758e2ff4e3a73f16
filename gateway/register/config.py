"""Which register the checks consult, and how the KVK API is reached (from the environment)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

SOURCES = ("local", "kvk-api")
#: KVK's production base; its free test environment is https://api.kvk.nl/test/api.
DEFAULT_API_URL = "https://api.kvk.nl/api"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class RegisterConfig:
    source: str = "local"
    api_url: str = DEFAULT_API_URL
    #: Never logged nor shown: repr=False keeps it out of reprs and tracebacks' locals.
    api_key: str = field(default="", repr=False)
    #: Seconds one HTTP attempt may take.
    timeout: float = 10.0
    #: HTTP attempts per look-up (the first one included) on 5xx, 429 and network errors.
    attempts: int = 4
    #: First back-off in seconds; it doubles, and a Retry-After within the deadline wins.
    backoff: float = 0.5
    #: Seconds a whole look-up (all attempts and waits) may take, to stay within a job's time.
    deadline: float = 30.0
    #: CA bundle for the API's TLS certificate (default: the system's).
    ca_file: Path | None = None
    #: Seconds an answer is reused; a "not found" for a shorter time.
    cache_seconds: float = 24 * 3600
    not_found_seconds: float = 3600

    @classmethod
    def from_env(cls) -> RegisterConfig:
        source = _env("GATEWAY_REGISTER_SOURCE", "local").lower()
        if source not in SOURCES:
            raise ValueError(f"GATEWAY_REGISTER_SOURCE must be one of {', '.join(SOURCES)}, not {source!r}")
        key = os.environ.get("GATEWAY_KVK_API_KEY", "")
        key_file = os.environ.get("GATEWAY_KVK_API_KEY_FILE")
        if not key and key_file:
            key = Path(key_file).read_text(encoding="utf-8").strip()
        if source == "kvk-api" and not key:
            raise ValueError("GATEWAY_REGISTER_SOURCE=kvk-api needs GATEWAY_KVK_API_KEY or GATEWAY_KVK_API_KEY_FILE")
        ca = os.environ.get("GATEWAY_KVK_API_CA")
        return cls(
            source=source,
            api_url=_env("GATEWAY_KVK_API_URL", DEFAULT_API_URL).rstrip("/"),
            api_key=key,
            timeout=float(_env("GATEWAY_KVK_API_TIMEOUT", "10")),
            attempts=max(1, int(_env("GATEWAY_KVK_API_ATTEMPTS", "4"))),
            backoff=float(_env("GATEWAY_KVK_API_BACKOFF", "0.5")),
            deadline=float(_env("GATEWAY_KVK_API_DEADLINE", "30")),
            ca_file=Path(ca) if ca else None,
            cache_seconds=float(_env("GATEWAY_KVK_CACHE_SECONDS", str(24 * 3600))),
            not_found_seconds=float(_env("GATEWAY_KVK_NOT_FOUND_SECONDS", "3600")),
        )
