"""Local mode: the dashboard without sign-in, and whom it may answer.

Without sign-in everyone the server answers acts as `settings.actor` with
`settings.local_role`. That is meant for one person on their own machine, so local mode
answers only when everything says so:

- the server listens on a loopback address (`core.access.local_mode_refusal`);
- the server runs as a laptop runs it: a changed port, path prefix, CORS or XSRF option
  means someone deployed it, maybe behind a reverse proxy on the same host, where a
  loopback address proves nothing. Then ``local_mode = true`` must say local mode is meant;
- the request did not come through a proxy (no ``X-Forwarded-*``, ``Forwarded`` or
  ``X-Real-IP`` header) unless ``local_mode = true``;
- the browser opened the page as 127.0.0.1, ::1 or localhost (the websocket's ``Host``
  and ``Origin``). A page on any other name that resolves to 127.0.0.1 (DNS rebinding) would
  otherwise drive the dashboard from the browser of whoever visits it.

``allow_remote_local_mode = true`` says someone decided otherwise (a proxy in front that
authenticates, on any address and name); ``local_mode = false`` says this deployment
needs sign-in, so a lost ``[auth]`` section stops it instead of opening it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from core.access import is_loopback, local_mode_refusal

if TYPE_CHECKING:
    from core.settings import Settings

# The Streamlit server options as a laptop runs Bounce Desk (Streamlit's defaults).
DEFAULT_SERVER_OPTIONS: dict[str, object] = {
    "server.port": 8501,
    "server.baseUrlPath": "",
    "server.enableCORS": True,
    "server.enableXsrfProtection": True,
}
_PROXY_HEADERS = ("forwarded", "x-real-ip")
_PROXY_PREFIX = "x-forwarded-"
_SIGN_IN = "Configure sign-in ([auth] in .streamlit/secrets.toml)"


def changed_server_options(options: Mapping[str, object]) -> list[str]:
    """The options in `options` that differ from how a laptop runs it, as ``name=value``."""
    return [
        f"{name}={options[name]!r}"
        for name, default in DEFAULT_SERVER_OPTIONS.items()
        if name in options and not _same(options[name], default)
    ]


def _same(value: object, default: object) -> bool:
    if isinstance(default, str):  # a path prefix: "", "/" and None all mean none
        return str(value or "").strip("/") == default
    return value == default


def server_refusal(
    server_address: str | None, options: Mapping[str, object], settings: Settings
) -> str | None:
    """Why this server must not run without sign-in, or None when it may."""
    if settings.local_mode is False:
        return (
            "local_mode = false says this deployment needs sign-in, and .streamlit/"
            f"secrets.toml has no [auth] section. {_SIGN_IN}, or unset local_mode."
        )
    if settings.allow_remote_local_mode:
        return None
    refusal = local_mode_refusal(server_address, settings)
    if refusal is not None:
        return refusal
    changed = changed_server_options(options)
    if changed and settings.local_mode is not True:
        return (
            f"Sign-in is not configured and this server is not set up as on a laptop "
            f"({', '.join(changed)}): behind a proxy on this machine, everyone it lets "
            f"through would act as {settings.actor} with the {settings.local_role} role. "
            f"{_SIGN_IN}, or set local_mode = true (BOUNCEDESK_LOCAL_MODE) if this is still "
            "one person on this machine."
        )
    return None


def request_refusal(headers: Mapping[str, str], settings: Settings) -> str | None:
    """Why local mode must not answer the browser that sent `headers` (the websocket's
    request headers), or None when it may. No headers at all means no browser (a test, a
    bare script run): browsers always send Host and Origin with a websocket."""
    if settings.allow_remote_local_mode or not headers:
        return None
    named = {name.lower(): value for name, value in headers.items()}
    proxied = sorted(n for n in named if n in _PROXY_HEADERS or n.startswith(_PROXY_PREFIX))
    if proxied and settings.local_mode is not True:
        return (
            f"This request came through a proxy (it carries {', '.join(proxied)}), so anyone "
            f"that proxy lets through would act as {settings.actor} with the "
            f"{settings.local_role} role. {_SIGN_IN}, or set local_mode = true "
            "(BOUNCEDESK_LOCAL_MODE) if the proxy only serves this machine."
        )
    host, origin = named.get("host"), named.get("origin")
    if _loopback_authority(host) and (origin is None or _loopback_origin(origin)):
        return None
    opened_as = origin if origin is not None else f"host {host or '(none)'}"
    return (
        f"This page was opened as {opened_as}. Without sign-in Bounce Desk only answers "
        "pages opened as http://127.0.0.1, http://[::1] or http://localhost: any other name "
        "that leads here may be a web page driving your dashboard from your browser. Open "
        f"it as http://127.0.0.1:PORT, or {_SIGN_IN[0].lower()}{_SIGN_IN[1:]}."
    )


def _loopback_authority(host: str | None) -> bool:
    """A Host header (``127.0.0.1:8501``, ``[::1]:8501``, ``localhost``) naming this machine."""
    if not host or not host.strip():
        return False
    return _loopback_origin(f"//{host.strip()}")


def _loopback_origin(origin: str) -> bool:
    """An Origin (``http://localhost:8501``) naming this machine; ``null`` does not."""
    try:
        hostname = urlsplit(origin.strip()).hostname
    except ValueError:
        return False
    return hostname is not None and is_loopback(hostname)


def describe_local_mode(options: Mapping[str, object], settings: Settings) -> str:
    """The start-up line that says the dashboard runs without sign-in, and for whom."""
    who = f"everyone it answers acts as {settings.actor} with the {settings.local_role} role"
    if settings.allow_remote_local_mode:
        whom = "on any address and host name (allow_remote_local_mode = true)"
    else:
        whom = "only to browsers on this machine (127.0.0.1, ::1, localhost)"
        changed = changed_server_options(options)
        if changed:
            whom += f"; local_mode = true although {', '.join(changed)}"
    return f"Sign-in is off (local mode): {who}; served {whom}."
