"""CLI commands for the audit trail: thin wrappers over core.audit.

    python -m core audit list [--actor A] [--action X] [--address S] [--since D] [--until D]
    python -m core audit export [-o FILE] [--bom] [same filters]

`export` acts as `settings.actor` with `settings.cli_role` and is itself audited.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from core.access import cli_actor
from core.audit import ACTIONS, AuditFilter, export_audit_csv, list_audit
from core.cli.common import Commands, add_command, add_group, open_output, printable
from core.settings import Settings
from core.store.db import make_engine


def register(commands: Commands) -> None:
    audit = add_group(commands, "audit", "who changed what, and every export")
    listing = add_command(audit, "list", show_audit, "newest first")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    export = add_command(audit, "export", export_audit, "every matching entry as CSV", output=True)
    export.add_argument("--bom", action="store_true", help="UTF-8 BOM, for Excel")
    for command in (listing, export):
        command.add_argument("--actor", help="whose entries (substring)")
        command.add_argument(
            "--action", choices=ACTIONS, metavar="ACTION", help="e.g. export.bounced"
        )
        command.add_argument("--address", help="entries about this address (substring)")
        command.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD")
        command.add_argument("--until", type=date.fromisoformat, metavar="YYYY-MM-DD")


def _filter(args: argparse.Namespace) -> AuditFilter:
    return AuditFilter(args.actor, args.action, args.address, args.since, args.until)


def show_audit(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    page = list_audit(engine, _filter(args), page_size=max(1, min(args.limit, 1000)))
    for entry in page.rows:
        about = f" {printable(entry.address)}" if entry.address else ""
        print(
            f"{entry.at:%Y-%m-%d %H:%M:%S}  {printable(entry.actor)}  {printable(entry.action)}"
            f"{about}: {printable(entry.outcome)}"
        )
        if entry.parameters:
            print(f"      {printable(entry.parameters)}")
    print(f"{len(page.rows)} of {page.total} entries", file=sys.stderr)
    return 0


def export_audit(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    with open_output(args.output) as out:
        written = export_audit_csv(engine, cli_actor(settings), _filter(args), out, bom=args.bom)
    print(f"{written} audit entries written", file=sys.stderr)
    return 0
