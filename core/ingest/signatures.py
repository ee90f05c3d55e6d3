"""Verify that an SNS message was really signed by Amazon SNS.

Anyone can POST JSON to our endpoint, so nothing an SNS envelope says is trusted until its
signature checks out against an SNS signing certificate. The checks run cheapest and safest
first: the certificate URL is vetted before anything is fetched, and the certificate's
validity is judged at the message's own `Timestamp`, so archived messages stay verifiable.
"""

from __future__ import annotations

import base64
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

REASON_MISSING_FIELD = "missing_field"
REASON_UNSUPPORTED_VERSION = "unsupported_signature_version"
REASON_CERT_URL_NOT_HTTPS = "cert_url_not_https"
REASON_CERT_HOST_UNTRUSTED = "cert_host_untrusted"
REASON_CERT_UNAVAILABLE = "cert_unavailable"
REASON_CERT_TOO_LARGE = "cert_too_large"
REASON_CERT_NOT_VALID_AT_TIMESTAMP = "cert_not_valid_at_timestamp"
REASON_MESSAGE_TOO_OLD = "message_too_old"
REASON_BAD_TIMESTAMP = "bad_timestamp"
REASON_SIGNATURE_MISMATCH = "signature_mismatch"

# sns.<region>.amazonaws.com[.cn] with a region-shaped label (us-east-1, us-gov-west-1,
# cn-north-1): AWS's validators allow any label there, which lets `sns.s3.amazonaws.com` (an S3
# bucket named "sns") and `sns.s3-us-west-2.amazonaws.com` through. fullmatch, not `$`: `$`
# would also accept a host followed by a newline.
_TRUSTED_HOST = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}\.amazonaws\.com(?:\.cn)?")
# An SNS signing certificate is under 2 KiB; a larger download is not one, so stop reading.
MAX_CERT_BYTES = 64 * 1024

_NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_KEYS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
_SIGNED_KEYS = {
    "Notification": _NOTIFICATION_KEYS,
    "SubscriptionConfirmation": _CONFIRMATION_KEYS,
    "UnsubscribeConfirmation": _CONFIRMATION_KEYS,
}
# Only Subject may be absent; every other signed key is part of every message of its type.
_OPTIONAL_KEYS = frozenset({"Subject"})
# SNS-triggered Lambdas spell some keys differently; the signature uses the HTTP spelling.
_LAMBDA_SPELLINGS = {
    "SigningCertURL": "SigningCertUrl",
    "SubscribeURL": "SubscribeUrl",
    "UnsubscribeURL": "UnsubscribeUrl",
}
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "1": hashes.SHA1,
    "2": hashes.SHA256,
}
_CACHE_SIZE = 32


