"""Alerts: what is open now (acknowledge, snooze), the guard (resume a paused stream), and
the history with filters and a CSV export."""

from __future__ import annotations

from datetime import date
from functools import partial

import streamlit as st

from core.access import Action
from core.alerts.lifecycle import AlertFilter
from ui import actions, exports, feedback, grid, identity, queries, resources
from ui.format import file_name, labels, local_times, today_utc
from ui.i18n import _

PREFIX = "alerts"
OPEN_COLUMNS = [
    "id", "severity", "title", "scope", "opened_at", "last_seen_at", "notifications",
    "acknowledged_by", "snoozed_until",
]  # fmt: skip
SNOOZES = ["1h", "4h", "1d", "7d"]
STATUSES = {"open": _("Open"), "resolved": _("Resolved"), "both": _("Both")}
ANY_RULE = ""
TIMES = ["opened_at", "last_seen_at", "snoozed_until", "resolved_at", "at"]

actor = feedback.page_header(
    _("Alerts"),
    _(
        "Rates against the warning, review and pause levels (account and each configuration "
        "set), spikes, SES's own status, the pipeline and the suppression list, checked by "
        "the alerts job or `bouncedesk alerts check`. An alert opens once, is sent again "
        "while open, and resolves by itself when its condition clears."
    ),
)
db = resources.database_key()
ack_refusal = identity.refusal(actor, Action.ACKNOWLEDGE_ALERTS)
resume_refusal = identity.refusal(actor, Action.RESUME_SENDING)
feedback.show_flash(PREFIX)

with feedback.reported(_("load the open alerts")):
    open_frame = queries.alerts(db, AlertFilter())
    st.subheader(_("Open ({count})").format(count=len(open_frame)))
    if open_frame.empty:
        feedback.empty_state(_("No open alerts."))
    else:
        with st.container(key=f"{PREFIX}_open"):
            titles = labels(OPEN_COLUMNS)
            grid.show(
                local_times(open_frame[OPEN_COLUMNS], [c for c in TIMES if c in OPEN_COLUMNS]),
                key=f"{PREFIX}_open_table",
                column_config={**titles, "title": st.column_config.TextColumn(
                    titles["title"], width="large")},
            )  # fmt: skip
        choices = {
            f"#{alert_id} {title}": int(alert_id)
            for alert_id, title in zip(
                open_frame["id"].tolist(), open_frame["title"].tolist(), strict=True
            )
        }
        with st.container(border=True, key=f"{PREFIX}_act"):
            picked = st.selectbox(_("Alert"), list(choices), key=f"{PREFIX}_pick")
            note = st.text_input(_("Note (optional)"), key=f"{PREFIX}_note")
            left, middle, right = st.columns([1, 1, 2], vertical_alignment="bottom")
            if (
                left.button(
                    _("Acknowledge"),
                    key=f"{PREFIX}_ack",
                    icon=":material/done:",
                    disabled=picked is None or ack_refusal is not None,
                    help=ack_refusal,
                )
                and picked is not None
            ):
                with feedback.reported(_("acknowledge the alert")):
                    alert = actions.acknowledge_alert(actor, choices[picked], note)
                    feedback.flash(
                        PREFIX, "success", _("Alert {id} acknowledged.").format(id=alert.id)
                    )
                    queries.clear()
                    st.rerun()
            length = middle.selectbox(_("Snooze for"), SNOOZES, index=1, key=f"{PREFIX}_snooze_for")
            if (
                right.button(
                    _("Snooze"),
                    key=f"{PREFIX}_snooze",
                    icon=":material/snooze:",
                    disabled=picked is None or ack_refusal is not None,
                    help=ack_refusal,
                )
                and picked is not None
            ):
                with feedback.reported(_("snooze the alert")):
                    alert = actions.snooze_alert(actor, choices[picked], length or "4h")
                    feedback.flash(
                        PREFIX,
                        "success",
                        _("Alert {id} snoozed for {length}.").format(id=alert.id, length=length),
                    )
                    queries.clear()
                    st.rerun()

        paused = open_frame[open_frame["rule"] == "guard_paused"]
        if not paused.empty:
            with st.container(border=True, key=f"{PREFIX}_guard"):
                st.markdown(_("**The guard paused a stream.** Resuming is an admin's act."))
                names = [str(scope).split(":", 1)[1] for scope in paused["scope"]]
                chosen = st.selectbox(_("Configuration set"), names, key=f"{PREFIX}_resume_set")
                reason = st.text_input(_("Reason (required)"), key=f"{PREFIX}_resume_reason")
                if (
                    st.button(
                        _("Resume sending"),
                        key=f"{PREFIX}_resume",
                        icon=":material/play_arrow:",
                        disabled=resume_refusal is not None or not reason.strip(),
                        help=resume_refusal,
                    )
                    and chosen
                ):
                    with feedback.reported(_("resume sending")):
                        actions.resume_sending(actor, chosen, reason)
                        feedback.flash(
                            PREFIX, "success", _("Sending resumed for {set}.").format(set=chosen)
                        )
                        queries.clear()
                        st.rerun()

