"""The dashboard container's entry point: local mode's rule first, then ``streamlit run``.

Without sign-in (no ``[auth]`` in ``.streamlit/secrets.toml``) everyone the dashboard answers
acts as one local operator, so it may only listen where no other machine reaches it
(`core.local_mode.server_refusal`). A container usually listens on every interface to be
published, so this checks before starting and, when the rule says no, stops the container
with the message that says what to set, instead of starting a server that refuses every page.

The server options are read as ``streamlit run`` reads them here: ``STREAMLIT_SERVER_*``
environment variables over ``.streamlit/config.toml``.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

from core.errors import SettingsError
from core.local_mode import DEFAULT_SERVER_OPTIONS, server_refusal
from core.settings import load_settings

APP = Path(__file__).resolve().parents[2]
_ENV = {
    "server.address": "STREAMLIT_SERVER_ADDRESS",
    "server.port": "STREAMLIT_SERVER_PORT",
    "server.baseUrlPath": "STREAMLIT_SERVER_BASE_URL_PATH",
    "server.enableCORS": "STREAMLIT_SERVER_ENABLE_CORS",
    "server.enableXsrfProtection": "STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION",
}


def sign_in_configured(secrets: Path) -> bool:
    """True when secrets.toml has an [auth] section (Streamlit's OIDC sign-in)."""
    if not secrets.is_file():
        return False
    with secrets.open("rb") as handle:
        return isinstance(tomllib.load(handle).get("auth"), dict)


def server_options(config: Path, environ: Mapping[str, str]) -> dict[str, object]:
    """The server options streamlit will run with: the environment over config.toml."""
    section: dict[str, object] = {}
    if config.is_file():
        with config.open("rb") as handle:
            section = dict(tomllib.load(handle).get("server", {}))
    options: dict[str, object] = {}
    for name, variable in _ENV.items():
        key = name.split(".", 1)[1]
        default = DEFAULT_SERVER_OPTIONS.get(name)
        value: object = environ.get(variable, section.get(key, default))
        if isinstance(default, bool) and isinstance(value, str):
            value = value.strip().lower() in {"1", "true", "yes"}
        elif isinstance(default, int) and not isinstance(default, bool):
            value = int(str(value))
        options[name] = value
    return options


def refusal(app: Path, environ: Mapping[str, str]) -> str | None:
    """Why this container must not start the dashboard, or None when it may."""
    if sign_in_configured(app / ".streamlit" / "secrets.toml"):
        return None
    options = server_options(app / ".streamlit" / "config.toml", environ)
    address = options.pop("server.address")
    return server_refusal(str(address) if address else None, options, load_settings())


def main() -> int:
    os.chdir(APP)
    try:
        problem = refusal(APP, os.environ)
    except SettingsError as exc:
        print(f"bouncedesk: {exc}", file=sys.stderr)
        return 2
    if problem:
        print(f"bouncedesk: the dashboard will not start. {problem}", file=sys.stderr)
        print(
            "bouncedesk: in a container, mount a secrets.toml with [auth] at "
            "/app/.streamlit/secrets.toml, or run with --network host and "
            "STREAMLIT_SERVER_ADDRESS=127.0.0.1 for one person on this host (docs/deploy.md).",
            file=sys.stderr,
        )
        return 2
    command = [sys.executable, "-m", "streamlit", "run", "dashboard.py"]
    os.execv(sys.executable, command)


if __name__ == "__main__":
    sys.exit(main())
