"""The database schema: every table Bounce Desk keeps, as SQLAlchemy 2 models.

Times are stored as naive UTC (microsecond precision on every backend) so that SQLite,
PostgreSQL and MariaDB compare them the same way. Alembic migrations in
``core/migrations`` create these tables; the models are the single source of truth.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Naming convention so Alembic migrations are deterministic on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UtcDateTime = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
Id = BigInteger().with_variant(Integer(), "sqlite")
Blob = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
# A sha256 digest. MySQL/MariaDB cannot put a BLOB in a unique index: BINARY(32) there.
DedupKey = LargeBinary(32).with_variant(mysql.BINARY(32), "mysql", "mariadb")
# Text that may exceed 64 KB (TEXT's limit on MySQL/MariaDB; MEDIUMTEXT holds 16 MiB).
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")

# An address is at most 254 octets by RFC 5321; 320 leaves room for what arrives in the wild.
ADDRESS = 320
# The normalised address we match on. MySQL/MariaDB compare text case-insensitively by
# default; a binary collation makes them agree with SQLite and PostgreSQL (the local part of
# an address is case-sensitive, core.addresses lowercases only the domain).
AddressKey = String(ADDRESS).with_variant(
    mysql.VARCHAR(ADDRESS, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
)


# A recipient domain as a key: compared byte for byte on every backend, like AddressKey.
DomainKey = String(255).with_variant(
    mysql.VARCHAR(255, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Fact(Base):
    """One recipient of one SES notification: the unit every count and list is built from."""

    __tablename__ = "facts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    # sha256 of (event key, normalised recipient), as its 32 bytes: the idempotency key for
    # redeliveries. Half the size of its hex form in the table and in the unique index.
    dedup_key: Mapped[bytes] = mapped_column(DedupKey, unique=True)
    event_key: Mapped[str] = mapped_column(String(300))
    family: Mapped[str] = mapped_column(String(16))  # feedback | event
    kind: Mapped[str] = mapped_column(String(32))  # bounce, complaint, delivery, send, ...
    recipient: Mapped[str] = mapped_column(String(ADDRESS))
    address: Mapped[str] = mapped_column(AddressKey)  # normalised for matching
    domain: Mapped[str] = mapped_column(String(255))
    bounce_type: Mapped[str | None] = mapped_column(String(64))
    bounce_subtype: Mapped[str | None] = mapped_column(String(64))
    classification: Mapped[str | None] = mapped_column(String(16))  # hard | soft | undetermined
    counts_toward_bounce_rate: Mapped[bool] = mapped_column(Boolean, default=False)
    complaint_subtype: Mapped[str | None] = mapped_column(String(64))
    complaint_feedback_type: Mapped[str | None] = mapped_column(String(64))
    diagnostic_code: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str | None] = mapped_column(String(32))
    reporting_mta: Mapped[str | None] = mapped_column(String(255))
    remote_mta_ip: Mapped[str | None] = mapped_column(String(64))
    sender: Mapped[str | None] = mapped_column(String(ADDRESS))
    subject: Mapped[str | None] = mapped_column(Text)
    ses_message_id: Mapped[str | None] = mapped_column(String(128))
    feedback_id: Mapped[str | None] = mapped_column(String(128))
    configuration_set: Mapped[str | None] = mapped_column(String(128))
    tags: Mapped[str | None] = mapped_column(LongText)  # JSON object as received
    detail: Mapped[str | None] = mapped_column(LongText)  # kind-specific extras as JSON
    sns_message_id: Mapped[str | None] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    mail_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)

    # Only what reads of single facts need; every index is paid for on each insert. The
    # address page and the mailing rules read one address's facts newest first; the soft-bounce
    # rule reads a kind's facts since a cutoff. Aggregates come from the count tables below.
    __table_args__ = (
        Index("ix_facts_address_occurred", "address", "occurred_at"),
        Index("ix_facts_kind_occurred", "kind", "occurred_at"),
    )


class FactKey(Base):
    """The idempotency key of a fact stored as counts only (retention_store_raw_sends off):
    enough to know a redelivery is a duplicate, for as long as its kind's raw facts would
    have been kept."""

    __tablename__ = "fact_keys"

    dedup_key: Mapped[bytes] = mapped_column(DedupKey, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_fact_keys_kind_occurred", "kind", "occurred_at"),)


class AddressSummary(Base):
    """Per-address totals kept current at ingest, so lists never scan the facts."""

    __tablename__ = "address_summaries"

    address: Mapped[str] = mapped_column(AddressKey, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(ADDRESS))  # as last received
    domain: Mapped[str] = mapped_column(String(255))
    hard_count: Mapped[int] = mapped_column(Integer, default=0)
    soft_count: Mapped[int] = mapped_column(Integer, default=0)
    undetermined_count: Mapped[int] = mapped_column(Integer, default=0)
    complaint_count: Mapped[int] = mapped_column(Integer, default=0)
    delivery_count: Mapped[int] = mapped_column(Integer, default=0)
    first_bounce_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_bounce_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_hard_bounce_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_soft_bounce_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_complaint_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_delivery_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_bounce_type: Mapped[str | None] = mapped_column(String(64))
    last_bounce_subtype: Mapped[str | None] = mapped_column(String(64))
    last_classification: Mapped[str | None] = mapped_column(String(16))
    last_diagnostic_code: Mapped[str | None] = mapped_column(Text)
    # The later of the last bounce and the last complaint, computed by the database so
    # ingest never writes it: the bounced list sorts and pages on it through an index.
    last_event_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime,
        Computed(
            "CASE WHEN last_complaint_at IS NULL OR last_bounce_at >= last_complaint_at"
            " THEN last_bounce_at ELSE last_complaint_at END",
            persisted=True,
        ),
    )

    __table_args__ = (
        Index("ix_address_summaries_last_bounce", "last_bounce_at"),
        # Domain filter of the bounced list, already in its default order.
        Index("ix_address_summaries_domain", "domain", "last_event_at"),
        Index("ix_address_summaries_last_event", "last_event_at"),
    )


class DailyCount(Base):
    """Facts per UTC day and kind, for trend charts that never scan the facts table."""

    __tablename__ = "daily_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    classification: Mapped[str] = mapped_column(String(16), primary_key=True, default="")
    subtype: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    counts_toward_rate: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=False)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class DailyDomainCount(Base):
    """Bounces and complaints per UTC day and recipient domain, for the overview's top domains;
    kept at ingest like daily_counts, so the overview never scans or indexes the facts by domain."""

    __tablename__ = "daily_domain_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    domain: Mapped[str] = mapped_column(DomainKey, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)  # bounce | complaint
    classification: Mapped[str] = mapped_column(String(16), primary_key=True, default="")
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class DeadLetter(Base):
    """Input that could not be used, kept byte for byte with the reason, until retried."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    source: Mapped[str] = mapped_column(String(500))  # e.g. file:NAME#3, sqs:QUEUE, lambda
    reason_code: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(Blob)
    # The entry point that refused it (file|upload|sqs|lambda) and the least signature check a
    # retry must apply (core/ingest/trust.py); NULL in letters older than these columns.
    entry_point: Mapped[str | None] = mapped_column(String(32))
    verify_mode: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open|resolved
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class IngestionRun(Base):
    """One call of an entry point and its summary, for the ingestion page."""

    __tablename__ = "ingestion_runs"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    entry_point: Mapped[str] = mapped_column(String(32))  # file | sqs | lambda | upload | retry
    source: Mapped[str] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    received: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    dead_lettered: Mapped[int] = mapped_column(Integer, default=0)
    # running (written before the first chunk, counts updated with each) | finished | failed
    status: Mapped[str] = mapped_column(String(16), default="running", server_default="finished")
    truncated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cut: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    files_cut: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(LongText)
    notes: Mapped[str | None] = mapped_column(LongText)  # what the limits cut, one line each


