"""DNS rebinding, for real: a page served under another name that resolves to 127.0.0.1
drives nothing in local mode. Chromium's resolver maps the name, as a rebinding DNS
server would after the page loaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from browserkit import ACTOR, CHROMIUM, CHROMIUM_ARGS, DEMO_TIMEOUT, DemoServer
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

REBOUND = "rebound.evil.example"


@pytest.fixture
def rebinding_page(browser: Any, demo_server: DemoServer) -> Iterator[Page]:
    """A second Chromium (resolver rules are per browser) from the session's Playwright."""
    chromium = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1"],
    )
    try:
        yield chromium.new_page()
    finally:
        chromium.close()


def test_a_page_under_a_name_rebound_to_this_machine_gets_nothing_in_local_mode(
    rebinding_page: Page, demo_server: DemoServer, screenshots: Path
) -> None:
    port = urlsplit(demo_server.url).port
    rebinding_page.goto(f"http://{REBOUND}:{port}/bounced_users", timeout=DEMO_TIMEOUT)
    expect(rebinding_page.get_by_text("this page was not opened from this machine")).to_be_visible(
        timeout=DEMO_TIMEOUT
    )
    expect(rebinding_page.get_by_text(f"opened as http://{REBOUND}:{port}")).to_be_visible()
    assert rebinding_page.locator(".st-key-bu_table").count() == 0
    assert rebinding_page.get_by_text(f"acting as {ACTOR}").count() == 0
    rebinding_page.screenshot(path=screenshots / "local-mode-rebinding.png")


def test_the_same_server_opened_as_127_0_0_1_serves_local_mode(page: Any) -> None:
    page.goto("/bounced_users", timeout=DEMO_TIMEOUT)
    expect(page.get_by_text(f"acting as {ACTOR} (operator)")).to_be_visible(timeout=DEMO_TIMEOUT)
