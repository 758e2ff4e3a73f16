"""The ZDJ rule data from ``schemas/zdj/rules.json`` as typed values."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from gateway.resources import load_json


@cache
def rules() -> dict[str, Any]:
    return dict(load_json("zdj/rules.json"))


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    window_seconds: int
    lock_seconds: int
    per_address_per_minute: int
    session_idle_seconds: int


def login_policy() -> LoginPolicy:
    r = rules()["login"]
    return LoginPolicy(
        int(r["max_failures"]),
        int(r["window_seconds"]),
        int(r["lock_seconds"]),
        int(r["per_address_per_minute"]),
        int(r["session_idle_seconds"]),
    )


BLOCK_REASONS: tuple[str, ...] = ("unpaid_invoice", "on_request")


def block_reason_text(kind: str) -> str:
    return str(rules()["block_reasons"][kind])


def allowed_size_classes() -> frozenset[str]:
    return frozenset(rules()["filing"]["allowed_size_classes"])


def _routes() -> dict[str, str]:
    return {k: str(v) for k, v in rules()["filing"]["routes"].items() if not k.startswith("_")}


def accepted_extensions(available: set[str]) -> list[str]:
    """The file types whose berichtsoort the gateway accepts now (for the upload form)."""
    return [ext for ext, berichtsoort in _routes().items() if berichtsoort in available]


def route_for(filename: str) -> str | None:
    """The berichtsoort a file of this type is filed as, by its extension."""
    lower = filename.lower()
    for ext, berichtsoort in _routes().items():
        if lower.endswith(ext):
            return berichtsoort
    return None
