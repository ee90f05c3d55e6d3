"""CLI commands for the mailing exclusions: ``status ADDR`` and ``exclusions export``.

Thin wrappers over `core.recipients.mailing`; the mailing system (or a person) can ask about one
address, or take the whole exclusion list as CSV.
"""

from __future__ import annotations

import argparse
import sys

from core.access import cli_actor
from core.cli.common import Commands, add_command, add_group, open_output, printable
from core.recipients.mailing import export_exclusions_csv, mailing_status
from core.settings import Settings
from core.store.db import make_engine

EXIT_MAILABLE, EXIT_EXCLUDED = 0, 3


def register(commands: Commands) -> None:
    status = add_command(
        commands, "status", show_status, "may bulk mail go to ADDR? (exit 0 mailable, 3 excluded)"
    )
    status.add_argument("address", metavar="ADDR")

    exclusions = add_group(commands, "exclusions", "the mailing exclusion list")
    export = add_command(
        exclusions, "export", export_exclusions, "every excluded address as CSV", output=True
    )
    export.add_argument("--bom", action="store_true", help="UTF-8 BOM, for Excel")


def show_status(args: argparse.Namespace, settings: Settings) -> int:
    status = mailing_status(make_engine(settings.database_url), args.address, settings)
    print(f"{printable(status.address)}: mailable {'yes' if status.mailable else 'no'}")
    for reason in status.reasons:
        print(f"  - {printable(reason)}")
    return EXIT_MAILABLE if status.mailable else EXIT_EXCLUDED


def export_exclusions(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    with open_output(args.output) as out:
        written = export_exclusions_csv(engine, cli_actor(settings), settings, out, args.bom)
    print(f"{written} excluded address(es) written", file=sys.stderr)
    return 0
