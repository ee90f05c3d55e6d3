"""Every page in English and in Japanese, and times in the display zone.

The Japanese run fails when a page shows one of our English sentences (a string the catalog
scan cannot see, such as one built from a code), and both runs fail on an exception or an
error box.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from factories import ingest, make_bounce, make_complaint
from pagekit import ACTING, assert_clean, badges, run_page, table_with
from sqlalchemy import Engine

from core.recipients.confirmations import confirm_valid
from ui import i18n

PAGES = [
    "overview",
    "bounced_users",
    "suppression_list",
    "mailing_exclusions",
    "ingestion",
    "user_directory",
    "audit_log",
    "jobs",
    "alerts",
]
TITLES_JA = {
    "overview": "概要",
    "bounced_users": "バウンスしたユーザー",
    "suppression_list": "サプレッションリスト",
    "mailing_exclusions": "配信除外",
    "ingestion": "取り込み",
    "user_directory": "ユーザー名簿",
    "audit_log": "監査ログ",
    "jobs": "ジョブ",
    "alerts": "アラート",
}
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\uff01-\uff60]")
# English that stays English in the Japanese dashboard: names, codes, figures.
NOT_WORDS = re.compile(
    r"^([\d\s,.%—:/()+-]*|Bounce Desk|UTF-8|CSV|SES|SQS|[A-Z_]+|[\w.+-]+@[\w.-]+)$"
)


def recently(days: float = 1) -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)


@pytest.fixture
def seeded(db: Engine) -> Engine:
    ingest(db, make_bounce(["gone@example.com"], at=recently(2)))
    ingest(db, make_bounce(["full@example.com"], bounce_type="Transient", at=recently(1)))
    ingest(db, make_complaint(["angry@example.com"], at=recently(1)))
    confirm_valid(db, ["full@example.com"], actor=ACTING, note="phoned")
    return db


def visible(at: Any) -> list[str]:
    """Our words on the page: titles, captions, alerts, widget labels (not table cells)."""
    texts = [str(e.value) for kind in ("title", "subheader", "caption") for e in at.get(kind)]
    texts += [str(e.value) for kind in ("info", "warning", "success") for e in at.get(kind)]
    for kind in ("button", "text_input", "selectbox", "multiselect", "date_input", "radio"):
        texts += [str(e.label) for e in at.get(kind)]
    texts += [str(e.label) for e in at.get("download_button")]
    texts += badges(at)
    return [t for t in texts if t.strip()]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_runs_in_english(seeded: Engine, name: str):
    at = run_page(name, **{i18n.LANGUAGE_KEY: "en"})
    assert_clean(at)
    assert not any(JAPANESE.search(text) for text in visible(at))


@pytest.mark.parametrize("name", PAGES)
def test_every_page_speaks_japanese_when_chosen(seeded: Engine, name: str):
    at = run_page(name, **{i18n.LANGUAGE_KEY: "ja"})
    assert_clean(at)
    assert at.title[0].value == TITLES_JA[name]
    texts = visible(at)
    assert len(texts) >= 3, texts
    english = [t for t in texts if not JAPANESE.search(t) and not NOT_WORDS.match(t)]
    assert not english, english


def test_the_language_setting_chooses_japanese_without_a_switch(
    db: Engine, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BOUNCEDESK_LANGUAGE", "ja")
    at = run_page("overview")
    assert at.title[0].value == "概要"


def test_a_japanese_browser_gets_japanese_on_auto(db: Engine, monkeypatch: pytest.MonkeyPatch):
    from streamlit.runtime.context import ContextProxy

    monkeypatch.setattr(ContextProxy, "locale", property(lambda _self: "ja-JP"))
    assert run_page("overview").title[0].value == "概要"
    monkeypatch.setattr(ContextProxy, "locale", property(lambda _self: "en-GB"))
    assert run_page("overview").title[0].value == "Overview"


def test_a_japanese_table_names_its_columns_and_their_zone(seeded: Engine):
    at = run_page("bounced_users", **{i18n.LANGUAGE_KEY: "ja", i18n.TIMEZONE_KEY: "Asia/Tokyo"})
    config = json.loads(at.dataframe(key="bu_table").proto.columns)
    assert config["last bounce"]["label"] == "最終バウンス（JST）"
    assert config["address"]["label"] == "アドレス"


def test_a_date_filter_is_read_in_the_display_zone(db: Engine):
    """00:30 JST on 2 December is 15:30 UTC on 1 December: a Tokyo day finds it, a UTC day
    filter on 2 December does not."""
    ingest(db, make_bounce(["early@example.com"], at=datetime(2026, 12, 1, 15, 30)))
    ingest(db, make_bounce(["late@example.com"], at=datetime(2026, 12, 2, 15, 30)))
    day = date(2026, 12, 2)
    filters = {"bu_start": day, "bu_end": day}
    tokyo = run_page("bounced_users", **{i18n.TIMEZONE_KEY: "Asia/Tokyo"}, **filters)
    assert list(table_with(tokyo, "address")["address"]) == ["early@example.com"]
    utc = run_page("bounced_users", **{i18n.TIMEZONE_KEY: "UTC"}, **filters)
    assert list(table_with(utc, "address")["address"]) == ["late@example.com"]


def test_times_on_the_page_are_shown_in_the_display_zone_with_its_name(db: Engine):
    ingest(db, make_bounce(["early@example.com"], at=datetime(2026, 12, 1, 15, 30)))
    at = run_page(
        "bounced_users",
        **{i18n.TIMEZONE_KEY: "Asia/Tokyo", "bu_lookup": "early@example.com"},
    )
    assert_clean(at)
    events = table_with(at, "diagnostic code")
    shown = events["occurred"][0]
    assert (shown.hour, shown.minute, str(shown.tzinfo)) == (0, 30, "Asia/Tokyo")


def test_the_sidebar_switch_changes_the_language_and_the_zone_of_this_session(db: Engine):
    from pagekit import ROOT, TIMEOUT
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT).run()
    assert_clean(at)
    assert at.title[0].value == "Overview"
    at.selectbox(key=i18n.TIMEZONE_KEY).select("Asia/Tokyo").run()
    assert any("Asia/Tokyo" in c.value for c in at.caption), "the overview names the zone"
    # Last: AppTest keeps a select box's shown label, which the switch translates.
    at.segmented_control(key=i18n.LANGUAGE_KEY).set_value("ja").run()
    assert at.title[0].value == "概要"
    assert any("ローカルモード" in t.value for t in at.sidebar.text)
