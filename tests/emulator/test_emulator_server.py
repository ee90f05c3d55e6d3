"""The combined server: moto behind the same port, loopback only, the launchers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from emulator.launch import EmulatorHandle, EmulatorStartError, start_emulator
from emulator.server import EmulatorServer, NonLoopbackHostError

ROOT = Path(__file__).resolve().parents[2]


def test_sqs_sns_s3_and_cloudwatch_answer_on_the_same_port(clean: EmulatorHandle) -> None:
    sqs, sns = clean.client("sqs"), clean.client("sns")
    queue_url = sqs.create_queue(QueueName="same-port")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    topic = sns.create_topic(Name="same-port")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
    sns.publish(TopicArn=topic, Message='{"notificationType":"Bounce"}', Subject="hello")
    body = json.loads(sqs.receive_message(QueueUrl=queue_url)["Messages"][0]["Body"])
    assert (body["Type"], body["Message"], body["Subject"]) == (
        "Notification",
        '{"notificationType":"Bounce"}',
        "hello",
    )
    s3 = clean.client("s3")
    s3.create_bucket(Bucket="same-port")
    s3.put_object(Bucket="same-port", Key="k", Body=b"v")
    assert s3.get_object(Bucket="same-port", Key="k")["Body"].read() == b"v"
    clean.client("cloudwatch").put_metric_data(
        Namespace="Test", MetricData=[{"MetricName": "M", "Value": 1.0}]
    )
    assert clean.client("cloudwatch").list_metrics(Namespace="Test")["Metrics"]


def test_the_sns_sqs_wiring_delivers_envelopes_not_raw_messages(clean: EmulatorHandle) -> None:
    clean.client("sns").publish(TopicArn=clean.topic_arn, Message="{}")
    sqs = clean.client("sqs")
    message = sqs.receive_message(QueueUrl=clean.queue_url)["Messages"][0]
    sqs.delete_message(QueueUrl=clean.queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert json.loads(message["Body"])["TopicArn"] == clean.topic_arn


def test_a_default_boto3_session_finds_the_emulator_from_the_environment(
    clean: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in clean.environment().items():
        monkeypatch.setenv(key, value)
    sesv2 = boto3.session.Session().client("sesv2")
    assert sesv2.get_account()["EnforcementStatus"] == "HEALTHY"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::"])
def test_it_refuses_to_listen_anywhere_but_loopback(host: str) -> None:
    with pytest.raises(NonLoopbackHostError, match="only listens on 127.0.0.1"):
        EmulatorServer(host=host)


def test_the_cli_exits_with_a_clear_error_for_a_public_host() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "serve", "--host", "0.0.0.0", "--seed", "none"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Refusing to listen on '0.0.0.0'" in result.stderr


def test_start_emulator_runs_the_cli_and_returns_its_ready_file(tmp_path: Path) -> None:
    handle = start_emulator(seed="none", data_dir=tmp_path, request_rate=None, trickle=False)
    try:
        assert handle.endpoint_url.startswith("http://127.0.0.1:")
        assert handle.queue_url.endswith("/bouncedesk-demo")
        assert handle.environment()["AWS_ENDPOINT_URL"] == handle.endpoint_url
        assert handle.admin.state()["request_rate"] is None
        assert handle.client("sesv2").get_account()["SendingEnabled"] is True
    finally:
        handle.stop()
    time.sleep(0.2)
    with pytest.raises(OSError):
        handle.admin.state()


def test_the_banner_says_it_is_not_aws(capsys: pytest.CaptureFixture[str]) -> None:
    server = EmulatorServer().start()
    server.stop()
    assert "DEVELOPMENT EMULATOR, not AWS" in capsys.readouterr().err


def test_the_child_environment_makes_the_package_importable() -> None:
    from emulator.launch import _child_env

    assert str(ROOT) in _child_env()["PYTHONPATH"].split(os.pathsep)


def test_start_emulator_reports_why_the_emulator_did_not_start(tmp_path: Path) -> None:
    with pytest.raises(EmulatorStartError, match="invalid choice"):
        start_emulator(seed="bogus", data_dir=tmp_path, timeout=30)
