"""`bouncedesk doctor` against the SES emulator (moto underneath): a correct set-up has no
problem; a missing permission, a dropped subscription, a full DLQ, an untrusted topic, an
unmigrated database and missing certificates are each named as a problem."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine

from core.access import Role
from core.cli import main as cli
from core.clock import utcnow
from core.doctor.findings import Finding, Report, Status
from core.doctor.runner import Doctor, diagnose
from core.errors import PermissionDenied
from core.jobs.registry import JOBS
from core.ses.inspection import AwsInspector
from core.settings import Settings
from core.store.db import make_engine, open_session
from core.store.models import JobOutcome, JobRun
from emulator.clients import FAKE_ACCESS_KEY, FAKE_SECRET_KEY
from emulator.launch import EmulatorHandle, running_emulator
from tests.factories import person

IDENTITY = "qube.example"
WRITES = (
    "ses:DeleteSuppressedDestination",
    "ses:CreateImportJob",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:DeleteMessageBatch",
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(resource_name="bouncedesk-doctor") as handle:
        yield handle


def write_certificate(path: Path, *, days: int) -> None:
    """A self-signed RSA certificate valid until `days` from now (negative: expired)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.us-east-1.amazonaws.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=400))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


@dataclass
class Deployment:
    """A correct deployment in the emulator: topic, queue with DLQ, subscription, identity."""

    emulator: EmulatorHandle
    topic_arn: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    settings: Settings

    def client(self, service: str) -> Any:
        return self.emulator.client(service)

    def doctor(self, **changes: Any) -> Doctor:
        settings = self.settings.model_copy(update=changes)
        session = boto3.Session(
            aws_access_key_id=FAKE_ACCESS_KEY,
            aws_secret_access_key=FAKE_SECRET_KEY,
            region_name="us-east-1",
        )
        endpoint = self.emulator.endpoint_url
        return Doctor.from_settings(
            settings,
            inspector=lambda: AwsInspector.from_settings(
                settings, session=session, endpoint_url=endpoint
            ),
        )

    def run(self, **changes: Any) -> Report:
        return self.doctor(**changes).run()


@pytest.fixture
def deployment(emulator: EmulatorHandle, tmp_path: Path) -> Deployment:
    emulator.state.reset()
    name = f"doctor-{uuid.uuid4().hex[:8]}"
    sns, sqs, ses = emulator.client("sns"), emulator.client("sqs"), emulator.client("ses")
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = _arn(sqs, dlq_url)
    queue_url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})
        },
    )["QueueUrl"]
    queue_arn = _arn(sqs, queue_url)
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    ses.verify_domain_identity(Domain=IDENTITY)
    for kind in ("Bounce", "Complaint"):
        ses.set_identity_notification_topic(
            Identity=IDENTITY, NotificationType=kind, SnsTopic=topic_arn
        )
    certificates = tmp_path / "certs"
    certificates.mkdir()
    write_certificate(certificates / "SimpleNotificationService-abc.pem", days=300)
    database_url = f"sqlite:///{tmp_path / 'doctor.db'}"
    record_runs(database_url, JobOutcome.SUCCEEDED, ago=2)  # every job ran; schema made
    settings = Settings(
        database_url=database_url,
        aws_region="us-east-1",
        aws_max_attempts=1,
        sns_topic_arns=[topic_arn],
        sqs_queue_url=queue_url,
        sns_cert_dir=certificates,
        verify_sns_sqs="required",
    )
    return Deployment(emulator, topic_arn, queue_url, queue_arn, dlq_url, settings)


def record_runs(
    database_url: str,
    outcome: JobOutcome,
    jobs: tuple[str, ...] | None = None,
    times: int = 1,
    ago: int = 1,
) -> None:
    """Runs of the jobs (all of them by default) that ended just now with `outcome`."""
    engine = make_engine(database_url)
    now = utcnow()
    try:
        with open_session(engine) as session:
            for name in jobs or tuple(spec.name for spec in JOBS):
                for minutes in range(times):
                    started = now - timedelta(minutes=minutes + ago)
                    session.add(
                        JobRun(job=name, started_at=started, finished_at=started,
                               outcome=outcome, actor="jobs", summary="done",
                               error="SES said no" if outcome == JobOutcome.FAILED else None)
                    )  # fmt: skip
            session.commit()
    finally:
        engine.dispose()


def _arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def by_check(report: Report) -> dict[str, Finding]:
    return {finding.check: finding for finding in report.findings}


