"""Read-only questions about an AWS deployment, for `bouncedesk doctor`.

`AwsInspector` holds the clients of one region and asks what a deployment check needs: who
the credentials are (STS), what IAM's policy simulator says, which identities and
configuration sets send bounces and complaints to which topics, who subscribes to a topic,
and how deep a queue is. Every call here reads; none changes anything. Errors leave as the
named exceptions of `core.errors`, translated by `core.ses.gateway.translated`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from core.chunks import chunked
from core.errors import SesNotFound
from core.ses.clients import make_client, make_session, require_credentials, resolve_region
from core.ses.gateway import translated
from core.settings import Settings

SERVICES = ("sts", "iam", "sns", "sqs", "sesv2", "ses", "cloudwatch")
# GetIdentityNotificationAttributes takes at most 100 identities per call.
IDENTITIES_PER_CALL = 100
# An address no suppression list holds and a job id no account has: reading them proves the
# permission without touching anything (SES answers NotFound when it is allowed).
PROBE_ADDRESS = "bouncedesk-doctor-probe@example.invalid"
PROBE_JOB_ID = "bouncedesk-doctor-probe"


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    account: str
    arn: str
    user_id: str


@dataclass(frozen=True, slots=True)
class IdentityTopics:
    """Where SES sends one identity's feedback notifications (None: nowhere)."""

    identity: str
    bounce_topic: str | None
    complaint_topic: str | None


@dataclass(frozen=True, slots=True)
class EventDestination:
    """A configuration set's event destination that publishes to SNS."""

    configuration_set: str
    name: str
    topic_arn: str
    enabled: bool
    event_types: frozenset[str]  # lower case, as SES v1 spells them: bounce, complaint, ...


@dataclass(frozen=True, slots=True)
class Subscription:
    arn: str
    protocol: str
    endpoint: str
    raw_delivery: bool | None  # None when not asked or pending

    @property
    def confirmed(self) -> bool:
        return self.arn.startswith("arn:")


@dataclass(frozen=True, slots=True)
class QueueState:
    url: str
    arn: str
    visible: int
    in_flight: int
    dead_letter_arn: str | None
    max_receive_count: int | None
    policy: dict[str, Any] | None


