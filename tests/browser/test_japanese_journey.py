"""The dashboard in Japanese, in Tokyo: a browser whose locale is ja-JP and whose zone is
Asia/Tokyo gets the Japanese dashboard on `auto`, times in JST, and date filters read as
Tokyo days. Screenshots of every page in Japanese go to test-output/browser/ja-*.png (CI
installs fonts-noto-cjk so the text renders).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from browserkit import DEMO_TIMEOUT, DemoServer
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.recipients.bounced import BouncedFilter, list_bounced
from core.store.db import make_engine
from core.store.tables import SUMMARIES

pytestmark = pytest.mark.browser

TOKYO = ZoneInfo("Asia/Tokyo")
PAGES = {
    "overview": ("概要", ".st-key-overview_bounce_chart .js-plotly-plot"),
    "bounced_users": ("バウンスしたユーザー", ".st-key-bu_table"),
    "suppression_list": ("サプレッションリスト", ".st-key-sl_sync_box"),
    "mailing_exclusions": ("配信除外", ".st-key-mx_policy"),
    "ingestion": ("取り込み", ".st-key-ingest_tabs"),
    "user_directory": ("ユーザー名簿", ".st-key-ud_file"),
    "audit_log": ("監査ログ", ".st-key-al_entries"),
    "jobs": ("ジョブ", ".st-key-jobs_run_box"),
    "alerts": ("アラート", ".st-key-alerts_filters"),
}


@pytest.fixture
def tokyo_page(browser: Any, demo_server: DemoServer) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1440, "height": 1000},
        accept_downloads=True,
        base_url=demo_server.url,
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
    )
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    context.close()


def wait_idle(page: Page) -> None:
    page.wait_for_timeout(400)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)


def open_page(page: Page, path: str, ready: str) -> None:
    page.goto(path)
    page.locator(ready).first.wait_for(timeout=DEMO_TIMEOUT)
    wait_idle(page)


def a_tokyo_day_that_crosses_utc_midnight(server: DemoServer) -> date:
    """A day whose Tokyo morning (00:00-09:00 JST, still the day before in UTC) holds some
    address's last event, so the Tokyo day and the UTC day of that date differ."""
    engine = make_engine(server.database_url)
    try:
        with engine.connect() as connection:
            times = list(connection.scalars(select(SUMMARIES.c.last_event_at)))
    finally:
        engine.dispose()
    for at in sorted((t for t in times if t is not None), reverse=True):
        if at.hour >= 15:  # 15:00-24:00 UTC is the next day in Tokyo
            return (at + timedelta(hours=9)).date()
    pytest.fail("the demo data has no event between 15:00 and 24:00 UTC")


def addresses(server: DemoServer, flt: BouncedFilter) -> list[str]:
    engine = make_engine(server.database_url)
    try:
        return [row.address for row in list_bounced(engine, flt, page_size=500).rows]
    finally:
        engine.dispose()


def test_a_japanese_browser_in_tokyo_sees_every_page_in_japanese(
    tokyo_page: Page, screenshots: Path
):
    page = tokyo_page
    for number, (name, (title, ready)) in enumerate(PAGES.items(), start=1):
        open_page(page, f"/{name}", ready)
        expect(page.get_by_role("heading", level=1)).to_contain_text(title)
        expect(page.get_by_test_id("stSidebarNav")).to_contain_text(PAGES["audit_log"][0])
        expect(page.get_by_text("ローカルモード").first).to_be_visible()
        page.screenshot(path=screenshots / f"ja-{number}-{name}.png", full_page=True)
    open_page(page, "/", PAGES["overview"][1])
    chart = page.locator(".st-key-overview_bounce_chart .js-plotly-plot")
    labels = [t.text_content() for t in chart.locator("g.annotation text").all()]
    assert labels == ["審査 5 %", "送信停止のおそれ 10 %"]
    assert "SES 公式のバウンス率（Reputation）" in chart.locator(".legendtext").all_text_contents()
    expect(page.get_by_text("UTC の日付で集計")).to_be_visible()


def test_a_tokyo_date_range_that_crosses_utc_midnight_finds_the_tokyo_days_rows(
    tokyo_page: Page, demo_server: DemoServer, screenshots: Path
):
    page = tokyo_page
    open_page(page, "/bounced_users", ".st-key-bu_table")  # the demo has seeded its data
    day = a_tokyo_day_that_crosses_utc_midnight(demo_server)
    tokyo = addresses(demo_server, BouncedFilter(start=day, end=day, zone="Asia/Tokyo"))
    utc = addresses(demo_server, BouncedFilter(start=day, end=day))
    assert tokyo and tokyo != utc, "the Tokyo day and the UTC day hold different rows"

    expect(page.locator(".st-key-bu_start")).to_contain_text("（JST）")
    for key in ("bu_start", "bu_end"):
        # A segmented date field (year / month / day): type the digits, segment by segment.
        page.locator(f".st-key-{key}").get_by_text("yyyy").click()
        page.keyboard.type(f"{day:%Y%m%d}")
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        wait_idle(page)
    expect(page.get_by_text(f"該当するアドレス: {len(tokyo):,} 件")).to_be_visible()
    first = page.locator(".st-key-bu_table [role='row']").nth(1)
    expect(first).to_contain_text(tokyo[0])
    page.screenshot(path=screenshots / "ja-bounced-users-tokyo-day.png", full_page=True)

    button = page.locator(".st-key-bu_download button")
    expect(button).to_contain_text(f"該当する全 {len(tokyo):,} 件をダウンロード（CSV）")
    with page.expect_download() as download_info:
        button.click()
    download = download_info.value
    stamp = datetime.now(TOKYO)
    assert download.suggested_filename.startswith(f"bounced-users_{stamp:%Y-%m-%d}_")
    assert download.suggested_filename.endswith("JST.csv")
    body = Path(download.path()).read_text(encoding="utf-8")
    assert "+09:00" in body, "times carry the Tokyo offset"
