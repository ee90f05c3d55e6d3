"""What the browser itself offers: no way around the audited exports, no live markup in charts.

1. A grid's own toolbar (shown on hover) has no "Download as CSV": personal data leaves only
   through the audited, CSV-neutralised download buttons.
2. A bounce subtype written as a link is drawn by Plotly as text, not as a link.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from browserkit import DEMO_TIMEOUT
from playwright.sync_api import Browser, Page, expect

from ui import charts

pytestmark = pytest.mark.browser

HOSTILE = '<a href="https://evil.example">x</a>'


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


def test_a_hostile_bounce_subtype_is_drawn_as_text_in_the_legend(browser: Browser):
    frame = pd.DataFrame(
        {"day": [date(2025, 1, 1)] * 2, "type": ["hard / General", HOSTILE], "count": [3, 2]}
    )
    figure = charts.stacked_bars(frame, x="day", y="count", colour="type", title="Events")
    tab = browser.new_page()
    try:
        tab.set_content(figure.to_html(include_plotlyjs=True, full_html=True))
        legend = tab.locator(".legend")
        expect(legend.locator(".legendtext")).to_have_count(2)
        expect(legend.locator("a")).to_have_count(0)
        assert HOSTILE in legend.locator(".legendtext").all_text_contents()
    finally:
        tab.close()
