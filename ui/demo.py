"""The demo: Bounce Desk on a laptop with no AWS account.

When no AWS configuration is present, `ensure_demo` starts the local SES emulator, points boto3
at it (by exporting the emulator's ``AWS_*`` variables), and fills an empty demo database the
way production fills its own: the SQS backlog goes through `core.ingest.sqs.poll_once`, the
users CSV through `core.recipients.directory`, the suppression list through
`core.suppression.mirror`, and the account and metrics through `core.ses.metrics`. A restart
reuses the database and re-syncs the mirror with the freshly seeded emulator. Nothing here
imports streamlit; the dashboard caches the result.

``BOUNCEDESK_DEMO`` decides: ``true`` always runs the demo, ``false`` never does, and unset
means "demo when no AWS credentials, region, profile or endpoint are configured".
"""

from __future__ import annotations

import atexit
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from core.access import Actor, Role
from core.database_url import describe_database_url
from core.errors import BounceDeskError
from core.settings import Settings, load_settings
from core.store.db import make_engine
from core.store.models import Fact

LOG = logging.getLogger(__name__)

DEMO_VARIABLE = "BOUNCEDESK_DEMO"
# Anything here means someone configured AWS on purpose: never start the demo over it.
AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_LAMBDA_FUNCTION_NAME",
)
# The backlog is drained in rounds of this many messages; a round that finds none ends it.
POLL_ROUND = 100
MAX_POLL_ROUNDS = 200
DEMO_METRIC_DAYS = 60  # the emulator seeds 60 days of CloudWatch history
EMULATOR_FILE = "emulator.json"  # in the data dir: where the running demo's emulator listens
# Who the audit log says seeded the demo (through the same checked functions people use).
DEMO_ACTOR = Actor("demo seeding", Role.OPERATOR)
DEMO_BUCKET = "bouncedesk-demo-imports"  # in the emulator's S3, for suppression import jobs

Step = Callable[[str], None]


@dataclass(frozen=True)
class DemoEnvironment:
    """What the dashboard runs against, and what its sidebar says about it."""

    settings: Settings  # the settings to use from now on (demo database, demo=True in demo)
    active: bool
    endpoint_url: str | None = None
    queue_url: str | None = None
    region: str | None = None
    seeded_now: bool = False  # this start filled an empty database
    notes: tuple[str, ...] = ()
    handle: Any = field(default=None, repr=False, compare=False)

    @property
    def database_label(self) -> str:
        """The database's backend, host and name, for display (never credentials)."""
        return describe_database_url(self.settings.database_url)


def demo_requested(environ: Mapping[str, str] | None = None, home: Path | None = None) -> bool:
    """Whether to run the demo: forced by BOUNCEDESK_DEMO, else only with no AWS config."""
    env = os.environ if environ is None else environ
    flag = env.get(DEMO_VARIABLE, "").strip().lower()
    if flag in {"1", "true", "yes", "on"}:
        return True
    if flag in {"0", "false", "no", "off"}:
        return False
    return not aws_configured(env, home)


def aws_configured(environ: Mapping[str, str], home: Path | None = None) -> bool:
    """True when the environment, BOUNCEDESK_AWS_REGION or an AWS profile file names AWS."""
    if any(environ.get(name) for name in AWS_VARIABLES):
        return True
    if environ.get("BOUNCEDESK_AWS_REGION"):
        return True
    if any(name.startswith("AWS_ENDPOINT_URL_") and environ[name] for name in environ):
        return True
    base = (home or Path.home()) / ".aws"
    files = [
        Path(environ.get("AWS_SHARED_CREDENTIALS_FILE") or base / "credentials"),
        Path(environ.get("AWS_CONFIG_FILE") or base / "config"),
    ]
    return any(path.is_file() and path.stat().st_size > 0 for path in files)


