"""The command line: thin wrappers over core functions. ``python -m core --help``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from core.errors import BounceDeskError
from core.settings import Settings, load_settings

Handler = Callable[[argparse.Namespace, Settings], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core", description="Bounce Desk: SES bounce operations."
    )
    parser.add_argument(
        "--database-url", help="override the database setting (BOUNCEDESK_DATABASE_URL)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from core.cli import ingest as cli_ingest

    cli_ingest.register(commands)
    for module in _optional_command_modules():
        module.register(commands)
    return parser


def _optional_command_modules() -> list[Any]:
    """Command groups that live beside their core modules (gateway, mailing, audit)."""
    import importlib

    found = []
    for name in ("core.cli.suppression", "core.cli.mailing", "core.cli.audit"):
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(database_url=getattr(args, "database_url", None))
        handler: Handler = args.handler
        return handler(args, settings)
    except BounceDeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if type(exc).__name__ in {"SettingsError", "AwsConfigurationError"} else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str, ensure_ascii=False))
