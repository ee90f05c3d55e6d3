"""CLI commands for the database schema: ``db upgrade`` and ``db current``."""

from __future__ import annotations

import argparse

from core.cli.common import Commands, add_command, add_group
from core.settings import Settings
from core.store.db import current_revision, make_engine, upgrade


def register(commands: Commands) -> None:
    db = add_group(commands, "db", "database schema")
    add_command(db, "upgrade", db_upgrade, "migrate to the newest schema")
    add_command(db, "current", db_current, "show the schema revision")


def db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url, auto_upgrade=False)
    upgrade(engine)
    print(f"schema at revision {current_revision(engine)}")
    return 0


def db_current(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url, auto_upgrade=False)
    print(current_revision(engine) or "empty database (run: python -m core db upgrade)")
    return 0
