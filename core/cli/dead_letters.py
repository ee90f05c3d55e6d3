"""CLI commands for dead letters: ``dead-letters list`` and ``dead-letters retry [ID...]``.

`retry` acts as `settings.actor` with `settings.cli_role` (operator or above) and leaves an
audit entry (core.ingest.dead_letters).
"""

from __future__ import annotations

import argparse

from core.access import cli_actor
from core.cli.common import Commands, add_command, add_group, printable
from core.cli.ingest import VERIFY_CHOICES, make_ingester
from core.ingest.dead_letters import list_dead_letters, retry_dead_letters
from core.settings import Settings
from core.store.db import make_engine


def register(commands: Commands) -> None:
    dead = add_group(commands, "dead-letters", "input that could not be used")
    listing = add_command(dead, "list", dead_letters_list, "newest first")
    listing.add_argument("--all", action="store_true", help="include resolved ones")
    listing.add_argument("--limit", type=int, default=50)
    retry = add_command(dead, "retry", dead_letters_retry, "re-run open dead letters after a fix")
    retry.add_argument("ids", nargs="*", type=int, metavar="ID", help="default: all open")
    retry.add_argument(
        "--verify",
        choices=VERIFY_CHOICES,
        help="SNS signature checks; a letter is never checked less than where it was refused",
    )


def dead_letters_list(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    rows = list_dead_letters(engine, status=None if args.all else "open", limit=args.limit)
    if not rows:
        print("no dead letters")
    for row in rows:
        print(
            f"#{row.id}  {row.received_at:%Y-%m-%d %H:%M:%S}  {row.status:<8} {row.reason_code:<14}"
            f" {row.size:>7} B  {printable(row.source)}\n      {printable(row.reason)}"
        )
    return 0


def dead_letters_retry(args: argparse.Namespace, settings: Settings) -> int:
    ingester = make_ingester(settings, "retry", args.verify)
    outcomes = retry_dead_letters(ingester.engine, ingester, cli_actor(settings), args.ids or None)
    for outcome in outcomes:
        state = f"resolved, {outcome.stored} stored" if outcome.resolved else outcome.reason
        print(f"#{outcome.id}: {printable(state)}")
    still_open = sum(1 for o in outcomes if not o.resolved)
    print(f"{len(outcomes) - still_open} resolved, {still_open} still open")
    return 1 if still_open else 0
