"""CLI commands for the audit trail: thin wrappers over core.audit.

    python -m core audit list [--actor A] [--action X] [--address S] [--since D] [--until D]
    python -m core audit export [-o FILE] [--bom] [same filters]

`export` acts as `settings.actor` with `settings.cli_role` and is itself audited.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any, BinaryIO

from core.access import cli_actor
from core.audit import ACTIONS, AuditFilter, export_audit_csv, list_audit
from core.settings import Settings
from core.store.db import make_engine

DATABASE_HELP = "override the database setting (BOUNCEDESK_DATABASE_URL)"


def register(commands: Any) -> None:
    audit = commands.add_parser("audit", help="who changed what, and every export")
    actions = audit.add_subparsers(dest="audit_command", required=True)
    listing = actions.add_parser("list", help="newest first")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.set_defaults(handler=show_audit)
    export = actions.add_parser("export", help="every matching entry as CSV")
    export.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    export.add_argument("--bom", action="store_true", help="UTF-8 BOM, for Excel")
    export.set_defaults(handler=export_audit)
    for command in (listing, export):
        command.add_argument("--actor", help="whose entries (substring)")
        command.add_argument(
            "--action", choices=ACTIONS, metavar="ACTION", help="e.g. export.bounced"
        )
        command.add_argument("--address", help="entries about this address (substring)")
        command.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD")
        command.add_argument("--until", type=date.fromisoformat, metavar="YYYY-MM-DD")
        # SUPPRESS keeps a sub-command's default from overwriting the top-level option.
        command.add_argument("--database-url", default=argparse.SUPPRESS, help=DATABASE_HELP)


def _filter(args: argparse.Namespace) -> AuditFilter:
    return AuditFilter(args.actor, args.action, args.address, args.since, args.until)


def show_audit(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    page = list_audit(engine, _filter(args), page_size=max(1, min(args.limit, 1000)))
    for entry in page.rows:
        about = f" {entry.address}" if entry.address else ""
        print(
            f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.actor}  {entry.action}{about}: {entry.outcome}"
        )
        if entry.parameters:
            print(f"      {entry.parameters}")
    print(f"{len(page.rows)} of {page.total} entries", file=sys.stderr)
    return 0


def export_audit(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    if args.output:
        with open(args.output, "wb") as out:
            written = _export(engine, settings, args, out)
    else:
        written = _export(engine, settings, args, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    print(f"{written} audit entries written", file=sys.stderr)
    return 0


def _export(engine: Any, settings: Settings, args: argparse.Namespace, out: BinaryIO) -> int:
    return export_audit_csv(engine, cli_actor(settings), _filter(args), out, bom=args.bom)
