"""CLI commands for the mailing exclusions: ``status ADDR`` and ``exclusions export``.

Thin wrappers over `core.recipients.mailing`; the mailing system (or a person) can ask about one
address, or take the whole exclusion list as CSV.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, BinaryIO

from core.access import cli_actor
from core.recipients.mailing import export_exclusions_csv, mailing_status
from core.settings import Settings
from core.store.db import make_engine

DATABASE_HELP = "override the database setting (BOUNCEDESK_DATABASE_URL)"
EXIT_MAILABLE, EXIT_EXCLUDED = 0, 3


def register(commands: Any) -> None:
    status = commands.add_parser(
        "status", help="may bulk mail go to ADDR? (exit 0 mailable, 3 excluded)"
    )
    status.add_argument("address", metavar="ADDR")
    # SUPPRESS keeps a sub-command's default from overwriting the top-level --database-url.
    status.add_argument("--database-url", default=argparse.SUPPRESS, help=DATABASE_HELP)
    status.set_defaults(handler=show_status)

    exclusions = commands.add_parser("exclusions", help="the mailing exclusion list")
    actions = exclusions.add_subparsers(dest="exclusions_command", required=True)
    export = actions.add_parser("export", help="every excluded address as CSV")
    export.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    export.add_argument("--bom", action="store_true", help="UTF-8 BOM, for Excel")
    export.add_argument("--database-url", default=argparse.SUPPRESS, help=DATABASE_HELP)
    export.set_defaults(handler=export_exclusions)


def show_status(args: argparse.Namespace, settings: Settings) -> int:
    status = mailing_status(make_engine(settings.database_url), args.address, settings)
    print(f"{status.address}: mailable {'yes' if status.mailable else 'no'}")
    for reason in status.reasons:
        print(f"  - {reason}")
    return EXIT_MAILABLE if status.mailable else EXIT_EXCLUDED


def export_exclusions(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    if args.output:
        with open(args.output, "wb") as out:
            written = _export(engine, settings, out, args.bom)
    else:
        written = _export(engine, settings, sys.stdout.buffer, args.bom)
        sys.stdout.buffer.flush()
    print(f"{written} excluded address(es) written", file=sys.stderr)
    return 0


def _export(engine: Any, settings: Settings, out: BinaryIO, bom: bool) -> int:
    return export_exclusions_csv(engine, cli_actor(settings), settings, out, bom)
