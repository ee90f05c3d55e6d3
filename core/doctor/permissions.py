"""Every IAM permission a Bounce Desk feature needs, and how doctor checks it.

A permission with a read call is checked by making it (nothing changes; NotFound means the
call was allowed). A write permission has no dry run, so IAM's policy simulator is asked
(identity policies and permission boundaries; SCPs and resource policies are not
evaluated); where the simulator cannot be used the line says it was not checked. The SNS,
SQS-attribute and identity reads doctor also makes are checked by the checks that make them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Permission:
    action: str
    needed_for: str
    read: bool  # True: proved with a read call; False: asked of the policy simulator
    resource: str = "*"  # "queue" / "import bucket": filled from settings


PERMISSIONS: tuple[Permission, ...] = (
    Permission("ses:ListSuppressedDestinations", "suppression sync", read=True),
    Permission("ses:GetSuppressedDestination", "an address's suppression detail", read=True),
    Permission("ses:GetAccount", "account health", read=True),
    Permission("ses:GetSendStatistics", "metrics pull", read=True),
    Permission("cloudwatch:GetMetricData", "metrics pull", read=True),
    Permission("ses:GetImportJob", "bulk removal: polling its jobs", read=True),
    Permission("ses:ListIdentities", "doctor: identities", read=True),
    Permission("ses:ListConfigurationSets", "doctor: configuration sets", read=True),
    Permission("ses:DeleteSuppressedDestination", "suppression removal", read=False),
    Permission("ses:CreateImportJob", "bulk removal", read=False),
    Permission("s3:PutObject", "bulk removal: the upload", read=False, resource="import bucket"),
    Permission("sqs:ReceiveMessage", "poll-sqs", read=False, resource="queue"),
    Permission("sqs:DeleteMessage", "poll-sqs", read=False, resource="queue"),
    Permission("sqs:DeleteMessageBatch", "poll-sqs", read=False, resource="queue"),
)


def queue_arn(queue_url: str, region: str) -> str:
    """arn:aws:sqs:REGION:ACCOUNT:NAME from https://sqs.REGION.amazonaws.com/ACCOUNT/NAME
    (or the legacy REGION.queue.amazonaws.com); `region` for any other host (an emulator)."""
    host = queue_url.split("/")[2] if "//" in queue_url else ""
    labels = host.split(".")
    if host.endswith(".amazonaws.com") and labels[0] == "sqs" and len(labels) > 3:
        region = labels[1]
    elif host.endswith(".queue.amazonaws.com"):
        region = labels[0]
    account, name = queue_url.rstrip("/").split("/")[-2:]
    return f"arn:aws:sqs:{region}:{account}:{name}"


def simulation_principal(caller_arn: str) -> str | None:
    """The IAM principal the policy simulator takes for a caller ARN; None for root and
    federated users, which it cannot simulate. An assumed role maps to its role (without
    its path; `AwsInspector.role_arn` finds the full one)."""
    parts = caller_arn.split(":", 5)
    if len(parts) < 6:
        return None
    partition, service, account, resource = parts[1], parts[2], parts[4], parts[5]
    if resource.startswith("assumed-role/"):
        return f"arn:{partition}:iam::{account}:role/{resource.split('/')[1]}"
    if resource.startswith("user/"):
        return f"arn:{partition}:iam::{account}:{resource}"
    if service == "iam" and resource.startswith("role/"):
        return caller_arn
    return None
