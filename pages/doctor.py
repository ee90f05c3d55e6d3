"""Doctor: the deployment check `bouncedesk doctor` runs, one row per check (admin only)."""

from __future__ import annotations

import streamlit as st

from core.access import Action
from ui import feedback, grid, identity, queries, resources
from ui.i18n import _

PREFIX = "doc"

actor = feedback.page_header(
    _("Doctor"),
    _(
        "Checks this deployment end to end: settings, database and schema, AWS credentials and "
        "permissions, the SES account, which identities and configuration sets publish bounces "
        "and complaints to a topic, the topic's subscription to the queue, queue and dead-letter "
        "depth, and SNS certificates. The same lines as `bouncedesk doctor`; nothing is changed."
    ),
)
diagnose_refusal = identity.refusal(actor, Action.DIAGNOSE)
if diagnose_refusal is not None:
    st.warning(_("This page shows the deployment's configuration, so it is for admins."))
    st.text(diagnose_refusal)
    st.stop()

db = resources.database_key()
if st.button(_("Check again"), key=f"{PREFIX}_again", icon=":material/refresh:"):
    queries.doctor_report.clear()

with feedback.reported(_("check the deployment")):
    frame, exit_code, summary = queries.doctor_report(db, actor)
    if exit_code == 0:
        st.success(_("No problem found."), icon=":material/check_circle:")
    else:
        st.error(_("Something needs fixing: see the rows marked problem."), icon=":material/error:")
    st.text(summary)
    grid.show(
        frame,
        key=f"{PREFIX}_findings",
        column_config={
            "status": st.column_config.TextColumn(_("Status"), width="small"),
            "check": st.column_config.TextColumn(_("Check")),
            "message": st.column_config.TextColumn(_("Found"), width="large"),
            "action": st.column_config.TextColumn(_("What to do"), width="large"),
        },
    )