class SnsConfirmation(Base):
    """SubscriptionConfirmation / UnsubscribeConfirmation messages: recorded, never dropped."""

    __tablename__ = "sns_confirmations"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    sns_message_id: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    topic_arn: Mapped[str | None] = mapped_column(String(300))
    subscribe_url: Mapped[str | None] = mapped_column(Text)
    token: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(LongText)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


# --- SES gateway -------------------------------------------------------------------------


class SuppressedDestination(Base):
    """Our mirror of the SES account-level suppression list; rows are never deleted."""

    __tablename__ = "suppressed_destinations"

    address: Mapped[str] = mapped_column(AddressKey, primary_key=True)
    email_address: Mapped[str] = mapped_column(AddressKey)  # as SES lists it
    reason: Mapped[str] = mapped_column(String(16))  # BOUNCE | COMPLAINT
    last_update_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    suppressed: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # When we noticed it gone, and whether Bounce Desk removed it (vs. someone else).
    unsuppressed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    removed_by_us: Mapped[bool] = mapped_column(Boolean, default=False)
    ses_message_id: Mapped[str | None] = mapped_column(String(128))
    ses_feedback_id: Mapped[str | None] = mapped_column(String(128))
    sync_generation: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        Index("ix_suppressed_destinations_reason_update", "reason", "last_update_time"),
    )