def test_a_correct_deployment_has_no_problem_and_only_the_unsimulated_writes_are_warnings(
    deployment: Deployment,
) -> None:
    report = deployment.run()
    assert report.problems == [], [f.line() for f in report.problems]
    assert report.exit_code == 0
    found = by_check(report)
    warned = {f.check for f in report.warnings}
    # moto has no IAM policy simulator: the write permissions are honestly "not checked".
    assert warned == {f"permission {action}" for action in WRITES}
    assert all("not checked" in found[name].message for name in warned)
    for name in (
        "settings",
        "database",
        "aws credentials",
        "permission ses:GetAccount",
        "permission ses:ListSuppressedDestinations",
        "ses account",
        "ses identities",
        "sqs queue",
        "sqs dead-letter queue",
        "sns certificates",
    ):
        assert found[name].status is Status.OK, found[name].line()
    subscription = found[f"sns subscription {deployment.topic_arn.rsplit(':', 1)[1]}"]
    assert subscription.status is Status.OK
    assert deployment.queue_arn in subscription.message


def test_a_missing_permission_is_named_as_a_problem(deployment: Deployment) -> None:
    deployment.emulator.admin.add_fault("ListSuppressedDestinations", status=403)
    report = deployment.run()
    finding = by_check(report)["permission ses:ListSuppressedDestinations"]
    assert finding.status is Status.PROBLEM
    assert "suppression sync" in finding.message
    assert "iam/bouncedesk-policy.json" in finding.action
    assert report.exit_code == 1


def test_a_job_that_failed_twice_in_a_row_is_named_as_a_problem(deployment: Deployment) -> None:
    record_runs(deployment.settings.database_url, JobOutcome.FAILED, ("metrics-pull",), times=2)
    report = deployment.run()
    finding = by_check(report)["job metrics-pull"]
    assert finding.status is Status.PROBLEM
    assert "failed twice in a row" in finding.message and "SES said no" in finding.message
    assert "bouncedesk jobs run metrics-pull" in finding.action
    assert by_check(report)["job account-snapshot"].status is Status.OK
    assert report.exit_code == 1


def test_a_job_that_never_ran_is_a_warning(deployment: Deployment, tmp_path: Path) -> None:
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    make_engine(fresh).dispose()
    finding = by_check(deployment.run(database_url=fresh))["job suppression-sync"]
    assert finding.status is Status.WARNING
    assert "never run" in finding.message and "run-due" in finding.action


def test_a_dropped_subscription_is_named_as_a_problem(deployment: Deployment) -> None:
    sns = deployment.client("sns")
    for subscription in sns.list_subscriptions_by_topic(TopicArn=deployment.topic_arn)[
        "Subscriptions"
    ]:
        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    report = deployment.run()
    finding = by_check(report)[f"sns subscription {deployment.topic_arn.rsplit(':', 1)[1]}"]
    assert finding.status is Status.PROBLEM
    assert "not subscribed" in finding.message
    assert deployment.queue_arn in finding.action
    assert report.exit_code == 1


def test_messages_in_the_dead_letter_queue_are_a_problem(deployment: Deployment) -> None:
    deployment.client("sqs").send_message(QueueUrl=deployment.dlq_url, MessageBody="{}")
    finding = by_check(deployment.run())["sqs dead-letter queue"]
    assert finding.status is Status.PROBLEM
    assert finding.message.startswith("1 message(s)")


def test_raw_delivery_with_required_signatures_is_a_problem(deployment: Deployment) -> None:
    sns = deployment.client("sns")
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=deployment.topic_arn)[
        "Subscriptions"
    ]
    sns.set_subscription_attributes(
        SubscriptionArn=subscription["SubscriptionArn"],
        AttributeName="RawMessageDelivery",
        AttributeValue="true",
    )
    finding = by_check(deployment.run())[
        f"sns subscription {deployment.topic_arn.rsplit(':', 1)[1]}"
    ]
    assert finding.status is Status.PROBLEM
    assert "raw message delivery" in finding.message


def test_an_identity_publishing_to_an_unlisted_topic_is_a_problem(
    deployment: Deployment,
) -> None:
    other = "arn:aws:sns:us-east-1:123456789012:someone-else"
    report = deployment.run(sns_topic_arns=[other])
    finding = by_check(report)["ses identities"]
    assert finding.status is Status.PROBLEM
    assert deployment.topic_arn in finding.message and "untrusted_topic" in finding.message


def test_an_identity_without_topics_is_a_problem_when_no_configuration_set_helps(
    deployment: Deployment,
) -> None:
    deployment.emulator.state.reset()  # forgets the identity's notification topics
    finding = by_check(deployment.run())["ses identities"]
    assert finding.status is Status.PROBLEM
    assert IDENTITY in finding.message


