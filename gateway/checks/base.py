"""What every check works with: the context it reads and the findings it produces.

A check is a plain function ``(CheckContext) -> Iterable[Finding]``. Checks do no I/O;
whatever they need from the store (the register entry, statements on file) is loaded into
the context beforehand, so each one can be tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

from gateway.checks.xbrl import Instance
from gateway.resources import load_json

ERROR = "error"
WARNING = "warning"


@cache
def _table() -> dict[str, dict[str, str]]:
    return {k: v for k, v in load_json("findings.json").items() if not k.startswith("_")}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message_nl: str
    message_en: str
    location: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


def finding(code: str, location: str | None = None, **params: Any) -> Finding:
    """Build a finding from the code table in ``schemas/findings.json``."""
    entry = _table()[code]
    return Finding(
        code=code,
        severity=entry["severity"],
        message_nl=entry["nl"].format(**params),
        message_en=entry["en"].format(**params),
        location=location,
    )


@dataclass
class PartInfo:
    position: int
    mime_type: str
    bestandsnaam: str
    size: int


@dataclass
class Company:
    kvk_number: str
    name: str
    legal_form: str
    status: str
    size_history: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class FilingOnFile:
    id: int
    kenmerk: str
    adopted: bool


@dataclass
class CheckContext:
    berichtsoort: str
    belanghebbende_nummer: str
    belanghebbende_type: str
    filed_at: datetime
    parts: list[PartInfo]
    raw_instance: bytes
    instance: Instance | None = None
    #: Filled in between the two check phases (see pipeline).
    company: Company | None = None
    company_looked_up: bool = False
    on_file: list[FilingOnFile] = field(default_factory=list)
    #: Derived facts, set by the checks that read them, for later checks and the store.
    derived: dict[str, Any] = field(default_factory=dict)

    @property
    def filed_on(self) -> date:
        return self.filed_at.date()


Check = Callable[[CheckContext], Iterable[Finding]]