def ensure_demo(
    settings: Settings,
    data_dir: Path | None = None,
    *,
    progress: Step | None = None,
) -> DemoEnvironment:
    """Start the demo if it applies, and return the environment the dashboard should use.

    Outside demo mode this only returns `settings` unchanged. In demo mode the emulator runs
    until the process exits, and its AWS variables go into ``os.environ``, where boto3 (and
    anything the dashboard starts) finds them.
    """
    env = os.environ
    if not demo_requested(env) and not settings.demo:
        return DemoEnvironment(settings=settings, active=False)
    step = progress or (lambda message: LOG.info("demo: %s", message))
    data_dir = Path(data_dir or settings.demo_data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    unchecked = "verify_sns_sqs" not in settings.model_fields_set
    settings = _demo_settings(settings, data_dir)

    step("starting the local SES emulator")
    handle = _start_emulator(data_dir / "emulator")
    atexit.register(_stop_quietly, handle)
    env.update(handle.environment())
    _describe_emulator(data_dir / EMULATOR_FILE, handle)

    engine = make_engine(settings.database_url)
    try:
        notes, seeded = _fill(settings, engine, handle, step)
    finally:
        engine.dispose()
    if unchecked:
        notes.append("SNS signatures are not checked in the demo: the emulator cannot sign as AWS.")
    return DemoEnvironment(
        settings=settings,
        active=True,
        endpoint_url=handle.endpoint_url,
        queue_url=handle.queue_url,
        region=handle.region,
        seeded_now=seeded,
        notes=tuple(notes),
        handle=handle,
    )


def _start_emulator(data_dir: Path) -> Any:
    from emulator.launch import EmulatorStartError, start_emulator  # a development tool: lazy

    try:
        return start_emulator(seed="demo", data_dir=data_dir)
    except (EmulatorStartError, OSError) as exc:
        raise BounceDeskError(f"the demo could not start the local SES emulator: {exc}") from exc


def _describe_emulator(path: Path, handle: Any) -> None:
    """Say where this demo's emulator listens, for the CLI, scripts and browser tests."""
    where = {
        "endpoint_url": handle.endpoint_url,
        "queue_url": handle.queue_url,
        "topic_arn": handle.topic_arn,
        "region": handle.region,
        "pid": os.getpid(),
    }
    path.write_text(json.dumps(where, indent=2), encoding="utf-8")


def _demo_settings(settings: Settings, data_dir: Path) -> Settings:
    """Demo data lives in its own database unless BOUNCEDESK_DATABASE_URL names one."""
    overrides: dict[str, Any] = {"demo": True}
    if "database_url" not in settings.model_fields_set:
        overrides["database_url"] = f"sqlite:///{(data_dir / 'bouncedesk.db').as_posix()}"
    if "suppression_import_bucket" not in settings.model_fields_set:
        overrides["suppression_import_bucket"] = DEMO_BUCKET
    if "verify_sns_sqs" not in settings.model_fields_set:
        # The emulator's SNS signs with no AWS key and names AWS certificate URLs it cannot
        # serve: checking would dead-letter every demo message (after a network timeout each).
        overrides["verify_sns_sqs"] = "off"
    values = settings.model_dump(exclude_unset=True) | overrides
    return load_settings(**values)


def _fill(settings: Settings, engine: Engine, handle: Any, step: Step) -> tuple[list[str], bool]:
    """Seed an empty database through the real code paths; refresh what the emulator resets."""
    notes: list[str] = []
    if settings.suppression_import_bucket == DEMO_BUCKET:
        notes.append(_attempt("import bucket", lambda: make_bucket(handle, DEMO_BUCKET)))
    empty = is_empty(engine)
    if empty:
        step("reading the SES notification backlog from SQS")
        notes.append(drain_queue(settings, engine, handle.queue_url))
        step("importing the demo user directory")
        notes.append(import_directory(engine, Path(handle.users_csv)))
    step("syncing the suppression list")
    notes.append(_attempt("suppression sync", lambda: sync_mirror(settings, engine)))
    step("pulling account status and metrics")
    notes.append(_attempt("metrics", lambda: pull_metrics(settings, engine)))
    return [n for n in notes if n], empty


def is_empty(engine: Engine) -> bool:
    """No facts yet: this demo database has never been filled."""
    with engine.connect() as connection:
        return not connection.scalar(select(func.count()).select_from(Fact.__table__))


def drain_queue(settings: Settings, engine: Engine, queue_url: str) -> str:
    """Poll the queue until it is empty, through the production SQS entry point."""
    from core.ingest.pipeline import Ingester
    from core.ingest.sqs import poll_once
    from core.ses.clients import make_client

    sqs = make_client("sqs", settings)
    ingester = Ingester.from_settings(settings, engine, entry_point="sqs")
    messages = stored = dead = 0
    for _ in range(MAX_POLL_ROUNDS):
        report = poll_once(sqs, queue_url, ingester, max_messages=POLL_ROUND, wait_seconds=0)
        messages += report.messages
        stored += report.summary.stored
        dead += report.summary.dead_lettered
        if report.messages == 0:
            break
    return f"read {messages} queued notifications: {stored} facts stored, {dead} dead-lettered"


def import_directory(engine: Engine, users_csv: Path) -> str:
    from core.recipients.directory import import_users_csv

    report = import_users_csv(engine, DEMO_ACTOR, users_csv.read_bytes(), source=users_csv.name)
    imported = getattr(report, "imported", None)
    rejected = len(getattr(report, "rejected", []) or [])
    return f"imported the user directory ({imported} users, {rejected} rows rejected)"


def sync_mirror(settings: Settings, engine: Engine) -> str:
    from core.ses.gateway import SesGateway
    from core.suppression.mirror import sync_suppression_list

    gateway = SesGateway.from_settings(settings)
    report = sync_suppression_list(engine, gateway, actor=DEMO_ACTOR)
    return f"suppression list synced: {report.seen} addresses listed"


def pull_metrics(settings: Settings, engine: Engine) -> str:
    from core.ses.gateway import SesGateway
    from core.ses.metrics import pull_metrics as pull
    from core.ses.metrics import record_account_snapshot

    gateway = SesGateway.from_settings(settings)
    health = record_account_snapshot(engine, gateway)
    reports = pull(engine, gateway, days=DEMO_METRIC_DAYS)
    points = sum(report.points for report in reports)
    return f"account {health.enforcement_status}; {points} metric points pulled"


def make_bucket(handle: Any, bucket: str) -> str:
    """The emulator's S3 bucket that SES import jobs read (fresh on every emulator start)."""
    handle.client("s3").create_bucket(Bucket=bucket)
    return ""


def _attempt(what: str, action: Callable[[], str]) -> str:
    """A demo step that fails is reported, not fatal: the rest of the demo still works."""
    try:
        return action()
    except Exception as exc:  # noqa: BLE001 - the demo goes on without this step
        LOG.warning("demo %s failed: %s", what, exc)
        return f"{what} failed: {exc}"


def _stop_quietly(handle: Any) -> None:
    try:
        handle.stop()
    except Exception:  # noqa: BLE001 - at exit, a stop that fails changes nothing
        LOG.debug("emulator stop failed", exc_info=True)
