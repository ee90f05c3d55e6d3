"""User directory: import the product's users so bounced addresses show who they are."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.access import Action
from ui import actions, feedback, grid, identity, queries, resources
from ui.format import labels
from ui.i18n import _

actor = feedback.page_header(
    _("User directory"),
    _(
        "Import a CSV export of the product's users (email, user id, name, company). Columns "
        "may come in any order, with English or Japanese headers, in UTF-8 or Shift_JIS. "
        "Importing again updates existing users."
    ),
)
feedback.show_flash("ud")

size_slot = st.empty()  # filled last, so it counts an import made on this run

import_refusal = identity.refusal(actor, Action.IMPORT_DIRECTORY)
upload = st.file_uploader(_("Users CSV"), type=["csv", "txt"], key="ud_file")
if (
    st.button(
        _("Import users"),
        key="ud_import",
        type="primary",
        disabled=upload is None or import_refusal is not None,
        help=import_refusal,
    )
    and upload is not None
):
    with feedback.reported(_("import the users")), st.spinner(_("Importing…")):
        report = actions.import_users(actor, upload.name, upload.getvalue())
        queries.clear()
        message = _("{added} users added, {updated} updated, {rejected} rows rejected.").format(
            added=f"{report.imported:,}",
            updated=f"{report.updated:,}",
            rejected=f"{len(report.rejected):,}",
        )
        (st.warning if report.rejected else st.success)(message, icon=":material/group_add:")
        if report.rejected:
            st.caption(_("Rejected rows (fix them in the file and import it again):"))
            rejected = pd.DataFrame(
                [(row.line_no, row.reason) for row in report.rejected], columns=["line", "reason"]
            )
            grid.show(rejected, key="ud_rejected", column_config=labels(rejected.columns))

with feedback.reported(_("count the directory")):
    size = queries.directory_size(resources.database_key())
    size_slot.metric(_("Users in the directory"), f"{size:,}")
