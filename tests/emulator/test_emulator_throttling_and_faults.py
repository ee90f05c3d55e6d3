"""Request-rate limiting, injected faults and the admin endpoints."""

from __future__ import annotations

import time
from typing import Any

import pytest

from emulator.admin_client import AdminError
from emulator.controls import FaultRule, TokenBucket
from emulator.launch import EmulatorHandle


def test_calls_above_the_configured_rate_get_too_many_requests(
    clean: EmulatorHandle, sesv2: Any
) -> None:
    clean.admin.set_request_rate(2.0)
    sesv2.list_suppressed_destinations()
    sesv2.list_suppressed_destinations()
    with pytest.raises(sesv2.exceptions.TooManyRequestsException) as raised:
        sesv2.list_suppressed_destinations()
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    time.sleep(0.6)
    sesv2.list_suppressed_destinations()


def test_botocore_retries_a_throttled_call_until_it_passes(clean: EmulatorHandle) -> None:
    clean.admin.set_request_rate(5.0)
    patient = clean.client("sesv2", retries=5)
    for _ in range(8):
        patient.list_suppressed_destinations()


def test_get_account_is_not_throttled(clean: EmulatorHandle, sesv2: Any) -> None:
    clean.state.set_request_rate(1.0)
    for _ in range(5):
        assert sesv2.get_account()["SendingEnabled"] is True


def test_a_throttled_delete_changes_nothing(clean: EmulatorHandle, sesv2: Any) -> None:
    clean.state.put_suppressed("keep@example.com")
    clean.state.set_request_rate(1.0)
    sesv2.get_suppressed_destination(EmailAddress="keep@example.com")
    with pytest.raises(sesv2.exceptions.TooManyRequestsException):
        sesv2.delete_suppressed_destination(EmailAddress="keep@example.com")
    assert clean.state.get_suppressed("keep@example.com") is not None


def test_the_token_bucket_refills_at_the_configured_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(2.0, clock=lambda: now[0])
    assert [bucket.try_acquire() for _ in range(3)] == [True, True, False]
    now[0] += 0.5
    assert bucket.try_acquire() is True
    assert bucket.try_acquire() is False


def test_the_next_n_deletes_fail_with_the_injected_status(
    clean: EmulatorHandle, sesv2: Any
) -> None:
    for name in ("a", "b", "c"):
        clean.state.put_suppressed(f"{name}@example.com")
    clean.admin.add_fault("DeleteSuppressedDestination", status=500, count=2)
    for name in ("a", "b"):
        with pytest.raises(sesv2.exceptions.ClientError) as raised:
            sesv2.delete_suppressed_destination(EmailAddress=f"{name}@example.com")
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    sesv2.delete_suppressed_destination(EmailAddress="c@example.com")
    assert clean.state.get_suppressed("a@example.com") is not None
    assert clean.state.get_suppressed("c@example.com") is None
    assert clean.admin.state()["faults"] == []


def test_a_fault_for_one_address_leaves_the_others_alone(clean: EmulatorHandle, sesv2: Any) -> None:
    for name in ("good", "bad"):
        clean.state.put_suppressed(f"{name}@example.com")
    clean.admin.add_fault(
        "DeleteSuppressedDestination", status=429, email_address="BAD@example.com"
    )
    sesv2.delete_suppressed_destination(EmailAddress="good@example.com")
    with pytest.raises(sesv2.exceptions.TooManyRequestsException):
        sesv2.delete_suppressed_destination(EmailAddress="bad@example.com")
    sesv2.delete_suppressed_destination(EmailAddress="bad@example.com")


def test_an_injected_fault_can_carry_a_message(clean: EmulatorHandle, sesv2: Any) -> None:
    clean.state.add_fault(FaultRule("GetAccount", status=503, message="maintenance"))
    with pytest.raises(sesv2.exceptions.ClientError) as raised:
        sesv2.get_account()
    assert raised.value.response["Error"] == {
        "Code": "ServiceUnavailable",
        "Message": "maintenance",
    }


def test_admin_rejects_a_fault_with_an_unsupported_status(clean: EmulatorHandle) -> None:
    with pytest.raises(AdminError, match="400"):
        clean.admin.add_fault("DeleteSuppressedDestination", status=418)


def test_admin_reset_empties_the_list_and_clears_faults(clean: EmulatorHandle) -> None:
    clean.admin.put_suppressed([{"EmailAddress": "x@example.com", "Reason": "COMPLAINT"}])
    clean.admin.add_fault("*", status=500, count=3)
    state = clean.admin.state()
    assert state["suppressed"] == {"total": 1, "BOUNCE": 0, "COMPLAINT": 1}
    assert len(state["faults"]) == 1
    clean.admin.reset()
    assert clean.admin.state()["suppressed"]["total"] == 0
    assert clean.admin.state()["faults"] == []


def test_admin_can_put_the_account_under_review(clean: EmulatorHandle, sesv2: Any) -> None:
    clean.admin.set_account(EnforcementStatus="PROBATION", SendingEnabled=False)
    account = sesv2.get_account()
    assert (account["EnforcementStatus"], account["SendingEnabled"]) == ("PROBATION", False)


def test_an_unknown_admin_path_is_a_404(clean: EmulatorHandle) -> None:
    with pytest.raises(AdminError, match="404"):
        clean.admin._call("GET", "nothing-here")
