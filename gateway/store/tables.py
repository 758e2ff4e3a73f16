"""The database schema (SQLAlchemy Core). One metadata, valid on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
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

# Every change to these tables needs a migration in gateway/store/migrations/versions/:
# scripts/migration "what changed" writes it (README, "Schema migrations"). The database's
# revision is in Alembic's alembic_version table; a database of another revision is refused
# at start-up rather than failing later on a missing column.

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
    # The outbox (gateway/store/outbox.py): a failed mail's next attempt (NULL: due now), and
    # the postman holding it until lease_until.
    Column("next_attempt_at", UTCDateTime()),
    Column("lease_owner", String(80)),
    Column("lease_until", UTCDateTime()),
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

# ----------------------------------------------------------------------- KVK API (gateway/store/kvk.py)
# Added without a schema version bump: they are new tables, which init_schema creates.

# Answers of the KVK API, reused for a while: a "found" entry for longer than a "not found".
kvk_cache = Table(
    "kvk_cache",
    metadata,
    Column("kvk_number", String(8), primary_key=True),
    Column("found", Boolean, nullable=False),
    Column("entry", JSON),  # the RegisterEntry fields when found
    Column("fetched_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

# Who is asking the API for a KVK number right now, so that workers in other processes wait
# for that answer instead of paying for the same request again.
kvk_fetches = Table(
    "kvk_fetches",
    metadata,
    Column("kvk_number", String(8), primary_key=True),
    Column("owner", String(80), nullable=False),
    Column("claimed_at", UTCDateTime(), nullable=False),
)

# Every register look-up (cache hits too) and every HTTP attempt at the API, with its price.
kvk_requests = Table(
    "kvk_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("tariff_date", String(10), nullable=False),  # the Dutch calendar date priced
    Column("product", String(32), nullable=False),
    Column("kvk_number", String(12), nullable=False),
    Column("cache_hit", Boolean, nullable=False),
    Column("http_status", Integer),
    Column("outcome", String(24), nullable=False),
    Column("charged", Boolean, nullable=False),
    # Micro-euros; NULL = a charged request on a date no tariff version covers.
    Column("price_micro", BigInteger),
    Column("tariff_version", String(40)),
    Column("tariff_item", String(60)),
    Column("tariff_article", String(120)),
    Column("band", String(40)),
    Column("volume", Integer),
    Column("note", String(300)),
)
Index("ix_kvk_requests_date", kvk_requests.c.tariff_date)  # gateway costs selects by date

# The running yearly volume per tariff item, counted in the same transaction as the request
# it prices, so concurrent workers never give two requests the same place in a band.
kvk_volumes = Table(
    "kvk_volumes",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("volume_key", String(120), primary_key=True),
    Column("count", Integer, nullable=False),
)

# Why a submission waits (the KVK API unreachable, say), for operators; cleared when it goes on.
submission_waits = Table(
    "submission_waits",
    metadata,
    Column("kenmerk", String(40), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("since", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
)

# MessageIDs seen at intake, per sender, for as long as a message's Timestamp keeps it valid.
# In the database (not per-process memory) so that every intake process sees every other's: a
# replay is refused everywhere, and a retransmission of the same message gets its original answer.
message_ids = Table(
    "message_ids",
    metadata,
    # sha256 of the sender's certificate subject and the MessageID (both may be long).
    Column("key", String(64), primary_key=True),
    # What was signed: the signature's digest of the Body (or of its canonical form if unsigned).
    Column("digest", String(128), nullable=False),
    # aanleveren: the kenmerk given out for this message; None for other operations.
    Column("kenmerk", String(40)),
    Column("claimed_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)
Index("ix_message_ids_expires", message_ids.c.expires_at)

# Which outcome messages (one per finished run) the OphaalService's getNieuwe* calls handed out.
outcome_fetches = Table(
    "outcome_fetches",
    metadata,
    Column("kenmerk", String(40), ForeignKey("submissions.kenmerk", ondelete="CASCADE"), primary_key=True),
    Column("run", Integer, primary_key=True),
    Column("fetched_at", UTCDateTime(), nullable=False),
)

# ----------------------------------------------------------------------- Zelf Deponeren (ZDJ)
# Access codes, the branches they belong to, authorisations to file for a business, letters
# for an operator to print, mails waiting to be sent, and every action on them.

zdj_branches = Table(
    "zdj_branches",
    metadata,
    Column("vestigingsnummer", String(12), primary_key=True),
    Column("kvk_number", String(8), nullable=False),
    Column("name", String(255), nullable=False),
    Column("state", String(16), nullable=False),  # active | closed
    Column("closed_at", UTCDateTime()),
    Column("closed_by", String(255)),
    Column("closed_reason", Text),
    Column("created_at", UTCDateTime(), nullable=False),
)

zdj_access_codes = Table(
    "zdj_access_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("vestigingsnummer", String(12), ForeignKey("zdj_branches.vestigingsnummer"), nullable=False),
    Column("kvk_number", String(8), nullable=False),
    Column("holder_name", String(255), nullable=False),
    Column("holder_email", String(320), nullable=False),
    # Name and email, normalised: "one access code per person" is enforced on it (partial unique index).
    Column("person_key", String(320), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("must_change_password", Boolean, nullable=False),
    Column("delivery", String(8), nullable=False),  # email | post
    Column("state", String(16), nullable=False),  # active | blocked | closed
    Column("state_reason", Text),
    Column("state_by", String(255)),
    Column("state_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
Index(
    "uq_zdj_codes_person",
    zdj_access_codes.c.person_key,
    zdj_access_codes.c.kvk_number,
    unique=True,
    sqlite_where=text("state <> 'closed'"),
    postgresql_where=text("state <> 'closed'"),
)
Index("ix_zdj_codes_branch", zdj_access_codes.c.vestigingsnummer)

zdj_authorisations = Table(
    "zdj_authorisations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code_id", Integer, ForeignKey("zdj_access_codes.id"), nullable=False),
    Column("kvk_number", String(8), nullable=False),
    Column("state", String(16), nullable=False),  # requested | approved | rejected | removed
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("decided_at", UTCDateTime()),
    Column("decided_by", String(255)),
    Column("decision_note", Text),
    Column("removed_at", UTCDateTime()),
)
Index(
    "uq_zdj_authorisations_open",
    zdj_authorisations.c.code_id,
    zdj_authorisations.c.kvk_number,
    unique=True,
    sqlite_where=text("state IN ('requested', 'approved')"),
    postgresql_where=text("state IN ('requested', 'approved')"),
)

zdj_letters = Table(
    "zdj_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # access_code | authorisation
    Column("code_id", Integer, ForeignKey("zdj_access_codes.id")),
    Column("authorisation_id", Integer, ForeignKey("zdj_authorisations.id")),
    Column("recipient", Text, nullable=False),
    # The letter as printed; a password in it is replaced by a mark once it is printed.
    Column("body", Text, nullable=False),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("dispatch_on", String(10), nullable=False),
    Column("deliver_by", String(10), nullable=False),
    Column("state", String(16), nullable=False),  # queued | printed
    Column("printed_at", UTCDateTime()),
    Column("printed_by", String(255)),
)
Index("ix_zdj_letters_state", zdj_letters.c.state, zdj_letters.c.dispatch_on)

zdj_outbox = Table(
    "zdj_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code_id", Integer, ForeignKey("zdj_access_codes.id")),
    Column("kind", String(24), nullable=False),  # access_code | replacement_password
    Column("recipient", String(320), nullable=False),
    Column("subject", String(255), nullable=False),
    # Holds a password until sent, then is replaced by a mark (never kept in clear longer).
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending | sent
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    # Set by the process about to send it, so that two servers never both send one mail.
    Column("claimed_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
)
Index("ix_zdj_outbox_state", zdj_outbox.c.state)

#: Web filings: which access code filed which submission for which business. Written before
#: the submission itself (no foreign key), so a submission is never without it.
zdj_submissions = Table(
    "zdj_submissions",
    metadata,
    Column("kenmerk", String(40), primary_key=True),
    Column("code_id", Integer, ForeignKey("zdj_access_codes.id"), nullable=False),
    Column("kvk_number", String(8), nullable=False),
    Column("bestandsnaam", String(255), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
Index("ix_zdj_submissions_code", zdj_submissions.c.code_id, zdj_submissions.c.created_at)

#: Every action on a branch, code or authorisation: what, who, when, why.
zdj_events = Table(
    "zdj_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("vestigingsnummer", String(12)),
    Column("code_id", Integer),
    Column("authorisation_id", Integer),
    Column("action", String(32), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("reason", Text),
    Column("detail", JSON),
    Column("at", UTCDateTime(), nullable=False),
)
Index("ix_zdj_events_code", zdj_events.c.code_id, zdj_events.c.id)

# Runs whose checks failed without a verdict (overran their budget, or the checking process
# died, or the pipeline failed on something that is not the infrastructure's). After a few
# the run gets a final technical status and waits for an operator. Database and Redis
# outages are not counted: they are retried for as long as they last.
check_attempts = Table(
    "check_attempts",
    metadata,
    Column("kenmerk", String(40), ForeignKey("submissions.kenmerk", ondelete="CASCADE"), primary_key=True),
    Column("run", Integer, primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_error", Text),
    Column("updated_at", UTCDateTime(), nullable=False),
)
