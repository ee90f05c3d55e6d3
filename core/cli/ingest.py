"""CLI commands for the store and ingestion: db, ingest, poll-sqs, dead-letters.

`ingest`, `poll-sqs` and `dead-letters retry` act as `settings.actor` with
`settings.cli_role` (operator or above) and leave an audit entry (core.ingest.intake).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from core.access import cli_actor
from core.ingest.dead_letters import list_dead_letters, retry_dead_letters
from core.ingest.intake import ingest_stream, poll_queue, start_polling
from core.ingest.pipeline import (
    LIMIT_COUNTS,
    Ingester,
    IngestLimits,
    IngestSummary,
    limit_notes,
    verifier_from_settings,
)
from core.ingest.sources import open_input
from core.settings import Settings
from core.store.db import current_revision, make_engine, upgrade

VERIFY_CHOICES = ["off", "when_present", "required"]
# SUPPRESS keeps a sub-command's default from overwriting the top-level --database-url.
DATABASE_HELP = "override the database setting (BOUNCEDESK_DATABASE_URL)"


def register(commands: Any) -> None:
    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate to the newest schema").set_defaults(
        handler=db_upgrade
    )
    db_commands.add_parser("current", help="show the schema revision").set_defaults(
        handler=db_current
    )

    ingest = commands.add_parser("ingest", help="store notifications from files ('-' = stdin)")
    ingest.add_argument("files", nargs="+", metavar="FILE")
    ingest.add_argument("--database-url", default=argparse.SUPPRESS, help=DATABASE_HELP)
    ingest.add_argument("--verify", choices=VERIFY_CHOICES, help="SNS signature checks")
    ingest.set_defaults(handler=ingest_files)

    poll = commands.add_parser("poll-sqs", help="long-poll an SQS queue and store what arrives")
    poll.add_argument("queue_url", metavar="QUEUE_URL")
    poll.add_argument("--once", action="store_true", help="one round, then exit")
    poll.add_argument("--max-messages", type=int, default=10, metavar="N")
    poll.add_argument("--wait-seconds", type=int, default=20, metavar="S")
    poll.add_argument("--database-url", default=argparse.SUPPRESS, help=DATABASE_HELP)
    poll.set_defaults(handler=poll_sqs)

    dead = commands.add_parser("dead-letters", help="input that could not be used")
    dead_commands = dead.add_subparsers(dest="dead_command", required=True)
    listing = dead_commands.add_parser("list", help="newest first")
    listing.add_argument("--all", action="store_true", help="include resolved ones")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=dead_letters_list)
    retry = dead_commands.add_parser("retry", help="re-run open dead letters after a fix")
    retry.add_argument("ids", nargs="*", type=int, metavar="ID", help="default: all open")
    retry.add_argument("--verify", choices=VERIFY_CHOICES, help="SNS signature checks")
    retry.set_defaults(handler=dead_letters_retry)


def db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url, auto_upgrade=False)
    upgrade(engine)
    print(f"schema at revision {current_revision(engine)}")
    return 0


def db_current(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url, auto_upgrade=False)
    print(current_revision(engine) or "empty database (run: python -m core db upgrade)")
    return 0


def make_ingester(settings: Settings, entry_point: str, verify: str) -> Ingester:
    return Ingester(
        make_engine(settings.database_url),
        entry_point=entry_point,
        verify_mode=verify,  # type: ignore[arg-type]
        verifier=verifier_from_settings(settings) if verify != "off" else None,
        batch_size=settings.ingest_batch_size,
        limits=IngestLimits.from_settings(settings),
    )


def ingest_files(args: argparse.Namespace, settings: Settings) -> int:
    ingester = make_ingester(settings, "file", args.verify or settings.verify_sns_file)
    actor = cli_actor(settings)
    total, unreadable = IngestSummary(), 0
    for name in args.files:
        label = "stdin" if name == "-" else name
        try:
            stream = open_input(name)
        except OSError as exc:
            print(f"error: cannot read {label}: {exc.strerror or exc}", file=sys.stderr)
            unreadable += 1
            continue
        with stream:
            summary = ingest_stream(ingester, actor, stream, label)
        print(f"{label}: {format_summary(summary)}", file=sys.stderr)
        for note in limit_notes(summary, ingester.limits):
            print(f"{label}: cut: {note}", file=sys.stderr)
        total.add(summary)
    print(format_summary(total))
    return 1 if unreadable else 0


def poll_sqs(args: argparse.Namespace, settings: Settings) -> int:
    from core.ingest.sqs import poll_forever
    from core.ses.clients import make_client

    sqs = make_client("sqs", settings)
    ingester = make_ingester(settings, "sqs", settings.verify_sns_sqs)
    actor = cli_actor(settings)
    options = {"max_messages": args.max_messages, "wait_seconds": args.wait_seconds}
    if args.once:
        report = poll_queue(sqs, args.queue_url, ingester, actor, **options)
        print(f"{report.messages} message(s): {format_summary(report.summary)}")
        for error in report.errors:
            print(f"error: {error}", file=sys.stderr)
        return 1 if report.left_on_queue else 0

    def show(report: Any) -> None:
        if report.messages:
            print(f"{report.messages} message(s): {format_summary(report.summary)}", flush=True)

    start_polling(ingester.engine, actor, args.queue_url)

    def problem(message: str) -> None:
        print(f"error: {message}", file=sys.stderr, flush=True)

    poll_forever(sqs, args.queue_url, ingester, on_report=show, on_problem=problem, **options)
    return 0


def dead_letters_list(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    rows = list_dead_letters(engine, status=None if args.all else "open", limit=args.limit)
    if not rows:
        print("no dead letters")
    for row in rows:
        print(
            f"#{row.id}  {row.received_at:%Y-%m-%d %H:%M:%S}  {row.status:<8} {row.reason_code:<14}"
            f" {row.size:>7} B  {row.source}\n      {row.reason}"
        )
    return 0


def dead_letters_retry(args: argparse.Namespace, settings: Settings) -> int:
    ingester = make_ingester(settings, "retry", args.verify or settings.verify_sns_file)
    outcomes = retry_dead_letters(ingester.engine, ingester, cli_actor(settings), args.ids or None)
    for outcome in outcomes:
        state = f"resolved, {outcome.stored} stored" if outcome.resolved else outcome.reason
        print(f"#{outcome.id}: {state}")
    still_open = sum(1 for o in outcomes if not o.resolved)
    print(f"{len(outcomes) - still_open} resolved, {still_open} still open")
    return 1 if still_open else 0


def format_summary(summary: IngestSummary) -> str:
    counts = summary.as_dict().items()
    parts = [f"{name} {n}" for name, n in counts if n or name not in LIMIT_COUNTS]
    return ", ".join(parts)