class SignatureError(Exception):
    """An SNS message failed verification.

    `reason` is one of the REASON_* codes, stable enough to count and alert on;
    str(error) is a sentence for operators.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class CertificateSource:
    """Fetches SNS signing certificates, from a local directory or over HTTPS, and caches them.

    SNS signs with a handful of certificates, so a small per-URL cache saves one HTTPS round
    trip per message. A `cert_dir` serves air-gapped sites and tests: it never touches the network.
    """

    def __init__(
        self,
        cert_dir: str | Path | None = None,
        *,
        timeout: float = 5.0,
        session: requests.Session | None = None,
    ) -> None:
        self._cert_dir = Path(cert_dir) if cert_dir is not None else None
        if self._cert_dir is not None and not self._cert_dir.is_dir():
            raise ValueError(f"certificate directory {self._cert_dir} does not exist")
        self._timeout = timeout
        # Module-level requests.get opens a fresh session per call, which is thread-safe.
        self._get: Callable[..., requests.Response] = (
            session.get if session is not None else requests.get
        )
        self._cache: OrderedDict[str, x509.Certificate] = OrderedDict()
        self._lock = threading.Lock()

    def certificate_for(self, url: str) -> x509.Certificate:
        """Return the certificate at `url`, which the caller has vetted; else cert_unavailable."""
        with self._lock:
            if url in self._cache:
                self._cache.move_to_end(url)
                return self._cache[url]
        # Fetched outside the lock so one slow download does not stall cached lookups;
        # two threads may both fetch a new URL, which is harmless.
        pem = self._read_local(url) if self._cert_dir is not None else self._download(url)
        certificate = _parse_pem(pem, url)
        with self._lock:
            self._cache[url] = certificate
            self._cache.move_to_end(url)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return certificate

    def _read_local(self, url: str) -> bytes:
        assert self._cert_dir is not None
        name = urlsplit(url).path.rsplit("/", 1)[-1]
        if not name or name.startswith(".") or Path(name).name != name:
            raise SignatureError(REASON_CERT_UNAVAILABLE, f"no usable file name in {url!r}")
        try:
            return (self._cert_dir / name).read_bytes()
        except (OSError, ValueError) as exc:
            raise SignatureError(
                REASON_CERT_UNAVAILABLE, f"certificate {name} is not in {self._cert_dir}: {exc}"
            ) from exc

    def _download(self, url: str) -> bytes:
        try:
            # No redirects: the vetted URL must serve the certificate itself. Streamed, so
            # that no more than MAX_CERT_BYTES is ever read, whatever the server sends.
            response = self._get(url, timeout=self._timeout, allow_redirects=False, stream=True)
            try:
                if response.status_code != 200:
                    raise SignatureError(
                        REASON_CERT_UNAVAILABLE,
                        f"fetching certificate {url} returned HTTP {response.status_code}",
                    )
                return _read_capped(response, url)
            finally:
                response.close()
        except (requests.RequestException, ValueError) as exc:
            raise SignatureError(
                REASON_CERT_UNAVAILABLE, f"could not fetch certificate {url}: {exc}"
            ) from exc


def _read_capped(response: requests.Response, url: str) -> bytes:
    """The body, or SignatureError(cert_too_large) once it passes MAX_CERT_BYTES."""
    body = bytearray()
    for chunk in response.iter_content(chunk_size=8192):
        body += chunk
        if len(body) > MAX_CERT_BYTES:
            raise SignatureError(
                REASON_CERT_TOO_LARGE,
                f"certificate {url} is over {MAX_CERT_BYTES} bytes: not an SNS certificate",
            )
    return bytes(body)


def _parse_pem(pem: bytes, url: str) -> x509.Certificate:
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise SignatureError(
            REASON_CERT_UNAVAILABLE, f"certificate {url} is not a PEM certificate"
        ) from exc
    if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
        raise SignatureError(REASON_CERT_UNAVAILABLE, f"certificate {url} does not hold an RSA key")
    return certificate


def _field(message: Mapping[str, Any], key: str) -> Any:
    """Value of `key` in either the HTTP or the Lambda spelling; None when absent or null."""
    value = message.get(key)
    if value is None and key in _LAMBDA_SPELLINGS:
        value = message.get(_LAMBDA_SPELLINGS[key])
    return value


def _required_text(message: Mapping[str, Any], key: str) -> str:
    value = _field(message, key)
    if not isinstance(value, str):
        found = "absent" if value is None else f"a {type(value).__name__}, not text"
        raise SignatureError(REASON_MISSING_FIELD, f"the SNS message's {key} is {found}")
    return value


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """Rebuild the bytes SNS signed: `Key\\nValue\\n` for each signed key of the message's Type.

    Absent and null keys are skipped (Lambda sends `"Subject": null`); Lambda spellings such as
    `SubscribeUrl` are accepted and signed under their HTTP names. Raises SignatureError
    (missing_field) for an unknown Type or a signed value that is not text.
    """
    kind = _field(message, "Type")
    if not isinstance(kind, str) or kind not in _SIGNED_KEYS:
        raise SignatureError(
            REASON_MISSING_FIELD,
            f"the SNS message's Type {kind!r} is not one SNS signs "
            "(Notification, SubscriptionConfirmation, UnsubscribeConfirmation)",
        )
    parts: list[str] = []
    for key in _SIGNED_KEYS[kind]:
        if _field(message, key) is not None:
            parts.append(f"{key}\n{_required_text(message, key)}\n")
    # surrogatepass: text no signer could have produced then simply fails to verify.
    return "".join(parts).encode("utf-8", "surrogatepass")


def _require_signed_keys(message: Mapping[str, Any]) -> None:
    """Refuse a message lacking a key its Type always carries, rather than verify less of it."""
    for key in _SIGNED_KEYS[_required_text(message, "Type")]:
        if key not in _OPTIONAL_KEYS:
            _required_text(message, key)


def _check_cert_url(url: str) -> None:
    """Refuse any certificate URL that is not an SNS endpoint, before anything is fetched."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SignatureError(REASON_CERT_HOST_UNTRUSTED, f"{url!r} is not a valid URL") from exc
    if parts.scheme.lower() != "https":
        raise SignatureError(REASON_CERT_URL_NOT_HTTPS, f"certificate URL {url!r} is not https")
    trusted = (
        parts.hostname is not None
        and _TRUSTED_HOST.fullmatch(parts.hostname) is not None
        and parts.username is None
        and port in (None, 443)
        and parts.path.endswith(".pem")
    )
    if not trusted:
        raise SignatureError(
            REASON_CERT_HOST_UNTRUSTED,
            f"certificate URL {url!r} is not a .pem file on an sns.<region>.amazonaws.com host",
        )


