"""The checks that need no AWS: settings, the database and its schema, SNS certificates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import requests
from cryptography import x509
from sqlalchemy.exc import DBAPIError

from core.database_url import describe_database_url
from core.doctor.findings import Finding, ok, problem, warning
from core.errors import BounceDeskError
from core.settings import Settings
from core.store.db import current_revision, known_revisions, make_engine, migration_heads

HttpsProbe = Callable[[str], None]


def check_settings(settings: Settings) -> list[Finding]:
    """Settings are valid by the time doctor runs (loading validates them); what remains is
    what a valid configuration can still leave undone."""
    found = [ok("settings", "valid")]
    if not settings.sns_topic_arns:
        found.append(
            warning(
                "settings: topics",
                "sns_topic_arns is empty, so notifications from any SNS topic are accepted",
                "list the topic(s) SES publishes to in sns_topic_arns (BOUNCEDESK_SNS_TOPIC_ARNS)",
            )
        )
    if not settings.sqs_queue_url:
        found.append(
            warning(
                "settings: queue",
                "sqs_queue_url is not set: the queue, its DLQ and its subscription are not "
                "checked (fine when a Lambda ingests)",
                "set sqs_queue_url (BOUNCEDESK_SQS_QUEUE_URL) to the queue SES's topic feeds",
            )
        )
    return found


def check_database(settings: Settings) -> list[Finding]:
    """Reachable, and at this installation's migration head; nothing is changed (an empty
    SQLite file is not upgraded here)."""
    label = describe_database_url(settings.database_url)
    try:
        engine = make_engine(settings.database_url, auto_upgrade=False)
    except BounceDeskError as exc:
        return [problem("database", f"{label} cannot be reached: {exc}", _REACH)]
    try:
        revision = current_revision(engine)
    except DBAPIError as exc:
        return [problem("database", f"{label} cannot be reached: {_first_line(exc)}", _REACH)]
    finally:
        engine.dispose()
    heads = migration_heads()
    upgrade = "run `bouncedesk db upgrade` (after a backup)"
    if revision is None:
        return [problem("database", f"{label} has no Bounce Desk schema", upgrade)]
    if revision in heads:
        return [ok("database", f"{label} reachable, schema at {revision} (the latest)")]
    if revision not in known_revisions():
        return [
            problem(
                "database",
                f"{label} is at revision {revision}, which this installation does not know: "
                "a newer Bounce Desk migrated it",
                "run the Bounce Desk version that migrated it, or upgrade this installation",
            )
        ]
    return [
        problem(
            "database", f"{label} is at revision {revision}, behind {', '.join(heads)}", upgrade
        )
    ]


_REACH = "check database_url (BOUNCEDESK_DATABASE_URL), the server and the network path"


def check_certificates(settings: Settings, region: str | None, fetch: HttpsProbe) -> list[Finding]:
    """Signed SNS messages need the signing certificate: pinned on disk, or fetched from
    sns.<region>.amazonaws.com over HTTPS."""
    modes = {settings.verify_sns_file, settings.verify_sns_sqs, settings.verify_sns_lambda}
    if modes == {"off"}:
        return [
            warning(
                "sns certificates",
                "every verify_sns_* setting is off: SNS signatures are never checked",
                "set verify_sns_sqs / verify_sns_lambda to when_present or required",
            )
        ]
    if settings.sns_cert_dir is not None:
        return [_pinned(settings.sns_cert_dir)]
    if not region:
        return [warning("sns certificates", "not checked: no AWS region", "configure the region")]
    url = f"https://sns.{region}.amazonaws.com/"
    try:
        fetch(url)
    except OSError as exc:
        return [
            problem(
                "sns certificates",
                f"cannot reach {url} over HTTPS ({_first_line(exc)}): signed messages will be "
                "dead-lettered as cert_unavailable",
                "allow outbound HTTPS to that host, or pin the certificates with sns_cert_dir",
            )
        ]
    return [ok("sns certificates", f"{url} answers over HTTPS (certificates can be fetched)")]


def _pinned(directory: Path) -> Finding:
    name = "sns certificates"
    if not directory.is_dir():
        return problem(
            name,
            f"sns_cert_dir {directory} is not a directory: every signed message is dead-lettered",
            "create it with the SigningCertURL .pem files, or unset sns_cert_dir",
        )
    now = datetime.now(UTC)
    usable: list[str] = []
    expired: list[str] = []
    unreadable: list[str] = []
    for path in sorted(directory.glob("*.pem")):
        try:
            certificate = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError):
            unreadable.append(path.name)
            continue
        (usable if certificate.not_valid_after_utc > now else expired).append(path.name)
    if not usable:
        return problem(
            name,
            f"sns_cert_dir {directory} holds no valid certificate "
            f"({len(expired)} expired, {len(unreadable)} unreadable)",
            "copy the current SNS signing certificate(s) there, named like SigningCertURL",
        )
    if expired or unreadable:
        return warning(
            name,
            f"sns_cert_dir {directory}: {len(usable)} valid, {len(expired)} expired, "
            f"{len(unreadable)} unreadable",
            "replace the expired or unreadable files",
        )
    return ok(name, f"sns_cert_dir {directory} holds {len(usable)} valid certificate(s)")


def fetch_https(url: str) -> None:
    """Any HTTP answer over a verified TLS connection counts: the host serves certificates."""
    try:
        requests.get(url, timeout=10, allow_redirects=False).close()
    except requests.RequestException as exc:
        raise OSError(str(exc)) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
