"""Five journeys through the real dashboard in headless Chromium, in demo mode.

1. The overview draws the bounce-rate chart with the 5 % and 10 % threshold lines.
2. Ops filters hard bounces on the suppression list, confirms two valid, removes them, and
   SES (the emulator) no longer lists them.
3. Support exports the filtered list as CSV for Excel and gets exactly the filtered rows.
4. The audit log shows who changed what (the demo's own seeding, through the same code).
5. The demo's bulk stream crossed the warning: a banner says so on every page, and ops
   acknowledge the alert on the Alerts page.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from browserkit import ACTOR, DEMO_TIMEOUT, DemoServer
from playwright.sync_api import Page, expect

from core.alerts.lifecycle import AlertFilter, list_alerts
from core.recipients.bounced import BouncedFilter, list_bounced
from core.recipients.confirmations import confirmation_history
from core.store.db import make_engine

pytestmark = pytest.mark.browser

ROW = 35  # px: st.dataframe row height, header included


def wait_idle(page: Page) -> None:
    """Until Streamlit has finished the run an interaction started (its status widget is
    gone). The short pause lets the rerun begin first, so an old idle state does not count."""
    page.wait_for_timeout(400)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)


def open_page(page: Page, path: str, ready: str) -> None:
    page.goto(path)
    page.locator(ready).first.wait_for(timeout=DEMO_TIMEOUT)
    wait_idle(page)


def choose(page: Page, key: str, option: str) -> None:
    """Pick `option` in the selectbox or multiselect with this key."""
    page.locator(f".st-key-{key} [role='combobox']").first.click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")
    wait_idle(page)


def select_rows(page: Page, key: str, *rows: int) -> None:
    """Tick row checkboxes in an st.dataframe (a canvas: click the row-marker column)."""
    box = page.locator(f".st-key-{key}").bounding_box()
    assert box is not None
    for row in rows:
        page.mouse.click(box["x"] + 18, box["y"] + ROW * (row + 1) + ROW / 2)
        wait_idle(page)


def bounced(server: DemoServer, flt: BouncedFilter, limit: int) -> list[str]:
    """What the page shows for a filter, read through core from the demo's database."""
    engine = make_engine(server.database_url)
    try:
        return [row.address for row in list_bounced(engine, flt, page_size=limit).rows]
    finally:
        engine.dispose()


