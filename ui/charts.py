"""Plotly figures for the pages. They take DataFrames the queries module builds from core values.

Rates are fractions (0.05 = 5 %), as SES and CloudWatch report them; axes format them as
percentages. Threshold lines carry their own labels so a printed chart still explains itself.

Days are UTC days, as SES and CloudWatch count them; every figure's words (titles, legends,
threshold labels) come in this run's language, and category names go through `ui.terms`.

Plotly draws trace names, category tick labels, hover text and annotations as markup (`<a href>`,
`<b>`, `<br>`), and subtypes, domains and diagnostics come from whoever sent the bounce. Every
figure passes `_layout`, which escapes all the strings it carries as data (`_as_text`); hover
templates and axis titles are this module's own markup and stay as written.
"""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ui import terms
from ui.i18n import _

HEALTHY_FILL = "rgba(46, 160, 67, 0.07)"
REVIEW_FILL = "rgba(219, 154, 4, 0.12)"
PAUSE_FILL = "rgba(207, 34, 46, 0.10)"
REVIEW_LINE = "#bf8700"
PAUSE_LINE = "#cf222e"
OFFICIAL = "#0a3069"
ROLLING = "#1f6feb"
DAILY = "#8c959f"
KIND_COLOURS = {
    "hard": "#cf222e",
    "soft": "#bf8700",
    "undetermined": "#8c959f",
    "complaint": "#8250df",
}
FONT = {"family": "sans-serif", "size": 13}


def _percent(value: float) -> str:
    text = f"{value * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text} %"


def rate_chart(
    points: pd.DataFrame, *, review: float, pause: float, what: str = "bounce"
) -> go.Figure:
    """Official, rolling 7-day and daily rate per day against the review and pause thresholds.

    `points` has columns day, daily_rate, rolling_7d_rate, official_rate (NaN where unknown);
    `what` is "bounce" or "complaint".
    """
    figure = go.Figure()
    complaint = what == "complaint"
    title = _("Complaint rate") if complaint else _("Bounce rate")
    official = (
        _("Official SES complaint rate (Reputation)")
        if complaint
        else _("Official SES bounce rate (Reputation)")
    )
    series = [
        ("official_rate", official, OFFICIAL, "solid", 3),
        ("rolling_7d_rate", _("Ours: rolling 7 days"), ROLLING, "solid", 2),
        ("daily_rate", _("Ours: daily"), DAILY, "dot", 1.5),
    ]
    for column, name, colour, dash, width in series:
        if column in points and points[column].notna().any():
            figure.add_trace(
                go.Scatter(
                    x=points["day"],
                    y=points[column],
                    name=name,
                    mode="lines",
                    line={"color": colour, "dash": dash, "width": width},
                    connectgaps=False,
                    hovertemplate="%{x|%d %b %Y}: %{y:.2%}<extra>" + name + "</extra>",
                )
            )
    # The axis follows the smoothed series; a noisy day (a partial today) may run off the top.
    top = max(_column_max(points), pause) * 1.3
    figure.add_hrect(y0=0, y1=review, fillcolor=HEALTHY_FILL, line_width=0, layer="below")
    figure.add_hrect(y0=review, y1=pause, fillcolor=REVIEW_FILL, line_width=0, layer="below")
    figure.add_hrect(y0=pause, y1=top, fillcolor=PAUSE_FILL, line_width=0, layer="below")
    for value, label, colour in (
        (review, _("Under review {rate}").format(rate=_percent(review)), REVIEW_LINE),
        (pause, _("Sending may be paused {rate}").format(rate=_percent(pause)), PAUSE_LINE),
    ):
        figure.add_hline(
            y=value,
            line={"color": colour, "dash": "dash", "width": 1.5},
            annotation_text=label,
            annotation_position="top left",
            annotation_font={"color": colour, "size": 12},
        )
    figure.update_yaxes(range=[0, top], tickformat=".1%" if pause >= 0.01 else ".2%", title=title)
    figure.update_xaxes(title=_("Day (UTC)"))
    return _layout(figure, height=380)


def _column_max(points: pd.DataFrame) -> float:
    values = [points[c].max() for c in ("official_rate", "rolling_7d_rate") if c in points]
    found = [float(v) for v in values if pd.notna(v)]
    return max(found, default=0.0)


