"""SNS signature verification against real signed messages and AWS's own signing certificates.

The signed messages and certificates are read from ../shared/samples, never copied into the
project (see its SOURCES.md). Every certificate there has expired, which is why validity is
judged at each message's Timestamp rather than by the real clock.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ingest import signatures as sns_signature
from core.ingest.signatures import (
    REASON_BAD_TIMESTAMP,
    REASON_CERT_HOST_UNTRUSTED,
    REASON_CERT_NOT_VALID_AT_TIMESTAMP,
    REASON_CERT_TOO_LARGE,
    REASON_CERT_UNAVAILABLE,
    REASON_CERT_URL_NOT_HTTPS,
    REASON_MESSAGE_TOO_OLD,
    REASON_MISSING_FIELD,
    REASON_SIGNATURE_MISMATCH,
    REASON_UNSUPPORTED_VERSION,
    CertificateSource,
    SignatureError,
    string_to_sign,
    verify_sns_message,
)
from tests.conftest import require_shared

FIXTURES = require_shared()  # skips this module, saying so, where ../shared is absent
SIGNED_SAMPLES = sorted(FIXTURES.glob("sns_real_signed_*.json"))
ALL_REASONS = {value for name, value in vars(sns_signature).items() if name.startswith("REASON_")}
CERT_2016_2017 = "SimpleNotificationService-b95095beb82e8f6a046b3aafc7f4149a.pem"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def cert_url(message: dict[str, Any]) -> str:
    url: str = message.get("SigningCertURL") or message["SigningCertUrl"]
    return url


def sent_at(message: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(message["Timestamp"])


def reason_for(message: Any, certificates: CertificateSource, **options: Any) -> str:
    with pytest.raises(SignatureError) as caught:
        verify_sns_message(message, certificates, **options)
    assert str(caught.value), "operators need a sentence, not an empty error"
    return caught.value.reason


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample PEMs, named as the last segment of the SigningCertURL that points at them."""
    directory = tmp_path_factory.mktemp("sns-certs")
    for pem in FIXTURES.glob("sns_signing_cert_*.pem"):
        digest = pem.name.split("_")[3]
        shutil.copy(pem, directory / f"SimpleNotificationService-{digest}.pem")
    return directory


@pytest.fixture(scope="module")
def certificates(cert_dir: Path) -> CertificateSource:
    return CertificateSource(cert_dir=cert_dir)


@dataclass
class FakeResponse:
    status_code: int
    content: bytes
    read: int = 0
    closed: bool = False

    def iter_content(self, chunk_size: int = 1) -> Any:
        for start in range(0, len(self.content), chunk_size):
            self.read = start + chunk_size
            yield self.content[start : start + chunk_size]

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeSession:
    """Stands in for requests.Session: serves one body for every URL and records each call."""

    response: FakeResponse | None = None
    error: Exception | None = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def get(self, url: str, **options: Any) -> FakeResponse:
        self.calls.append((url, options))
        if self.error is not None:
            raise self.error
        assert self.response is not None
        return self.response


def pem_session(digest: str = "7ff5318490ec183fbaddaa2a969abfda") -> FakeSession:
    (pem,) = FIXTURES.glob(f"sns_signing_cert_{digest}_*.pem")
    return FakeSession(FakeResponse(200, pem.read_bytes()))


# --- genuine messages ---------------------------------------------------------------------


@pytest.mark.parametrize("sample", SIGNED_SAMPLES, ids=lambda path: path.stem)
def test_every_real_signed_sample_verifies(sample: Path, certificates: CertificateSource) -> None:
    verify_sns_message(json.loads(sample.read_text()), certificates)


