"""``bouncedesk api``: serve the HTTP API (the top-level `api` package) with uvicorn.

`core` must stay importable without FastAPI (the ingest Lambda ships without it), so the
app and uvicorn are imported by name when the command runs, never at import time; without
them the command says what to install.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from core.cli.common import Commands, add_command
from core.errors import SettingsError
from core.settings import Settings

MISSING = (
    "the HTTP API needs FastAPI, uvicorn, Mangum and limits: "
    "pip install -r requirements-api.txt (or pip install 'bouncedesk[api]')"
)


def register(commands: Commands) -> None:
    api = add_command(commands, "api", serve, "serve the HTTP API (docs/api.md)")
    api.add_argument("--host", help="default: the api_host setting (127.0.0.1)")
    api.add_argument("--port", type=int, help="default: the api_port setting (8000)")


def _load(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise SettingsError(f"{MISSING} ({exc.name} is missing)") from None


def serve(args: argparse.Namespace, settings: Settings) -> int:
    app = _load("api.app").create_app(settings)
    host = args.host or settings.api_host
    port = args.port if args.port is not None else settings.api_port
    _load("uvicorn").run(app, host=host, port=port, log_level="info")
    return 0