def test_a_configuration_set_destination_counts_as_reaching_the_topic(
    deployment: Deployment,
) -> None:
    ses = deployment.client("ses")
    name = f"cs-{uuid.uuid4().hex[:8]}"
    ses.create_configuration_set(ConfigurationSet={"Name": name})
    try:
        ses.create_configuration_set_event_destination(
            ConfigurationSetName=name,
            EventDestination={
                "Name": f"{name}-sns",
                "Enabled": True,
                "MatchingEventTypes": ["bounce", "complaint", "delivery"],
                "SNSDestination": {"TopicARN": deployment.topic_arn},
            },
        )
        deployment.emulator.state.reset()  # the identity itself publishes nowhere now
        found = by_check(deployment.run())
    finally:
        ses.delete_configuration_set(ConfigurationSetName=name)
    assert found["ses configuration sets"].status is Status.OK
    assert found["ses identities"].status is Status.WARNING
    assert name in found["ses identities"].message


def test_a_shut_down_account_is_a_problem(deployment: Deployment) -> None:
    deployment.emulator.state.set_account(enforcement_status="SHUTDOWN", sending_enabled=False)
    assert by_check(deployment.run())["ses account"].status is Status.PROBLEM


def test_no_aws_access_is_a_problem_and_the_aws_checks_say_not_checked(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    report = Doctor.from_settings(deployment.settings).run()
    found = by_check(report)
    assert found["aws credentials"].status is Status.PROBLEM
    assert found["ses account"].message == "not checked: no AWS access"
    assert report.exit_code == 1


def test_an_unmigrated_database_is_a_problem_and_doctor_does_not_migrate_it(
    deployment: Deployment, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    finding = by_check(deployment.run(database_url=f"sqlite:///{empty}"))["database"]
    assert finding.status is Status.PROBLEM
    assert "db upgrade" in finding.action
    engine = make_engine(f"sqlite:///{empty}", auto_upgrade=False)
    try:
        from sqlalchemy import inspect

        assert not inspect(engine).has_table("alembic_version")
    finally:
        engine.dispose()


def test_an_expired_pinned_certificate_is_a_problem(deployment: Deployment, tmp_path: Path) -> None:
    old = tmp_path / "old-certs"
    old.mkdir()
    write_certificate(old / "SimpleNotificationService-old.pem", days=-1)
    finding = by_check(deployment.run(sns_cert_dir=old))["sns certificates"]
    assert finding.status is Status.PROBLEM
    assert "1 expired" in finding.message


def test_an_unreachable_certificate_host_is_a_problem(deployment: Deployment) -> None:
    def unreachable(url: str) -> None:
        raise OSError(f"connection refused: {url}")

    settings = deployment.settings.model_copy(update={"sns_cert_dir": None})
    doctor = Doctor.from_settings(
        settings, inspector=deployment.doctor()._inspector, fetch=unreachable
    )
    finding = by_check(doctor.run())["sns certificates"]
    assert finding.status is Status.PROBLEM
    assert "https://sns.us-east-1.amazonaws.com/" in finding.message


def test_only_an_admin_may_see_the_report_on_the_dashboard(deployment: Deployment) -> None:
    with pytest.raises(PermissionDenied, match="admin"):
        diagnose(deployment.doctor(), person("ops", Role.OPERATOR))
    assert diagnose(deployment.doctor(), person("boss", Role.ADMIN)).exit_code == 0


def test_the_database_check_passes_on_every_backend(engine: Engine, database_url: str) -> None:
    from core.doctor.local import check_database

    (finding,) = check_database(Settings(database_url=database_url))
    assert finding.status is Status.OK, finding.line()
    assert "(the latest)" in finding.message


def test_an_unreachable_database_is_a_problem() -> None:
    from core.doctor.local import check_database

    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    (finding,) = check_database(Settings(database_url=url))
    assert finding.status is Status.PROBLEM
    assert "cannot be reached" in finding.message


@pytest.fixture
def cli_environment(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    """The deployment's settings and the emulator's AWS variables, as an operator sets them."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "BOUNCEDESK_")):
            monkeypatch.delenv(name)
    for name, value in deployment.emulator.environment().items():
        monkeypatch.setenv(name, value)
    settings = deployment.settings
    monkeypatch.setenv("BOUNCEDESK_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BOUNCEDESK_AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("BOUNCEDESK_SNS_TOPIC_ARNS", json.dumps(settings.sns_topic_arns))
    monkeypatch.setenv("BOUNCEDESK_SQS_QUEUE_URL", deployment.queue_url)
    monkeypatch.setenv("BOUNCEDESK_SNS_CERT_DIR", str(settings.sns_cert_dir))
    monkeypatch.setenv("BOUNCEDESK_VERIFY_SNS_SQS", "required")
    return deployment


def test_the_command_prints_one_line_per_check_and_exits_0_without_problems(
    cli_environment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["doctor"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ok       settings: valid")
    assert any(line.startswith("ok       database: ") for line in lines)
    assert not any(line.startswith("problem") for line in lines)
    assert lines[-1].endswith("0 problems, 5 warnings")


def test_the_command_exits_1_and_names_a_dropped_subscription_in_json(
    cli_environment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    sns = cli_environment.client("sns")
    for subscription in sns.list_subscriptions_by_topic(TopicArn=cli_environment.topic_arn)[
        "Subscriptions"
    ]:
        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    assert cli.main(["doctor", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    problems = [f for f in report["findings"] if f["status"] == "problem"]
    assert [f["check"] for f in problems] == [
        f"sns subscription {cli_environment.topic_arn.rsplit(':', 1)[1]}"
    ]


def test_invalid_settings_are_the_settings_problem_not_a_crash(
    cli_environment: Deployment,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BOUNCEDESK_INGEST_BATCH_SIZE", "0")
    assert cli.main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("problem  settings: invalid configuration")
    assert "BOUNCEDESK_INGEST_BATCH_SIZE" in out


def test_other_commands_still_stop_on_invalid_settings(
    cli_environment: Deployment,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BOUNCEDESK_INGEST_BATCH_SIZE", "0")
    assert cli.main(["account"]) == 2
    assert "BOUNCEDESK_INGEST_BATCH_SIZE" in capsys.readouterr().err


def stubbed_simulator(decisions: dict[str, str], queue_arn: str) -> tuple[Any, Any]:
    """A real botocore IAM client whose SimulatePrincipalPolicy answers are `decisions`
    (moto has no policy simulator; the Stubber checks requests against botocore's model)."""
    from botocore.stub import Stubber

    iam = boto3.client(
        "iam",
        region_name="us-east-1",
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
    )
    stubber = Stubber(iam)
    for action, decision in decisions.items():
        resource = queue_arn if action.startswith("sqs:") else "*"
        stubber.add_response(
            "simulate_principal_policy",
            {
                "EvaluationResults": [
                    {"EvalActionName": action, "EvalResourceName": resource,
                     "EvalDecision": decision}
                ],
                "IsTruncated": False,
            },
            {
                "PolicySourceArn": "arn:aws:iam::123456789012:user/moto",
                "ActionNames": [action],
                "ResourceArns": [resource],
            },
        )  # fmt: skip
    stubber.activate()
    return iam, stubber


def test_the_policy_simulator_decides_the_write_permissions(deployment: Deployment) -> None:
    decisions = dict.fromkeys(WRITES, "allowed")
    decisions["sqs:DeleteMessageBatch"] = "implicitDeny"
    iam, stubber = stubbed_simulator(decisions, deployment.queue_arn)
    inspector = deployment.doctor()._inspector()
    inspector.clients = {**inspector.clients, "iam": iam}
    doctor = Doctor(deployment.settings, lambda: inspector)
    found = by_check(doctor.run())
    stubber.assert_no_pending_responses()
    assert found["permission ses:DeleteSuppressedDestination"].status is Status.OK
    assert "policy simulator" in found["permission ses:DeleteSuppressedDestination"].message
    denied = found["permission sqs:DeleteMessageBatch"]
    assert denied.status is Status.PROBLEM
    assert denied.message.startswith("implicitDeny: poll-sqs will fail")


@pytest.mark.parametrize(
    ("caller", "principal"),
    [
        ("arn:aws:iam::111122223333:user/ops/bouncedesk",
         "arn:aws:iam::111122223333:user/ops/bouncedesk"),
        ("arn:aws:sts::111122223333:assumed-role/bouncedesk-jobs/session-1",
         "arn:aws:iam::111122223333:role/bouncedesk-jobs"),
        ("arn:aws:iam::111122223333:root", None),
        ("arn:aws:sts::111122223333:federated-user/alice", None),
    ],
)  # fmt: skip
def test_the_simulated_principal_is_the_user_or_the_role_behind_a_session(
    caller: str, principal: str | None
) -> None:
    from core.doctor.permissions import simulation_principal

    assert simulation_principal(caller) == principal


@pytest.mark.parametrize(
    ("url", "arn"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/111122223333/ses-feedback",
         "arn:aws:sqs:eu-west-1:111122223333:ses-feedback"),
        ("https://eu-west-1.queue.amazonaws.com/111122223333/ses-feedback",
         "arn:aws:sqs:eu-west-1:111122223333:ses-feedback"),
        ("http://127.0.0.1:4566/123456789012/local", "arn:aws:sqs:us-east-1:123456789012:local"),
    ],
)  # fmt: skip
def test_a_queue_url_names_its_arn_in_the_queue_s_own_region(url: str, arn: str) -> None:
    from core.doctor.permissions import queue_arn

    assert queue_arn(url, "us-east-1") == arn


def test_one_failed_run_is_a_warning_not_yet_stale(deployment: Deployment) -> None:
    record_runs(deployment.settings.database_url, JobOutcome.FAILED, ("import-job-poll",))
    finding = by_check(deployment.run())["job import-job-poll"]
    assert finding.status is Status.WARNING
    assert "SES said no" in finding.message