st.subheader(_("History"))
with (
    st.container(border=True, key=f"{PREFIX}_filters"),
    feedback.reported(_("load the filters")),
):
    row = st.columns([1.2, 2, 2, 1.3, 1.3])
    status = row[0].selectbox(
        _("Status"),
        list(STATUSES),
        format_func=STATUSES.__getitem__,
        index=2,
        key=f"{PREFIX}_status",
    )
    rule = row[1].selectbox(
        _("Rule"),
        [ANY_RULE, *queries.alert_rules(db)],
        format_func=lambda code: code or _("Any rule"),
        key=f"{PREFIX}_rule",
    )
    scope = row[2].text_input(_("Scope contains"), key=f"{PREFIX}_scope")
    # The alerts wing reads its dates as UTC days.
    start = row[3].date_input(
        _("From (UTC)"), value=None, max_value=today_utc(), key=f"{PREFIX}_start"
    )
    end = row[4].date_input(
        _("to ({zone})").format(zone="UTC"),
        value=None,
        max_value=today_utc(),
        key=f"{PREFIX}_end",
    )
flt = AlertFilter(
    status=None if status in (None, "both") else status,
    rule=rule or None,
    scope=scope.strip() or None,
    start=start if isinstance(start, date) else None,
    end=end if isinstance(end, date) else None,
)
with feedback.reported(_("load the alert history")):
    history = queries.alerts(db, flt)
    if history.empty:
        feedback.empty_state(_("No alerts match these filters."))
    else:
        columns = ["id", "status", "severity", "rule", "scope", "title", "opened_at",
                   "resolved_at", "notifications", "acknowledged_by"]  # fmt: skip
        grid.show(
            local_times(history[columns], ["opened_at", "resolved_at"]),
            key=f"{PREFIX}_history",
            column_config=labels(columns),
        )
        ids = [int(i) for i in history["id"]]
        shown = st.selectbox(_("Events of alert"), ids, key=f"{PREFIX}_events_of")
        if shown is not None:
            events = queries.alert_history(db, int(shown))
            grid.show(
                local_times(events[["at", "kind", "actor", "detail"]], ["at"]),
                key=f"{PREFIX}_events",
                column_config=labels(["at", "kind", "actor", "detail"]),
            )
    with st.container(border=True, key=f"{PREFIX}_export"):
        left, right = st.columns(2, vertical_alignment="bottom")
        bom = exports.encoding_choice(f"{PREFIX}_encoding", left)
        right.download_button(
            _("Download {count} matching alerts (CSV)").format(count=f"{len(history):,}"),
            data=partial(queries.alerts_csv, db, flt, bom),
            file_name=file_name("alerts"),
            mime="text/csv",
            key=f"{PREFIX}_download",
            on_click="ignore",
            icon=":material/download:",
        )
