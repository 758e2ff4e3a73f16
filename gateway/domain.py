"""What every layer shares: the sender, findings, the filing claim, the Digipoort status
lifecycle, and the clock.

Intake, store, queue and notify depend on this module and not on one another. The status
texts and which statuses are final are data (``schemas/statuses.json``); which statuses
follow which outcome of the checks is decided here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import Any

from gateway.resources import load_json

ERROR = "error"
WARNING = "warning"


def utc_now() -> datetime:
    """The one clock: aware UTC."""
    return datetime.now(UTC)


def parse_iso(value: str | None) -> datetime | None:
    """An ISO 8601 date or date-time as aware UTC; one without a zone is taken as UTC.

    Raises ValueError with a message fit for the user on anything else.
    """
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO date or date-time (e.g. 2025-06-30 or 2025-06-30T12:00)") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(frozen=True)
class Sender:
    """The party behind a TLS client certificate."""

    subject: str
    oin: str | None


@dataclass(frozen=True)
class Finding:
    """One result of the checks, as reported to the sender and stored."""

    code: str
    severity: str
    message_nl: str
    message_en: str
    #: Where, in a form that reads the same in Dutch and English ("12:5", a context id).
    location: str | None = None
    #: What triggered it: position in the file (1-based), the concept and the value.
    line: int | None = None
    column: int | None = None
    concept: str | None = None
    value: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


@dataclass(frozen=True)
class Company:
    """A company's entry in the trade register, as the checks read it and the register
    sources (local table, KVK API) produce it."""

    kvk_number: str
    name: str
    legal_form: str
    status: str
    size_history: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class FilingClaim:
    """What an accepted statement registers for the one-adopted-statement-per-year rule."""

    kvk_number: str
    financial_year: int
    adopted: bool
    #: Filing ids this statement replaces (non-adopted ones, or the adopted one it corrects).
    supersedes: tuple[int, ...] = ()
    #: The active filings the checks saw; if another run changed them since, the decision is
    #: stale and the checks run again.
    seen: tuple[int, ...] = ()
    figures: dict[str, Any] | None = field(default=None, hash=False, compare=False)


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    #: The checks themselves failed (a bug, or a statement they cannot finish): 321.
    ERROR = "error"


@dataclass(frozen=True)
class StatusEntry:
    code: str
    foutcode: str | None = None
    foutbeschrijving: str | None = None
    details: str | None = None


@cache
def _status_table() -> dict[str, dict[str, Any]]:
    return {k: v for k, v in load_json("statuses.json").items() if not k.startswith("_")}


def status_description(code: str) -> str:
    return str(_status_table()[code]["description"])


def final_statuses() -> frozenset[str]:
    return frozenset(code for code, s in _status_table().items() if s["final"])


#: Statuses at intake (105 is stamped before 100, as Digipoort does) and when a worker
#: picks the submission up.
RECEIVED = (StatusEntry("105"), StatusEntry("100"))
PICKED_UP = StatusEntry("110")
#: foutcode of a 321: a technical problem while validating (Digipoort's VAS series).
TECHNICAL_FOUTCODE = "VAS400"


def statuses_for(outcome: Outcome, found: list[Finding], details: str | None = None) -> list[StatusEntry]:
    """The Digipoort statuses that follow 110 for an outcome (reference section 4).
    ``details`` is the statusdetails text of the final status, rendered and capped to the
    field's limit by the caller (gateway.checks.report.statusdetails)."""
    if outcome is Outcome.ACCEPTED:
        return [StatusEntry(c) for c in ("200", "301", "405", "400")] + [StatusEntry("500", details=details)]
    if outcome is Outcome.REJECTED:
        first = next(f for f in found if f.is_error)
        return [
            StatusEntry("200"),
            StatusEntry("311", foutcode=first.code, foutbeschrijving=first.message_nl, details=details),
        ]
    return [
        StatusEntry("200"),
        StatusEntry("321", foutcode=TECHNICAL_FOUTCODE, foutbeschrijving=found[0].message_nl, details=details),
    ]


def outcome_of(found: list[Finding]) -> Outcome:
    return Outcome.REJECTED if any(f.is_error for f in found) else Outcome.ACCEPTED


def mail_state(previous_outcome: str | None, outcome: str, recipient: str | None) -> str:
    """Whether a finished run is mailed: always the first outcome; a replay only when the
    outcome changed; never without an address."""
    if not recipient or previous_outcome == outcome:
        return "skipped"
    return "pending"