def ses_lists(server: DemoServer, address: str) -> bool:
    """Ask the demo's SES emulator directly (test code may use boto3)."""
    emulator = server.emulator()
    sesv2 = boto3.client(
        "sesv2",
        endpoint_url=emulator["endpoint_url"],
        region_name=emulator["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # The demo emulator throttles like SES (about one request per second).
        config=Config(retries={"mode": "standard", "max_attempts": 10}),
    )
    try:
        sesv2.get_suppressed_destination(EmailAddress=address)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NotFoundException":
            return False
        raise
    return True


def test_the_overview_draws_the_bounce_rate_against_both_thresholds(page: Page, screenshots: Path):
    open_page(page, "/", ".st-key-overview_bounce_chart .js-plotly-plot")
    chart = page.locator(".st-key-overview_bounce_chart .js-plotly-plot")
    labels = [t.text_content() for t in chart.locator("g.annotation text").all()]
    assert labels == ["Under review 5 %", "Sending may be paused 10 %"]
    # Three shaded bands and the two dashed threshold lines.
    expect(chart.locator(".shapelayer path")).to_have_count(5)
    dashed = chart.locator(".shapelayer path[style*='stroke-dasharray']")
    expect(dashed).to_have_count(2)
    legend = chart.locator(".legendtext").all_text_contents()
    assert "Official SES bounce rate (Reputation)" in legend
    expect(page.get_by_text(f"acting as {ACTOR}")).to_be_visible()
    page.set_viewport_size({"width": 1440, "height": 2400})
    page.screenshot(path=screenshots / "1-overview.png", full_page=True)


def test_ops_confirm_two_hard_bounced_addresses_and_remove_them_from_the_list(
    page: Page, demo_server: DemoServer, screenshots: Path
):
    open_page(page, "/bounced_users", ".st-key-bu_table")
    choose(page, "bu_kinds", "hard")
    choose(page, "bu_suppression", "On the list")
    flt = BouncedFilter(kinds=frozenset({"hard"}), suppression="suppressed")
    first, second = bounced(demo_server, flt, 2)
    assert ses_lists(demo_server, first) and ses_lists(demo_server, second)
    cells = page.locator(".st-key-bu_table [role='row']")
    expect(cells.nth(1)).to_contain_text(first)
    expect(cells.nth(2)).to_contain_text(second)

    select_rows(page, "bu_table", 0, 1)
    expect(page.get_by_text("2 selected on this page.")).to_be_visible()
    page.get_by_role("button", name="Mark confirmed-valid").click()
    page.locator(".st-key-bu_confirm_note input").fill("both users confirmed by phone")
    page.locator(".st-key-bu_confirm button").click()
    expect(page.get_by_text("2 confirmed valid.")).to_be_visible(timeout=30_000)
    engine = make_engine(demo_server.database_url)
    try:
        for address in (first, second):
            assert confirmation_history(engine, address)[0].actor == ACTOR
    finally:
        engine.dispose()

    expect(page.get_by_text("2 selected on this page.")).to_be_visible()
    page.locator(".st-key-bu_remove button").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("2 addresses selected")
    page.screenshot(path=screenshots / "2a-removal-dialog.png")
    dialog.locator(".st-key-bu_removal_confirm button").click()
    expect(page.get_by_text("2 removed", exact=True)).to_be_visible(timeout=60_000)
    # They left the "On the list" view; the selection must not slide onto other people.
    expect(page.get_by_text("Select rows (tick the boxes on the left)")).to_be_visible()
    page.screenshot(path=screenshots / "2b-removal-results.png", full_page=True)
    assert not ses_lists(demo_server, first)
    assert not ses_lists(demo_server, second)


def test_support_exports_the_filtered_list_as_csv_for_excel(
    page: Page, demo_server: DemoServer, screenshots: Path
):
    open_page(page, "/bounced_users", ".st-key-bu_table")
    choose(page, "bu_kinds", "hard")
    expected = bounced(demo_server, BouncedFilter(kinds=frozenset({"hard"})), 1000)
    button = page.locator(".st-key-bu_download button")
    expect(button).to_contain_text(f"Download all {len(expected):,} matching rows (CSV)")
    page.locator(".st-key-bu_encoding").get_by_text("UTF-8 with BOM (Excel)").click()
    expect(page.locator(".st-key-bu_encoding input[type='radio']").nth(1)).to_be_checked()
    wait_idle(page)
    with page.expect_download() as download_info:
        button.click()
    download = download_info.value
    saved = screenshots / "3-bounced-users.csv"
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the byte-order mark"
    rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [row["address"] for row in rows] == expected
    assert all(int(row["hard_count"]) > 0 for row in rows)
    page.screenshot(path=screenshots / "3-export.png")


def test_the_audit_log_shows_who_changed_what(page: Page, screenshots: Path):
    open_page(page, "/audit_log", ".st-key-al_entries")
    expect(page.get_by_text(f"acting as {ACTOR} (operator)")).to_be_visible()
    choose(page, "al_action", "suppression.sync")
    rows = page.locator(".st-key-al_entries [role='row']")
    expect(rows.nth(1)).to_contain_text("demo seeding")
    expect(rows.nth(1)).to_contain_text("suppression.sync")
    expect(rows.nth(1)).to_contain_text("completed")
    page.screenshot(path=screenshots / "4-audit-log.png", full_page=True)


def test_an_alert_banner_appears_and_the_alerts_page_acknowledges_it(
    page: Page, demo_server: DemoServer, screenshots: Path
):
    open_page(page, "/bounced_users", ".st-key-bu_table")
    banner = page.locator(".st-key-alert_banner")
    expect(banner).to_contain_text("open")
    expect(banner).to_contain_text("configuration set bulk")
    banner.get_by_text("Open the Alerts page").click()
    page.locator(".st-key-alerts_open").first.wait_for(timeout=DEMO_TIMEOUT)
    wait_idle(page)
    engine = make_engine(demo_server.database_url)
    try:
        [bulk] = list_alerts(engine, AlertFilter(rule="bounce_rate_warning", scope="bulk"))
        choose(page, "alerts_pick", f"#{bulk.id} {bulk.title}")
        page.locator(".st-key-alerts_note input").fill("pausing the newsletter import")
        page.locator(".st-key-alerts_ack button").click()
        expect(page.get_by_text(f"Alert {bulk.id} acknowledged.")).to_be_visible(timeout=30_000)
        [after] = list_alerts(engine, AlertFilter(rule="bounce_rate_warning", scope="bulk"))
    finally:
        engine.dispose()
    assert after.acknowledged_by == ACTOR
    page.screenshot(path=screenshots / "5-alerts.png", full_page=True)
