"""Overview: where the account stands against the SES review and pause thresholds."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import streamlit as st

from core.policy import BOUNCE_PAUSE, BOUNCE_REVIEW, COMPLAINT_PAUSE, COMPLAINT_REVIEW
from core.reports.rates import RateStatus
from ui import charts, feedback, grid, queries, resources
from ui.format import labels, percent, timestamp, today_utc

BadgeColour = Literal["red", "orange", "yellow", "blue", "green", "violet", "gray", "primary"]
STATUS_COLOURS: dict[RateStatus, BadgeColour] = {
    RateStatus.HEALTHY: "green",
    RateStatus.REVIEW: "orange",
    RateStatus.PAUSE: "red",
    RateStatus.UNKNOWN: "gray",
}
ENFORCEMENT: dict[str, tuple[str, BadgeColour]] = {
    "HEALTHY": ("Healthy", "green"),
    "PROBATION": ("Probation (under review)", "orange"),
    "SHUTDOWN": ("Shut down (sending paused)", "red"),
}

feedback.page_header(
    "Overview",
    "SES reviews the account at a 5 % bounce rate (0.1 % complaints) and may pause all "
    "sending at 10 % (0.5 %). Bounces to addresses on our own suppression list do not count.",
)


def rate_card(label: str, value: float | None, status: RateStatus, source: str, key: str) -> None:
    with st.container(border=True, key=key):
        st.metric(label, percent(value, digits=2) if value is not None else "—")
        st.badge(str(status), color=STATUS_COLOURS[status])
        if source == "own":
            st.caption("Our own 7-day estimate: no official SES figure pulled yet.")
        elif source == "none":
            st.caption("No sends recorded yet.")


def account_card(health: object) -> None:
    with st.container(border=True, key="overview_account"):
        status = getattr(health, "enforcement_status", None)
        label, colour = ENFORCEMENT.get(status or "", (status or "Unknown", "gray"))
        st.metric("SES enforcement status", label)
        enabled = getattr(health, "sending_enabled", None)
        sending: dict[bool | None, tuple[str, BadgeColour]] = {
            True: ("Sending enabled", "green"),
            False: ("Sending disabled", "red"),
        }
        text, tone = sending.get(enabled, ("Sending: unknown", "gray"))
        st.badge(text, color=tone)
        st.caption(f"Checked {timestamp(getattr(health, 'account_checked_at', None))}")


ACCOUNT = "The whole account"
with feedback.reported("load the configuration sets"):
    streams = queries.configuration_sets(resources.database_key())
picked = st.selectbox(
    "Account or configuration set",
    [ACCOUNT, *streams],
    key="overview_stream",
    help="A configuration set's rates come from its own events and, where SES publishes "
    "them, its Reputation figures. The thresholds stay the account's: SES enforces per account.",
)
stream = None if picked in (None, ACCOUNT) else picked

with feedback.reported("load the account health"):
    health = queries.account_health(resources.database_key(), stream)
    first, second, third = st.columns(3)
    with first:
        rate_card(
            "Bounce rate",
            health.official_bounce_rate
            if health.official_bounce_rate is not None
            else health.own_bounce_rate_7d,
            health.bounce_status,
            health.bounce_status_source,
            "overview_bounce_card",
        )
    with second:
        rate_card(
            "Complaint rate",
            health.official_complaint_rate
            if health.official_complaint_rate is not None
            else health.own_complaint_rate_7d,
            health.complaint_status,
            health.complaint_status_source,
            "overview_complaint_card",
        )
    with third:
        account_card(health)

    if health.sends_7d:
        complaint_room = queries.complaint_headroom(health)
        st.info(
            f"Headroom at the last 7 days' volume ({health.sends_7d:,} sends, "
            f"{health.counting_bounces_7d:,} counting bounces): "
            f"{health.headroom_to_review:,} more counting bounces reach review (5 %), "
            f"{health.headroom_to_pause:,} reach a possible pause (10 %). "
            f"{complaint_room:,} more complaints reach complaint review (0.1 %).",
            icon=":material/speed:",
        )
    else:
        feedback.empty_state(
            "No sends recorded in the last 7 days, so there is no rate yet. Pull metrics "
            "(python -m core metrics pull) or ingest Send events."
        )

today = today_utc()
chosen = st.date_input(
    "Date range (UTC)",
    value=(today - timedelta(days=29), today),
    max_value=today,
    key="overview_range",
)
start, end = (chosen[0], chosen[-1]) if isinstance(chosen, tuple) and chosen else (today, today)

st.subheader("Bounce rate")
with feedback.reported("load the bounce-rate trend"):
    trend = queries.rate_trend(resources.database_key(), start, end, "bounce", stream)
    if trend.empty or trend[["daily_rate", "official_rate"]].isna().all().all():
        feedback.empty_state("No sends or official figures in this range.")
    st.plotly_chart(
        charts.rate_chart(trend, review=BOUNCE_REVIEW, pause=BOUNCE_PAUSE, what="Bounce rate"),
        key="overview_bounce_chart",
    )

st.subheader("Complaint rate")
with feedback.reported("load the complaint-rate trend"):
    trend = queries.rate_trend(resources.database_key(), start, end, "complaint", stream)
    st.plotly_chart(
        charts.rate_chart(
            trend, review=COMPLAINT_REVIEW, pause=COMPLAINT_PAUSE, what="Complaint rate"
        ),
        key="overview_complaint_chart",
    )

left, right = st.columns(2)
with left:
    st.subheader("Bounces by type")
    with feedback.reported("load bounces by type"):
        by_type = queries.bounces_by_type(resources.database_key(), start, end)
        if by_type.empty:
            feedback.empty_state("No bounces or complaints in this range.")
        else:
            detail = st.segmented_control(
                "Break down by",
                ["Type", "Type and subtype"],
                default="Type",
                key="overview_breakdown",
            )
            colour = "type" if detail == "Type and subtype" else "classification"
            grouped = by_type.groupby(["day", colour])["count"].sum().reset_index()
            st.plotly_chart(
                charts.stacked_bars(grouped, x="day", y="count", colour=colour, title="Events"),
                key="overview_types_chart",
            )
with right:
    st.subheader("Domains that bounce most")
    with feedback.reported("load the top domains"):
        domains = queries.top_domains(resources.database_key(), start, end, 10)
        if domains.empty:
            feedback.empty_state("No bounces in this range.")
        else:
            grid.show(
                domains[["domain", "hard", "soft", "complaints", "total"]],
                key="overview_domains",
                column_config=labels(domains.columns),
            )
