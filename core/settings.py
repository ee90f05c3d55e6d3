"""One loader for all configuration, validated once at start-up.

Values come from environment variables prefixed ``BOUNCEDESK_`` and, optionally, a TOML file
(``BOUNCEDESK_CONFIG_FILE``, default ``bouncedesk.toml`` when it exists). The environment wins.
A wrong value stops start-up with a message that names the setting and the accepted values.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.access import DEFAULT_CONTACT, Role, check_role_patterns
from core.database_secret import check_secret_arn, database_url_from_secret
from core.database_url import check_database_url
from core.errors import SettingsError

DEFAULT_DATABASE_URL = "sqlite:///data/bouncedesk.db"
CONFIG_FILE_VARIABLE = "BOUNCEDESK_CONFIG_FILE"
# Items per ingest transaction. Each commit rewrites every index and summary page its chunk
# touched, so larger chunks write less per item: against 500, a quarter less CPU and a third
# less time into SQLite, for about 15 MB more memory while a chunk is held.
DEFAULT_INGEST_BATCH_SIZE = 5_000
# A chunk is also committed once the input it holds reaches this many bytes, so memory and
# transaction size stay bounded however large the items are.
DEFAULT_INGEST_BATCH_BYTES = 16 << 20
# SNS and SQS messages are at most 256 KiB, so a larger item is not an SES notification:
# it is kept as a bounded prefix with its size and sha256. The upper bound keeps one row
# well inside MariaDB's default max_allowed_packet (16 MiB).
DEFAULT_INGEST_MAX_ITEM_BYTES = 1 << 20
MAX_INGEST_ITEM_BYTES = 4 << 20
# Decompressed bytes read from one file or upload: a gzip bomb stops here.
DEFAULT_INGEST_MAX_FILE_BYTES = 1 << 30
DEFAULT_INGEST_MAX_DEAD_LETTERS_PER_FILE = 10_000

# Retention: days the raw facts of sends, deliveries, delays, opens and clicks are kept by
# default, and the kinds `retention_store_raw_sends = false` stores as counts only.
DEFAULT_RETENTION_DAYS = 30
COUNTED_ONLY_KINDS = frozenset({"send", "delivery"})

VerifyMode = Literal["off", "when_present", "required"]
# arn:PARTITION:sns:REGION:ACCOUNT:TOPIC (a FIFO topic's name ends in .fifo).
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")


def _known_database(value: str) -> str:
    scheme = value.split(":", 1)[0].split("+", 1)[0]
    if scheme not in {"sqlite", "postgresql", "mysql", "mariadb"}:
        raise ValueError(
            "accepted values: sqlite:///PATH, postgresql+psycopg://..., mysql+pymysql://..."
        )
    check_database_url(value)
    return value


def _config_file() -> Path | None:
    named = os.environ.get(CONFIG_FILE_VARIABLE)
    if named:
        return Path(named)
    default = Path("bouncedesk.toml")
    return default if default.exists() else None


class Settings(BaseSettings):
    """Every setting Bounce Desk reads; field names are the keys in TOML and, upper-cased
    with the ``BOUNCEDESK_`` prefix, in the environment."""

    model_config = SettingsConfigDict(env_prefix="BOUNCEDESK_", extra="forbid")

    database_url: str = DEFAULT_DATABASE_URL
    # SNS signature verification, per entry point. "when_present" verifies any SNS envelope
    # that carries a signature; raw-delivery SQS bodies are never signed.
    verify_sns_file: VerifyMode = "off"
    verify_sns_sqs: VerifyMode = "when_present"
    verify_sns_lambda: VerifyMode = "when_present"
    sns_cert_dir: Path | None = None
    # The SNS topic(s) SES publishes to. When set, an SNS envelope (signed or not) from any
    # other topic is dead-lettered at every entry point; required when verify_sns_sqs or
    # verify_sns_lambda is "required", since a signature alone admits anyone's topic.
    sns_topic_arns: list[str] = Field(default_factory=list, validate_default=True)
    sns_max_message_age_seconds: int | None = Field(default=None, ge=1)
    ingest_batch_size: int = Field(default=DEFAULT_INGEST_BATCH_SIZE, ge=1, le=10_000)
    ingest_batch_bytes: int = Field(default=DEFAULT_INGEST_BATCH_BYTES, ge=1 << 16, le=1 << 30)
    ingest_max_item_bytes: int = Field(
        default=DEFAULT_INGEST_MAX_ITEM_BYTES, ge=1 << 10, le=MAX_INGEST_ITEM_BYTES
    )
    ingest_max_file_bytes: int = Field(default=DEFAULT_INGEST_MAX_FILE_BYTES, ge=1 << 10)
    ingest_max_dead_letters_per_file: int = Field(
        default=DEFAULT_INGEST_MAX_DEAD_LETTERS_PER_FILE, ge=1
    )

    # AWS / SES gateway
    aws_region: str | None = None
    ses_request_rate: float = Field(default=1.0, gt=0, le=100)
    aws_retry_mode: Literal["standard", "adaptive"] = "standard"
    aws_max_attempts: int = Field(default=5, ge=1, le=20)
    suppression_import_bucket: str | None = None
    suppression_import_prefix: str = "bouncedesk/suppression-imports/"

    # Policy
    soft_bounce_exclusion_count: int = Field(default=1, ge=1)
    soft_bounce_window_days: int = Field(default=30, ge=1)

    # The SQS queue that receives the SES notifications ("Poll SQS now", poll-sqs default)
    sqs_queue_url: str | None = None

    # Who acts from the CLI and in local mode
    actor: str = Field(default_factory=lambda: os.environ.get("USER", "operator"))
    demo: bool = False
    # Where demo mode keeps its emulator files and database (tests use a temporary folder).
    demo_data_dir: Path = Path("data/demo")

    # Who may do what (core/access.py). Role patterns per role: an exact email, "@domain" or
    # "group:NAME" (a value of the OIDC claim `role_group_claim`); checked at start-up.
    roles: dict[Role, list[str]] = Field(default_factory=dict)
    role_group_claim: str = Field(default="groups", min_length=1)
    # Whom a refusal or the no-access page tells people to ask (a name, address or channel).
    access_contact: str = Field(default=DEFAULT_CONTACT, min_length=1)
    # The CLI's role: its user holds the database and AWS credentials anyway, so the role
    # guards against mistakes; operator covers the routine, admin-only removals need
    # BOUNCEDESK_CLI_ROLE=admin on purpose.
    cli_role: Role = Role.OPERATOR
    # The dashboard's role without sign-in (one person on their own machine).
    local_role: Role = Role.OPERATOR
    # Without sign-in the dashboard refuses to serve a non-loopback address unless this is set.
    allow_remote_local_mode: bool = False
    # Local mode (no sign-in), see core/local_mode.py: unset, only as a laptop runs it; true,
    # also with a changed port, path, CORS/XSRF option or behind a proxy on this machine;
    # false, never (this deployment needs sign-in).
    local_mode: bool | None = None
    # Removal guardrail: at most this many addresses per click (one SES call each); larger
    # selections go through an SES import job with an extra confirmation.
    max_removals_per_click: int = Field(default=100, ge=1, le=10_000)

    # --- Language and time zone (the dashboard's display) -------------------------------
    # "auto" follows the browser: its locale picks Japanese or English, its time zone the
    # zone times are shown and dates are read in. Each person may switch in the sidebar.
    language: Literal["auto", "en", "ja"] = "auto"
    # An IANA zone name ("Asia/Tokyo", "UTC") or "auto".
    display_timezone: str = "auto"

    @field_validator("display_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        value = value.strip()
        if value == "auto":
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone: use auto or an IANA name such as Asia/Tokyo"
            ) from None
        return value

    # --- end of language and time zone ---------------------------------------------------

    # --- Alerts and the guard (core/alerts, docs/alerts.md) ----------------------------
    # Rate levels as fractions (0.02 = 2 %), for the account and each configuration set, on
    # the official figure when SES publishes one and our rolling 7-day figure otherwise.
    # 0 turns a level off.
    alert_bounce_warning: float = Field(default=0.02, ge=0, le=1)
    alert_bounce_review: float = Field(default=0.05, ge=0, le=1)
    alert_bounce_pause: float = Field(default=0.10, ge=0, le=1)
    alert_complaint_warning: float = Field(default=0.0005, ge=0, le=1)
    alert_complaint_review: float = Field(default=0.001, ge=0, le=1)
    alert_complaint_pause: float = Field(default=0.005, ge=0, le=1)
    # Our own figure is judged only over at least this many Send events in 7 days: a stream
    # that publishes few (or sampled) Send events has no meaningful rate of its own.
    alert_min_sends: int = Field(default=100, ge=1)
    # Alert when, at the last 3 days' pace, the rolling bounce rate reaches review within
    # this many days (0: off).
    alert_projection_days: int = Field(default=3, ge=0, le=60)
    # Spikes: today's counting bounces above factor x the 28-day daily median and above the
    # floor, for the account and per recipient domain (factor 0: off).
    alert_spike_factor: float = Field(default=3.0, ge=0)
    alert_spike_floor: int = Field(default=20, ge=1)
    alert_spike_domain_floor: int = Field(default=10, ge=1)
    # SES itself: enforcement status changes and sending disabled (account or a set).
    alert_ses_status: bool = True
    # The pipeline: open dead letters at or above this many (0: off); the DLQ not empty
    # (alert_dlq_url unset: off); no notifications for this many hours while CloudWatch
    # shows sends (0: off); a job stale or failing (the job statuses handed in).
    alert_dead_letters: int = Field(default=1, ge=0)
    alert_dlq_url: str | None = None
    alert_silence_hours: int = Field(default=6, ge=0, le=24 * 14)
    alert_jobs: bool = True
    # The list: more than this many addresses newly suppressed in a day (0: off).
    alert_suppressed_per_day: int = Field(default=50, ge=0)
    # While an alert stays open (not acknowledged, not snoozed) it is sent again this often.
    alert_renotify_hours: float = Field(default=24, gt=0)
    # Where alerts go: apprise URLs (slack://, msteams://, mailto://, sns://, json://, ...).
    # They hold tokens: keep them in a secret or the environment; they are never logged.
    alert_channels: list[SecretStr] = Field(default_factory=list)
    alert_delivery_attempts: int = Field(default=3, ge=1, le=10)
    alert_delivery_timeout_seconds: float = Field(default=10, gt=0, le=120)
    # The dashboard's address, so messages link to the page that explains them.
    alert_dashboard_url: str | None = None
    # The guard: pause sending for these configuration sets only (never the account) when
    # their rate reaches guard_pause_at; dry-run ("would pause") until guard_dry_run = false.
    guard_configuration_sets: list[str] = Field(default_factory=list)
    guard_pause_at: float = Field(default=0.04, gt=0, le=1)
    guard_dry_run: bool = True
    # After an admin resumes a set, the guard leaves it alone this long.
    guard_resume_grace_hours: float = Field(default=24, ge=0)
    # How often the alerts-check job is due, in minutes (0 turns it off).
    job_alerts_check_minutes: int = Field(default=5, ge=0)
    # --- Retention (core/retention): how long raw facts are kept -------------------------
    # Days each kind's raw facts are kept (None: forever), counted from when they occurred.
    # Their daily counts and the per-address summaries are kept forever whatever these say.
    # Bounces and complaints are the evidence behind exclusions and removals: kept by
    # default, and never for less than soft_bounce_window_days (the soft-bounce rule reads
    # them). Other kinds (reject, rendering failure, subscription) are always kept.
    retention_bounce_days: int | None = Field(default=None, ge=1)
    retention_complaint_days: int | None = Field(default=None, ge=1)
    retention_send_days: int | None = Field(default=DEFAULT_RETENTION_DAYS, ge=1)
    retention_delivery_days: int | None = Field(default=DEFAULT_RETENTION_DAYS, ge=1)
    retention_delivery_delay_days: int | None = Field(default=DEFAULT_RETENTION_DAYS, ge=1)
    retention_open_days: int | None = Field(default=DEFAULT_RETENTION_DAYS, ge=1)
    retention_click_days: int | None = Field(default=DEFAULT_RETENTION_DAYS, ge=1)
    # Off: send and delivery notifications are counted at ingest (daily counts, summaries)
    # and no raw fact of theirs is stored; only their idempotency keys, for as long as
    # retention_send_days / retention_delivery_days say, so a redelivery is not counted twice.
    retention_store_raw_sends: bool = True
    # Rows deleted per transaction: each batch holds its locks only for its own delete.
    retention_batch_size: int = Field(default=5_000, ge=1, le=100_000)
    # How often the retention job runs, in minutes (0: never; `bouncedesk retention run`).
    job_retention_minutes: int = Field(default=1440, ge=0)

    @field_validator("retention_bounce_days")
    @classmethod
    def _bounces_outlive_the_soft_bounce_window(
        cls, value: int | None, info: ValidationInfo
    ) -> int | None:
        window = info.data.get("soft_bounce_window_days")
        if value is not None and window is not None and value < window:
            raise ValueError(
                f"bounces must be kept at least soft_bounce_window_days ({window}): the"
                " soft-bounce rule counts the bounces of that window"
            )
        return value

    def retention_days(self) -> dict[str, int | None]:
        """Days to keep the raw facts of each kind retention applies to (None: forever)."""
        return {
            "bounce": self.retention_bounce_days,
            "complaint": self.retention_complaint_days,
            "send": self.retention_send_days,
            "delivery": self.retention_delivery_days,
            "delivery_delay": self.retention_delivery_delay_days,
            "open": self.retention_open_days,
            "click": self.retention_click_days,
        }

    def counted_only_kinds(self) -> frozenset[str]:
        """Kinds stored as counts and keys only, never as raw facts."""
        return frozenset() if self.retention_store_raw_sends else COUNTED_ONLY_KINDS

    # Deployment (deploy/, docs/deploy.md): the database URL from an AWS Secrets Manager
    # secret (core/database_secret.py), read once per process. database_url then names at
    # most the server, for a secret that holds only the credentials (RDS-managed).
    database_secret_arn: str | None = None

    @field_validator("database_secret_arn")
    @classmethod
    def _secret_named(cls, value: str | None) -> str | None:
        if value is not None:
            check_secret_arn(value)
        return value

    @model_validator(mode="after")
    def _database_url_from_secret(self) -> Settings:
        if self.database_secret_arn is None:
            return self
        try:
            url = database_url_from_secret(self.database_secret_arn, self.database_url)
            self.database_url = _known_database(url)
        except ValueError as exc:
            raise ValueError(
                f"database_secret_arn (BOUNCEDESK_DATABASE_SECRET_ARN): {exc}"
            ) from None
        return self

    # --- Jobs (core/jobs): how often each job is due, in minutes; 0 turns a job off ---------
    # `jobs run-due`, the Lambda jobs function and the dashboard read these. sqs-poll is off
    # by default: a deployment with the ingest Lambda must not also poll its queue.
    job_suppression_sync_minutes: int = Field(default=60, ge=0)
    # suppression-sync is incremental, except when the last full sync is older than this
    # (an incremental sync cannot see removals).
    job_full_sync_hours: int = Field(default=24, ge=1)
    job_metrics_pull_minutes: int = Field(default=60, ge=0)
    job_account_snapshot_minutes: int = Field(default=60, ge=0)
    job_import_job_poll_minutes: int = Field(default=10, ge=0)
    job_sqs_poll_minutes: int = Field(default=0, ge=0)
    # Messages one sqs-poll run takes at most, so a run stays bounded however full the queue.
    job_sqs_poll_max_messages: int = Field(default=500, ge=1, le=100_000)
    # Whom the audit log names for scheduled runs (`jobs run-due`, the Lambda jobs function).
    jobs_actor: str = Field(default="bouncedesk-jobs", min_length=1)
    # --- HTTP API (api/, docs/api.md) ---
    # Where `bouncedesk api` listens (loopback unless someone decides otherwise).
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65_535)
    # Requests one token may make per window; more are answered 429 with Retry-After.
    api_rate_limit: int = Field(default=600, ge=1)
    api_rate_window_seconds: int = Field(default=60, ge=1, le=86_400)
    # POST /v1/addresses/{email}/verified also takes a suppressed address off the SES list,
    # through the Remover and its guardrails (a complaint or a re-bounce still needs an admin).
    auto_remove_on_reverify: bool = False
    # --- end HTTP API ---

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        return _known_database(value)

    @field_validator("sns_topic_arns")
    @classmethod
    def _topics_named(cls, value: list[str], info: ValidationInfo) -> list[str]:
        for arn in value:
            if not _TOPIC_ARN.fullmatch(arn):
                raise ValueError(
                    f"{arn!r} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
                )
        required = [
            name
            for name in ("verify_sns_sqs", "verify_sns_lambda")
            if info.data.get(name) == "required"
        ]
        if required and not value:
            raise ValueError(
                f"{' and '.join(required)} = required needs the SNS topic(s) SES publishes to: "
                "a valid signature only proves that some topic, anyone's, sent the message"
            )
        return value

    @field_validator("roles")
    @classmethod
    def _valid_role_patterns(cls, value: dict[Role, list[str]]) -> dict[Role, list[str]]:
        check_role_patterns(value)
        return value

    @field_validator("actor")
    @classmethod
    def _named_actor(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the acting name may not be blank")
        return value.strip()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    """Read and validate all settings; raise SettingsError with a readable message."""
    path = _config_file()
    if path is not None and not path.exists():
        raise SettingsError(f"{CONFIG_FILE_VARIABLE} names {path}, which does not exist")
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        env = f"BOUNCEDESK_{str(error['loc'][0]).upper()}" if error["loc"] else "BOUNCEDESK_*"
        lines.append(f"setting {name} ({env}): {error['msg']}")
    return "invalid configuration:\n  " + "\n  ".join(lines)