def _parse_timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SignatureError(REASON_BAD_TIMESTAMP, f"Timestamp {text!r} is not ISO 8601") from exc
    if moment.tzinfo is None:
        raise SignatureError(REASON_BAD_TIMESTAMP, f"Timestamp {text!r} has no time zone")
    return moment


def _check_age(sent: datetime, max_age: timedelta | None, now: datetime | None) -> None:
    if max_age is None:
        return
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if now - sent > max_age:
        raise SignatureError(
            REASON_MESSAGE_TOO_OLD,
            f"message sent {sent.isoformat()} is older than the allowed {max_age}",
        )


def _check_validity(certificate: x509.Certificate, sent: datetime) -> None:
    """The certificate must have been valid when SNS signed, whatever today's date is."""
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if not start <= sent <= end:
        raise SignatureError(
            REASON_CERT_NOT_VALID_AT_TIMESTAMP,
            f"signing certificate was valid {start.isoformat()} to {end.isoformat()}, "
            f"not at the message's Timestamp {sent.isoformat()}",
        )


def _check_signature(
    certificate: x509.Certificate, signature: str, data: bytes, version: str
) -> None:
    try:
        raw = base64.b64decode(signature, validate=True)
    except ValueError as exc:
        raise SignatureError(REASON_SIGNATURE_MISMATCH, "Signature is not valid base64") from exc
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)  # _parse_pem admits RSA keys only
    try:
        key.verify(raw, data, padding.PKCS1v15(), _HASHES[version]())
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError(
            REASON_SIGNATURE_MISMATCH, "Signature does not match the message's signed fields"
        ) from exc


def verify_sns_message(
    message: Mapping[str, Any],
    certificates: CertificateSource,
    *,
    max_age: timedelta | None = None,
    now: datetime | None = None,
) -> None:
    """Raise SignatureError unless `message` is genuinely signed by SNS.

    `message` is an SNS envelope as a dict, in HTTP form or Lambda `Records[].Sns` form.
    `max_age` (off when None) rejects replays of old messages, measured from `now`
    (default: the current UTC time; a naive `now` is read as UTC).
    """
    if not isinstance(message, Mapping):
        raise SignatureError(REASON_MISSING_FIELD, "an SNS message must be a JSON object")
    version = _field(message, "SignatureVersion")
    if version is None:
        raise SignatureError(REASON_MISSING_FIELD, "the SNS message's SignatureVersion is absent")
    if not isinstance(version, str) or version not in _HASHES:
        raise SignatureError(REASON_UNSUPPORTED_VERSION, f"SignatureVersion {version!r} is unknown")
    signature = _required_text(message, "Signature")
    cert_url = _required_text(message, "SigningCertURL")
    _check_cert_url(cert_url)
    data = string_to_sign(message)
    _require_signed_keys(message)
    sent = _parse_timestamp(_required_text(message, "Timestamp"))
    _check_age(sent, max_age, now)
    certificate = certificates.certificate_for(cert_url)
    _check_validity(certificate, sent)
    _check_signature(certificate, signature, data, version)
