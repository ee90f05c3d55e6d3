"""deploy/template.yaml: lint-clean, transformed as `sam deploy` does, and saying what the
issue asks of it (retention, redrive, visibility, the queue's policy, verification matching
raw delivery, roles from iam/, alarms, one schedule per registered job)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file
from deploy_kit import (
    ROOT,
    SECRET_ARN,
    TEMPLATE,
    load_template,
    packaged,
    scheduled_jobs,
    transformed,
)
from moto import mock_aws

sys.path.insert(0, str(ROOT / "deploy"))
import roles  # noqa: E402  (deploy/roles.py: a script, not a package)

FOURTEEN_DAYS = 14 * 24 * 3600
# Registered jobs the SAM deployment does not schedule: the queue feeds the ingest function.
NOT_SCHEDULED = {"sqs-poll"}
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-notifications"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == kind}


def test_cfn_lint_finds_nothing_in_the_template() -> None:
    assert [str(match) for match in lint_file(TEMPLATE)] == []


@pytest.mark.parametrize(
    "parameters",
    [
        {},
        {"ConfigurationSetName": "production", "RawMessageDelivery": "true"},
        {
            "ExistingTopicArns": f"{TOPIC},{TOPIC}-2,{TOPIC}-3",
            "SubnetIds": "subnet-0123456789abcdef0",
            "SecurityGroupIds": "sg-0123456789abcdef0",
            "DatabaseServerUrl": "postgresql+psycopg://db.internal:5432/bouncedesk",
        },
    ],
    ids=["defaults", "created-topic-with-event-destination", "existing-topics-in-a-vpc"],
)
def test_the_sam_transform_succeeds_and_its_output_lints_clean(
    template: dict[str, Any], parameters: dict[str, str], aws: None, tmp_path: Path
) -> None:
    output = transformed(
        packaged(template, "artifacts", "bouncedesk-lambda.zip"),
        {"DatabaseSecretArn": SECRET_ARN, **parameters},
    )
    kinds = {r["Type"] for r in output["Resources"].values()}
    assert not {k for k in kinds if k.startswith("AWS::Serverless::")}
    assert {"AWS::Lambda::Function", "AWS::Lambda::EventSourceMapping"} <= kinds
    assert "AWS::Scheduler::Schedule" in kinds
    path = tmp_path / "transformed.json"
    path.write_text(json.dumps(output), encoding="utf-8")
    assert [str(match) for match in lint_file(path)] == []


def test_the_ingest_event_source_reports_batch_item_failures(
    template: dict[str, Any], aws: None
) -> None:
    output = transformed(packaged(template, "b", "k"), {"DatabaseSecretArn": SECRET_ARN})
    (mapping,) = resources(output, "AWS::Lambda::EventSourceMapping").values()
    properties = mapping["Properties"]
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["BatchSize"] == {"Ref": "IngestBatchSize"}
    assert properties["MaximumBatchingWindowInSeconds"] == {"Ref": "IngestBatchWindow"}
    assert properties["EventSourceArn"] == {"Fn::GetAtt": ["NotificationQueue", "Arn"]}
    function = output["Resources"]["IngestFunction"]["Properties"]
    assert function["Handler"] == "core.ingest.lambda_handler.handler"


def test_both_queues_keep_messages_fourteen_days_and_the_dlq_takes_them_after_five(
    template: dict[str, Any],
) -> None:
    queue = template["Resources"]["NotificationQueue"]["Properties"]
    dlq = template["Resources"]["DeadLetterQueue"]["Properties"]
    assert queue["MessageRetentionPeriod"] == dlq["MessageRetentionPeriod"] == FOURTEEN_DAYS
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }


def test_the_visibility_timeout_is_six_function_timeouts_plus_the_longest_window(
    template: dict[str, Any],
) -> None:
    parameters = template["Parameters"]
    longest_window = parameters["IngestBatchWindow"]["MaxValue"]
    mapping = template["Mappings"]["IngestTimeouts"]
    visibility = template["Resources"]["NotificationQueue"]["Properties"]["VisibilityTimeout"]
    assert visibility == {
        "Fn::FindInMap": ["IngestTimeouts", {"Ref": "IngestTimeout"}, "VisibilityTimeout"]
    }
    allowed = parameters["IngestTimeout"]["AllowedValues"]
    assert sorted(mapping) == sorted(str(t) for t in allowed)
    for timeout in allowed:
        assert mapping[str(timeout)]["VisibilityTimeout"] >= 6 * int(timeout) + longest_window


def test_only_the_ses_topics_may_send_to_the_queue(template: dict[str, Any]) -> None:
    policy = template["Resources"]["NotificationQueuePolicy"]["Properties"]["PolicyDocument"]
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {
        "Fn::If": ["CreateTopic", [{"Ref": "NotificationTopic"}], {"Ref": "ExistingTopicArns"}]
    }


def test_verification_follows_raw_delivery_and_the_topics_are_the_allowlist(
    template: dict[str, Any],
) -> None:
    """Signed envelopes (raw delivery off) are verified as required; raw bodies carry no
    signature, so `required` would dead-letter every one of them."""
    for subscription in resources(template, "AWS::SNS::Subscription").values():
        assert subscription["Properties"]["RawMessageDelivery"] == {"Ref": "RawMessageDelivery"}
        assert subscription["Properties"]["Protocol"] == "sqs"
    ingest = template["Resources"]["IngestFunction"]["Properties"]["Environment"]["Variables"]
    assert ingest["BOUNCEDESK_VERIFY_SNS_LAMBDA"] == {
        "Fn::If": ["RawDelivery", "when_present", "required"]
    }
    shared = template["Globals"]["Function"]["Environment"]["Variables"]
    assert shared["BOUNCEDESK_DATABASE_SECRET_ARN"] == {"Ref": "DatabaseSecretArn"}
    assert "BOUNCEDESK_SNS_TOPIC_ARNS" in shared
    assert template["Parameters"]["RawMessageDelivery"]["Default"] == "false"


def test_the_role_policies_are_the_iam_files(template: dict[str, Any]) -> None:
    checked = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "roles.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout
    for name, (policy_name, _) in roles.POLICIES.items():
        statements = json.loads((ROOT / name).read_text(encoding="utf-8"))["Statement"]
        documents = [
            policy["PolicyDocument"]
            for role in resources(template, "AWS::IAM::Role").values()
            for policy in role["Properties"].get("Policies", [])
            if policy["PolicyName"] == policy_name
        ]
        (document,) = documents
        assert [s["Sid"] for s in document["Statement"]] == [s["Sid"] for s in statements]
        assert [s["Action"] for s in document["Statement"]] == [s["Action"] for s in statements]


def test_an_edited_iam_file_makes_the_template_stale() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert roles.rendered_template(text) == text
    edited = text.replace('"secretsmanager:GetSecretValue"', '"secretsmanager:*"', 1)
    assert roles.rendered_template(edited) != edited


def test_each_function_has_its_own_role_and_a_log_group_with_retention(
    template: dict[str, Any],
) -> None:
    functions = resources(template, "AWS::Serverless::Function")
    assert set(functions) == {"IngestFunction", "JobsFunction"}
    role_names = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()]
    assert len(set(role_names)) == 2
    groups = resources(template, "AWS::Logs::LogGroup")
    for function in functions.values():
        (group,) = [g for g in groups if g in function["DependsOn"]]
        assert groups[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_alarms_watch_the_dlq_depth_both_functions_errors_and_the_oldest_message(
    template: dict[str, Any],
) -> None:
    watched = {
        (a["Properties"]["MetricName"], json.dumps(a["Properties"]["Dimensions"][0]["Value"]))
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
    }
    assert watched == {
        (
            "ApproximateNumberOfMessagesVisible",
            json.dumps({"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}),
        ),
        (
            "ApproximateAgeOfOldestMessage",
            json.dumps({"Fn::GetAtt": ["NotificationQueue", "QueueName"]}),
        ),
        ("Errors", json.dumps({"Ref": "IngestFunction"})),
        ("Errors", json.dumps({"Ref": "JobsFunction"})),
    }
    dlq = template["Resources"]["DeadLetterQueueAlarm"]["Properties"]
    assert (dlq["Threshold"], dlq["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_every_scheduled_job_is_registered_in_core_jobs(template: dict[str, Any]) -> None:
    scheduled = scheduled_jobs(template)
    assert scheduled, "the template schedules no job"
    assert "sqs-poll" not in scheduled  # the queue feeds the ingest function instead
    if importlib.util.find_spec("core.jobs") is None:
        pytest.skip(
            f"core.jobs is not on this branch yet: cannot check that {sorted(scheduled)} "
            "are registered jobs"
        )
    from core.jobs.registry import JOBS

    registered = {spec.name for spec in JOBS}
    unregistered = sorted(set(scheduled) - registered)
    assert not unregistered, (
        f"deploy/template.yaml schedules {unregistered}, which core.jobs does not register "
        f"(registered: {sorted(registered)})"
    )
    unscheduled = sorted(registered - set(scheduled) - NOT_SCHEDULED)
    assert not unscheduled, (
        f"core.jobs registers {unscheduled}, which deploy/template.yaml does not schedule: "
        "add a ScheduleV2 event to JobsFunction and its interval parameter (docs/deploy.md)"
    )


def test_each_schedule_and_the_jobs_settings_come_from_one_interval_parameter(
    template: dict[str, Any],
) -> None:
    """The schedule runs the job every N minutes and the function's settings say N, so
    the staleness the jobs wing reports agrees with how often the job really runs."""
    jobs = template["Resources"]["JobsFunction"]["Properties"]
    assert jobs["Handler"] == "core.jobs.lambda_handler.handler"
    variables = jobs["Environment"]["Variables"]
    for name, schedule in scheduled_jobs(template).items():
        setting = f"BOUNCEDESK_JOB_{name.replace('-', '_').upper()}_MINUTES"
        parameter = variables[setting]["Ref"]
        assert schedule["ScheduleExpression"] == {"Fn::Sub": f"rate(${{{parameter}}} minutes)"}
        assert template["Parameters"][parameter]["MinValue"] >= 2  # "rate(1 minutes)" is invalid


def test_docs_deploy_md_describes_every_parameter_of_the_template(template: dict[str, Any]) -> None:
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    undocumented = sorted(name for name in template["Parameters"] if f"`{name}`" not in text)
    assert undocumented == [], f"docs/deploy.md's parameter table lacks {undocumented}"


def test_a_created_topic_lets_only_this_accounts_ses_publish_and_feeds_the_event_types(
    template: dict[str, Any],
) -> None:
    resources_ = template["Resources"]
    (statement,) = resources_["NotificationTopicPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }
    destination = resources_["ConfigurationSetEventDestination"]
    assert destination["Condition"] == "HasConfigurationSet"
    properties = destination["Properties"]["EventDestination"]
    assert set(properties["MatchingEventTypes"]) == {
        "bounce",
        "complaint",
        "delivery",
        "send",
        "reject",
    }
    assert properties["SnsDestination"] == {"TopicARN": {"Ref": "NotificationTopic"}}
