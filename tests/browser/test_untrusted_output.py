"""What the browser itself offers: no way around the audited exports.

1. A grid's own toolbar (shown on hover) has no "Download as CSV": personal data leaves only
   through the audited, CSV-neutralised download buttons.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browserkit import DEMO_TIMEOUT
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_a_grid_toolbar_offers_search_but_no_csv_download(page: Page, screenshots: Path):
    page.goto("/bounced_users")
    grid = page.locator(".st-key-bu_table")
    grid.wait_for(timeout=DEMO_TIMEOUT)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)
    grid.hover(position={"x": 200, "y": 60})
    toolbar = grid.get_by_test_id("stElementToolbar")
    # The toolbar is there (so the check below looks at the right place)...
    expect(toolbar.get_by_role("button", name="Search")).to_be_visible()
    page.wait_for_timeout(300)  # its fade-in, for the screenshot
    page.screenshot(path=screenshots / "5-grid-toolbar.png")
    # ...and offers no export of its own.
    expect(toolbar.get_by_role("button", name="Download as CSV")).to_have_count(0)
