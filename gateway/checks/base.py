"""What every check works with: the context it reads and the findings it produces.

A check is a plain function ``(CheckContext) -> Iterable[Finding]``. Checks do no I/O and do
not change the context; whatever they need from the store (the register entry, statements on
file) is loaded into the context beforehand, so each one can be tested on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from gateway.domain import ERROR as ERROR  # re-exported: the checks' vocabulary
from gateway.domain import WARNING as WARNING
from gateway.domain import Company as Company
from gateway.domain import Finding as Finding
from gateway.resources import load_json

if TYPE_CHECKING:
    from gateway.checks.ixbrl.package import Package
    from gateway.checks.statement import Statement
    from gateway.checks.xbrl import Instance


@cache
def _table() -> dict[str, dict[str, str]]:
    return {k: v for k, v in load_json("findings.json").items() if not k.startswith("_")}


#: Longest value quoted in a text; a 5,000-digit value would make every line unreadable.
MAX_QUOTED = 200
# Control and bidirectional-override characters never reach a mail or a status text as such.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(value: object) -> str:
    """A value as it may appear in a text: unsafe characters escaped, long values shortened."""
    text = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", str(value))
    if len(text) > MAX_QUOTED:
        text = f"{text[: MAX_QUOTED - 20]}…{text[-10:]} [{len(text)}]"
    return text


def _position(line: int | None, column: int | None) -> tuple[str, str, str | None]:
    if line is None:
        return "", "", None
    if column is None:
        return f" (regel {line})", f" (line {line})", str(line)
    return f" (regel {line}, kolom {column})", f" (line {line}, column {column})", f"{line}:{column}"


def _with_position(text: str, at: str) -> str:
    if at and text.endswith("."):
        return text[:-1] + at + "."
    return text + at


def finding(code: str, location: str | None = None, **params: Any) -> Finding:
    """Build a finding from the code table in ``schemas/findings.json``. A rule whose
    published code covers several cases has one entry per case, ``CODE#case``.

    ``line``, ``column``, ``concept`` and ``value`` among the parameters also say what
    triggered the finding; a line (and column) is added to both texts in their language.
    """
    entry = _table()[code]
    shown = {k: printable(v) if isinstance(v, str) else v for k, v in params.items()}
    line, column = params.get("line"), params.get("column")
    at_nl, at_en, at = _position(line, column)
    concept, value = params.get("concept"), params.get("value")
    return Finding(
        code=code.split("#", 1)[0],
        severity=entry["severity"],
        message_nl=_with_position(entry["nl"].format(**shown), at_nl),
        message_en=_with_position(entry["en"].format(**shown), at_en),
        location=location if location is not None else at,
        line=line,
        column=column,
        concept=None if concept is None else str(concept),
        value=None if value is None else printable(value),
    )


@dataclass(frozen=True)
class PartInfo:
    position: int
    mime_type: str
    bestandsnaam: str
    size: int


@dataclass(frozen=True)
class FilingOnFile:
    id: int
    kenmerk: str
    adopted: bool


@dataclass(frozen=True)
class CheckContext:
    """What the checks read. The berichtInhoud (``raw_instance``) is read once, on first use,
    into the statement model (``statement``) by whichever reader its format needs; the checks
    never write to the context, so they may run in any order."""

    berichtsoort: str
    belanghebbende_nummer: str
    belanghebbende_type: str
    filed_at: datetime
    parts: list[PartInfo]
    raw_instance: bytes
    #: Filled in between the two check phases (see ``with_register``).
    company: Company | None = None
    company_looked_up: bool = False
    on_file: list[FilingOnFile] = field(default_factory=list)
    #: The reading of ``raw_instance``; computed on first use when not given.
    read: Reading | None = field(default=None, repr=False, compare=False)

    @property
    def reading(self) -> Reading:
        if self.read is None:
            from gateway.checks.reading import read_berichtinhoud

            first = self.parts[0] if self.parts else None
            result = read_berichtinhoud(
                self.raw_instance,
                first.bestandsnaam if first else "",
                first.mime_type if first else "",
                self.berichtsoort,
            )
            # A cache of a pure function of the fields above, not a change of state.
            object.__setattr__(self, "read", result)
            return result
        return self.read

    @property
    def statement(self) -> Statement | None:
        return self.reading.statement

    @property
    def instance(self) -> Instance | None:
        """The classic instance as read (classic route only), for the classic filing rules."""
        return self.reading.instance

    @property
    def package(self) -> Package | None:
        """The Inline XBRL report package as read (inline route only), for the NL-KVK rules."""
        return self.reading.package

    @property
    def filed_on(self) -> date:
        return self.filed_at.date()

    @property
    def kvk_number(self) -> str | None:
        return self.statement.kvk.kvk_number if self.statement else None

    @property
    def financial_year(self) -> int | None:
        return self.statement.kvk.financial_year if self.statement else None

    def with_register(self, company: Company | None, on_file: list[FilingOnFile]) -> CheckContext:
        """The context for the second phase: the register entry and the statements on file."""
        return replace(self, company=company, company_looked_up=True, on_file=on_file, read=self.reading)


@dataclass(frozen=True)
class Reading:
    """A berichtInhoud as read: the statement model, or the findings that say why not."""

    statement: Statement | None
    findings: tuple[Finding, ...] = ()
    instance: Instance | None = None
    package: Package | None = None
    #: Which rules apply: "xbrl" (classic filing rules) or "ixbrl" (NL-KVK; also any zip).
    route: str = "xbrl"


Check = Callable[[CheckContext], Iterable[Finding]]