def test_the_samples_cover_both_versions_every_message_type_and_the_lambda_form() -> None:
    messages = [json.loads(path.read_text()) for path in SIGNED_SAMPLES]
    assert {m["SignatureVersion"] for m in messages} == {"1", "2"}
    assert {m["Type"] for m in messages} == {
        "Notification",
        "SubscriptionConfirmation",
        "UnsubscribeConfirmation",
    }
    assert any("SigningCertUrl" in m and m["Subject"] is None for m in messages)


def test_a_real_ses_bounce_verifies_without_a_max_age_however_old_it_is(
    certificates: CertificateSource,
) -> None:
    bounce = load(
        "sns_real_signed_ses_feedback_bounce_permanent_general_simulator_sigv1_2022_djangoses"
    )
    assert json.loads(bounce["Message"])["notificationType"] == "Bounce"
    far_future = datetime.fromisoformat("2099-01-01T00:00:00Z")
    verify_sns_message(bounce, certificates, max_age=None, now=far_future)


# --- string to sign -------------------------------------------------------------------------


def test_string_to_sign_lists_signed_keys_in_order_and_leaves_out_unsigned_ones() -> None:
    message = load("sns_real_signed_notification_sigv1_subject_2017")
    assert string_to_sign(message) == (
        b"Message\nA message\n"
        b"MessageId\n9438aee6-d476-5e20-ba25-ff24bf09d6ce\n"
        b"Subject\nA subject\n"
        b"Timestamp\n2017-06-20T00:15:59.380Z\n"
        b"TopicArn\narn:aws:sns:us-west-2:604091128280:testing1\n"
        b"Type\nNotification\n"
    )


def test_string_to_sign_skips_a_null_subject_as_lambda_sends_it() -> None:
    lambda_form = load("sns_real_signed_lambda_style_sigv2_subject_null_2022")
    assert b"Subject" not in string_to_sign(lambda_form)


def test_a_confirmation_in_lambda_spelling_is_signed_under_the_http_key_names(
    certificates: CertificateSource,
) -> None:
    http_form = load("sns_real_signed_unsubscribe_confirmation_sigv2_2026_javasdk")
    lambda_form = dict(http_form)
    lambda_form["SubscribeUrl"] = lambda_form.pop("SubscribeURL")
    lambda_form["SigningCertUrl"] = lambda_form.pop("SigningCertURL")
    assert string_to_sign(lambda_form) == string_to_sign(http_form)
    assert b"SubscribeURL\nhttps://" in string_to_sign(lambda_form)
    verify_sns_message(lambda_form, certificates)


def test_string_to_sign_refuses_a_type_sns_does_not_sign() -> None:
    message = load("sns_real_signed_notification_sigv1_subject_2017") | {"Type": "Surprise"}
    with pytest.raises(SignatureError) as caught:
        string_to_sign(message)
    assert caught.value.reason == REASON_MISSING_FIELD


# --- tampering --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "sns_real_signed_ses_event_complaint_simulator_sigv1_2022_djangoses",
        "sns_real_signed_notification_sigv2_subject_2022",
    ],
)
def test_one_changed_byte_in_the_message_breaks_the_signature(
    name: str, certificates: CertificateSource
) -> None:
    message = load(name)
    text = message["Message"]
    message["Message"] = text[:10] + chr(ord(text[10]) ^ 1) + text[11:]
    assert reason_for(message, certificates) == REASON_SIGNATURE_MISMATCH


def test_a_v2_signature_relabelled_as_v1_does_not_verify(certificates: CertificateSource) -> None:
    message = load("sns_real_signed_notification_sigv2_subject_2022") | {"SignatureVersion": "1"}
    assert reason_for(message, certificates) == REASON_SIGNATURE_MISMATCH


def test_a_signature_that_is_not_base64_is_a_mismatch(certificates: CertificateSource) -> None:
    message = load("sns_real_signed_notification_sigv1_subject_2022") | {"Signature": "not*base64"}
    assert reason_for(message, certificates) == REASON_SIGNATURE_MISMATCH


