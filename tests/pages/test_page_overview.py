"""Overview: rates against the SES thresholds, account status, headroom, breakdowns."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from factories import ingest, make_bounce, make_complaint, make_send
from pagekit import assert_clean, badges, run_page, table_with
from sqlalchemy import Engine

from core.ses.gateway import SesGateway
from core.ses.metrics import record_account_snapshot
from core.settings import load_settings


def recently(days: float = 1) -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)


def seed_volume(engine: Engine, sends: int, hard: int, domain: str = "qube-users.example") -> None:
    """`sends` Send events and `hard` counting hard bounces, yesterday."""
    recipients = [f"user{i}@{domain}" for i in range(sends)]
    ingest(engine, make_send(recipients, at=recently()))
    if hard:
        ingest(engine, make_bounce(recipients[:hard], at=recently()))


def chart_spec(at: Any, key: str) -> dict[str, Any]:
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(key))
    return json.loads(chart.proto.spec)


def test_an_empty_store_says_there_is_no_rate_yet(db: Engine):
    at = run_page("overview")
    assert_clean(at)
    assert any("No sends recorded" in i.value for i in at.info)
    assert [m.value for m in at.metric][:2] == ["—", "—"]


def test_six_percent_hard_bounces_put_the_account_under_review_with_headroom_to_pause(
    db: Engine,
):
    seed_volume(db, sends=100, hard=6)
    at = run_page("overview")
    assert_clean(at)
    assert at.metric[0].label == "Bounce rate"
    assert at.metric[0].value == "6.00 %"
    assert "Under review" in badges(at)
    headroom = next(i.value for i in at.info if i.value.startswith("Headroom"))
    # 100 sends: review is already reached (0 more), pause at 10 bounces (4 more).
    assert "0 more counting bounces reach review (5 %)" in headroom
    assert "4 reach a possible pause (10 %)" in headroom


def test_suppression_list_bounces_do_not_raise_the_rate(db: Engine):
    seed_volume(db, sends=100, hard=1)
    listed = [f"listed{i}@qube-users.example" for i in range(20)]
    ingest(db, make_bounce(listed, subtype="OnAccountSuppressionList", at=recently()))
    at = run_page("overview")
    assert at.metric[0].value == "1.00 %"
    assert "Healthy" in badges(at)


def test_the_bounce_chart_draws_the_review_and_pause_lines(db: Engine):
    seed_volume(db, sends=200, hard=3)
    at = run_page("overview")
    spec = chart_spec(at, "overview_bounce_chart")
    lines = {shape["y0"] for shape in spec["layout"]["shapes"] if shape.get("type") == "line"}
    assert lines == {0.05, 0.1}
    labels = {a["text"] for a in spec["layout"]["annotations"]}
    assert {"Under review 5 %", "Sending may be paused 10 %"} <= labels
    names = [trace["name"] for trace in spec["data"]]
    assert "Ours: rolling 7 days" in names and "Ours: daily" in names


def test_the_complaint_chart_uses_the_complaint_thresholds(db: Engine):
    seed_volume(db, sends=1000, hard=0)
    ingest(db, make_complaint(["user1@qube-users.example"], at=recently()))
    at = run_page("overview")
    spec = chart_spec(at, "overview_complaint_chart")
    lines = {shape["y0"] for shape in spec["layout"]["shapes"] if shape.get("type") == "line"}
    assert lines == {0.001, 0.005}


def test_the_account_status_from_ses_is_shown(aws: Any, db: Engine):
    aws.state.set_account(enforcement_status="PROBATION", sending_enabled=True)
    record_account_snapshot(db, SesGateway.from_settings(load_settings()))
    at = run_page("overview")
    assert_clean(at)
    assert "Probation (under review)" in [m.value for m in at.metric]
    assert "Sending enabled" in badges(at)


def test_breakdowns_show_bounce_types_and_the_domains_that_bounce_most(db: Engine):
    seed_volume(db, sends=50, hard=5, domain="bad-domain.example")
    ingest(
        db,
        make_bounce(
            ["x@soft.example"], bounce_type="Transient", subtype="MailboxFull", at=recently()
        ),
    )
    at = run_page("overview")
    domains = table_with(at, "domain")
    assert domains.iloc[0]["domain"] == "bad-domain.example"
    assert domains.iloc[0]["hard"] == 5
    at.segmented_control(key="overview_breakdown").set_value("type").run()
    spec = chart_spec(at, "overview_types_chart")
    assert {"hard / General", "soft / MailboxFull"} <= {t["name"] for t in spec["data"]}
