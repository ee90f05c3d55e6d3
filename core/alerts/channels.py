"""Where alerts go: apprise URLs (Slack, Microsoft Teams, email, Amazon SNS, JSON webhooks
and the rest apprise knows), one message per alert change.

A channel is named by its position and scheme ("channel 1 (json)"), never by its URL: the
URL holds the token. Each delivery is tried `attempts` times with a deadline per attempt,
so a receiver that fails or hangs costs a bounded time and never stops the check.

apprise is imported here only when a channel is configured: the ingest Lambda ships
`core` without it (requirements-core.txt), and the rest of the wing works without it.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from core.errors import SettingsError
from core.settings import Settings

NOTIFY_TYPES = {
    "warning": "warning",
    "review": "warning",
    "critical": "failure",
    "resolved": "success",
}
MAX_DETAIL = 300


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    kind: str  # warning | review | critical | resolved


@dataclass(frozen=True, slots=True)
class Delivery:
    """One channel's outcome for one message; `detail` never contains the channel's URL."""

    channel: str
    delivered: bool
    attempts: int
    detail: str


class Notifier:
    """Sends a message to every configured channel; built once from settings."""

    def __init__(
        self,
        urls: Sequence[SecretStr],
        *,
        attempts: int = 3,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._urls = [url.get_secret_value() for url in urls]
        self.attempts = attempts
        self.timeout = timeout
        self._sleep = sleep
        self.channels = [
            f"channel {index} ({urlsplit(url).scheme or '?'})"
            for index, url in enumerate(self._urls, start=1)
        ]
        self._apprise = _load_apprise() if self._urls else None
        for url, name in zip(self._urls, self.channels, strict=True):
            probe = self._apprise.Apprise() if self._apprise else None
            if probe is not None and not probe.add(_with_timeouts(url, timeout)):
                raise SettingsError(f"alert_channels: {name} is not a URL apprise understands")

    @classmethod
    def from_settings(cls, settings: Settings) -> Notifier:
        return cls(
            settings.alert_channels,
            attempts=settings.alert_delivery_attempts,
            timeout=settings.alert_delivery_timeout_seconds,
        )

    def send(self, message: Message) -> list[Delivery]:
        """Deliver to each channel in turn; every outcome is returned, none raised."""
        return [
            self._deliver(url, name, message)
            for url, name in zip(self._urls, self.channels, strict=True)
        ]

    def _deliver(self, url: str, name: str, message: Message) -> Delivery:
        assert self._apprise is not None
        detail = ""
        for attempt in range(1, self.attempts + 1):
            sender = self._apprise.Apprise()
            sender.add(_with_timeouts(url, self.timeout))
            try:
                result = sender.notify(
                    body=message.body,
                    title=message.title,
                    notify_type=NOTIFY_TYPES.get(message.kind, "info"),
                    timeout=self.timeout,
                )
            except Exception as exc:  # noqa: BLE001 - a channel's bug must not stop the check
                detail = f"{type(exc).__name__}: {exc}"
            else:
                if bool(result):
                    return Delivery(name, True, attempt, "delivered")
                detail = _failure(result)
            if attempt < self.attempts:
                self._sleep(min(2.0 ** (attempt - 1), 5.0))
        return Delivery(name, False, self.attempts, _scrub(detail, url)[:MAX_DETAIL])


def _load_apprise() -> Any:
    try:
        return importlib.import_module("apprise")
    except ImportError:
        raise SettingsError(
            "alert_channels is set but apprise is not installed: pip install -r requirements.txt"
        ) from None


def _with_timeouts(url: str, timeout: float) -> str:
    """apprise's own connect (cto) and read (rto) timeouts, unless the URL sets them."""
    query = urlsplit(url).query
    extra = [f"{key}={timeout:g}" for key in ("cto", "rto") if f"{key}=" not in query]
    if not extra:
        return url
    return url + ("&" if "?" in url else "?") + "&".join(extra)


def _failure(result: Any) -> str:
    status = getattr(getattr(result, "status", None), "name", "FAILURE")
    messages = [
        entry.message
        for service in getattr(result, "results", ())
        for entry in service.logs()
        if str(getattr(entry, "level", "")).upper() in {"WARNING", "ERROR", "CRITICAL"}
    ]
    return f"{status}: {messages[-1]}" if messages else str(status)


def _scrub(text: str, url: str) -> str:
    """The failure text without the URL or any of its path segments (tokens live there)."""
    parts = urlsplit(url)
    secrets = [url, parts.password or "", parts.username or ""]
    secrets += [segment for segment in parts.path.split("/") if len(segment) >= 6]
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