# --- certificate URL ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-x.pem",
        "https://evil.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem",
        "https://sns.amazonaws.com/SimpleNotificationService-x.pem",
        "https://s3.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-x.txt",
        "https://evil.com@sns.us-east-2.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.us-east-2.amazonaws.com:8443/SimpleNotificationService-x.pem",
        # S3-shaped hosts: a bucket named "sns" is anyone's to create.
        "https://sns.s3.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.s3-us-west-2.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.s3.us-west-2.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.s3-external-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.s3.amazonaws.com.cn/SimpleNotificationService-x.pem",
    ],
)
def test_a_certificate_url_off_the_sns_hosts_is_refused_before_any_fetch(url: str) -> None:
    session = pem_session()
    message = load("sns_real_signed_notification_sigv1_subject_2022") | {"SigningCertURL": url}
    assert reason_for(message, CertificateSource(session=session)) == REASON_CERT_HOST_UNTRUSTED
    assert session.calls == []


def test_a_plain_http_certificate_url_is_refused(certificates: CertificateSource) -> None:
    message = load("sns_real_signed_notification_sigv1_subject_2022")
    message["SigningCertURL"] = message["SigningCertURL"].replace("https://", "http://")
    assert reason_for(message, certificates) == REASON_CERT_URL_NOT_HTTPS


def test_a_china_region_certificate_host_is_trusted() -> None:
    session = pem_session()
    message = load("sns_real_signed_notification_sigv1_subject_2022")
    message["SigningCertURL"] = message["SigningCertURL"].replace(
        "sns.us-east-2.amazonaws.com", "sns.cn-north-1.amazonaws.com.cn"
    )
    verify_sns_message(message, CertificateSource(session=session))
    assert len(session.calls) == 1


# --- versions, fields, timestamps ----------------------------------------------------------------


@pytest.mark.parametrize("version", ["3", "", 1, ["1"]])
def test_a_signature_version_other_than_1_or_2_is_refused(
    version: object, certificates: CertificateSource
) -> None:
    message = load("sns_real_signed_notification_sigv2_subject_2022") | {
        "SignatureVersion": version
    }
    assert reason_for(message, certificates) == REASON_UNSUPPORTED_VERSION


@pytest.mark.parametrize(
    "key",
    ["Signature", "SigningCertURL", "SignatureVersion", "Message", "MessageId", "Timestamp"]
    + ["TopicArn", "Type", "Token", "SubscribeURL"],
)
def test_a_confirmation_missing_a_required_key_is_refused(
    key: str, certificates: CertificateSource
) -> None:
    message = load("sns_real_signed_subscription_confirmation_sigv1_2026_javasdk")
    del message[key]
    assert reason_for(message, certificates) == REASON_MISSING_FIELD


@pytest.mark.parametrize("key", ["Signature", "SigningCertURL", "Message", "Timestamp"])
def test_a_field_of_the_wrong_type_is_a_signature_error(
    key: str, certificates: CertificateSource
) -> None:
    message = load("sns_real_signed_notification_sigv1_subject_2022") | {key: 12345}
    assert reason_for(message, certificates) == REASON_MISSING_FIELD


def test_a_message_that_is_not_an_object_is_a_signature_error(
    certificates: CertificateSource,
) -> None:
    assert reason_for(["not", "an", "envelope"], certificates) == REASON_MISSING_FIELD


@pytest.mark.parametrize("timestamp", ["yesterday", "2022-07-28T21:23:58.317"])
def test_an_unreadable_or_zoneless_timestamp_is_refused(
    timestamp: str, certificates: CertificateSource
) -> None:
    message = load("sns_real_signed_notification_sigv1_nosubject_2022") | {"Timestamp": timestamp}
    assert reason_for(message, certificates) == REASON_BAD_TIMESTAMP


