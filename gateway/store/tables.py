"""The database schema (SQLAlchemy Core). One metadata, valid on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import DateTime as _DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without zone (SQLite has none), always hands back aware UTC datetimes."""

    impl = _DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


metadata = MetaData()

#: Bumped with every change to the tables below; a database of another version is refused
#: at start-up rather than failing later on a missing column.
SCHEMA_VERSION = 1

schema_info = Table(
    "schema_info",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)

submissions = Table(
    "submissions",
    metadata,
    Column("kenmerk", String(40), primary_key=True),
    Column("berichtsoort", String(80), nullable=False),
    Column("aanleverkenmerk", String(40)),
    Column("eerder_aanleverkenmerk", String(40)),
    Column("belanghebbende_nummer", String(35), nullable=False),
    Column("belanghebbende_type", String(20), nullable=False),
    Column("rol_belanghebbende", String(40), nullable=False),
    Column("ontvanger_nummer", String(35)),
    Column("ontvanger_type", String(20)),
    Column("rol_ontvanger", String(40)),
    Column("autorisatie_adres", String(255)),
    # Who sent it: the TLS client certificate's subject and the OIN in its serialNumber.
    Column("sender_subject", String(512), nullable=False),
    Column("sender_oin", String(20)),
    Column("notify_address", String(320)),
    Column("received_at", UTCDateTime(), nullable=False),
    # queued -> done; a replay sets it back to queued with run + 1.
    Column("state", String(16), nullable=False),
    Column("run", Integer, nullable=False, server_default=text("1")),
    Column("outcome", String(16)),  # accepted | rejected | error
    Column("final_status", String(20)),
    Column("kvk_number", String(8)),
    Column("financial_year", Integer),
    # How long the last run's checks took, for the job-duration histogram.
    Column("check_seconds", Float),
    Column("raw_sha256", String(64), nullable=False),
    Column("raw_size", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
Index("ix_submissions_state", submissions.c.state)
Index("ix_submissions_received", submissions.c.received_at)
Index("ix_submissions_sender", submissions.c.sender_subject)
Index("ix_submissions_kvk", submissions.c.kvk_number)

# The raw message is kept apart so that listing submissions never drags megabytes along.
raw_messages = Table(
    "raw_messages",
    metadata,
    Column("kenmerk", String(40), ForeignKey("submissions.kenmerk", ondelete="CASCADE"), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kenmerk", String(40), ForeignKey("submissions.kenmerk", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),  # 0 = berichtInhoud, 1.. = bijlagen
    Column("mime_type", String(255), nullable=False),
    Column("bestandsnaam", String(80), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    UniqueConstraint("kenmerk", "position", name="uq_documents_position"),
)

statuses = Table(
    "statuses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kenmerk", String(40), ForeignKey("submissions.kenmerk", ondelete="CASCADE"), nullable=False),
    Column("run", Integer, nullable=False),
    Column("code", String(20), nullable=False),
    Column("description", String(80), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("foutcode", String(20)),
    Column("foutbeschrijving", Text),
    Column("details", Text),
    # Set when getNieuweStatussenProces handed this status out.
    Column("fetched_at", UTCDateTime()),
)
Index("ix_statuses_kenmerk", statuses.c.kenmerk, statuses.c.id)

findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kenmerk", String(40), ForeignKey("submissions.kenmerk", ondelete="CASCADE"), nullable=False),
    Column("run", Integer, nullable=False),
    Column("code", String(20), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("message_nl", Text, nullable=False),
    Column("message_en", Text, nullable=False),
    Column("location", Text),
)
Index("ix_findings_kenmerk", findings.c.kenmerk, findings.c.run)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kenmerk", String(40), ForeignKey("submissions.kenmerk", ondelete="CASCADE"), nullable=False),
    Column("run", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("recipient", String(320)),
    Column("state", String(16), nullable=False),  # pending | sent | skipped
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    UniqueConstraint("kenmerk", "run", name="uq_notifications_run"),
)
Index("ix_notifications_state", notifications.c.state)

# Accepted statements per company and financial year. The partial unique index is what
# makes "at most one adopted statement per year" hold under concurrency.
filings = Table(
    "filings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kvk_number", String(8), nullable=False),
    Column("financial_year", Integer, nullable=False),
    Column("kenmerk", String(40), ForeignKey("submissions.kenmerk", ondelete="CASCADE"), nullable=False),
    Column("adopted", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("accepted_at", UTCDateTime(), nullable=False),
    Column("figures", JSON),
)
Index(
    "uq_filings_adopted",
    filings.c.kvk_number,
    filings.c.financial_year,
    unique=True,
    sqlite_where=text("adopted AND active"),
    postgresql_where=text("adopted AND active"),
)
Index("ix_filings_company", filings.c.kvk_number, filings.c.financial_year)

companies = Table(
    "companies",
    metadata,
    Column("kvk_number", String(8), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("legal_form", String(64), nullable=False),
    Column("street", String(255)),
    Column("house_number", String(8)),
    Column("house_number_suffix", String(4)),
    Column("postal_code", String(6)),
    Column("city", String(255)),
    Column("status", String(16), nullable=False),  # active | dissolved
    Column("email", String(320)),
    Column("registered_on", String(10)),
    # Size figures of earlier years, keyed by financial year, for the two-year rule.
    Column("size_history", JSON),
    Column("updated_at", UTCDateTime(), nullable=False),
)

replays = Table(
    "replays",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kenmerk", String(40), ForeignKey("submissions.kenmerk", ondelete="CASCADE"), nullable=False),
    Column("run", Integer, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
