"""core.ingest.events: every SES notification in the AWS docs becomes one fact per recipient."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import pytest

from core.ingest.events import IgnoredNotification, NotificationError, parse_notification
from tests.conftest import load_fixture
from tests.ingest_factories import make_bounce, make_complaint, make_delivery, make_send


def ses(name: str) -> Any:
    return load_fixture(f"{name}.json")


def sns(name: str) -> Any:
    return load_fixture(f"{name}.json")


def parse_one(payload: Any) -> Any:
    facts = parse_notification(payload).facts
    assert len(facts) == 1
    return facts[0]


def reason_for(payload: Any) -> NotificationError:
    with pytest.raises(NotificationError) as caught:
        parse_notification(payload)
    return caught.value


EVENT_SAMPLES = [
    ("ses_event_send_docs", "send", "recipient@example.com"),
    ("ses_event_delivery_docs", "delivery", "recipient@example.com"),
    ("ses_event_bounce_permanent_general_docs", "bounce", "recipient@example.com"),
    ("ses_event_complaint_abuse_docs", "complaint", "recipient@example.com"),
    # The docs' Reject record is addressed to the sender itself.
    ("ses_event_reject_docs", "reject", "sender@example.com"),
    ("ses_event_delivery_delay_docs", "delivery_delay", "recipient@example.com"),
    ("ses_event_open_docs", "open", "recipient@example.com"),
    ("ses_event_click_docs", "click", "recipient@example.com"),
    ("ses_event_rendering_failure_docs", "rendering_failure", "recipient@example.com"),
    ("ses_event_subscription_docs", "subscription", "recipient@example.com"),
]


@pytest.mark.parametrize(("sample", "kind", "address"), EVENT_SAMPLES)
def test_it_parses_every_event_publishing_type_from_the_docs(
    sample: str, kind: str, address: str
) -> None:
    payload = ses(sample)
    fact = parse_one(payload)
    assert (fact.family, fact.kind, fact.address) == ("event", kind, address)
    assert fact.ses_message_id == payload["mail"]["messageId"]
    assert fact.configuration_set == "ConfigSet"
    assert json.loads(fact.tags)["ses:configuration-set"] == ["ConfigSet"]
    assert len(fact.dedup_key) == 32  # a sha256 digest


def test_the_rendering_failure_type_has_a_space_and_keeps_its_template_and_error() -> None:
    fact = parse_one(ses("ses_event_rendering_failure_docs"))
    assert json.loads(fact.detail) == {
        "templateName": "MyTemplate",
        "errorMessage": "Attribute 'attributeName' is not present in the rendering data.",
    }
    # No timestamp of its own: it happened when the mail was sent.
    assert fact.occurred_at == datetime(2018, 1, 22, 18, 43, 6, 197000)


def test_an_event_bounce_keeps_its_dsn_fields_and_the_times_in_utc() -> None:
    fact = parse_one(ses("ses_event_bounce_permanent_general_docs"))
    assert (fact.bounce_type, fact.bounce_subtype, fact.classification) == (
        "Permanent",
        "General",
        "hard",
    )
    assert (fact.status, fact.action) == ("5.1.1", "failed")
    assert fact.diagnostic_code == "smtp; 550 5.1.1 user unknown"
    assert fact.reporting_mta == "dsn; mta.example.com"
    assert fact.feedback_id == "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000"
    assert fact.occurred_at == datetime(2017, 8, 5, 0, 41, 2, 669000)
    assert fact.mail_sent_at == datetime(2017, 8, 5, 0, 40, 2, 12000)
    assert fact.sender == "Sender Name <sender@example.com>"
    assert fact.subject == "Message sent from Amazon SES"


def test_a_delivery_delay_keeps_each_delayed_recipients_diagnostic() -> None:
    fact = parse_one(ses("ses_event_delivery_delay_docs"))
    assert fact.status == "4.4.1"
    assert fact.diagnostic_code == "smtp; 421 4.4.1 Unable to connect to remote host"
    assert json.loads(fact.detail)["delayType"] == "TransientCommunicationFailure"


def test_a_click_keeps_the_link_and_a_reject_keeps_its_reason() -> None:
    click = parse_one(ses("ses_event_click_docs"))
    assert json.loads(click.detail)["link"].endswith("send-email-smtp.html")
    reject = parse_one(ses("ses_event_reject_docs"))
    assert json.loads(reject.detail) == {"reason": "Bad content"}


def test_the_feedback_bounce_without_dsn_stores_exactly_the_bounced_recipients() -> None:
    # mail.destination names three people; only two bounced. Neither destination[0] alone
    # nor all of destination is right.
    facts = parse_notification(ses("ses_feedback_bounce_permanent_general_no_dsn_docs")).facts
    assert [f.address for f in facts] == ["jane@example.com", "richard@example.com"]
    assert {f.family for f in facts} == {"feedback"}
    assert {f.event_key for f in facts} == {
        "fb:00000137860315fd-869464a4-8680-4114-98d3-716fe35851f9-000000"
    }
    assert len({f.dedup_key for f in facts}) == 2
    assert all(f.status is None and f.diagnostic_code is None for f in facts)
    assert {f.remote_mta_ip for f in facts} == {"127.0.2.0"}


def test_the_feedback_bounce_with_dsn_keeps_the_diagnostic_code() -> None:
    fact = parse_one(ses("ses_feedback_bounce_permanent_general_with_dsn_docs"))
    assert fact.diagnostic_code == "smtp; 550 5.1.1 <jane@example.com>... User"
    assert fact.reporting_mta == "dns; email.example.com"
    assert fact.counts_toward_bounce_rate is True


def test_each_bounced_recipient_of_the_docs_bounce_object_keeps_its_own_action() -> None:
    payload = make_bounce(["recipient1@example.com", "recipient2@example.com"])
    payload["bounce"] = ses("ses_feedback_bounce_object_fragment_mixed_actions_docs")
    facts = parse_notification(payload).facts
    assert [(f.address, f.action, f.status) for f in facts] == [
        ("recipient1@example.com", "failed", "5.0.0"),
        ("recipient2@example.com", "delayed", "4.0.0"),
    ]
    assert facts[0].diagnostic_code == "smtp; 550 user unknown"
    assert facts[1].diagnostic_code is None


def test_the_docs_bounced_recipient_fragment_is_read_field_by_field() -> None:
    payload = make_bounce(["recipient@example.com"])
    payload["bounce"]["bouncedRecipients"] = [ses("ses_feedback_bounced_recipient_fragment_docs")]
    fact = parse_one(payload)
    assert (fact.action, fact.status, fact.diagnostic_code) == (
        "failed",
        "5.0.0",
        "X-Postfix; unknown user",
    )


@pytest.mark.parametrize(
    ("sample", "feedback_type", "user_agent"),
    [
        ("ses_feedback_complaint_abuse_with_feedback_report_docs", "abuse", True),
        ("ses_feedback_complaint_no_feedback_report_docs", None, False),
    ],
)
def test_it_parses_feedback_complaints_with_and_without_a_feedback_report(
    sample: str, feedback_type: str | None, user_agent: bool
) -> None:
    fact = parse_one(ses(sample))
    assert (fact.family, fact.kind, fact.address) == (
        "feedback",
        "complaint",
        "richard@example.com",
    )
    assert fact.complaint_feedback_type == feedback_type
    assert fact.complaint_subtype is None
    assert fact.event_key.startswith("fb:")
    assert ("userAgent" in (fact.detail or "")) is user_agent


def test_the_docs_complaint_object_keeps_its_feedback_type_and_arrival_date() -> None:
    payload = make_complaint(["recipient1@example.com"])
    payload["complaint"] = ses("ses_feedback_complaint_object_fragment_docs")
    fact = parse_one(payload)
    assert fact.complaint_feedback_type == "abuse"
    assert json.loads(fact.detail)["arrivalDate"] == "2009-12-03T04:24:21.000-05:00"


def test_a_complaint_from_the_account_suppression_list_keeps_its_subtype() -> None:
    fact = parse_one(make_complaint(subtype="OnAccountSuppressionList", feedback_type=None))
    assert fact.complaint_subtype == "OnAccountSuppressionList"


def test_it_parses_the_feedback_delivery_and_the_docs_delivery_object() -> None:
    fact = parse_one(ses("ses_feedback_delivery_docs"))
    assert (fact.family, fact.kind, fact.address) == ("feedback", "delivery", "jane@example.com")
    assert fact.diagnostic_code == "250 ok:  Message 64111812 accepted"
    payload = make_delivery(["success@simulator.amazonses.com"])
    payload["delivery"] = ses("ses_feedback_delivery_object_fragment_docs")
    assert parse_one(payload).occurred_at == datetime(2014, 5, 28, 22, 41, 1, 184000)


@pytest.mark.parametrize(
    "sample",
    [
        "sns_real_signed_ses_event_complaint_simulator_sigv1_2022_djangoses",
        "sns_real_signed_ses_feedback_bounce_permanent_general_simulator_sigv1_2022_djangoses",
    ],
)
def test_it_parses_the_real_ses_messages_inside_the_signed_sns_samples(sample: str) -> None:
    envelope = sns(sample)
    facts = parse_notification(json.loads(envelope["Message"]), envelope["MessageId"]).facts
    assert [f.domain for f in facts] == ["simulator.amazonses.com"]
    assert facts[0].sns_message_id == envelope["MessageId"]


def test_it_stores_each_recipient_of_a_multi_recipient_bounce() -> None:
    addresses = ["a@example.com", "b@example.com", "c@example.org"]
    facts = parse_notification(make_bounce(addresses)).facts
    assert [f.address for f in facts] == addresses
    assert len({f.dedup_key for f in facts}) == 3
    assert len({f.event_key for f in facts}) == 1


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (make_complaint, "complainedRecipients"),
        (make_delivery, "recipients"),
        (make_send, "destination"),
    ],
)
def test_every_kind_with_several_recipients_makes_one_fact_each(make: Any, field: str) -> None:
    facts = parse_notification(make(["a@example.com", "b@example.com", "c@example.com"])).facts
    assert len(facts) == 3, field


@pytest.mark.parametrize(
    ("bounce_type", "subtype", "classification", "counts"),
    [
        ("Permanent", "General", "hard", True),
        ("Permanent", "NoEmail", "hard", True),
        ("Permanent", "Suppressed", "hard", True),
        ("Permanent", "OnAccountSuppressionList", "hard", False),
        ("Transient", "General", "soft", False),
        ("Transient", "MailboxFull", "soft", False),
        ("Transient", "MessageTooLarge", "soft", False),
        ("Transient", "ContentRejected", "soft", False),
        ("Transient", "AttachmentRejected", "soft", False),
        ("Undetermined", "Undetermined", "undetermined", False),
        # Subtypes SES has not documented yet are kept verbatim, classified by type.
        ("Permanent", "UnsubscribedRecipient", "hard", True),
        ("Transient", "Throttled (new)", "soft", False),
    ],
)
def test_bounce_types_are_classified_and_only_attempted_hard_bounces_count_toward_the_rate(
    bounce_type: str, subtype: str, classification: str, counts: bool
) -> None:
    fact = parse_one(make_bounce(bounce_type=bounce_type, subtype=subtype))
    assert fact.bounce_type == bounce_type
    assert fact.bounce_subtype == subtype
    assert fact.classification == classification
    assert fact.counts_toward_bounce_rate is counts


def test_an_unknown_bounce_type_is_kept_and_classified_undetermined() -> None:
    fact = parse_one(make_bounce(bounce_type="Provisional", subtype="Greylisted"))
    assert (fact.bounce_type, fact.bounce_subtype) == ("Provisional", "Greylisted")
    assert fact.classification == "undetermined"
    assert fact.counts_toward_bounce_rate is False


def test_addresses_are_trimmed_and_their_domain_lowercased_keeping_the_original() -> None:
    fact = parse_one(make_bounce(["  Jane.Doe@EXAMPLE.Co.JP \n"]))
    assert fact.recipient == "  Jane.Doe@EXAMPLE.Co.JP \n"
    assert fact.address == "Jane.Doe@example.co.jp"
    assert fact.domain == "example.co.jp"


def test_the_same_address_written_differently_gets_the_same_dedup_key() -> None:
    first = parse_one(make_bounce(["jane@EXAMPLE.com"], feedback_id="fb-1"))
    second = parse_one(make_bounce([" jane@example.com"], feedback_id="fb-1"))
    assert first.dedup_key == second.dedup_key


def test_unknown_fields_at_every_level_are_ignored() -> None:
    plain = make_bounce(["a@example.com", "b@example.com"], feedback_id="fb-unknown")
    noisy = copy.deepcopy(plain)
    noisy["newTopLevel"] = {"anything": [1, 2, 3]}
    noisy["mail"]["futureField"] = None
    noisy["bounce"]["bounceSeverity"] = 7
    for recipient in noisy["bounce"]["bouncedRecipients"]:
        recipient["smtpExtendedCode"] = {"nested": True}
    assert parse_notification(noisy) == parse_notification(plain)


def test_the_same_bounce_via_feedback_and_event_publishing_has_one_dedup_key() -> None:
    feedback = make_bounce(["a@example.com"], feedback_id="fb-shared", family="feedback")
    event = make_bounce(["a@example.com"], feedback_id="fb-shared", family="event")
    assert parse_one(feedback).dedup_key == parse_one(event).dedup_key
    assert parse_one(feedback).family != parse_one(event).family


def test_events_without_a_feedback_id_are_keyed_by_message_id_and_type() -> None:
    send = parse_one(make_send(message_id="m-1"))
    delivery = parse_one(make_delivery(message_id="m-1", family="event"))
    assert send.event_key == "send:m-1"
    assert delivery.event_key == "delivery:m-1"
    assert parse_one(make_send(message_id="m-1")).dedup_key == send.dedup_key
    assert parse_one(make_send(message_id="m-2")).dedup_key != send.dedup_key


def test_two_opens_of_one_message_are_two_facts_but_a_redelivered_open_is_one() -> None:
    first = ses("ses_event_open_docs")
    again = copy.deepcopy(first)
    later = copy.deepcopy(first)
    later["open"]["timestamp"] = "2017-08-09T23:59:59.000Z"
    assert parse_one(first).dedup_key == parse_one(again).dedup_key
    assert parse_one(first).dedup_key != parse_one(later).dedup_key


def test_the_subscription_succeeded_notice_is_ignored_not_an_error() -> None:
    notice = {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "You have ..."}
    with pytest.raises(IgnoredNotification):
        parse_notification(notice)


def test_an_offset_timestamp_is_stored_as_naive_utc() -> None:
    payload = make_bounce()
    payload["bounce"]["timestamp"] = "2024-05-01T09:00:00.000+09:00"
    assert parse_one(payload).occurred_at == datetime(2024, 5, 1, 0, 0)


def test_text_no_database_can_store_is_replaced_not_fatal() -> None:
    payload = make_bounce(["a\u0000b@example.com"], diagnostic_code="550 \ud800 bad")
    fact = parse_one(payload)
    assert fact.address == "a\ufffdb@example.com"
    assert fact.diagnostic_code == "550 \ufffd bad"


def test_an_enormous_diagnostic_code_is_clipped_to_what_every_backend_stores() -> None:
    fact = parse_one(make_bounce(diagnostic_code="x" * 100_000))
    assert 1_000 < len(fact.diagnostic_code) <= 16_000


_DELETE = object()


def _changed(path: str, value: Any = _DELETE) -> dict[str, Any]:
    """A one-recipient bounce with the field at dotted `path` replaced (or deleted)."""
    payload = make_bounce(["a@example.com"])
    *parents, last = (int(k) if k.isdigit() else k for k in path.split("."))
    target: Any = payload
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return payload


def _without(path: str) -> dict[str, Any]:
    return _changed(path)


def _with(path: str, value: Any) -> dict[str, Any]:
    return _changed(path, value)


@pytest.mark.parametrize(
    ("payload", "reason", "names"),
    [
        (_without("mail"), "missing_field", "'mail'"),
        (_without("bounce"), "missing_field", "'bounce'"),
        (_without("mail.messageId"), "missing_field", "'messageId'"),
        (_without("bounce.bounceType"), "missing_field", "'bounceType'"),
        (_without("bounce.bouncedRecipients"), "missing_field", "'bouncedRecipients'"),
        (_without("bounce.bouncedRecipients.0.emailAddress"), "missing_field", "'emailAddress'"),
        (_with("bounce.bouncedRecipients", []), "missing_field", "no recipients"),
        (_with("bounce.bouncedRecipients.0.emailAddress", "   "), "missing_field", "empty"),
        (_with("mail", "not an object"), "wrong_type", "'mail'"),
        (_with("bounce.bouncedRecipients", {"emailAddress": "a@b.c"}), "wrong_type", "list"),
        (_with("bounce.bouncedRecipients.0.emailAddress", ["a@b.c"]), "wrong_type", "text"),
        (_with("bounce.bounceType", {"Permanent": True}), "wrong_type", "'bounceType'"),
        (_with("bounce.timestamp", "yesterday"), "wrong_type", "'yesterday'"),
        (_with("bounce.timestamp", "0001-01-01T00:00:00+01:00"), "wrong_type", "timestamp"),
        (_with("mail.messageId", True), "wrong_type", "'messageId'"),
        (_with("notificationType", "Bounced"), "unsupported_type", "'Bounced'"),
        (_with("bounce.bouncedRecipients.0.emailAddress", "x" * 400), "wrong_type", "longer"),
    ],
)
def test_a_missing_or_mistyped_required_field_is_an_error_naming_it(
    payload: Any, reason: str, names: str
) -> None:
    error = reason_for(payload)
    assert error.reason == reason
    assert names in str(error)


def test_a_send_without_destination_and_a_delivery_with_a_string_are_errors() -> None:
    send = make_send()
    del send["mail"]["destination"]
    assert reason_for(send).reason == "missing_field"
    delivery = make_delivery()
    delivery["delivery"]["recipients"] = "jane@example.com"
    assert reason_for(delivery).reason == "wrong_type"


@pytest.mark.parametrize("payload", [[], "Bounce", 42, None, {"Type": "Notification"}])
def test_anything_that_is_not_an_ses_notification_says_so(payload: Any) -> None:
    assert reason_for(payload).reason == "not_ses"


# --- refusing one recipient, never its co-recipients --------------------------------------


def test_a_display_name_in_the_destination_is_stored_as_the_bare_address() -> None:
    send = make_send(['"Jane Doe" <jane@example.com>', "Mary Doe <mary@example.com>"])
    facts = parse_notification(send).facts
    assert [(f.address, f.domain) for f in facts] == [
        ("jane@example.com", "example.com"),
        ("mary@example.com", "example.com"),
    ]


@pytest.mark.parametrize(
    ("bad", "code", "why"),
    [
        (12345, "wrong_type", "not int"),
        ("not-an-email", "invalid_address", "exactly one '@'"),
        ("\ud800jane@example.com", "invalid_address", "lone surrogate"),
        ("x" * 321 + "@example.com", "wrong_type", "longer than 320"),
    ],
)
def test_a_bad_recipient_is_refused_alone_and_its_co_recipients_are_facts(
    bad: Any, code: str, why: str
) -> None:
    payload = make_bounce(["a@example.com", "b@example.com"])
    payload["bounce"]["bouncedRecipients"].insert(1, {"emailAddress": bad, "status": "5.1.1"})
    parsed = parse_notification(payload)
    assert [f.address for f in parsed.facts] == ["a@example.com", "b@example.com"]
    [refusal] = parsed.refused
    assert refusal.reason_code == code
    assert refusal.reason.startswith("recipient 2 of 3: ") and why in refusal.reason


def test_cesu_bytes_for_an_address_are_refused_not_stored() -> None:
    # json.loads reads CESU-8 (UTF-8 of each surrogate half) back into surrogates.
    raw = json.dumps(make_send(["PLACEHOLDER@example.com"])).encode()
    payload = json.loads(raw.replace(b"PLACEHOLDER", b"\xed\xa0\xbd\xed\xb8\x80"))
    assert reason_for(payload).reason == "invalid_address"


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2009-12-31"])
def test_a_timestamp_outside_the_plausible_window_is_refused(when: str) -> None:
    payload = make_bounce()
    payload["bounce"]["timestamp"] = when
    error = reason_for(payload)
    assert error.reason == "implausible_time" and when in str(error)


def test_a_bounce_without_any_ses_timestamp_takes_the_sns_envelopes() -> None:
    payload = make_bounce()
    del payload["bounce"]["timestamp"], payload["mail"]["timestamp"]
    facts = parse_notification(payload, "sns-1", "2016-01-27T14:59:44.101Z").facts
    assert facts[0].occurred_at == datetime(2016, 1, 27, 14, 59, 44, 101000)
    assert reason_for(payload).reason == "missing_field"  # and without an envelope, none