def test_a_certificate_not_valid_at_the_timestamp_fails_before_the_signature_is_checked(
    certificates: CertificateSource,
) -> None:
    # Moving the Timestamp also breaks the signature, so only a validity check that runs
    # first can produce this reason.
    message = load("sns_real_signed_notification_sigv1_subject_2017")
    message["Timestamp"] = "2030-06-20T00:15:59.380Z"
    assert reason_for(message, certificates) == REASON_CERT_NOT_VALID_AT_TIMESTAMP


def test_a_genuine_message_pointed_at_an_expired_certificate_is_refused(
    certificates: CertificateSource,
) -> None:
    # SigningCertURL is not signed, so an attacker can repoint it; the 2016-2017 certificate
    # must not vouch for a 2026 message.
    message = load("sns_real_signed_notification_sigv2_nosubject_2026_javasdk")
    message["SigningCertURL"] = f"https://sns.us-west-2.amazonaws.com/{CERT_2016_2017}"
    assert reason_for(message, certificates) == REASON_CERT_NOT_VALID_AT_TIMESTAMP


def test_max_age_rejects_a_message_older_than_allowed(certificates: CertificateSource) -> None:
    message = load("sns_real_signed_notification_sigv1_subject_2022")
    later = sent_at(message) + timedelta(hours=2)
    reason = reason_for(message, certificates, max_age=timedelta(hours=1), now=later)
    assert reason == REASON_MESSAGE_TOO_OLD


def test_max_age_accepts_a_message_within_the_window(certificates: CertificateSource) -> None:
    message = load("sns_real_signed_notification_sigv1_subject_2022")
    later = sent_at(message) + timedelta(minutes=59)
    verify_sns_message(message, certificates, max_age=timedelta(hours=1), now=later)


def test_max_age_uses_the_real_clock_when_now_is_not_given(
    certificates: CertificateSource,
) -> None:
    message = load("sns_real_signed_notification_sigv1_subject_2022")
    reason = reason_for(message, certificates, max_age=timedelta(days=1))
    assert reason == REASON_MESSAGE_TOO_OLD


# --- certificate source -----------------------------------------------------------------------


def test_a_certificate_missing_from_the_cert_dir_is_unavailable(tmp_path: Path) -> None:
    message = load("sns_real_signed_notification_sigv1_subject_2022")
    assert reason_for(message, CertificateSource(cert_dir=tmp_path)) == REASON_CERT_UNAVAILABLE


def test_a_cert_dir_that_does_not_exist_is_refused_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        CertificateSource(cert_dir=tmp_path / "missing")


def test_a_certificate_is_fetched_once_over_https_for_messages_sharing_its_url() -> None:
    first = load("sns_real_signed_notification_sigv1_nosubject_2022")
    second = load("sns_real_signed_notification_sigv2_subject_2022")
    assert cert_url(first) == cert_url(second)
    session = pem_session()
    source = CertificateSource(session=session, timeout=2.5)
    verify_sns_message(first, source)
    verify_sns_message(second, source)
    assert session.calls == [
        (cert_url(first), {"timeout": 2.5, "allow_redirects": False, "stream": True})
    ]


@pytest.mark.parametrize(
    "host",
    ["sns.us-gov-west-1.amazonaws.com", "sns.ap-southeast-4.amazonaws.com"]
    + ["sns.cn-northwest-1.amazonaws.com.cn", "sns.us-isob-east-1.amazonaws.com"],
)
def test_a_certificate_host_named_after_any_region_is_trusted(host: str) -> None:
    session = pem_session()
    message = load("sns_real_signed_notification_sigv1_subject_2022")
    message["SigningCertURL"] = message["SigningCertURL"].replace(
        "sns.us-east-2.amazonaws.com", host
    )
    verify_sns_message(message, CertificateSource(session=session))
    assert len(session.calls) == 1


