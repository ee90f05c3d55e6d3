"""The Jobs page: each job's last run, outcome, next due and staleness; "Run now" for
admins against the emulator; and the stale-job warning the router's sidebar shows on every
page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pagekit import ACTOR, ROOT, TIMEOUT, assert_clean, run_page, table_with
from sqlalchemy import Engine, insert, select
from streamlit.testing.v1 import AppTest

from core.clock import utcnow
from core.store.db import open_session
from core.store.models import AccountSnapshot, JobRun


def add_run(db: Engine, job: str, outcome: str, minutes_ago: float, **values: Any) -> None:
    at = utcnow() - timedelta(minutes=minutes_ago)
    with db.begin() as connection:
        connection.execute(
            insert(JobRun).values(
                job=job, started_at=at, finished_at=at, outcome=outcome, actor="cron", **values
            )
        )


def row(at: AppTest, job: str) -> dict[str, Any]:
    frame = table_with(at, "job")
    return frame[frame["job"] == job].iloc[0].to_dict()


def test_the_page_lists_every_job_with_its_last_run_outcome_and_next_due(db: Engine) -> None:
    add_run(db, "metrics-pull", "succeeded", 10, summary="cloudwatch: 12 points")
    at = run_page("jobs")
    assert_clean(at)
    frame = table_with(at, "job")
    assert list(frame["job"]) == [
        "suppression-sync",
        "metrics-pull",
        "account-snapshot",
        "import-job-poll",
        "sqs-poll",
        "alerts-check",
        "retention",
    ]
    metrics = row(at, "metrics-pull")
    assert (metrics["outcome"], metrics["summary"], metrics["every"]) == (
        "succeeded",
        "cloudwatch: 12 points",
        "60 min",
    )
    assert metrics["next_due"] not in ("now", "off")
    assert row(at, "suppression-sync")["outcome"] == "never run"
    assert row(at, "suppression-sync")["next_due"] == "now"
    assert row(at, "sqs-poll")["next_due"] == "off"
    assert not at.warning


def test_a_job_that_failed_twice_in_a_row_is_shown_stale_here_and_on_every_page(
    db: Engine,
) -> None:
    add_run(db, "account-snapshot", "failed", 20, error="SES unreachable")
    add_run(db, "account-snapshot", "failed", 5, error="SES unreachable")
    at = run_page("jobs")
    assert row(at, "account-snapshot")["stale"] == "failed twice in a row"
    assert row(at, "account-snapshot")["summary"] == "SES unreachable"
    assert any("account-snapshot is stale" in w.value for w in at.warning)
    router = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT).run()
    assert_clean(router)
    assert any(
        "Job account-snapshot is stale: failed twice in a row" in w.value
        for w in router.sidebar.warning
    )


def test_no_stale_job_means_no_warning_in_the_sidebar(db: Engine) -> None:
    add_run(db, "account-snapshot", "succeeded", 5)
    router = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT).run()
    assert_clean(router)
    assert not router.sidebar.warning


def test_run_now_is_for_admins_only(db: Engine) -> None:
    at = run_page("jobs")
    button = at.button(key="jobs_run")
    assert button.disabled
    assert "Running a job now needs the admin role" in (button.help or "")


def test_an_admin_runs_a_job_now_and_sees_its_outcome(
    db: Engine, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOUNCEDESK_LOCAL_ROLE", "admin")
    aws.state.set_account(enforcement_status="PROBATION")
    at = run_page("jobs")
    at.selectbox(key="jobs_name").select("account-snapshot").run()
    at.button(key="jobs_run").click().run()
    assert_clean(at)
    assert any("account-snapshot: succeeded" in s.value for s in at.success)
    assert any("PROBATION" in t.value for t in at.text)
    assert row(at, "account-snapshot")["outcome"] == "succeeded"
    with open_session(db) as session:
        assert session.scalars(select(AccountSnapshot.enforcement_status)).all() == ["PROBATION"]
        [run] = session.scalars(select(JobRun)).all()
    assert (run.job, run.actor) == ("account-snapshot", ACTOR)
