"""The SESv2 operations moto lacks, served as botocore's sesv2 model says (restJson1).

Routes are matched on the *raw* request path because an address in the path is
percent-encoded and may contain ``/`` (``%2F``), which a decoded PATH_INFO would split.
Every call first passes the request-rate limit and the injected faults (see
:mod:`emulator.controls`), so a throttled or failed call changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from werkzeug.wrappers import Request, Response

from emulator.errors import ApiError, bad_request, json_response, not_found, too_many_requests
from emulator.import_jobs import ImportJobRunner
from emulator.state import EmulatorState, ImportJob
from emulator.suppression import REASONS, ListFilter, SuppressedEntry, is_valid_address

MAX_PAGE_SIZE = 1000  # choice: SES documents no bound; 1000 is both default and maximum
_ADDRESS = r"(?P<EmailAddress>[^/]+)"
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(f"^/v2/email/{path}/?$"), operation)
    for method, path, operation in [
        ("GET", "suppression/addresses", "ListSuppressedDestinations"),
        ("PUT", "suppression/addresses", "PutSuppressedDestination"),
        ("GET", f"suppression/addresses/{_ADDRESS}", "GetSuppressedDestination"),
        ("DELETE", f"suppression/addresses/{_ADDRESS}", "DeleteSuppressedDestination"),
        ("POST", "import-jobs", "CreateImportJob"),
        ("POST", "import-jobs/list", "ListImportJobs"),
        ("GET", "import-jobs/(?P<JobId>[^/]+)", "GetImportJob"),
        ("GET", "account", "GetAccount"),
        ("PUT", "account/suppression", "PutAccountSuppressionAttributes"),
        # botocore 1.44 lists with POST list-configuration-sets; older ones with GET.
        ("POST", "list-configuration-sets", "ListConfigurationSets"),
        ("GET", "configuration-sets", "ListConfigurationSets"),
        ("POST", "configuration-sets", "CreateConfigurationSet"),
        ("GET", "configuration-sets/(?P<ConfigurationSetName>[^/]+)", "GetConfigurationSet"),
        (
            "PUT",
            "configuration-sets/(?P<ConfigurationSetName>[^/]+)/sending",
            "PutConfigurationSetSendingOptions",
        ),
    ]
]
# The request-rate limit applies to the suppression-list and import-job calls (the ones a bulk
# removal hammers), not to GetAccount, which every dashboard page load makes.
THROTTLED_OPERATIONS = frozenset(
    op
    for _, _, op in ROUTES
    if op not in ("GetAccount", "PutAccountSuppressionAttributes") and "ConfigurationSet" not in op
)
_OURS = re.compile(
    r"^/v2/email/(suppression/addresses|import-jobs|account/?$|account/suppression"
    r"|configuration-sets|list-configuration-sets)"
)


def raw_path(environ: dict[str, Any]) -> str:
    """The request path still percent-encoded, as the client sent it."""
    uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if uri:
        return urlsplit(uri).path
    return environ.get("PATH_INFO", "")


def serves_path(path: str) -> bool:
    """Whether a raw path belongs to an operation this app emulates (the rest go to moto)."""
    return bool(_OURS.match(path))


def match_route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    for route_method, pattern, operation in ROUTES:
        found = pattern.match(path)
        if found and method == route_method:
            return operation, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


class Sesv2App:
    """A WSGI app for the emulated SESv2 operations."""

    def __init__(
        self, state: EmulatorState, jobs: ImportJobRunner, clock: Callable[[], float] = time.time
    ) -> None:
        self.state = state
        self.jobs = jobs
        self.clock = clock
        self._handlers: dict[str, Callable[[Request, dict[str, str]], dict[str, Any]]] = {
            "ListSuppressedDestinations": self.list_suppressed_destinations,
            "PutSuppressedDestination": self.put_suppressed_destination,
            "GetSuppressedDestination": self.get_suppressed_destination,
            "DeleteSuppressedDestination": self.delete_suppressed_destination,
            "CreateImportJob": self.create_import_job,
            "ListImportJobs": self.list_import_jobs,
            "GetImportJob": self.get_import_job,
            "GetAccount": self.get_account,
            "PutAccountSuppressionAttributes": self.put_account_suppression_attributes,
            "ListConfigurationSets": self.list_configuration_sets,
            "CreateConfigurationSet": self.create_configuration_set,
            "GetConfigurationSet": self.get_configuration_set,
            "PutConfigurationSetSendingOptions": self.put_configuration_set_sending_options,
        }

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        response = self.handle(Request(environ), raw_path(environ))
        return response(environ, start_response)

    def handle(self, request: Request, path: str) -> Response:
        try:
            route = match_route(request.method, path)
            if route is None:
                raise ApiError("BadRequestException", f"No operation at {request.method} {path}")
            operation, params = route
            self._guard(operation, request, params)
            return json_response(self._handlers[operation](request, params))
        except ApiError as error:
            return error.to_response()
        except Exception as exc:  # noqa: BLE001 - a bug here must still look like AWS to boto3
            traceback.print_exc()
            return ApiError("InternalFailure", f"SES emulator error: {exc}").to_response()

    def _guard(self, operation: str, request: Request, params: dict[str, str]) -> None:
        """Throttle first, then injected faults: neither lets the operation run."""
        if operation in THROTTLED_OPERATIONS and not self.state.admit_request():
            raise too_many_requests()
        address = params.get("EmailAddress")
        if address is None and operation == "PutSuppressedDestination":
            address = _json_body(request).get("EmailAddress")
        fault = self.state.take_fault(operation, address)
        if fault is not None:
            message = fault.message or f"Injected fault for {operation}"
            raise ApiError(fault.error_code, message, fault.status)

    # -- suppression list -------------------------------------------------------------
    def list_suppressed_destinations(self, request: Request, _: dict[str, str]) -> dict[str, Any]:
        query = request.args
        flt = ListFilter(
            reasons=frozenset(_reasons(query.getlist("Reason")) or REASONS),
            start=_timestamp(query.get("StartDate"), "StartDate"),
            end=_timestamp(query.get("EndDate"), "EndDate"),
        )
        size = _page_size(query.get("PageSize"))
        after = _decode_token(query["NextToken"]) if "NextToken" in query else None
        entries, next_key = self.state.list_suppressed(flt, after, size)
        body: dict[str, Any] = {"SuppressedDestinationSummaries": [_summary(e) for e in entries]}
        if next_key is not None:
            body["NextToken"] = _encode_token(next_key)
        return body

    def get_suppressed_destination(self, _: Request, params: dict[str, str]) -> dict[str, Any]:
        entry = self.state.get_suppressed(params["EmailAddress"])
        if entry is None:
            raise _not_listed(params["EmailAddress"])
        attributes = {"MessageId": entry.message_id, "FeedbackId": entry.feedback_id}
        detail = {**_summary(entry), "Attributes": _without_none(attributes)}
        return {"SuppressedDestination": detail}

    def put_suppressed_destination(self, request: Request, _: dict[str, str]) -> dict[str, Any]:
        self._require_production_access()
        body = _json_body(request)
        address, reason = body.get("EmailAddress"), body.get("Reason")
        if not isinstance(address, str) or not is_valid_address(address):
            raise bad_request(f"Invalid email address: {address!r}")
        if reason not in REASONS:
            raise bad_request(f"Reason must be BOUNCE or COMPLAINT, not {reason!r}")
        self.state.put_suppressed(address, reason, self.clock())
        return {}

    def delete_suppressed_destination(self, _: Request, params: dict[str, str]) -> dict[str, Any]:
        if not self.state.delete_suppressed(params["EmailAddress"]):
            raise _not_listed(params["EmailAddress"])
        return {}

    # -- import jobs --------------------------------------------------------------------
    def create_import_job(self, request: Request, _: dict[str, str]) -> dict[str, Any]:
        self._require_production_access()
        body = _json_body(request)
        destination = (body.get("ImportDestination") or {}).get("SuppressionListDestination")
        if not isinstance(destination, dict):
            raise bad_request("Only ImportDestination.SuppressionListDestination is emulated")
        action = destination.get("SuppressionListImportAction")
        source = body.get("ImportDataSource") or {}
        if action not in ("DELETE", "PUT"):
            raise bad_request("SuppressionListImportAction must be DELETE or PUT")
        if source.get("DataFormat") not in ("CSV", "JSON"):
            raise bad_request("DataFormat must be CSV or JSON")
        job = self.jobs.submit(action, str(source.get("S3Url") or ""), source["DataFormat"])
        return {"JobId": job.job_id}

    def get_import_job(self, _: Request, params: dict[str, str]) -> dict[str, Any]:
        job = self.state.get_job(params["JobId"])
        if job is None:
            raise not_found(f"Import job {params['JobId']} does not exist")
        return _job_detail(job)

    def list_import_jobs(self, request: Request, _: dict[str, str]) -> dict[str, Any]:
        body = _json_body(request)
        if body.get("ImportDestinationType") == "CONTACT_LIST":
            return {"ImportJobs": []}
        jobs = self.state.list_jobs()
        size = _page_size(body.get("PageSize"))
        start = _job_offset(body["NextToken"]) if body.get("NextToken") else 0
        page = jobs[start : start + size]
        result: dict[str, Any] = {"ImportJobs": [_job_summary(job) for job in page]}
        if start + size < len(jobs):
            result["NextToken"] = _encode_token(str(start + size))
        return result

    # -- account ------------------------------------------------------------------------
    def get_account(self, _: Request, __: dict[str, str]) -> dict[str, Any]:
        with self.state.locked() as state:
            account = state.account
            sent = state.statistics.sent_since(self.clock() - 24 * 3600)
        return {
            "DedicatedIpAutoWarmupEnabled": account.dedicated_ip_auto_warmup_enabled,
            "EnforcementStatus": account.enforcement_status,
            "ProductionAccessEnabled": account.production_access_enabled,
            "SendQuota": {
                "Max24HourSend": account.max_24_hour_send,
                "MaxSendRate": account.max_send_rate,
                "SentLast24Hours": float(sent),
            },
            "SendingEnabled": account.sending_enabled,
            "SuppressionAttributes": {"SuppressedReasons": list(account.suppressed_reasons)},
            "Details": {
                "MailType": "TRANSACTIONAL",
                "WebsiteURL": "https://qube.example",
                "ContactLanguage": "JA",
                "ReviewDetails": {"Status": "GRANTED", "CaseId": "emulator-case-0001"},
            },
        }

    def put_account_suppression_attributes(
        self, request: Request, _: dict[str, str]
    ) -> dict[str, Any]:
        reasons = _reasons(_json_body(request).get("SuppressedReasons") or [])
        self.state.set_account(suppressed_reasons=tuple(reasons))
        return {}

    # -- configuration sets (the streams; the guard pauses one) ---------------------------
    def list_configuration_sets(self, _: Request, __: dict[str, str]) -> dict[str, Any]:
        with self.state.locked() as state:
            return {"ConfigurationSets": sorted(state.configuration_sets)}

    def create_configuration_set(self, request: Request, _: dict[str, str]) -> dict[str, Any]:
        body = _json_body(request)
        name = str(body.get("ConfigurationSetName") or "").strip()
        if not name:
            raise bad_request("ConfigurationSetName is required")
        with self.state.locked() as state:
            if name in state.configuration_sets:
                raise ApiError(
                    "AlreadyExistsException", f"Configuration set <{name}> already exists."
                )
            enabled = (body.get("SendingOptions") or {}).get("SendingEnabled", True)
            state.create_configuration_set(name, bool(enabled))
        return {}

    def get_configuration_set(self, _: Request, params: dict[str, str]) -> dict[str, Any]:
        name = params["ConfigurationSetName"]
        with self.state.locked() as state:
            if name not in state.configuration_sets:
                raise not_found(f"Configuration set <{name}> does not exist.")
            enabled = state.configuration_sets[name]
        return {
            "ConfigurationSetName": name,
            "SendingOptions": {"SendingEnabled": enabled},
            "ReputationOptions": {"ReputationMetricsEnabled": True},
        }

    def put_configuration_set_sending_options(
        self, request: Request, params: dict[str, str]
    ) -> dict[str, Any]:
        name = params["ConfigurationSetName"]
        enabled = bool(_json_body(request).get("SendingEnabled", False))
        if not self.state.set_configuration_set_sending(name, enabled):
            raise not_found(f"Configuration set <{name}> does not exist.")
        return {}

    def _require_production_access(self) -> None:
        # SES: bulk actions and PutSuppressedDestination need an account out of the sandbox.
        if not self.state.account.production_access_enabled:
            raise bad_request(
                "This operation needs production access; the account is in the sandbox"
            )


def _summary(entry: SuppressedEntry) -> dict[str, Any]:
    return {
        "EmailAddress": entry.email_address,
        "Reason": entry.reason,
        "LastUpdateTime": entry.last_update_time,
    }


def _job_summary(job: ImportJob) -> dict[str, Any]:
    return {
        "JobId": job.job_id,
        "ImportDestination": {
            "SuppressionListDestination": {"SuppressionListImportAction": job.action}
        },
        "JobStatus": job.status,
        "CreatedTimestamp": job.created,
        "ProcessedRecordsCount": job.processed,
        "FailedRecordsCount": job.failed,
    }


def _job_detail(job: ImportJob) -> dict[str, Any]:
    detail = _job_summary(job)
    detail["ImportDataSource"] = {"S3Url": job.s3_url, "DataFormat": job.data_format}
    if job.completed is not None:
        detail["CompletedTimestamp"] = job.completed
    failure = {"FailedRecordsS3Url": job.failed_records_url, "ErrorMessage": job.error_message}
    if any(failure.values()):
        detail["FailureInfo"] = _without_none(failure)
    return detail


def _not_listed(address: str) -> ApiError:
    return not_found(f"Email address {address} does not exist on your suppression list.")


def _json_body(request: Request) -> dict[str, Any]:
    if not request.get_data(cache=True):
        return {}
    try:
        body = json.loads(request.get_data(cache=True))
    except ValueError as exc:
        raise bad_request("The request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    return body


def _reasons(values: Iterable[str]) -> list[str]:
    reasons = list(values)
    for reason in reasons:
        if reason not in REASONS:
            raise bad_request(f"Reason must be BOUNCE or COMPLAINT, not {reason!r}")
    return reasons


def _timestamp(value: str | None, name: str) -> float | None:
    """boto3 sends ISO-8601 (``2024-01-02T03:04:05.123000Z``); the CLI docs show epochs."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise bad_request(f"{name} is not a timestamp: {value!r}") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _page_size(value: Any) -> int:
    if value is None:
        return MAX_PAGE_SIZE
    try:
        size = int(value)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"PageSize must be an integer, not {value!r}") from exc
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise bad_request(f"PageSize must be between 1 and {MAX_PAGE_SIZE}")
    return size


def _encode_token(cursor: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": cursor}).encode()).decode()


def _decode_token(token: str) -> str:
    """The cursor inside a NextToken; anything we did not issue is InvalidNextTokenException."""
    try:
        cursor = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ApiError("InvalidNextTokenException", "The NextToken is invalid or expired") from exc
    if not isinstance(cursor, str):
        raise ApiError("InvalidNextTokenException", "The NextToken is invalid or expired")
    return cursor


def _job_offset(token: str) -> int:
    cursor = _decode_token(token)
    if not cursor.isdigit():
        raise ApiError("InvalidNextTokenException", "The NextToken is invalid or expired")
    return int(cursor)


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
