"""Overview: where the account stands against the SES review and pause thresholds."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import streamlit as st

from core.policy import BOUNCE_PAUSE, BOUNCE_REVIEW, COMPLAINT_PAUSE, COMPLAINT_REVIEW
from core.reports.rates import RateStatus
from ui import charts, feedback, grid, i18n, queries, resources, terms
from ui.format import labels, percent, timestamp, today_utc
from ui.i18n import _

BadgeColour = Literal["red", "orange", "yellow", "blue", "green", "violet", "gray", "primary"]
STATUS_COLOURS: dict[RateStatus, BadgeColour] = {
    RateStatus.HEALTHY: "green",
    RateStatus.REVIEW: "orange",
    RateStatus.PAUSE: "red",
    RateStatus.UNKNOWN: "gray",
}
ENFORCEMENT: dict[str, BadgeColour] = {"HEALTHY": "green", "PROBATION": "orange", "SHUTDOWN": "red"}

feedback.page_header(
    _("Overview"),
    _(
        "SES reviews the account at a {review} bounce rate ({complaint_review} complaints) and "
        "may pause all sending at {pause} ({complaint_pause}). Bounces to addresses on our own "
        "suppression list do not count."
    ).format(
        review=percent(BOUNCE_REVIEW, digits=0),
        complaint_review=percent(COMPLAINT_REVIEW, digits=1),
        pause=percent(BOUNCE_PAUSE, digits=0),
        complaint_pause=percent(COMPLAINT_PAUSE, digits=1),
    ),
)


def rate_card(label: str, value: float | None, status: RateStatus, source: str, key: str) -> None:
    with st.container(border=True, key=key):
        st.metric(label, percent(value, digits=2) if value is not None else "—")
        st.badge(terms.word(terms.RATE_STATUS, status), color=STATUS_COLOURS[status])
        if source == "own":
            st.caption(_("Our own 7-day estimate: no official SES figure pulled yet."))
        elif source == "none":
            st.caption(_("No sends recorded yet."))


def account_card(health: object) -> None:
    with st.container(border=True, key="overview_account"):
        status = getattr(health, "enforcement_status", None)
        label = terms.word(terms.ENFORCEMENT, status) if status else _("Unknown")
        st.metric(_("SES enforcement status"), label)
        enabled = getattr(health, "sending_enabled", None)
        sending: dict[bool | None, tuple[str, BadgeColour]] = {
            True: (_("Sending enabled"), "green"),
            False: (_("Sending disabled"), "red"),
        }
        text, tone = sending.get(enabled, (_("Sending: unknown"), "gray"))
        st.badge(text, color=tone)
        checked = timestamp(getattr(health, "account_checked_at", None))
        st.caption(_("Checked {when}").format(when=checked))


ACCOUNT = ""  # the first choice: the whole account, not one configuration set
with feedback.reported(_("load the configuration sets")):
    streams = queries.configuration_sets(resources.database_key())
picked = st.selectbox(
    _("Account or configuration set"),
    [ACCOUNT, *streams],
    format_func=lambda name: name or _("The whole account"),
    key="overview_stream",
    help=_(
        "A configuration set's rates come from its own events and, where SES publishes "
        "them, its Reputation figures. The thresholds stay the account's: SES enforces per "
        "account."
    ),
)
stream = picked or None

with feedback.reported(_("load the account health")):
    health = queries.account_health(resources.database_key(), stream)
    first, second, third = st.columns(3)
    with first:
        rate_card(
            _("Bounce rate"),
            health.official_bounce_rate
            if health.official_bounce_rate is not None
            else health.own_bounce_rate_7d,
            health.bounce_status,
            health.bounce_status_source,
            "overview_bounce_card",
        )
    with second:
        rate_card(
            _("Complaint rate"),
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
            _(
                "Headroom at the last 7 days' volume ({sends} sends, {bounces} counting "
                "bounces): {review} more counting bounces reach review (5 %), {pause} reach "
                "a possible pause (10 %). {complaints} more complaints reach complaint "
                "review (0.1 %)."
            ).format(
                sends=f"{health.sends_7d:,}",
                bounces=f"{health.counting_bounces_7d:,}",
                review=f"{health.headroom_to_review:,}",
                pause=f"{health.headroom_to_pause:,}",
                complaints=f"{complaint_room:,}",
            ),
            icon=":material/speed:",
        )
    else:
        feedback.empty_state(
            _(
                "No sends recorded in the last 7 days, so there is no rate yet. Pull metrics "
                "(python -m core metrics pull) or ingest Send events."
            )
        )

today = today_utc()
chosen = st.date_input(
    _("Date range (UTC days)"),
    value=(today - timedelta(days=29), today),
    max_value=today,
    key="overview_range",
)
start, end = (chosen[0], chosen[-1]) if isinstance(chosen, tuple) and chosen else (today, today)
st.caption(
    _(
        "Daily counts and rates are per UTC day, as SES and CloudWatch count them; other "
        "times on this dashboard are in {zone}."
    ).format(zone=i18n.zone_name())
)

st.subheader(_("Bounce rate"))
with feedback.reported(_("load the bounce-rate trend")):
    trend = queries.rate_trend(resources.database_key(), start, end, "bounce", stream)
    if trend.empty or trend[["daily_rate", "official_rate"]].isna().all().all():
        feedback.empty_state(_("No sends or official figures in this range."))
    st.plotly_chart(
        charts.rate_chart(trend, review=BOUNCE_REVIEW, pause=BOUNCE_PAUSE, what="bounce"),
        key="overview_bounce_chart",
    )

st.subheader(_("Complaint rate"))
with feedback.reported(_("load the complaint-rate trend")):
    trend = queries.rate_trend(resources.database_key(), start, end, "complaint", stream)
    st.plotly_chart(
        charts.rate_chart(trend, review=COMPLAINT_REVIEW, pause=COMPLAINT_PAUSE, what="complaint"),
        key="overview_complaint_chart",
    )

BREAKDOWN = {"classification": _("Type"), "type": _("Type and subtype")}
left, right = st.columns(2)
with left:
    st.subheader(_("Bounces by type"))
    with feedback.reported(_("load bounces by type")):
        by_type = queries.bounces_by_type(resources.database_key(), start, end)
        if by_type.empty:
            feedback.empty_state(_("No bounces or complaints in this range."))
        else:
            detail = st.segmented_control(
                _("Break down by"),
                list(BREAKDOWN),
                format_func=BREAKDOWN.__getitem__,
                default="classification",
                key="overview_breakdown",
            )
            colour = "type" if detail == "type" else "classification"
            grouped = by_type.groupby(["day", colour])["count"].sum().reset_index()
            st.plotly_chart(
                charts.stacked_bars(
                    grouped, x="day", y="count", colour=colour, title=_("Events per UTC day")
                ),
                key="overview_types_chart",
            )
with right:
    st.subheader(_("Domains that bounce most"))
    with feedback.reported(_("load the top domains")):
        domains = queries.top_domains(resources.database_key(), start, end, 10)
        if domains.empty:
            feedback.empty_state(_("No bounces in this range."))
        else:
            grid.show(
                domains[["domain", "hard", "soft", "complaints", "total"]],
                key="overview_domains",
                column_config=labels(domains.columns),
            )
