"""Bounced users: find addresses, confirm them valid, take them off the suppression list."""

from __future__ import annotations

import streamlit as st

from core.access import Action
from ui import actions, bounced_view, feedback, identity, pager, queries, removal, resources
from ui.i18n import _

PREFIX = "bu"

actor = feedback.page_header(
    _("Bounced users"),
    _(
        "Every address that bounced or complained, with the user it belongs to. Select rows "
        "to confirm them valid or to take them off the SES suppression list."
    ),
)
feedback.show_flash(PREFIX)
removal.results(PREFIX, actor)

flt = bounced_view.filters(PREFIX)
db = resources.database_key()
confirm_refusal = identity.refusal(actor, Action.CONFIRM)
remove_refusal = identity.refusal(actor, Action.REMOVE_CONFIRMED)

with feedback.reported(_("load the bounced users")):
    page = pager.fetch_keyset(
        PREFIX, lambda cursor, size: queries.bounced_page(db, flt, cursor, size)
    )
    frame, total = page.rows, page.total

    if total == 0:
        feedback.empty_state(_("No bounced addresses match these filters."))
    else:
        selected = bounced_view.table(PREFIX, frame)
        pager.keyset_controls(
            PREFIX, page, _("{count} addresses match.").format(count=f"{total:,}")
        )

        addresses = [str(frame.iloc[i]["address"]) for i in selected]
        st.caption(
            _("{count} selected on this page.").format(count=len(addresses))
            if addresses
            else _("Select rows (tick the boxes on the left) to act on them.")
        )
        confirm_col, revoke_col, remove_col, dry_col = st.columns([3, 3, 3, 2])
        with confirm_col.popover(
            _("Mark confirmed-valid"),
            key=f"{PREFIX}_confirm_popover",
            icon=":material/verified:",
            disabled=not addresses or confirm_refusal is not None,
            help=confirm_refusal,
            width="stretch",
        ):
            note = st.text_input(
                _("How was it checked? (required)"),
                key=f"{PREFIX}_confirm_note",
                placeholder=_("e.g. user confirmed by phone, ticket #1234"),
            )
            if st.button(_("Confirm valid"), key=f"{PREFIX}_confirm", type="primary"):
                if not note.strip():
                    st.warning(_("A note is required: say how the address was checked."))
                else:
                    with feedback.reported(_("mark the addresses confirmed-valid")):
                        results = actions.confirm_valid(actor, addresses, note)
                        bounced_view.flash_results(PREFIX, "confirm", results)
                        queries.clear()
                        st.rerun()
        with revoke_col.popover(
            _("Revoke confirmation"),
            key=f"{PREFIX}_revoke_popover",
            icon=":material/undo:",
            disabled=not addresses or confirm_refusal is not None,
            help=confirm_refusal,
            width="stretch",
        ):
            why = st.text_input(_("Why? (required)"), key=f"{PREFIX}_revoke_note")
            if st.button(_("Revoke"), key=f"{PREFIX}_revoke", type="primary"):
                if not why.strip():
                    st.warning(_("A note is required: say why the confirmation no longer holds."))
                else:
                    with feedback.reported(_("revoke the confirmations")):
                        results = actions.revoke_confirmation(actor, addresses, why)
                        bounced_view.flash_results(PREFIX, "revoke", results)
                        queries.clear()
                        st.rerun()
        remove_col.button(
            _("Remove from suppression list…"),
            key=f"{PREFIX}_remove",
            icon=":material/delete:",
            disabled=not addresses or remove_refusal is not None,
            help=remove_refusal,
            on_click=removal.request,
            args=(PREFIX, addresses),
            width="stretch",
        )
        dry_col.button(
            _("Dry run"),
            key=f"{PREFIX}_dry_run",
            icon=":material/preview:",
            disabled=not addresses,
            help=_("What removing the selected addresses would do for you; nothing changes."),
            on_click=removal.request_dry_run,
            args=(PREFIX, addresses),
            width="stretch",
        )
        removal.dry_run_panel(PREFIX, actor)
        removal.dialog(PREFIX, actor)

        bounced_view.export(PREFIX, actor, flt, total)
        bounced_view.detail(PREFIX, addresses[0] if len(addresses) == 1 else None)
