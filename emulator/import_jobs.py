"""Suppression-list import jobs: read an S3 object, apply it, report failures like SES.

The file formats follow the SES Developer Guide ("Adding/Removing email addresses in bulk"):
CSV ``address`` (DELETE) or ``address,REASON`` (PUT), one record a line, or newline-delimited
JSON ``{"emailAddress": ..., "reason": ...}``. We also accept an optional CSV header row whose
first cell is ``emailAddress``/``email``, because spreadsheets add one.

Choices where SES documents nothing:
- over the documented per-job limit (10,000 addresses for DELETE, 100,000 for PUT) the job is
  accepted and then FAILS with an ErrorMessage and nothing applied (the limit concerns the
  object's content, which SES only reads after CreateImportJob has returned a JobId);
- ProcessedRecordsCount counts every record read, FailedRecordsCount the subset rejected;
- deleting an address that is not on the list is a success (the end state is the one asked);
- failed records go to an emulator-owned bucket as CSV ``line,record,error`` and FailureInfo
  carries a pre-signed GET URL to it, as SES does for its own bucket.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.errors import bad_request
from emulator.state import EmulatorState, ImportJob
from emulator.suppression import REASONS, is_valid_address

RECORD_LIMITS = {"DELETE": 10_000, "PUT": 100_000}
FAILURES_BUCKET = "ses-emulator-import-failures"
_S3_URL = re.compile(r"^s3://([^/]+)/(.*?([^/]+)/?)$")  # botocore's S3Url pattern
_HEADER_NAMES = {"emailaddress", "email", "email_address"}


@dataclass(frozen=True)
class Record:
    address: str
    reason: str | None


@dataclass(frozen=True)
class FailedRecord:
    line: int
    record: str
    error: str


class JobFailed(Exception):
    """The whole job fails; the message becomes FailureInfo.ErrorMessage."""


def parse_s3_url(url: str) -> tuple[str, str]:
    match = _S3_URL.match(url or "")
    if not match:
        raise bad_request(f"S3Url must look like s3://bucket/key, not {url!r}")
    return match.group(1), match.group(2)


def parse_records(
    text: str, data_format: str, action: str
) -> tuple[list[Record], list[FailedRecord]]:
    """Split an import file into valid records and failed ones (with line numbers)."""
    records: list[Record] = []
    failures: list[FailedRecord] = []
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            fields = _fields(raw, data_format)
            if fields is None:
                continue  # a header row
            records.append(_record(fields, action))
        except ValueError as exc:
            failures.append(FailedRecord(number, raw, str(exc)))
    return records, failures


def _fields(raw: str, data_format: str) -> tuple[str, str | None] | None:
    if data_format == "JSON":
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON object: {exc.msg}") from exc
        if not isinstance(item, dict):
            raise ValueError("not a JSON object")
        return str(item.get("emailAddress") or ""), item.get("reason")
    cells = next(csv.reader([raw]))
    first = cells[0].strip() if cells else ""
    if first.lower() in _HEADER_NAMES:
        return None
    return first, (cells[1] if len(cells) > 1 else None)


def _record(fields: tuple[str, str | None], action: str) -> Record:
    address, reason = fields[0].strip(), fields[1]
    if not is_valid_address(address):
        raise ValueError(f"invalid email address {address!r}")
    if action == "DELETE":
        return Record(address, None)
    normalized = (reason or "").strip().upper()
    if normalized not in REASONS:
        raise ValueError(f"reason must be BOUNCE or COMPLAINT, not {reason!r}")
    return Record(address, normalized)


class ImportJobRunner:
    """Runs jobs on background threads: CREATED -> PROCESSING -> COMPLETED | FAILED.

    ``s3`` builds a boto3 S3 client for the server's own endpoint: the emulator reads the
    object through moto's public API rather than moto's internals.
    """

    def __init__(self, state: EmulatorState, s3: Callable[[], Any], delay: float = 0.2) -> None:
        self._state = state
        self._s3 = s3
        self.delay = delay

    def submit(self, action: str, s3_url: str, data_format: str) -> ImportJob:
        parse_s3_url(s3_url)
        job = self._state.create_job(action, s3_url, data_format)
        threading.Thread(target=self.run, args=(job.job_id,), daemon=True).start()
        return job

    def run(self, job_id: str) -> ImportJob | None:
        """Process one job to the end (synchronously); never raises.

        Returns None when the emulator was reset while the job waited.
        """
        time.sleep(self.delay)
        job = self._state.update_job(job_id, status="PROCESSING")
        if job is None:
            return None
        try:
            processed, failures = self._process(job)
        except JobFailed as exc:
            return self._finish(job_id, "FAILED", error_message=str(exc))
        except Exception as exc:  # noqa: BLE001 - a job ends FAILED, it never kills a thread
            return self._finish(job_id, "FAILED", error_message=f"Internal error: {exc}")
        time.sleep(self.delay)
        if not failures:
            return self._finish(job_id, "COMPLETED", processed=processed)
        url = self._write_failures(job_id, failures)
        return self._finish(
            job_id,
            "COMPLETED",
            processed=processed,
            failed=len(failures),
            failed_records_url=url,
            error_message=f"{len(failures)} record(s) failed validation",
        )

    def _process(self, job: ImportJob) -> tuple[int, list[FailedRecord]]:
        records, failures = parse_records(self._read(job.s3_url), job.data_format, job.action)
        total = len(records) + len(failures)
        limit = RECORD_LIMITS[job.action]
        if total > limit:
            raise JobFailed(
                f"The import file has {total} records; a {job.action} job accepts at most "
                f"{limit:,}."
            )
        with self._state.locked() as state:
            for record in records:
                if job.action == "DELETE":
                    state.delete_suppressed(record.address)
                else:
                    state.put_suppressed(record.address, record.reason or "BOUNCE")
        return total, failures

    def _read(self, s3_url: str) -> str:
        bucket, key = parse_s3_url(s3_url)
        try:
            body = self._s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:  # noqa: BLE001 - any S3 failure fails the job, as on SES
            raise JobFailed(f"Unable to read {s3_url}: {exc}") from exc
        return body.decode("utf-8-sig", errors="replace")

    def _write_failures(self, job_id: str, failures: list[FailedRecord]) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["line", "record", "error"])
        writer.writerows([f.line, f.record, f.error] for f in failures)
        s3 = self._s3()
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=FAILURES_BUCKET)
        key = f"import-jobs/{job_id}/failed-records.csv"
        s3.put_object(Bucket=FAILURES_BUCKET, Key=key, Body=out.getvalue().encode("utf-8"))
        return s3.generate_presigned_url(
            "get_object", Params={"Bucket": FAILURES_BUCKET, "Key": key}, ExpiresIn=86400
        )

    def _finish(self, job_id: str, status: str, **changes: Any) -> ImportJob | None:
        return self._state.update_job(job_id, status=status, completed=time.time(), **changes)
