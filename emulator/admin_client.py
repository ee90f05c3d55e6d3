"""A small HTTP client for the ``/_emulator/`` admin endpoints (stdlib only).

It works the same for an in-process and a subprocess emulator, so tests written against one
run against the other.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

# Loopback traffic must never go through an HTTP(S)_PROXY from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class AdminError(RuntimeError):
    """An admin endpoint refused the request."""


class AdminClient:
    def __init__(self, endpoint_url: str, timeout: float = 10.0) -> None:
        self.base = endpoint_url.rstrip("/") + "/_emulator/"
        self.timeout = timeout

    def state(self) -> dict[str, Any]:
        return self._call("GET", "state")

    def reset(self) -> dict[str, Any]:
        return self._call("POST", "reset")

    def add_fault(
        self,
        operation: str,
        status: int = 500,
        count: int = 1,
        email_address: str | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Make the next ``count`` calls of ``operation`` (or ``"*"``) fail with ``status``."""
        body = {"operation": operation, "status": status, "count": count}
        if email_address is not None:
            body["email_address"] = email_address
        if message is not None:
            body["message"] = message
        return self._call("POST", "faults", body)

    def clear_faults(self) -> dict[str, Any]:
        return self._call("DELETE", "faults")

    def set_request_rate(self, rate: float | None, burst: float | None = None) -> dict[str, Any]:
        return self._call("POST", "throttle", {"request_rate": rate, "burst": burst})

    def set_account(self, **fields: Any) -> dict[str, Any]:
        """E.g. ``set_account(EnforcementStatus="PROBATION", SendingEnabled=False)``."""
        return self._call("POST", "account", fields)

    def put_suppressed(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """Bulk-seed ``[{"EmailAddress", "Reason", "LastUpdateTime", ...}]``."""
        return self._call("POST", "suppressed", {"entries": entries})

    def _call(self, method: str, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + name, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise AdminError(f"{method} {name}: {exc.code} {exc.read().decode()}") from exc
