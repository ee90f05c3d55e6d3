"""boto3 clients aimed at an emulator endpoint, with the fake credentials it accepts."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from emulator import REGION

FAKE_ACCESS_KEY = "testing"
FAKE_SECRET_KEY = "testing"


def environment(endpoint_url: str) -> dict[str, str]:
    """Environment variables that point any AWS SDK at the emulator."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
    }


def make_client(service: str, endpoint_url: str, retries: int | None = None) -> Any:
    """A boto3 client for ``service`` at ``endpoint_url``.

    ``retries`` sets botocore's total attempts (1 = no retry), which tests need to see a 429
    instead of botocore's automatic retry of it.
    """
    options: dict[str, Any] = {"s3": {"addressing_style": "path"}}
    if service == "s3":
        options["signature_version"] = "s3v4"  # pre-signed URLs as SES hands them out
    if retries is not None:
        options["retries"] = {"total_max_attempts": retries, "mode": "standard"}
    # boto3-stubs types client() per literal service name only; this takes any name.
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
        config=Config(**options),
    )
