"""Client construction: the standard AWS configuration chain, and readable failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import AwsConfigurationError
from core.ses.clients import make_client, make_clients, make_session
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def clean_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real AWS configuration leaks in: no files, no instance metadata, no env."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "BOUNCEDESK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")


def test_missing_region_is_one_configuration_error_that_names_the_settings(
    credentials: None,
) -> None:
    with pytest.raises(AwsConfigurationError) as raised:
        make_clients(Settings())
    message = str(raised.value)
    assert "BOUNCEDESK_AWS_REGION" in message
    assert "AWS_REGION" in message and "AWS_DEFAULT_REGION" in message


def test_missing_credentials_is_one_configuration_error_that_says_how_to_configure_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with pytest.raises(AwsConfigurationError) as raised:
        make_clients(Settings())
    message = str(raised.value)
    assert "AWS_ACCESS_KEY_ID" in message and "AWS_PROFILE" in message
    assert "docs/aws.md" in message


def test_a_profile_that_does_not_exist_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nonexistent")
    with pytest.raises(AwsConfigurationError, match="nonexistent"):
        make_session()


def test_aws_region_set_by_lambda_wins_over_aws_default_region_as_in_the_aws_cli(
    monkeypatch: pytest.MonkeyPatch, credentials: None
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")
    clients = make_clients(Settings())
    assert clients.region == "ap-northeast-1"
    assert clients.sesv2.meta.region_name == "ap-northeast-1"


def test_aws_default_region_alone_is_enough(
    monkeypatch: pytest.MonkeyPatch, credentials: None
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert make_client("ses", Settings()).meta.region_name == "eu-central-1"


def test_the_region_in_the_aws_profile_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, credentials: None
) -> None:
    (tmp_path / "config").write_text("[profile ops]\nregion = eu-west-2\n")
    monkeypatch.setenv("AWS_PROFILE", "ops")
    assert make_client("sesv2", Settings()).meta.region_name == "eu-west-2"


def test_the_bouncedesk_region_setting_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, credentials: None
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert make_client("sesv2", Settings(aws_region="eu-west-1")).meta.region_name == "eu-west-1"


def test_aws_endpoint_url_sesv2_redirects_only_the_sesv2_client(
    monkeypatch: pytest.MonkeyPatch, credentials: None
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", "http://127.0.0.1:4566")
    clients = make_clients(Settings())
    assert clients.sesv2.meta.endpoint_url == "http://127.0.0.1:4566"
    assert clients.ses.meta.endpoint_url == "https://email.eu-west-1.amazonaws.com"


def test_aws_endpoint_url_redirects_every_client(
    monkeypatch: pytest.MonkeyPatch, credentials: None
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    clients = make_clients(Settings())
    endpoints = {c.meta.endpoint_url for c in (clients.sesv2, clients.ses, clients.s3)}
    assert endpoints == {"http://127.0.0.1:5000"}


def test_retry_mode_and_attempts_come_from_settings(
    monkeypatch: pytest.MonkeyPatch, credentials: None
) -> None:
    settings = Settings(aws_region="eu-west-1", aws_retry_mode="adaptive", aws_max_attempts=7)
    client = make_client("sesv2", settings)
    # total_max_attempts counts the first call, as AWS_MAX_ATTEMPTS does.
    assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 7}


def test_importing_the_gateway_modules_creates_nothing_and_never_imports_streamlit() -> None:
    code = (
        "import sys, core.ses.clients, core.ses.gateway, core.suppression.mirror\n"
        "import core.ses.metrics, core.cli.suppression\n"
        "assert 'streamlit' not in sys.modules\n"
        "assert 'boto3' in sys.modules and not any(\n"
        "    type(v).__name__ == 'Session' for v in vars(core.ses.clients).values())\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "AWS_EC2_METADATA_DISABLED": "true"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_every_command_in_the_aws_docs_is_accepted_by_the_cli() -> None:
    import re
    import shlex

    from core.cli.main import build_parser

    parser = build_parser()
    text = (ROOT / "docs" / "aws.md").read_text(encoding="utf-8")
    commands = re.findall(r"^python -m core (.+)$", text, flags=re.MULTILINE)
    assert len(commands) >= 10
    for line in commands:
        words = shlex.split(re.sub(r"\[[^\]]*\]", "", line.split("|")[0]))
        words = [{"ADDR...": "a@example.com", "RUN_ID": "1", "ADDRESS": "a@example.com"}.get(w, w)
                 for w in words]  # fmt: skip
        assert parser.parse_args(words).handler is not None, line


def test_the_iam_policy_allows_every_operation_the_gateway_calls() -> None:
    import json
    import re

    import botocore.session

    policy = json.loads((ROOT / "iam" / "bouncedesk-policy.json").read_text(encoding="utf-8"))
    allowed = {
        action
        for statement in policy["Statement"]
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )  # fmt: skip
    }
    source = (ROOT / "core" / "ses" / "gateway.py").read_text(encoding="utf-8")
    methods = set(re.findall(r"\.(\w+)\(", source)) | set(re.findall(r'paginator\("(\w+)"', source))
    session = botocore.session.get_session()
    needed = set()
    for service, prefix in (("sesv2", "ses"), ("ses", "ses"), ("cloudwatch", "cloudwatch"),
                            ("s3", "s3")):  # fmt: skip
        model = session.get_service_model(service)
        for method in methods:
            camel = "".join(part.title() for part in method.split("_"))
            if camel in model.operation_names:
                needed.add(f"{prefix}:{camel}")
    assert {"ses:DeleteSuppressedDestination", "cloudwatch:GetMetricData"} <= needed
    assert needed <= allowed, needed - allowed


def test_the_iam_policy_allows_every_read_the_deployment_check_makes() -> None:
    import json
    import re

    import botocore.session

    policy = json.loads((ROOT / "iam" / "bouncedesk-policy.json").read_text(encoding="utf-8"))
    allowed = {
        action
        for statement in policy["Statement"]
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )  # fmt: skip
    }
    source = (ROOT / "core" / "ses" / "inspection.py").read_text(encoding="utf-8")
    methods = set(re.findall(r"\.(\w+)\(", source)) | set(re.findall(r'paginator\("(\w+)"', source))
    session = botocore.session.get_session()
    needed = set()
    for service, prefix in (("sesv2", "ses"), ("ses", "ses"), ("sns", "sns"), ("sqs", "sqs"),
                            ("iam", "iam"), ("cloudwatch", "cloudwatch")):  # fmt: skip
        model = session.get_service_model(service)
        for method in methods:
            camel = "".join(part.title() for part in method.split("_"))
            if camel in model.operation_names:
                needed.add(f"{prefix}:{camel}")
    # Every probe names the permission it proves, and the probes' calls are in the policy too.
    assert {"sns:ListSubscriptionsByTopic", "iam:SimulatePrincipalPolicy"} <= needed
    assert "ses:GetIdentityNotificationAttributes" in needed
    assert needed <= allowed, needed - allowed
