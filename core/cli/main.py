"""The command line: thin wrappers over core functions. ``bouncedesk --help``
(or ``python -m core --help``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from core.cli import (
    alerts,
    audit,
    db,
    dead_letters,
    ingest,
    jobs,
    mailing,
    metrics,
    retention,
    suppression,
)
from core.cli.common import Handler, report_error, shared_options
from core.settings import load_settings

# Each module adds its commands with `register(commands)`; the order is the help's order.
COMMAND_GROUPS = (
    db,
    ingest,
    dead_letters,
    suppression,
    metrics,
    mailing,
    audit,
    jobs,
    alerts,
    retention,
)


def build_parser(prog: str = "bouncedesk") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Bounce Desk: SES bounce operations.", parents=[shared_options()]
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "bouncedesk") -> int:
    """Parse `argv`, load the settings once and run the command's handler; our errors become
    one line on stderr and the exit code `core.cli.common.EXIT_CODES` gives them."""
    args = build_parser(prog).parse_args(argv)
    try:
        settings = load_settings(database_url=getattr(args, "database_url", None))
        handler: Handler = args.handler
        return handler(args, settings)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        code = report_error(exc)
        if code is None:
            raise
        return code
