"""Mailing exclusions: who bulk mail must skip, why, and the list for the mailing system."""

from __future__ import annotations

from functools import partial

import streamlit as st

from ui import feedback, grid, queries, resources
from ui.format import labels, today_utc

ENCODINGS = ["UTF-8", "UTF-8 with BOM (Excel)"]

actor = feedback.page_header(
    "Mailing exclusions",
    'The rules the mailing system follows, an answer to "why don\'t I get your mail?", '
    "and the exclusion list as CSV.",
)
settings = resources.settings()
soft_rule = (
    "any soft bounce"
    if settings.soft_bounce_exclusion_count == 1
    else f"{settings.soft_bounce_exclusion_count} soft bounces"
)

with st.container(border=True, key="mx_policy"):
    st.markdown("**The policy**")
    st.markdown(
        f"""
- **Hard bounce** (SES `Permanent`) → excluded from bulk mail.
- **Soft bounce** (SES `Transient`) → excluded after {soft_rule} within
  {settings.soft_bounce_window_days} days (`BOUNCEDESK_SOFT_BOUNCE_EXCLUSION_COUNT`,
  `BOUNCEDESK_SOFT_BOUNCE_WINDOW_DAYS`).
- **Complaint** → excluded; a confirmation never lifts it (a complaint is about consent).
- **On the SES suppression list** → excluded until it is removed from the list.
- **Confirmed valid after the last bounce** → mailable again (lifts the bounce rules).
- **Undetermined** bounces alone do not exclude.
"""
    )

st.subheader("Can we mail this address?")
with st.form("mx_lookup_form", border=False):
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    address = left.text_input(
        "Email address", key="mx_address", placeholder="someone@example.co.jp"
    )
    asked = right.form_submit_button("Check", type="primary", key="mx_check", width="stretch")
if asked and address.strip():
    with feedback.reported("check the address"):
        status = queries.mailing_status(resources.database_key(), address)
        # The address is shown as plain text: it is whatever was typed.
        st.text(f"Address: {status.address}")
        if status.mailable:
            st.success("Yes: this address may receive bulk mail.", icon=":material/check_circle:")
        else:
            st.warning("No: this address is excluded from bulk mail.", icon=":material/block:")
        st.caption("Why")
        for reason in status.reasons:
            st.text(f"• {reason}")

st.subheader("Exclusion list")
with feedback.reported("load the exclusion list"):
    preview = queries.exclusions_preview(resources.database_key(), 200)
    if preview.empty:
        feedback.empty_state("Nobody is excluded: no bounces, complaints or suppressions yet.")
    else:
        st.caption(f"The first {len(preview)} excluded addresses, in address order.")
        grid.show(preview, key="mx_preview", column_config=labels(preview.columns))
    left, right = st.columns(2, vertical_alignment="bottom")
    encoding = left.radio("CSV encoding", ENCODINGS, horizontal=True, key="mx_encoding")
    right.download_button(
        "Download the full exclusion list (CSV)",
        data=partial(
            queries.exclusions_csv,
            resources.database_key(),
            encoding == ENCODINGS[1],
            actor,
        ),
        file_name=f"mailing-exclusions-{today_utc():%Y%m%d}.csv",
        mime="text/csv",
        key="mx_download",
        on_click="ignore",
        icon=":material/download:",
        help="The export is recorded in the audit log.",
    )
