"""SES under botocore's Stubber and the emulator over HTTP, for the suppression-list and
removal tests (their fixtures stay in each test module)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from botocore.stub import ANY, Stubber
from sqlalchemy import Engine, select

from core.ses.gateway import SesGateway
from core.settings import Settings
from core.store.db import open_session
from core.store.models import Fact, SuppressedDestination
from core.suppression import mirror as suppression
from emulator.launch import EmulatorHandle
from tests.factories import OPS

NO_WAIT = {"sleep": lambda _: None}


def listed(*addresses: str, reason: str = "BOUNCE") -> list[dict[str, Any]]:
    stamp = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    return [{"EmailAddress": a, "Reason": reason, "LastUpdateTime": stamp} for a in addresses]


def expect_page(
    stubber: Stubber,
    addresses: list[str],
    *,
    token: str | None = None,
    next_token: str | None = None,
    page_size: int = 1000,
    since: datetime | None = None,
) -> None:
    response: dict[str, Any] = {"SuppressedDestinationSummaries": listed(*addresses)}
    if next_token:
        response["NextToken"] = next_token
    params: dict[str, Any] = {"PageSize": page_size}
    if token:
        params["NextToken"] = token
    if since:
        params["StartDate"] = since
    stubber.add_response("list_suppressed_destinations", response, params)


def mirror(engine: Engine) -> dict[str, SuppressedDestination]:
    with open_session(engine) as session:
        return {row.address: row for row in session.scalars(select(SuppressedDestination))}


def full_sync(
    engine: Engine, ses: tuple[SesGateway, Stubber], addresses: list[str]
) -> suppression.SyncReport:
    gateway, stubber = ses
    expect_page(stubber, addresses)
    return suppression.sync_suppression_list(engine, gateway, actor=OPS, **NO_WAIT)


def expect_delete(stubber: Stubber, address: str, error: tuple[str, int] | None = None) -> None:
    if error is None:
        stubber.add_response("delete_suppressed_destination", {}, {"EmailAddress": address})
    else:
        stubber.add_client_error(
            "delete_suppressed_destination",
            error[0],
            f"{error[0]} for {address}",
            error[1],
            expected_params={"EmailAddress": address},
        )


def make_fact(address: str, **overrides: Any) -> Fact:
    now = datetime(2024, 3, 1)
    values: dict[str, Any] = {
        # 32 bytes, like the sha256 key ingestion writes
        "dedup_key": hashlib.sha256(f"{address}-{overrides.get('feedback_id')}".encode()).digest(),
        "event_key": "feedback:fb",
        "family": "feedback",
        "kind": "bounce",
        "recipient": address,
        "address": address,
        "domain": address.rpartition("@")[2],
        "bounce_type": "Permanent",
        "bounce_subtype": "General",
        "classification": "hard",
        "occurred_at": now,
        "received_at": now,
        "ses_message_id": "msg-9",
    }
    values.update(overrides)
    return Fact(**values)


def expect_job(stubber: Stubber, job_id: str) -> None:
    stubber.add_response(
        "create_import_job",
        {"JobId": job_id},
        {
            "ImportDestination": {
                "SuppressionListDestination": {"SuppressionListImportAction": "DELETE"}
            },
            "ImportDataSource": {"S3Url": ANY, "DataFormat": "CSV"},
        },
    )


def http_gateway(handle: EmulatorHandle, monkeypatch: Any) -> SesGateway:
    for name, value in handle.environment().items():
        monkeypatch.setenv(name, value)
    settings = Settings(aws_region=handle.region, aws_max_attempts=1, ses_request_rate=100)
    return SesGateway.from_settings(settings, endpoint_url=handle.endpoint_url)


class FakeSes:
    """An in-memory stand-in for `SesGateway` that records every call: for the permission,
    guardrail and audit tests, whose point is what is (and is not) sent to SES. Import jobs
    complete as soon as they are asked about."""

    request_rate = 1000.0

    def __init__(self, listed: dict[str, str] | None = None) -> None:
        self.listed: dict[str, str] = dict(listed or {})  # address as SES spells it -> reason
        self.calls: list[tuple[str, str]] = []
        self.jobs: dict[str, list[str]] = {}
        self.files: dict[str, bytes] = {}

    def list_suppressed_destinations(self, **kwargs: Any) -> Any:
        from core.ses.gateway import SuppressedSummary, SuppressionPage

        self.calls.append(("list", ""))
        stamp = datetime(2026, 9, 1, 8, 0)
        summaries = [SuppressedSummary(a, r, stamp) for a, r in sorted(self.listed.items())]
        return SuppressionPage(summaries=summaries, next_token=None)

    def delete_suppressed_destination(self, email_address: str) -> None:
        from core.errors import SesNotFound

        self.calls.append(("delete", email_address))
        if self.listed.pop(email_address, None) is None:
            raise SesNotFound(f"{email_address} is not on the suppression list")

    def upload_object(self, bucket: str, key: str, body: bytes, content_type: str) -> str:
        url = f"s3://{bucket}/{key}"
        self.files[url] = body
        return url

    def create_import_job(self, s3_url: str, *, action: str, data_format: str = "CSV") -> str:
        job_id = f"job-{len(self.jobs) + 1}"
        addresses = self.files[s3_url].decode("utf-8").splitlines()
        self.calls.append(("import_job", ",".join(addresses)))
        self.jobs[job_id] = addresses
        return job_id

    def get_import_job(self, job_id: str) -> Any:
        from core.ses.gateway import ImportJobInfo

        for address in self.jobs[job_id]:
            self.listed.pop(address, None)
        count = len(self.jobs[job_id])
        return ImportJobInfo(job_id, "COMPLETED", count, 0, None, None, None, None)

    @property
    def sent(self) -> list[tuple[str, str]]:
        """Calls that change SES (deletes and import jobs)."""
        return [call for call in self.calls if call[0] != "list"]
