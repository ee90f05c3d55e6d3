"""Charts show untrusted labels (subtypes, domains, outcomes) as text, never as live markup."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ui import charts

HOSTILE = '<a href="https://evil.example">x</a>'
ESCAPED = '&lt;a href="https://evil.example"&gt;x&lt;/a&gt;'


def _texts(value: Any, key: str = "") -> list[str]:
    """Every string in a figure's JSON except the hover templates (the module's own markup)."""
    if key == "hovertemplate":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _texts(v, k)]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _texts(v)]
    if hasattr(value, "tolist"):
        return _texts(value.tolist())
    return []


def assert_no_live_tag(figure: go.Figure) -> None:
    texts = _texts(figure.to_plotly_json())
    assert not [t for t in texts if "<a" in t.lower() or "<b>" in t.lower()]
    assert any(ESCAPED in t for t in texts), "the label is still shown, as text"


def test_a_hostile_bounce_subtype_becomes_a_legend_name_without_a_live_link():
    frame = pd.DataFrame(
        {"day": [date(2025, 1, 1)] * 2, "type": ["hard / General", f"hard / {HOSTILE}"],
         "count": [3, 2]}
    )  # fmt: skip
    figure = charts.stacked_bars(frame, x="day", y="count", colour="type", title="Events")
    assert_no_live_tag(figure)
    names = {trace.name: trace.marker.color for trace in figure.data}
    # Still shown (as text), still coloured by its classification.
    assert names == {
        "hard / General": charts.KIND_COLOURS["hard"],
        f"hard / {ESCAPED}": charts.KIND_COLOURS["hard"],
    }


def test_a_hostile_domain_becomes_a_tick_label_without_a_live_link():
    frame = pd.DataFrame({"domain": ["bounce.example", HOSTILE], "bounces": [4, 7]})
    figure = charts.top_domains_chart(frame)
    assert_no_live_tag(figure)
    assert list(figure.data[0].y) == ["bounce.example", ESCAPED]


def test_a_hostile_ingestion_outcome_becomes_a_legend_name_without_a_live_link():
    frame = pd.DataFrame(
        {"day": [date(2025, 1, 1)] * 2, "outcome": ["stored", HOSTILE], "count": [5, 1]}
    )
    assert_no_live_tag(charts.ingestion_chart(frame, date(2025, 1, 1), date(2025, 1, 2)))


def test_the_threshold_labels_and_numbers_are_left_as_they_were():
    points = pd.DataFrame(
        {"day": pd.to_datetime(["2025-01-01", "2025-01-02"]), "daily_rate": [0.01, 0.02],
         "rolling_7d_rate": [0.01, 0.015], "official_rate": [float("nan")] * 2}
    )  # fmt: skip
    figure = charts.rate_chart(points, review=0.05, pause=0.1)
    assert [a.text for a in figure.layout.annotations] == [
        "Under review 5 %",
        "Sending may be paused 10 %",
    ]
    assert list(figure.data[0].y) == [0.01, 0.015]  # the rolling series, as given
