"""boto3 clients built the standard AWS way, from settings the caller passes in.

Credentials come from the normal chain (environment, shared profiles, SSO, container and
instance roles). Endpoints honour ``AWS_ENDPOINT_URL`` and the per-service
``AWS_ENDPOINT_URL_<SERVICE>`` variables, which botocore >= 1.31 reads by itself (e.g.
``AWS_ENDPOINT_URL_SESV2`` for the local emulator). Nothing is created at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, PartialCredentialsError, ProfileNotFound

from core.errors import AwsConfigurationError
from core.settings import Settings

if TYPE_CHECKING:  # the boto3-stubs packages are development-only
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient

SERVICES = ("sesv2", "ses", "cloudwatch", "s3", "sqs")

HOW_TO_CONFIGURE_CREDENTIALS = (
    "no AWS credentials found. Configure them the standard way: AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the environment, a profile in "
    "~/.aws/credentials selected with AWS_PROFILE, `aws sso login`, or an instance / "
    "container / Lambda role. See docs/aws.md."
)
HOW_TO_CONFIGURE_REGION = (
    "no AWS region configured. Set BOUNCEDESK_AWS_REGION (or aws_region in bouncedesk.toml), "
    "or AWS_REGION / AWS_DEFAULT_REGION, or `region` in the AWS profile. SES is regional: "
    "use the region your account sends from. See docs/aws.md."
)


@dataclass(frozen=True)
class AwsClients:
    """The clients Bounce Desk uses, all for one region. Shared and never mutated."""

    region: str
    sesv2: SESV2Client
    ses: SESClient
    cloudwatch: CloudWatchClient
    s3: S3Client
    sqs: SQSClient


def client_config(settings: Settings) -> Config:
    """Retry mode and attempts from settings; botocore backs off on throttling by itself.

    `total_max_attempts` counts the first call, like AWS_MAX_ATTEMPTS; botocore's
    `max_attempts` key would mean retries, one more call than the setting says.
    """
    return Config(
        retries={
            "mode": settings.aws_retry_mode,
            "total_max_attempts": settings.aws_max_attempts,
        },
        user_agent_extra="bouncedesk",
    )


def make_session(profile_name: str | None = None) -> boto3.Session:
    """A boto3 session; a profile that does not exist becomes AwsConfigurationError."""
    try:
        return boto3.Session(profile_name=profile_name)
    except ProfileNotFound as exc:
        raise AwsConfigurationError(
            f"AWS profile not found: {exc.kwargs.get('profile', profile_name)}. "
            "Check AWS_PROFILE and ~/.aws/config. See docs/aws.md."
        ) from None


def resolve_region(settings: Settings, session: boto3.Session) -> str:
    """Our setting first, then AWS_REGION, then botocore's own chain.

    Plain botocore reads only AWS_DEFAULT_REGION and the profile; AWS_REGION is what Lambda
    sets and what the AWS CLI v2 and newer SDKs prefer, so it ranks above them, as in the CLI.
    """
    region = settings.aws_region or os.environ.get("AWS_REGION") or session.region_name
    if not region:
        raise AwsConfigurationError(HOW_TO_CONFIGURE_REGION)
    return region


def require_credentials(session: boto3.Session) -> None:
    """Fail early, with instructions, instead of a NoCredentialsError on the first call."""
    try:
        credentials = session.get_credentials()
    except PartialCredentialsError as exc:
        raise AwsConfigurationError(
            f"incomplete AWS credentials: {exc}. " + HOW_TO_CONFIGURE_CREDENTIALS
        ) from None
    except BotoCoreError as exc:
        raise AwsConfigurationError(f"AWS credentials could not be loaded: {exc}") from None
    if credentials is None:
        raise AwsConfigurationError(HOW_TO_CONFIGURE_CREDENTIALS)


def make_client(
    service: str,
    settings: Settings,
    *,
    session: boto3.Session | None = None,
    endpoint_url: str | None = None,
) -> BaseClient:
    """One client; `endpoint_url` overrides AWS_ENDPOINT_URL* (tests use it for the emulator)."""
    session = session or make_session()
    region = resolve_region(settings, session)
    require_credentials(session)
    options: dict[str, Any] = {"region_name": region, "config": client_config(settings)}
    if endpoint_url:
        options["endpoint_url"] = endpoint_url
    try:
        # boto3-stubs types client() per literal service name only; this takes any name.
        return session.client(service, **options)  # type: ignore[call-overload]
    except BotoCoreError as exc:
        raise AwsConfigurationError(f"cannot create the {service} client: {exc}") from None


def make_clients(
    settings: Settings,
    *,
    session: boto3.Session | None = None,
    endpoint_url: str | None = None,
) -> AwsClients:
    """All the clients, checked once for region and credentials."""
    session = session or make_session()
    region = resolve_region(settings, session)
    require_credentials(session)
    built = {
        name: make_client(name, settings, session=session, endpoint_url=endpoint_url)
        for name in SERVICES
    }
    return AwsClients(
        region=region,
        sesv2=cast("SESV2Client", built["sesv2"]),
        ses=cast("SESClient", built["ses"]),
        cloudwatch=cast("CloudWatchClient", built["cloudwatch"]),
        s3=cast("S3Client", built["s3"]),
        sqs=cast("SQSClient", built["sqs"]),
    )
