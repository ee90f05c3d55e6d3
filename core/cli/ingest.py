"""CLI commands for ingestion: ``ingest FILE...`` and ``poll-sqs QUEUE_URL``.

Both act as `settings.actor` with `settings.cli_role` (operator or above) and leave an audit
entry (core.ingest.intake).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from core.access import cli_actor
from core.cli.common import Commands, add_command, printable
from core.ingest.intake import ingest_stream, poll_queue, start_polling
from core.ingest.pipeline import (
    LIMIT_COUNTS,
    Ingester,
    IngestSummary,
    limit_notes,
)
from core.ingest.sources import open_input
from core.settings import Settings, VerifyMode
from core.store.db import make_engine

VERIFY_CHOICES = ["off", "when_present", "required"]


def register(commands: Commands) -> None:
    ingest = add_command(
        commands, "ingest", ingest_files, "store notifications from files ('-' = stdin)"
    )
    ingest.add_argument("files", nargs="+", metavar="FILE")
    ingest.add_argument("--verify", choices=VERIFY_CHOICES, help="SNS signature checks")

    poll = add_command(
        commands, "poll-sqs", poll_sqs, "long-poll an SQS queue and store what arrives"
    )
    poll.add_argument("queue_url", metavar="QUEUE_URL")
    poll.add_argument("--once", action="store_true", help="one round, then exit")
    poll.add_argument("--max-messages", type=int, default=10, metavar="N")
    poll.add_argument("--wait-seconds", type=int, default=20, metavar="S")


def make_ingester(
    settings: Settings, entry_point: str, verify: VerifyMode | None = None
) -> Ingester:
    """The configured Ingester of `entry_point`; `verify` (a --verify option) overrides its mode."""
    engine = make_engine(settings.database_url)
    return Ingester.from_settings(
        settings,
        engine,
        entry_point=entry_point,
        verify_mode=verify,
    )


def ingest_files(args: argparse.Namespace, settings: Settings) -> int:
    ingester = make_ingester(settings, "file", args.verify)
    actor = cli_actor(settings)
    total, unreadable = IngestSummary(), 0
    for name in args.files:
        label = "stdin" if name == "-" else name
        try:
            stream = open_input(name)
        except OSError as exc:
            print(f"error: cannot read {printable(label)}: {exc.strerror or exc}", file=sys.stderr)
            unreadable += 1
            continue
        with stream:
            summary = ingest_stream(ingester, actor, stream, label)
        print(f"{printable(label)}: {format_summary(summary)}", file=sys.stderr)
        for note in limit_notes(summary, ingester.limits):
            print(f"{printable(label)}: cut: {printable(note)}", file=sys.stderr)
        total.add(summary)
    print(format_summary(total))
    return 1 if unreadable else 0


def poll_sqs(args: argparse.Namespace, settings: Settings) -> int:
    from core.ingest.sqs import poll_forever
    from core.ses.clients import make_client

    sqs = make_client("sqs", settings)
    ingester = make_ingester(settings, "sqs")
    actor = cli_actor(settings)
    options = {"max_messages": args.max_messages, "wait_seconds": args.wait_seconds}
    if args.once:
        report = poll_queue(sqs, args.queue_url, ingester, actor, **options)
        print(f"{report.messages} message(s): {format_summary(report.summary)}")
        for error in report.errors:
            print(f"error: {printable(error)}", file=sys.stderr)
        return 1 if report.left_on_queue else 0

    def show(report: Any) -> None:
        if report.messages:
            print(f"{report.messages} message(s): {format_summary(report.summary)}", flush=True)

    start_polling(ingester.engine, actor, args.queue_url)

    def problem(message: str) -> None:
        print(f"error: {message}", file=sys.stderr, flush=True)

    poll_forever(sqs, args.queue_url, ingester, on_report=show, on_problem=problem, **options)
    return 0


def format_summary(summary: IngestSummary) -> str:
    counts = summary.as_dict().items()
    parts = [f"{name} {n}" for name, n in counts if n or name not in LIMIT_COUNTS]
    return ", ".join(parts)