class SuppressionSync(Base):
    """One pull of the suppression list; the last completed one bounds incremental syncs."""

    __tablename__ = "suppression_syncs"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    incremental: Mapped[bool] = mapped_column(Boolean, default=False)
    since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    seen: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    gone: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|completed|failed
    error: Mapped[str | None] = mapped_column(Text)


class RunStatus(StrEnum):
    """Where a removal run stands (`removal_runs.status`)."""

    RUNNING = "running"
    SUBMITTED = "submitted"
    COMPLETED = "completed"
    WITH_FAILURES = "with_failures"
    INTERRUPTED = "interrupted"


class Outcome(StrEnum):
    """What happened to one address of a removal run (`removal_results.outcome`)."""

    PENDING = "pending"
    REMOVED = "removed"
    NOT_ON_LIST = "not_on_list"
    FAILED = "failed"
    SUBMITTED = "submitted"  # handed to an SES import job that has not finished


class RemovalRun(Base):
    """One request to take addresses off the suppression list (per-address or import job)."""

    __tablename__ = "removal_runs"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(16))  # api | import_job
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.RUNNING)  # a RunStatus
    requested: Mapped[int] = mapped_column(Integer, default=0)


class RemovalResult(Base):
    """The outcome for one address of a removal run; written as each call returns.

    `attempted_at` is set, in the same transaction as an audit entry, just before a
    DeleteSuppressedDestination call, and cleared when SES's answer is recorded: while it is
    set, SES may have removed the address without our knowing (a lost response, a database
    failure, Ctrl-C mid-call). `import_job_id` is the import job the address was sent in.
    """

    __tablename__ = "removal_results"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("removal_runs.id"), index=True)
    address: Mapped[str] = mapped_column(AddressKey, index=True)
    outcome: Mapped[str] = mapped_column(String(16), default=Outcome.PENDING)  # an Outcome
    message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    import_job_id: Mapped[int | None] = mapped_column(ForeignKey("import_jobs.id"), index=True)