def stacked_bars(frame: pd.DataFrame, *, x: str, y: str, colour: str, title: str) -> go.Figure:
    """Counts per day, one colour per category (bounce type, subtype, ingestion outcome);
    `title` is already translated. A category's first word (hard, soft...) is its kind."""
    figure = go.Figure()
    kinds = list(KIND_COLOURS)

    def order(name: object) -> tuple[int, str]:
        kind = str(name).split(" ")[0].lower()
        return (kinds.index(kind) if kind in kinds else len(kinds), str(name))

    groups = sorted(frame.groupby(colour), key=lambda group: order(group[0]))
    for name, part in groups:
        figure.add_trace(
            go.Bar(
                x=part[x],
                y=part[y],
                name=_category(str(name)),
                marker_color=KIND_COLOURS.get(str(name).split(" ")[0].lower()),
            )
        )
    figure.update_layout(barmode="stack", legend_traceorder="normal")
    figure.update_yaxes(title=title)
    figure.update_xaxes(title=_("Day (UTC)"))
    return _layout(figure, height=320)


def _category(name: str) -> str:
    """ "hard" -> its name; "hard / MailboxFull" -> the kind's name and the SES subtype."""
    kind, _sep, rest = name.partition(" / ")
    shown = terms.word(terms.KINDS, kind)
    return f"{shown} / {rest}" if rest else shown


def top_domains_chart(frame: pd.DataFrame, *, value: str = "bounces") -> go.Figure:
    """Horizontal bars, largest at the top."""
    ordered = frame.sort_values(value, ascending=True)
    figure = go.Figure(
        go.Bar(x=ordered[value], y=ordered["domain"], orientation="h", marker_color=PAUSE_LINE)
    )
    figure.update_xaxes(title=terms.column(value, ""))
    return _layout(figure, height=max(240, 26 * len(ordered) + 80))


def ingestion_chart(frame: pd.DataFrame, start: date, end: date) -> go.Figure:
    """Facts stored, duplicates and dead letters per day (long format: day, outcome, count),
    on an axis spanning the whole window so a quiet month still reads as a month."""
    colours = {"stored": ROLLING, "duplicates": DAILY, "dead-lettered": PAUSE_LINE}
    figure = go.Figure()
    for outcome, part in frame.groupby("outcome", sort=False):
        figure.add_trace(
            go.Bar(
                x=part["day"],
                y=part["count"],
                name=terms.word(terms.INGESTION, outcome),
                marker_color=colours.get(str(outcome)),
            )
        )
    figure.update_layout(barmode="stack", legend_traceorder="normal")
    figure.update_xaxes(title=_("Day (UTC)"))
    figure.update_yaxes(title=_("Notifications"))
    half_day = timedelta(hours=12)
    figure.update_xaxes(type="date", range=[_midnight(start) - half_day, _midnight(end) + half_day])
    return _layout(figure, height=300)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def _layout(figure: go.Figure, *, height: int) -> go.Figure:
    _as_text(figure)
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        font=FONT,
        hovermode="x unified",
        plot_bgcolor="white",
    )
    figure.update_xaxes(showgrid=False)
    figure.update_yaxes(gridcolor="#eaeef2", zeroline=False)
    return figure


# Where a figure holds text that came with the data (Bar and Scatter traces, annotations).
DATA_TEXT = ("name", "text", "hovertext", "x", "y", "customdata")


def _as_text(figure: go.Figure) -> None:
    """Escape every data string so Plotly shows it literally: `<a href=...>` stays text."""
    for trace in figure.data:
        for field in DATA_TEXT:
            if field in trace and trace[field] is not None:
                trace[field] = _escaped(trace[field])
    for annotation in figure.layout.annotations:
        if annotation.text is not None:
            annotation.text = _escaped(annotation.text)


def _escaped(value: Any) -> Any:
    # Plotly decodes only &amp; &lt; &gt; (and a few symbols), not &quot;: escape just those.
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, np.ndarray) and value.dtype.kind not in "OUS":
        return value  # numbers and dates: nothing to escape
    if isinstance(value, list | tuple | np.ndarray):
        return [_escaped(item) for item in value]
    return value
