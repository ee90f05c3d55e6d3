"""The demo: Bounce Desk on a laptop with no AWS account.

When no AWS configuration is present, `ensure_demo` starts the local SES emulator and returns
a `DemoEnvironment` that names it (endpoint, region, the emulator's fake credentials) and
builds the boto3 session, clients and `SesGateway` from those values, explicitly: nothing is
written to ``os.environ``, so no other code in the process, and no process it starts, is
pointed at the emulator by accident. An empty demo database is filled the way production
fills its own: the SQS backlog goes through `core.ingest.sqs.poll_once`, the users CSV
through `core.recipients.directory`, the suppression list through `core.suppression.mirror`,
and the account and metrics through `core.ses.metrics`. A restart reuses the database and
re-syncs the mirror with the freshly seeded emulator. Nothing here imports streamlit; the
dashboard caches the result (`ui.resources`).

``BOUNCEDESK_DEMO`` decides: ``true`` always runs the demo, ``false`` never does, and unset
means "demo when no AWS credentials, region, profile or endpoint are configured".
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.client import BaseClient
from sqlalchemy import Engine, func, select

from core.access import Actor, Role
from core.alerts.checker import AlertChecker
from core.database_url import describe_database_url
from core.errors import BounceDeskError
from core.ingest.pipeline import Ingester
from core.ingest.sqs import poll_once
from core.recipients.directory import import_users_csv
from core.ses.clients import AwsClients, make_client, make_clients, make_session
from core.ses.gateway import SesGateway
from core.ses.metrics import pull_metrics as pull_metric_history
from core.ses.metrics import record_account_snapshot
from core.settings import Settings, load_settings
from core.store.db import make_engine
from core.store.models import Fact
from core.suppression.mirror import sync_suppression_list
from emulator.clients import FAKE_ACCESS_KEY, FAKE_SECRET_KEY
from emulator.launch import EmulatorHandle, EmulatorStartError, start_emulator

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
    """What the dashboard runs against, what its sidebar says about it, and how to reach AWS.

    Outside the demo (`active` false) the AWS values are None and the session is the
    standard AWS chain (environment, profiles, roles). In the demo they name the emulator,
    and every session, client and gateway built here carries them explicitly.
    """

    settings: Settings  # the settings to use from now on (demo database, demo=True in demo)
    active: bool
    endpoint_url: str | None = None
    queue_url: str | None = None
    region: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    seeded_now: bool = False  # this start filled an empty database
    notes: tuple[str, ...] = ()
    handle: EmulatorHandle | None = field(default=None, repr=False, compare=False)

    @property
    def database_label(self) -> str:
        """The database's backend, host and name, for display (never credentials)."""
        return describe_database_url(self.settings.database_url)

    def session(self) -> boto3.Session:
        """The emulator's credentials and region when they are set, else the AWS chain."""
        if self.access_key_id is None:
            return make_session()
        return boto3.Session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )

    def client(self, service: str) -> BaseClient:
        """One boto3 client (checked for region and credentials by `core.ses.clients`)."""
        return make_client(
            service, self.settings, session=self.session(), endpoint_url=self.endpoint_url
        )

    def clients(self) -> AwsClients:
        return make_clients(self.settings, session=self.session(), endpoint_url=self.endpoint_url)

    def gateway(self) -> SesGateway:
        """The SES gateway, paced by `ses_request_rate` like `SesGateway.from_settings`."""
        return SesGateway.from_clients(self.clients(), request_rate=self.settings.ses_request_rate)


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
    environ: Mapping[str, str] | None = None,
) -> DemoEnvironment:
    """Start the demo if it applies, and return the environment the dashboard should use.

    Outside demo mode this only returns `settings` unchanged. In demo mode the emulator runs
    until the process exits; the returned environment is the only thing that knows where.
    `environ` (default ``os.environ``) is read, never changed.
    """
    if not demo_requested(environ) and not settings.demo:
        return DemoEnvironment(settings=settings, active=False)
    step = progress or (lambda message: LOG.info("demo: %s", message))
    data_dir = Path(data_dir or settings.demo_data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    unchecked = "verify_sns_sqs" not in settings.model_fields_set
    settings = _demo_settings(settings, data_dir)

    step("starting the local SES emulator")
    handle = _start_emulator(data_dir / "emulator")
    atexit.register(_stop_quietly, handle)
    _describe_emulator(data_dir / EMULATOR_FILE, handle)
    environment = DemoEnvironment(
        settings=settings,
        active=True,
        endpoint_url=handle.endpoint_url,
        queue_url=handle.queue_url,
        region=handle.region,
        access_key_id=FAKE_ACCESS_KEY,
        secret_access_key=FAKE_SECRET_KEY,
        handle=handle,
    )

    engine = make_engine(settings.database_url)
    try:
        notes, seeded = _fill(environment, engine, step)
    finally:
        engine.dispose()
    if unchecked:
        notes.append("SNS signatures are not checked in the demo: the emulator cannot sign as AWS.")
    return dataclasses.replace(environment, seeded_now=seeded, notes=tuple(notes))


def _start_emulator(data_dir: Path) -> EmulatorHandle:
    try:
        return start_emulator(seed="demo", data_dir=data_dir)
    except (EmulatorStartError, OSError) as exc:
        raise BounceDeskError(f"the demo could not start the local SES emulator: {exc}") from exc


def _describe_emulator(path: Path, handle: EmulatorHandle) -> None:
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


def _fill(environment: DemoEnvironment, engine: Engine, step: Step) -> tuple[list[str], bool]:
    """Seed an empty database through the real code paths; refresh what the emulator resets."""
    settings, handle = environment.settings, environment.handle
    assert handle is not None and handle.users_csv is not None  # a demo-seeded emulator
    notes: list[str] = []
    if settings.suppression_import_bucket == DEMO_BUCKET:
        notes.append(_attempt("import bucket", lambda: make_bucket(handle, DEMO_BUCKET)))
    empty = is_empty(engine)
    if empty:
        step("reading the SES notification backlog from SQS")
        notes.append(drain_queue(environment, engine))
        step("importing the demo user directory")
        notes.append(import_directory(engine, Path(handle.users_csv)))
    try:
        gateway = environment.gateway()
    except BounceDeskError as exc:
        notes.append(f"SES clients failed: {exc}")
        return notes, empty
    step("syncing the suppression list")
    notes.append(_attempt("suppression sync", lambda: sync_mirror(gateway, engine)))
    step("pulling account status and metrics")
    notes.append(_attempt("metrics", lambda: pull_metrics(gateway, engine)))
    step("checking alerts")
    notes.append(_attempt("alerts", lambda: check_alerts(settings, gateway, engine)))
    return [n for n in notes if n], empty


def is_empty(engine: Engine) -> bool:
    """No facts yet: this demo database has never been filled."""
    with engine.connect() as connection:
        return not connection.scalar(select(func.count()).select_from(Fact.__table__))


def drain_queue(environment: DemoEnvironment, engine: Engine) -> str:
    """Poll the demo queue until it is empty, through the production SQS entry point."""
    assert environment.queue_url is not None  # only a running demo has a queue
    sqs = environment.client("sqs")
    ingester = Ingester.from_settings(environment.settings, engine, entry_point="sqs")
    messages = stored = dead = 0
    for _ in range(MAX_POLL_ROUNDS):
        report = poll_once(
            sqs, environment.queue_url, ingester, max_messages=POLL_ROUND, wait_seconds=0
        )
        messages += report.messages
        stored += report.summary.stored
        dead += report.summary.dead_lettered
        if report.messages == 0:
            break
    return f"read {messages} queued notifications: {stored} facts stored, {dead} dead-lettered"


def import_directory(engine: Engine, users_csv: Path) -> str:
    report = import_users_csv(engine, DEMO_ACTOR, users_csv.read_bytes(), source=users_csv.name)
    return (
        f"imported the user directory ({report.imported} users, "
        f"{len(report.rejected)} rows rejected)"
    )


def sync_mirror(gateway: SesGateway, engine: Engine) -> str:
    report = sync_suppression_list(engine, gateway, actor=DEMO_ACTOR)
    return f"suppression list synced: {report.seen} addresses listed"


def pull_metrics(gateway: SesGateway, engine: Engine) -> str:
    health = record_account_snapshot(engine, gateway)
    reports = pull_metric_history(engine, gateway, days=DEMO_METRIC_DAYS)
    points = sum(report.points for report in reports)
    return f"account {health.enforcement_status}; {points} metric points pulled"


def check_alerts(settings: Settings, gateway: SesGateway, engine: Engine) -> str:
    """One alerts check, so the demo's bulk stream shows its warning (no channels here)."""
    summary = AlertChecker.from_settings(settings, engine, gateway, None).check()
    return f"alerts checked: {len(summary.opened)} opened"


def make_bucket(handle: EmulatorHandle, bucket: str) -> str:
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


def _stop_quietly(handle: EmulatorHandle) -> None:
    try:
        handle.stop()
    except Exception:  # noqa: BLE001 - at exit, a stop that fails changes nothing
        LOG.debug("emulator stop failed", exc_info=True)