def test_a_certificate_download_is_cut_off_past_64_kib_with_its_own_reason() -> None:
    response = FakeResponse(200, b"-----BEGIN CERTIFICATE-----" + b"A" * (10 * 1024 * 1024))
    message = load("sns_real_signed_notification_sigv1_subject_2022")
    source = CertificateSource(session=FakeSession(response))
    assert reason_for(message, source) == REASON_CERT_TOO_LARGE
    assert response.read <= sns_signature.MAX_CERT_BYTES + 8192
    assert response.closed


@pytest.mark.parametrize(
    "session",
    [
        FakeSession(FakeResponse(302, b"")),
        FakeSession(FakeResponse(404, b"Not Found")),
        FakeSession(FakeResponse(200, b"<html>captive portal</html>")),
        FakeSession(error=requests.ConnectionError("network unreachable")),
        FakeSession(error=requests.Timeout("read timed out")),
    ],
    ids=["redirect", "not-found", "not-pem", "connection-error", "timeout"],
)
def test_a_failed_download_is_unavailable_and_not_cached(session: FakeSession) -> None:
    message = load("sns_real_signed_notification_sigv1_subject_2022")
    source = CertificateSource(session=session)
    assert reason_for(message, source) == REASON_CERT_UNAVAILABLE
    assert reason_for(message, source) == REASON_CERT_UNAVAILABLE
    assert len(session.calls) == 2


def test_the_cache_keeps_the_32_most_recently_used_certificates() -> None:
    session = pem_session()
    source = CertificateSource(session=session)
    urls = [f"https://sns.us-east-1.amazonaws.com/cert-{i}.pem" for i in range(33)]
    for url in urls:
        source.certificate_for(url)
    source.certificate_for(urls[-1])
    assert len(session.calls) == 33
    source.certificate_for(urls[0])
    assert len(session.calls) == 34


# --- property: bad input only ever raises SignatureError ------------------------------------------

KNOWN_KEYS = [
    "Type",
    "MessageId",
    "TopicArn",
    "Subject",
    "Message",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
    "SigningCertUrl",
    "SubscribeURL",
    "SubscribeUrl",
    "Token",
    "UnsubscribeURL",
]
PLAUSIBLE_TEXT = st.sampled_from(
    [
        "1",
        "2",
        "Notification",
        "SubscriptionConfirmation",
        "2022-07-28T21:24:08.324Z",
        "0001-01-01T00:00:00+14:00",
        "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem",
        f"https://sns.us-west-2.amazonaws.com/{CERT_2016_2017}",
        "https://sns.us-east-2.amazonaws.com/../../etc/passwd.pem",
        "https://sns.us-east-2.amazonaws.com/%00.pem",
        "https://sns.us-east-2.amazonaws.com/\ud800.pem",
        "https://[::1/x.pem",
    ]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | PLAUSIBLE_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=4,
)
SAMPLE_MESSAGES = [json.loads(path.read_text()) for path in SIGNED_SAMPLES]


def assert_only_signature_errors(message: Any, certificates: CertificateSource) -> None:
    try:
        verify_sns_message(message, certificates)
    except SignatureError as error:
        assert error.reason in ALL_REASONS
        assert str(error)


@settings(max_examples=300, deadline=None)
@given(message=st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(), JSON_VALUES))
def test_random_envelopes_only_ever_raise_signature_error(
    message: dict[str, Any], certificates: CertificateSource
) -> None:
    assert_only_signature_errors(message, certificates)


@settings(max_examples=300, deadline=None)
@given(
    original=st.sampled_from(SAMPLE_MESSAGES),
    changes=st.dictionaries(st.sampled_from(KNOWN_KEYS), JSON_VALUES | st.just(...), max_size=3),
)
def test_mutated_real_messages_only_ever_raise_signature_error(
    original: dict[str, Any], changes: dict[str, Any], certificates: CertificateSource
) -> None:
    message = dict(original)
    for key, value in changes.items():
        if value is ...:
            message.pop(key, None)
        else:
            message[key] = value
    assert_only_signature_errors(message, certificates)
