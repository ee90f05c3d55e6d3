"""Mailing exclusions: who bulk mail must skip, why, and the list for the mailing system."""

from __future__ import annotations

from functools import partial

import streamlit as st

from ui import exports, feedback, grid, i18n, mailing_words, queries, resources
from ui.format import file_name, labels, local_times
from ui.i18n import _

actor = feedback.page_header(
    _("Mailing exclusions"),
    _(
        'The rules the mailing system follows, an answer to "why don\'t I get your mail?", '
        "and the exclusion list as CSV."
    ),
)
settings = resources.settings()
soft_rule = (
    _("any soft bounce")
    if settings.soft_bounce_exclusion_count == 1
    else _("{count} soft bounces").format(count=settings.soft_bounce_exclusion_count)
)

with st.container(border=True, key="mx_policy"):
    st.markdown(_("**The policy**"))
    st.markdown(
        _(
            "- **Hard bounce** (SES `Permanent`) → excluded from bulk mail.\n"
            "- **Soft bounce** (SES `Transient`) → excluded after {soft_rule} within {days} "
            "days (`BOUNCEDESK_SOFT_BOUNCE_EXCLUSION_COUNT`, "
            "`BOUNCEDESK_SOFT_BOUNCE_WINDOW_DAYS`).\n"
            "- **Complaint** → excluded; a confirmation never lifts it (a complaint is about "
            "consent).\n"
            "- **On the SES suppression list** → excluded until it is removed from the list.\n"
            "- **Confirmed valid after the last bounce** → mailable again (lifts the bounce "
            "rules).\n"
            "- **Undetermined** bounces alone do not exclude."
        ).format(soft_rule=soft_rule, days=settings.soft_bounce_window_days)
    )

st.subheader(_("Can we mail this address?"))
with st.form("mx_lookup_form", border=False):
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    address = left.text_input(
        _("Email address"), key="mx_address", placeholder="someone@example.co.jp"
    )
    asked = right.form_submit_button(_("Check"), type="primary", key="mx_check", width="stretch")
if asked and address.strip():
    with feedback.reported(_("check the address")):
        status = queries.mailing_status(resources.database_key(), address)
        # The address is shown as plain text: it is whatever was typed.
        st.text(_("Address: {address}").format(address=status.address))
        if status.mailable:
            st.success(
                _("Yes: this address may receive bulk mail."), icon=":material/check_circle:"
            )
        else:
            st.warning(_("No: this address is excluded from bulk mail."), icon=":material/block:")
        st.caption(_("Why"))
        for reason in mailing_words.reasons(status):
            st.text(f"• {reason}")

st.subheader(_("Exclusion list"))
with feedback.reported(_("load the exclusion list")):
    preview = queries.exclusions_preview(resources.database_key(), 200)
    if preview.empty:
        feedback.empty_state(_("Nobody is excluded: no bounces, complaints or suppressions yet."))
    else:
        st.caption(
            _("The first {count} excluded addresses, in address order.").format(count=len(preview))
        )
        shown = local_times(preview, ["since"])
        shown["reason"] = shown["findings"].map(
            lambda found: "; ".join(mailing_words.reason(finding) for finding in found)
        )
        shown = shown[["address", "reason", "since"]]
        grid.show(shown, key="mx_preview", column_config=labels(shown.columns))
    left, right = st.columns(2, vertical_alignment="bottom")
    bom = exports.encoding_choice("mx_encoding", left)
    right.download_button(
        _("Download the full exclusion list (CSV)"),
        data=partial(queries.exclusions_csv, resources.database_key(), bom, actor, i18n.zone()),
        file_name=file_name("mailing-exclusions"),
        mime="text/csv",
        key="mx_download",
        on_click="ignore",
        icon=":material/download:",
        help=_(
            "The reasons stay in English for the mailing system; times in {zone}, ISO 8601 "
            "with their offset. The export is recorded in the audit log."
        ).format(zone=i18n.zone_name()),
    )