class AwsInspector:
    """The read calls of a deployment check, over one region's clients."""

    def __init__(self, clients: Mapping[str, Any], region: str) -> None:
        self.clients = clients
        self.region = region

    @classmethod
    def from_factory(cls, client: Callable[[str], Any], region: str) -> AwsInspector:
        """Clients from `client(service)` (the dashboard passes its demo-aware factory)."""
        return cls({name: client(name) for name in SERVICES}, region)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        session: boto3.Session | None = None,
        endpoint_url: str | None = None,
    ) -> AwsInspector:
        """Region and credentials checked first (AwsConfigurationError says what to set)."""
        session = session or make_session()
        region = resolve_region(settings, session)
        require_credentials(session)
        return cls.from_factory(
            lambda name: make_client(name, settings, session=session, endpoint_url=endpoint_url),
            region,
        )

    # Who we are, and what IAM would allow

    def caller_identity(self) -> CallerIdentity:
        with translated("STS GetCallerIdentity"):
            answer = self.clients["sts"].get_caller_identity()
        return CallerIdentity(answer["Account"], answer["Arn"], answer["UserId"])

    def simulate(self, principal_arn: str, action: str, resource: str) -> str:
        """IAM's decision for `action` on `resource`: allowed, explicitDeny or implicitDeny.
        Identity policies and permission boundaries only: SCPs and resource policies are
        not evaluated here."""
        with translated("IAM SimulatePrincipalPolicy"):
            answer = self.clients["iam"].simulate_principal_policy(
                PolicySourceArn=principal_arn, ActionNames=[action], ResourceArns=[resource]
            )
        results = answer.get("EvaluationResults") or [{}]
        return str(results[0].get("EvalDecision", "unknown"))

    def role_arn(self, role_name: str) -> str:
        """The full ARN (with its path) of a role an assumed-role session belongs to."""
        with translated(f"IAM GetRole {role_name}"):
            return str(self.clients["iam"].get_role(RoleName=role_name)["Role"]["Arn"])

    # Read calls that prove a permission (each changes nothing)

    def probes(self) -> dict[str, Callable[[], object]]:
        """IAM action -> a read call that needs exactly that permission."""
        sesv2, ses = self.clients["sesv2"], self.clients["ses"]
        now = datetime.now(UTC)
        return {
            "ses:ListSuppressedDestinations": lambda: sesv2.list_suppressed_destinations(
                PageSize=1
            ),
            "ses:GetSuppressedDestination": lambda: sesv2.get_suppressed_destination(
                EmailAddress=PROBE_ADDRESS
            ),
            "ses:GetImportJob": lambda: sesv2.get_import_job(JobId=PROBE_JOB_ID),
            "ses:GetAccount": sesv2.get_account,
            "ses:GetSendStatistics": ses.get_send_statistics,
            "ses:ListIdentities": lambda: ses.list_identities(MaxItems=1),
            "ses:ListConfigurationSets": lambda: ses.list_configuration_sets(MaxItems=1),
            "cloudwatch:GetMetricData": lambda: self.clients["cloudwatch"].get_metric_data(
                MetricDataQueries=[
                    {
                        "Id": "probe",
                        "MetricStat": {
                            "Metric": {"Namespace": "AWS/SES", "MetricName": "Send"},
                            "Period": 3600,
                            "Stat": "Sum",
                        },
                    }
                ],
                StartTime=now - timedelta(hours=1),
                EndTime=now,
            ),
        }

    def probe(self, action: str) -> None:
        """Make the read call for `action`; SesNotFound means it was allowed."""
        with translated(action):
            self.probes()[action]()

    # Identities and configuration sets

    def identities(self) -> list[str]:
        with translated("SES ListIdentities"):
            pages = self.clients["ses"].get_paginator("list_identities").paginate()
            return [name for page in pages for name in page.get("Identities", [])]

    def identity_topics(self, identities: Sequence[str]) -> list[IdentityTopics]:
        found: list[IdentityTopics] = []
        for batch in chunked(list(identities), IDENTITIES_PER_CALL):
            with translated("SES GetIdentityNotificationAttributes"):
                answer = self.clients["ses"].get_identity_notification_attributes(
                    Identities=list(batch)
                )
            attributes = answer.get("NotificationAttributes", {})
            for name in batch:
                values = attributes.get(name, {})
                found.append(
                    IdentityTopics(name, values.get("BounceTopic"), values.get("ComplaintTopic"))
                )
        return found

    def configuration_sets(self) -> list[str]:
        names: list[str] = []
        token: str | None = None
        with translated("SES ListConfigurationSets"):
            while True:
                options = {"NextToken": token} if token else {}
                answer = self.clients["ses"].list_configuration_sets(**options)
                names += [item["Name"] for item in answer.get("ConfigurationSets", [])]
                token = answer.get("NextToken")
                if not token:
                    return names

    def sns_destinations(self, configuration_set: str) -> list[EventDestination]:
        with translated(f"SES DescribeConfigurationSet {configuration_set}"):
            answer = self.clients["ses"].describe_configuration_set(
                ConfigurationSetName=configuration_set,
                ConfigurationSetAttributeNames=["eventDestinations"],
            )
        return [
            EventDestination(
                configuration_set,
                item.get("Name", ""),
                item["SNSDestination"]["TopicARN"],
                bool(item.get("Enabled")),
                frozenset(kind.lower() for kind in item.get("MatchingEventTypes", [])),
            )
            for item in answer.get("EventDestinations") or []
            if item and item.get("SNSDestination", {}).get("TopicARN")
        ]

    # SNS and SQS

    def topic_exists(self, topic_arn: str) -> bool:
        """False when SNS has no such topic; other errors propagate."""
        try:
            with translated(f"SNS GetTopicAttributes {topic_arn}"):
                self.clients["sns"].get_topic_attributes(TopicArn=topic_arn)
        except SesNotFound:
            return False
        return True

    def subscriptions(self, topic_arn: str) -> list[Subscription]:
        sns = self.clients["sns"]
        found: list[Subscription] = []
        with translated(f"SNS ListSubscriptionsByTopic {topic_arn}"):
            pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
            items = [item for page in pages for item in page.get("Subscriptions", [])]
        for item in items:
            arn = item.get("SubscriptionArn", "")
            raw: bool | None = None
            if arn.startswith("arn:"):
                with translated(f"SNS GetSubscriptionAttributes {arn}"):
                    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)
                raw = attributes.get("Attributes", {}).get("RawMessageDelivery") == "true"
            found.append(Subscription(arn, item.get("Protocol", ""), item.get("Endpoint", ""), raw))
        return found

    def queue_url(self, queue_arn: str) -> str:
        """The URL of the queue `queue_arn` names (a redrive policy names its DLQ by ARN)."""
        _, _, _, _, account, name = queue_arn.split(":", 5)
        with translated(f"SQS GetQueueUrl {name}"):
            answer = self.clients["sqs"].get_queue_url(
                QueueName=name, QueueOwnerAWSAccountId=account
            )
        return str(answer["QueueUrl"])

    def queue(self, queue_url: str) -> QueueState:
        with translated(f"SQS GetQueueAttributes {queue_url}"):
            answer = self.clients["sqs"].get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=["All"]
            )
        attributes = answer.get("Attributes", {})
        redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
        policy = attributes.get("Policy")
        return QueueState(
            url=queue_url,
            arn=attributes.get("QueueArn", ""),
            visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            dead_letter_arn=redrive.get("deadLetterTargetArn"),
            max_receive_count=int(redrive["maxReceiveCount"])
            if "maxReceiveCount" in redrive
            else None,
            policy=json.loads(policy) if policy else None,
        )
