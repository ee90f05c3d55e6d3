"""Bulk import jobs: the S3 file is read through moto, failures are written back to S3."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import time
import urllib.request
from typing import Any

import pytest

from emulator.import_jobs import parse_records
from emulator.launch import EmulatorHandle

BUCKET = "bulk-actions"


@pytest.fixture
def s3(clean: EmulatorHandle) -> Any:
    client = clean.client("s3")
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=BUCKET)
    return client


def run_job(sesv2: Any, action: str, url: str, data_format: str = "CSV") -> dict[str, Any]:
    job_id = sesv2.create_import_job(
        ImportDestination={"SuppressionListDestination": {"SuppressionListImportAction": action}},
        ImportDataSource={"S3Url": url, "DataFormat": data_format},
    )["JobId"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        job = sesv2.get_import_job(JobId=job_id)
        if job["JobStatus"] in ("COMPLETED", "FAILED"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def fetch(url: str) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as response:
        return response.read().decode("utf-8")


def test_a_delete_job_removes_the_listed_addresses_and_reports_the_bad_line(
    clean: EmulatorHandle, sesv2: Any, s3: Any
) -> None:
    for name in ("a", "b", "c"):
        clean.state.put_suppressed(f"{name}@example.com")
    body = "emailAddress\na@example.com\nB@Example.com\nnot an address\n\nmissing@example.com\n"
    s3.put_object(Bucket=BUCKET, Key="delete.csv", Body=body.encode())
    job = run_job(sesv2, "DELETE", f"s3://{BUCKET}/delete.csv")
    assert job["JobStatus"] == "COMPLETED"
    assert (job["ProcessedRecordsCount"], job["FailedRecordsCount"]) == (4, 1)
    assert job["ImportDataSource"] == {"S3Url": f"s3://{BUCKET}/delete.csv", "DataFormat": "CSV"}
    assert [e.email_address for e in clean.state.all_suppressed()] == ["c@example.com"]
    failures = list(csv.DictReader(io.StringIO(fetch(job["FailureInfo"]["FailedRecordsS3Url"]))))
    assert [(f["line"], f["record"]) for f in failures] == [("4", "not an address")]
    assert "1 record" in job["FailureInfo"]["ErrorMessage"]


def test_a_put_job_adds_addresses_with_their_reasons(
    clean: EmulatorHandle, sesv2: Any, s3: Any
) -> None:
    body = "x@example.com,BOUNCE\ny@example.com, complaint\nz@example.com\n"
    s3.put_object(Bucket=BUCKET, Key="put.csv", Body=body.encode())
    job = run_job(sesv2, "PUT", f"s3://{BUCKET}/put.csv")
    assert (job["ProcessedRecordsCount"], job["FailedRecordsCount"]) == (3, 1)
    reasons = {e.email_address: e.reason for e in clean.state.all_suppressed()}
    assert reasons == {"x@example.com": "BOUNCE", "y@example.com": "COMPLAINT"}


def test_a_json_lines_file_is_accepted(clean: EmulatorHandle, sesv2: Any, s3: Any) -> None:
    lines = [
        {"emailAddress": "j1@example.com", "reason": "BOUNCE"},
        {"emailAddress": "j2@example.com"},
    ]
    body = "\n".join(json.dumps(line) for line in lines) + "\n{broken\n"
    s3.put_object(Bucket=BUCKET, Key="put.json", Body=body.encode())
    job = run_job(sesv2, "PUT", f"s3://{BUCKET}/put.json", "JSON")
    assert (job["ProcessedRecordsCount"], job["FailedRecordsCount"]) == (3, 2)
    assert [e.email_address for e in clean.state.all_suppressed()] == ["j1@example.com"]


def test_a_delete_job_over_ten_thousand_records_fails_and_changes_nothing(
    clean: EmulatorHandle, sesv2: Any, s3: Any
) -> None:
    clean.state.put_suppressed("u0@example.com")
    body = "\n".join(f"u{i}@example.com" for i in range(10_001))
    s3.put_object(Bucket=BUCKET, Key="big.csv", Body=body.encode())
    job = run_job(sesv2, "DELETE", f"s3://{BUCKET}/big.csv")
    assert job["JobStatus"] == "FAILED"
    assert "10,000" in job["FailureInfo"]["ErrorMessage"]
    assert clean.state.get_suppressed("u0@example.com") is not None


def test_exactly_ten_thousand_records_are_accepted(
    clean: EmulatorHandle, sesv2: Any, s3: Any
) -> None:
    body = "\n".join(f"u{i}@example.com" for i in range(10_000))
    s3.put_object(Bucket=BUCKET, Key="limit.csv", Body=body.encode())
    job = run_job(sesv2, "DELETE", f"s3://{BUCKET}/limit.csv")
    assert (job["JobStatus"], job["ProcessedRecordsCount"]) == ("COMPLETED", 10_000)


def test_a_missing_object_fails_the_job(sesv2: Any, s3: Any) -> None:
    job = run_job(sesv2, "DELETE", f"s3://{BUCKET}/nothing.csv")
    assert job["JobStatus"] == "FAILED"
    assert "Unable to read" in job["FailureInfo"]["ErrorMessage"]


def test_a_job_starts_as_created_and_is_listed(clean: EmulatorHandle, sesv2: Any, s3: Any) -> None:
    clean.state.put_suppressed("a@example.com")
    s3.put_object(Bucket=BUCKET, Key="one.csv", Body=b"a@example.com\n")
    job_id = sesv2.create_import_job(
        ImportDestination={"SuppressionListDestination": {"SuppressionListImportAction": "DELETE"}},
        ImportDataSource={"S3Url": f"s3://{BUCKET}/one.csv", "DataFormat": "CSV"},
    )["JobId"]
    assert sesv2.get_import_job(JobId=job_id)["JobStatus"] == "CREATED"
    listed = sesv2.list_import_jobs(ImportDestinationType="SUPPRESSION_LIST")["ImportJobs"]
    assert [j["JobId"] for j in listed] == [job_id]


def test_a_malformed_s3_url_and_an_unknown_job_are_rejected(sesv2: Any) -> None:
    with pytest.raises(sesv2.exceptions.BadRequestException):
        sesv2.create_import_job(
            ImportDestination={
                "SuppressionListDestination": {"SuppressionListImportAction": "PUT"}
            },
            ImportDataSource={"S3Url": "https://example.com/file.csv", "DataFormat": "CSV"},
        )
    with pytest.raises(sesv2.exceptions.NotFoundException):
        sesv2.get_import_job(JobId="no-such-job")


def test_csv_parsing_skips_a_header_and_blank_lines_and_numbers_failures() -> None:
    records, failures = parse_records("\ufeffEmail\n\na@example.com\nbad@\n", "CSV", "DELETE")
    assert [r.address for r in records] == ["a@example.com"]
    assert [(f.line, f.record) for f in failures] == [(4, "bad@")]
