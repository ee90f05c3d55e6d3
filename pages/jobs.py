"""Jobs: each periodic job's last run, outcome, next due and staleness; admins run one now."""

from __future__ import annotations

import streamlit as st

from core.access import Action
from core.store.models import JobOutcome
from ui import actions, feedback, grid, identity, queries, resources, terms
from ui.format import labels, local_times
from ui.i18n import _

PREFIX = "jobs"

actor = feedback.page_header(
    _("Jobs"),
    _(
        "The periodic work Bounce Desk does by itself: mirroring the suppression list, "
        "pulling the SES figures, checking import jobs and, without the ingest Lambda, "
        "polling SQS. A scheduler runs `bouncedesk jobs run-due` (or the jobs Lambda); each "
        "run is recorded. A job is stale when it has not succeeded for twice its interval or "
        "failed twice in a row."
    ),
)
feedback.show_flash(PREFIX)
db = resources.database_key()
run_refusal = identity.refusal(actor, Action.RUN_JOBS)

with feedback.reported(_("load the jobs")):
    table = queries.job_table(db)
    grid.show(
        local_times(table, ["last_run"]),
        key=f"{PREFIX}_table",
        column_config=labels(table.columns),
    )
    stale = table[table["stale"] != ""]
    for job, why in zip(stale["job"], stale["stale"], strict=True):
        st.warning(_("{job} is stale: {why}").format(job=job, why=why), icon=":material/warning:")

with st.container(border=True, key=f"{PREFIX}_run_box"):
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.selectbox(_("Job"), list(table["job"]), key=f"{PREFIX}_name")
    if right.button(
        _("Run now"),
        key=f"{PREFIX}_run",
        type="primary",
        icon=":material/play_arrow:",
        disabled=run_refusal is not None or name is None,
        help=run_refusal,
    ):
        with (
            feedback.reported(_("run {job}").format(job=name)),
            st.spinner(_("Running {job}…").format(job=name)),
        ):
            result = actions.run_job_now(actor, str(name))
            queries.clear()
            kind = {JobOutcome.SUCCEEDED: "success", JobOutcome.SKIPPED: "warning"}
            details = [line for line in (result.summary, result.error) if line]
            feedback.flash(
                PREFIX,
                kind.get(result.outcome, "error"),
                _("{job}: {outcome}").format(
                    job=name, outcome=terms.word(terms.JOB_OUTCOMES, result.outcome)
                ),
                details,
            )
            st.rerun()
