"""Rate statuses against the SES thresholds, and the headroom before each one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.policy import BOUNCE_PAUSE, BOUNCE_REVIEW
from core.reports.rates import RateStatus, bounce_status, complaint_status, headroom, rate


def test_exactly_five_percent_bounces_is_under_review() -> None:
    assert bounce_status(5 / 100) is RateStatus.REVIEW
    assert bounce_status(0.05) is RateStatus.REVIEW


def test_just_under_five_percent_bounces_is_healthy() -> None:
    assert bounce_status(499 / 10_000) is RateStatus.HEALTHY


def test_exactly_ten_percent_bounces_is_at_risk_of_pause() -> None:
    assert bounce_status(10 / 100) is RateStatus.PAUSE
    assert bounce_status(999 / 10_000) is RateStatus.REVIEW


def test_complaint_thresholds_are_a_tenth_and_half_a_percent() -> None:
    assert complaint_status(0.00099) is RateStatus.HEALTHY
    assert complaint_status(1 / 1000) is RateStatus.REVIEW
    assert complaint_status(5 / 1000) is RateStatus.PAUSE


def test_a_missing_rate_is_no_data_rather_than_healthy() -> None:
    assert bounce_status(None) is RateStatus.UNKNOWN
    assert complaint_status(float("nan")) is RateStatus.UNKNOWN
    assert rate(3, 0) is None


def test_headroom_is_the_number_of_bounces_that_reach_the_threshold() -> None:
    assert headroom(100, 0, BOUNCE_REVIEW) == 5  # not 6: 0.05 * 100 is not exact in floats
    assert headroom(100, 3, BOUNCE_REVIEW) == 2
    assert headroom(1000, 12, BOUNCE_PAUSE) == 88
    assert headroom(30, 0, BOUNCE_REVIEW) == 2  # 2 of 30 is 6.7 %, 1 of 30 only 3.3 %


def test_headroom_is_zero_at_or_over_the_threshold_and_without_sends() -> None:
    assert headroom(100, 5, BOUNCE_REVIEW) == 0
    assert headroom(100, 40, BOUNCE_PAUSE) == 0
    assert headroom(0, 0, BOUNCE_REVIEW) == 0


@given(sends=st.integers(1, 10_000_000), share=st.floats(0, 0.2))
def test_adding_the_headroom_reaches_review_and_one_less_does_not(sends: int, share: float) -> None:
    bounces = int(sends * share)
    room = headroom(sends, bounces, BOUNCE_REVIEW)
    assert bounce_status((bounces + room) / sends) is not RateStatus.HEALTHY
    if room > 0:
        assert bounce_status((bounces + room - 1) / sends) is RateStatus.HEALTHY
