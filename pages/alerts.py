"""Alerts: what is open now (acknowledge, snooze), the guard (resume a paused stream), and
the history with filters and a CSV export."""

from __future__ import annotations

from datetime import date
from functools import partial

import streamlit as st

from core.access import Action
from core.alerts.lifecycle import AlertFilter
from ui import actions, feedback, grid, identity, queries, resources
from ui.format import labels, today_utc

PREFIX = "alerts"
OPEN_COLUMNS = [
    "id", "severity", "title", "scope", "opened_at", "last_seen_at", "notifications",
    "acknowledged_by", "snoozed_until",
]  # fmt: skip
SNOOZES = ["1h", "4h", "1d", "7d"]
STATUSES = {"Open": "open", "Resolved": "resolved", "Both": None}
ANY_RULE = "Any rule"
ENCODINGS = ["UTF-8", "UTF-8 with BOM (Excel)"]

actor = feedback.page_header(
    "Alerts",
    "Rates against the warning, review and pause levels (account and each configuration "
    "set), spikes, SES's own status, the pipeline and the suppression list, checked by the "
    "alerts job or `bouncedesk alerts check`. An alert opens once, is sent again while open, "
    "and resolves by itself when its condition clears.",
)
db = resources.database_key()
ack_refusal = identity.refusal(actor, Action.ACKNOWLEDGE_ALERTS)
resume_refusal = identity.refusal(actor, Action.RESUME_SENDING)
feedback.show_flash(PREFIX)

with feedback.reported("load the open alerts"):
    open_frame = queries.alerts(db, AlertFilter())
    st.subheader(f"Open ({len(open_frame)})")
    if open_frame.empty:
        feedback.empty_state("No open alerts.")
    else:
        with st.container(key=f"{PREFIX}_open"):
            grid.show(
                open_frame[OPEN_COLUMNS],
                key=f"{PREFIX}_open_table",
                column_config={**labels(OPEN_COLUMNS), "title": st.column_config.TextColumn(
                    "Title", width="large")},
            )  # fmt: skip
        choices = {
            f"#{alert_id} {title}": int(alert_id)
            for alert_id, title in zip(
                open_frame["id"].tolist(), open_frame["title"].tolist(), strict=True
            )
        }
        with st.container(border=True, key=f"{PREFIX}_act"):
            picked = st.selectbox("Alert", list(choices), key=f"{PREFIX}_pick")
            note = st.text_input("Note (optional)", key=f"{PREFIX}_note")
            left, middle, right = st.columns([1, 1, 2], vertical_alignment="bottom")
            if (
                left.button(
                    "Acknowledge",
                    key=f"{PREFIX}_ack",
                    icon=":material/done:",
                    disabled=picked is None or ack_refusal is not None,
                    help=ack_refusal,
                )
                and picked is not None
            ):
                with feedback.reported("acknowledge the alert"):
                    alert = actions.acknowledge_alert(actor, choices[picked], note)
                    feedback.flash(PREFIX, "success", f"Alert {alert.id} acknowledged.")
                    queries.clear()
                    st.rerun()
            length = middle.selectbox("Snooze for", SNOOZES, index=1, key=f"{PREFIX}_snooze_for")
            if (
                right.button(
                    "Snooze",
                    key=f"{PREFIX}_snooze",
                    icon=":material/snooze:",
                    disabled=picked is None or ack_refusal is not None,
                    help=ack_refusal,
                )
                and picked is not None
            ):
                with feedback.reported("snooze the alert"):
                    alert = actions.snooze_alert(actor, choices[picked], length or "4h")
                    feedback.flash(PREFIX, "success", f"Alert {alert.id} snoozed for {length}.")
                    queries.clear()
                    st.rerun()

        paused = open_frame[open_frame["rule"] == "guard_paused"]
        if not paused.empty:
            with st.container(border=True, key=f"{PREFIX}_guard"):
                st.markdown("**The guard paused a stream.** Resuming is an admin's act.")
                names = [str(scope).split(":", 1)[1] for scope in paused["scope"]]
                chosen = st.selectbox("Configuration set", names, key=f"{PREFIX}_resume_set")
                reason = st.text_input("Reason (required)", key=f"{PREFIX}_resume_reason")
                if (
                    st.button(
                        "Resume sending",
                        key=f"{PREFIX}_resume",
                        icon=":material/play_arrow:",
                        disabled=resume_refusal is not None or not reason.strip(),
                        help=resume_refusal,
                    )
                    and chosen
                ):
                    with feedback.reported("resume sending"):
                        actions.resume_sending(actor, chosen, reason)
                        feedback.flash(PREFIX, "success", f"Sending resumed for {chosen}.")
                        queries.clear()
                        st.rerun()

st.subheader("History")
with st.container(border=True, key=f"{PREFIX}_filters"), feedback.reported("load the filters"):
    row = st.columns([1.2, 2, 2, 1.3, 1.3])
    status = row[0].selectbox("Status", list(STATUSES), index=2, key=f"{PREFIX}_status")
    rule = row[1].selectbox("Rule", [ANY_RULE, *queries.alert_rules(db)], key=f"{PREFIX}_rule")
    scope = row[2].text_input("Scope contains", key=f"{PREFIX}_scope")
    start = row[3].date_input("From", value=None, max_value=today_utc(), key=f"{PREFIX}_start")
    end = row[4].date_input("to (UTC)", value=None, max_value=today_utc(), key=f"{PREFIX}_end")
flt = AlertFilter(
    status=STATUSES.get(status or "Both"),
    rule=None if rule in (None, ANY_RULE) else rule,
    scope=scope.strip() or None,
    start=start if isinstance(start, date) else None,
    end=end if isinstance(end, date) else None,
)
with feedback.reported("load the alert history"):
    history = queries.alerts(db, flt)
    if history.empty:
        feedback.empty_state("No alerts match these filters.")
    else:
        columns = ["id", "status", "severity", "rule", "scope", "title", "opened_at",
                   "resolved_at", "notifications", "acknowledged_by"]  # fmt: skip
        grid.show(history[columns], key=f"{PREFIX}_history", column_config=labels(columns))
        ids = [int(i) for i in history["id"]]
        shown = st.selectbox("Events of alert", ids, key=f"{PREFIX}_events_of")
        if shown is not None:
            events = queries.alert_history(db, int(shown))
            grid.show(
                events[["at", "kind", "actor", "detail"]],
                key=f"{PREFIX}_events",
                column_config=labels(["at", "kind", "actor", "detail"]),
            )
    with st.container(border=True, key=f"{PREFIX}_export"):
        left, right = st.columns(2, vertical_alignment="bottom")
        encoding = left.radio("CSV encoding", ENCODINGS, horizontal=True, key=f"{PREFIX}_encoding")
        right.download_button(
            f"Download {len(history):,} matching alerts (CSV)",
            data=partial(queries.alerts_csv, db, flt, encoding == ENCODINGS[1]),
            file_name=f"alerts-{today_utc():%Y%m%d}.csv",
            mime="text/csv",
            key=f"{PREFIX}_download",
            on_click="ignore",
            icon=":material/download:",
        )
