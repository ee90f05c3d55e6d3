"""Admin endpoints under ``/_emulator/`` for tests and demos.

No AWS API can collide with this prefix: S3 bucket names cannot start with ``_`` and every
other service we proxy answers on ``/`` or on versioned paths.

- ``GET  /_emulator/state``       summary of the emulator's state
- ``POST /_emulator/reset``       empty suppression list, jobs, statistics, faults; default account
- ``GET|POST|DELETE /_emulator/faults``  list, add ``{"operation", "status", "count",
  "email_address", "message"}``, or clear injected faults
- ``POST /_emulator/throttle``    ``{"request_rate": 2.0, "burst": 2}`` (null/0 = no limit)
- ``POST /_emulator/account``     ``{"EnforcementStatus": "PROBATION", "SendingEnabled": false,
  ...}`` changes what GetAccount reports
- ``POST /_emulator/suppressed``  ``{"entries": [{"EmailAddress", "Reason", "LastUpdateTime",
  "MessageId", "FeedbackId"}]}`` bulk-seeds the suppression list
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

from emulator.controls import FaultRule
from emulator.state import EmulatorState, make_entry

PREFIX = "/_emulator/"
_ACCOUNT_FIELDS = {
    "EnforcementStatus": "enforcement_status",
    "SendingEnabled": "sending_enabled",
    "ProductionAccessEnabled": "production_access_enabled",
    "DedicatedIpAutoWarmupEnabled": "dedicated_ip_auto_warmup_enabled",
    "Max24HourSend": "max_24_hour_send",
    "MaxSendRate": "max_send_rate",
}


class AdminApp:
    """A WSGI app for the admin endpoints; bad input answers 400 with ``{"error": ...}``."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self._routes: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {
            ("GET", "state"): lambda _: self.state.snapshot(),
            ("POST", "reset"): self.reset,
            ("GET", "faults"): self.list_faults,
            ("POST", "faults"): self.add_fault,
            ("DELETE", "faults"): self.clear_faults,
            ("POST", "throttle"): self.throttle,
            ("POST", "account"): self.account,
            ("POST", "suppressed"): self.suppressed,
        }

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        name = request.path[len(PREFIX) :].strip("/")
        handler = self._routes.get((request.method, name))
        if handler is None:
            response = _json({"error": f"no admin endpoint {request.method} {request.path}"}, 404)
        else:
            try:
                response = _json(handler(_body(request)))
            except (ValueError, TypeError, KeyError) as exc:
                response = _json({"error": str(exc)}, 400)
        return response(environ, start_response)

    def reset(self, _: dict[str, Any]) -> dict[str, Any]:
        self.state.reset()
        return {"reset": True}

    def list_faults(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"faults": [rule.to_dict() for rule in self.state.faults.rules()]}

    def add_fault(self, body: dict[str, Any]) -> dict[str, Any]:
        rule = FaultRule(**body)
        self.state.add_fault(rule)
        return {"fault": rule.to_dict()}

    def clear_faults(self, _: dict[str, Any]) -> dict[str, Any]:
        with self.state.locked() as state:
            state.faults.clear()
        return {"faults": []}

    def throttle(self, body: dict[str, Any]) -> dict[str, Any]:
        self.state.set_request_rate(body.get("request_rate"), body.get("burst"))
        return {"request_rate": self.state.request_rate}

    def account(self, body: dict[str, Any]) -> dict[str, Any]:
        changes = {_ACCOUNT_FIELDS[key]: value for key, value in body.items()}
        return {"account": self.state.set_account(**changes).__dict__}

    def suppressed(self, body: dict[str, Any]) -> dict[str, Any]:
        entries = [
            make_entry(
                item["EmailAddress"],
                item.get("Reason", "BOUNCE"),
                item.get("LastUpdateTime"),
                item.get("MessageId"),
                item.get("FeedbackId"),
            )
            for item in body["entries"]
        ]
        return {"added": self.state.put_many_suppressed(entries)}


def _body(request: Request) -> dict[str, Any]:
    data = request.get_data()
    if not data:
        return {}
    body = json.loads(data)
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status, content_type="application/json")
