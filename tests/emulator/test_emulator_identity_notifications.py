"""SES v1 identity notification topics: what SetIdentityNotificationTopic set,
GetIdentityNotificationAttributes returns (moto alone never returns the topics)."""

from __future__ import annotations

import botocore.exceptions
import pytest

from emulator.launch import EmulatorHandle

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-bounces"


def test_the_topics_set_for_an_identity_are_returned(clean: EmulatorHandle) -> None:
    ses = clean.client("ses")
    ses.set_identity_notification_topic(
        Identity="qube.example", NotificationType="Bounce", SnsTopic=TOPIC
    )
    ses.set_identity_notification_topic(
        Identity="qube.example", NotificationType="Complaint", SnsTopic=TOPIC
    )
    answer = ses.get_identity_notification_attributes(
        Identities=["qube.example", "news@other.example"]
    )["NotificationAttributes"]
    assert answer["qube.example"]["BounceTopic"] == TOPIC
    assert answer["qube.example"]["ComplaintTopic"] == TOPIC
    assert "DeliveryTopic" not in answer["qube.example"]
    assert "BounceTopic" not in answer["news@other.example"]
    assert answer["news@other.example"]["ForwardingEnabled"] is True


def test_a_topic_set_without_an_arn_is_cleared(clean: EmulatorHandle) -> None:
    ses = clean.client("ses")
    ses.set_identity_notification_topic(
        Identity="qube.example", NotificationType="Bounce", SnsTopic=TOPIC
    )
    ses.set_identity_notification_topic(Identity="qube.example", NotificationType="Bounce")
    answer = ses.get_identity_notification_attributes(Identities=["qube.example"])
    assert "BounceTopic" not in answer["NotificationAttributes"]["qube.example"]


def test_an_unknown_notification_type_is_refused(clean: EmulatorHandle) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        clean.client("ses").set_identity_notification_topic(
            Identity="qube.example", NotificationType="Open", SnsTopic=TOPIC
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_reset_forgets_the_topics(clean: EmulatorHandle) -> None:
    ses = clean.client("ses")
    ses.set_identity_notification_topic(
        Identity="qube.example", NotificationType="Bounce", SnsTopic=TOPIC
    )
    clean.state.reset()
    answer = ses.get_identity_notification_attributes(Identities=["qube.example"])
    assert "BounceTopic" not in answer["NotificationAttributes"]["qube.example"]


def test_an_injected_403_is_access_denied_and_changes_nothing(clean: EmulatorHandle) -> None:
    sesv2 = clean.client("sesv2", retries=1)
    clean.state.put_suppressed("a@example.com")
    clean.admin.add_fault("DeleteSuppressedDestination", status=403)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sesv2.delete_suppressed_destination(EmailAddress="a@example.com")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert clean.state.get_suppressed("a@example.com") is not None
