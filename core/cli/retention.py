"""CLI command for retention: ``retention run [--max-batches N]``.

It acts as `settings.actor` with `settings.cli_role` (operator or above); each deleted
batch leaves its audit entry (core.retention.purge).
"""

from __future__ import annotations

import argparse

from core.cli.common import Commands, add_command, add_group
from core.clock import utcnow
from core.retention.purge import Retention
from core.settings import Settings
from core.store.db import make_engine


def register(commands: Commands) -> None:
    group = add_group(commands, "retention", "raw facts past their age (the retention_* settings)")
    run = add_command(group, "run", retention_run, "delete raw facts past their kind's age")
    run.add_argument(
        "--max-batches",
        type=int,
        metavar="N",
        help="stop after N batches (the next run goes on from there); default: until done",
    )


def retention_run(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    summary = Retention.from_settings(settings, engine).run(utcnow(), max_batches=args.max_batches)
    for kind, cutoff in summary.cutoffs.items():
        facts, keys = summary.facts.get(kind, 0), summary.keys.get(kind, 0)
        print(f"{kind}: {facts} facts and {keys} keys from before {cutoff:%Y-%m-%d %H:%M} deleted")
    state = "done" if summary.complete else "stopped at --max-batches; run again to go on"
    print(f"{summary.deleted} rows deleted in {summary.batches} batches, {state}")
    return 0
