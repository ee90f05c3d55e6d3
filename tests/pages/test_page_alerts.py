"""The Alerts page, the banner on every page, and the overview's stream selector."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import streamlit as st
from pagekit import ROOT, TIMEOUT, assert_clean, run_page, table_with
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from core.alerts.checker import AlertChecker
from core.alerts.lifecycle import AlertFilter, list_alerts
from core.audit import AuditFilter, list_audit
from core.ses.gateway import SesGateway
from core.settings import load_settings
from tests.alerts_kit import send


def _alerting(db: Engine, stream: str | None = "bulk") -> None:
    """A stream at 3 % today and an alerts check: the account and the stream open."""
    send(db, 100, 3, stream=stream, day=date.today())
    settings = load_settings(alert_silence_hours=0, alert_dead_letters=0)
    AlertChecker.from_settings(settings, db, None, None).check()


def test_the_page_lists_open_alerts_and_acknowledges_one_audited(db: Engine) -> None:
    _alerting(db)
    at = run_page("alerts")
    assert_clean(at)
    titles = list(table_with(at, "title")["title"])
    assert any("configuration set bulk" in t for t in titles)
    at.text_input(key="alerts_note").input("cleaning the list")
    at.button(key="alerts_ack").click().run()
    assert_clean(at)
    assert any("acknowledged" in s.value for s in at.success)
    acknowledged = [a for a in list_alerts(db, AlertFilter()) if a.acknowledged_by]
    assert len(acknowledged) == 1
    [entry] = list_audit(db, AuditFilter(action="alerts.acknowledge")).rows
    assert '"note": "cleaning the list"' in (entry.parameters or "")


def test_a_viewer_sees_the_alerts_but_cannot_acknowledge(db: Engine, monkeypatch: Any) -> None:
    monkeypatch.setenv("BOUNCEDESK_LOCAL_ROLE", "viewer")
    _alerting(db)
    at = run_page("alerts")
    assert at.button(key="alerts_ack").disabled
    assert "operator" in (at.button(key="alerts_ack").help or "")


def test_the_history_filters_and_the_csv_export(db: Engine, downloads: dict[str, Any]) -> None:
    _alerting(db)
    at = run_page("alerts")
    at.text_input(key="alerts_scope").input("bulk").run()
    assert at.download_button(key="alerts_download").label == "Download 1 matching alerts (CSV)"
    name = max(n for n in downloads if n.startswith("alerts_"))
    rows = list(csv.DictReader(io.StringIO(downloads[name]().decode("utf-8"))))
    assert [r["scope"] for r in rows] == ["configuration_set:bulk"]


def test_every_page_shows_the_banner_while_an_alert_is_open(db: Engine) -> None:
    router = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT).run()
    assert not router.warning
    _alerting(db)
    st.cache_data.clear()  # the banner's count is cached for 30 s
    for page in ("pages/overview.py", "pages/audit_log.py"):
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT).run()
        at.switch_page(page).run()
        assert any("alerts are open" in w.value for w in at.warning), page
        assert any("reached the" in t.value for t in at.text)


def test_the_overview_shows_one_configuration_set_on_request(db: Engine) -> None:
    send(db, 100, 3, stream="bulk", day=date.today())
    send(db, 100, 1, stream="transactional", day=date.today())
    at = run_page("overview")
    assert_clean(at)
    assert at.selectbox(key="overview_stream").options == [
        "The whole account", "bulk", "transactional",
    ]  # fmt: skip
    assert at.metric[0].value == "2.00 %"
    at.selectbox(key="overview_stream").select("bulk").run()
    assert at.metric[0].value == "3.00 %"


def test_an_admin_resumes_the_stream_the_guard_paused_with_a_reason(
    aws: Any, db: Engine, monkeypatch: Any
) -> None:
    # (An operator's button is disabled with the refusal: the role matrix test covers it.)
    aws.state.create_configuration_set("bulk")
    send(db, 100, 6, stream="bulk", day=date.today())
    settings = load_settings(alert_silence_hours=0, alert_dead_letters=0, alert_ses_status=False,
                             guard_configuration_sets=["bulk"], guard_dry_run=False)  # fmt: skip
    gateway = SesGateway(aws.client("sesv2"), request_rate=1000)
    AlertChecker.from_settings(settings, db, gateway, None).check()
    assert aws.state.configuration_sets == {"bulk": False}
    monkeypatch.setenv("BOUNCEDESK_LOCAL_ROLE", "admin")
    at = run_page("alerts")
    assert at.button(key="alerts_resume").disabled  # not without a reason
    at.text_input(key="alerts_resume_reason").input("bad import removed").run()
    at.button(key="alerts_resume").click().run()
    assert_clean(at)
    assert aws.state.configuration_sets == {"bulk": True}
    [entry] = list_audit(db, AuditFilter(action="alerts.guard_resume")).rows
    assert '"reason": "bad import removed"' in (entry.parameters or "")