class ImportJob(Base):
    """An SES CreateImportJob we started, one per chunk of at most 10,000 addresses."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("removal_runs.id"), index=True)
    job_id: Mapped[str] = mapped_column(String(128), unique=True)
    action: Mapped[str] = mapped_column(String(16))  # DELETE | PUT
    s3_url: Mapped[str] = mapped_column(Text)
    records: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    processed: Mapped[int | None] = mapped_column(Integer)
    failed: Mapped[int | None] = mapped_column(Integer)
    failure_url: Mapped[str | None] = mapped_column(Text)
    failure_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AccountSnapshot(Base):
    """GetAccount as it was at one moment, so the enforcement history survives."""

    __tablename__ = "account_snapshots"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    enforcement_status: Mapped[str | None] = mapped_column(String(32))
    sending_enabled: Mapped[bool | None] = mapped_column(Boolean)
    production_access_enabled: Mapped[bool | None] = mapped_column(Boolean)
    max_24_hour_send: Mapped[float | None] = mapped_column(Float)
    max_send_rate: Mapped[float | None] = mapped_column(Float)
    sent_last_24_hours: Mapped[float | None] = mapped_column(Float)
    suppressed_reasons: Mapped[str | None] = mapped_column(String(64))  # e.g. "BOUNCE,COMPLAINT"
    raw: Mapped[str] = mapped_column(Text)  # the response as JSON


class MetricPoint(Base):
    """One CloudWatch or GetSendStatistics datapoint; re-pulling a window overwrites, never adds."""

    __tablename__ = "metric_points"

    source: Mapped[str] = mapped_column(
        String(32), primary_key=True
    )  # cloudwatch | send_statistics
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    period_seconds: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    pulled_at: Mapped[datetime] = mapped_column(UtcDateTime)


# --- Jobs --------------------------------------------------------------------------------


class JobOutcome(StrEnum):
    """How one run of a job went (`job_runs.outcome`); `running` until it finishes."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # another runner held the job's lock: already running


class JobRun(Base):
    """One run of a job (core.jobs), recorded when it starts and updated when it ends."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String(16), default=JobOutcome.RUNNING)
    actor: Mapped[str] = mapped_column(String(320))
    summary: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)


# --- Dashboard ---------------------------------------------------------------------------


class Confirmation(Base):
    """Staff confirmed an address is valid (or revoked that); history is kept, never edited."""

    __tablename__ = "confirmations"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(AddressKey, index=True)
    confirmed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(320))
    note: Mapped[str] = mapped_column(LongText)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(320))
    revoke_note: Mapped[str | None] = mapped_column(LongText)


class DirectoryUser(Base):
    """The product's users, imported from CSV so bounced addresses show who they are."""

    __tablename__ = "directory_users"

    address: Mapped[str] = mapped_column(AddressKey, primary_key=True)
    email: Mapped[str] = mapped_column(String(ADDRESS))
    user_id: Mapped[str | None] = mapped_column(String(128), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    company: Mapped[str | None] = mapped_column(String(255))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditEntry(Base):
    """Append-only record of every state change and personal-data export."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(320), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str | None] = mapped_column(AddressKey, index=True)
    parameters: Mapped[str | None] = mapped_column(LongText)  # JSON
    outcome: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)


# --- Alerts (issue 11) -------------------------------------------------------------------


class DailyConfigSetCount(Base):
    """Facts per UTC day, configuration set and kind, kept at ingest (and backfilled from the
    facts by migration 0007), so per-stream rates never scan the facts. Only facts that name
    a configuration set are counted here. `counts_toward_rate` is the bounce rule for
    bounces and "not about an address on our suppression list" for complaints."""

    __tablename__ = "daily_config_set_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    configuration_set: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    counts_toward_rate: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=False)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class ConfigSetMetricPoint(Base):
    """One CloudWatch `Reputation.*` point of one configuration set (SES publishes them per
    set when the set's reputation metrics are on); re-pulling overwrites, never adds."""

    __tablename__ = "config_set_metric_points"

    configuration_set: Mapped[str] = mapped_column(String(128), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    period_seconds: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    pulled_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Alert(Base):
    """One alert: a rule's condition on one scope (the account, a configuration set, a
    domain, a job) from the check that saw it first to the one that saw it clear.

    `open_key` is ``rule|scope`` while the alert is open and NULL once resolved: its unique
    index lets only one open alert exist per rule and scope, also with two checks at once."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(String(300))
    open_key: Mapped[str | None] = mapped_column(String(400), unique=True)
    severity: Mapped[str] = mapped_column(String(16))  # warning | review | critical
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | resolved
    title: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(LongText)
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    notifications: Mapped[int] = mapped_column(Integer, default=0)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(320))
    snoozed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    snoozed_by: Mapped[str | None] = mapped_column(String(320))


class AlertEvent(Base):
    """What happened to an alert: opened, notified, a delivery failed, acknowledged, snoozed,
    the guard paused (or would have), resumed, resolved. Append-only history."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(320))
    detail: Mapped[str | None] = mapped_column(LongText)
