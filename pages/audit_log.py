"""Audit log: who changed what and who exported what, newest first; itself exportable."""

from __future__ import annotations

from datetime import date
from functools import partial

import streamlit as st

from core.audit import ACTIONS, AuditFilter
from ui import exports, feedback, grid, i18n, pager, queries, resources
from ui.format import file_name, labels, local_times, today
from ui.i18n import _

PREFIX = "al"
ANYONE, ANY_ACTION = "", ""  # the filters' first choice: nobody and no action in particular
PAGE_SIZE = 50

actor = feedback.page_header(
    _("Audit log"),
    _(
        "Every change Bounce Desk made (confirmations, removals, syncs, imports, ingestion by "
        "hand) and every export of personal data: who, when, on which addresses, with which "
        "parameters, and how it went. Entries are never changed or deleted."
    ),
)
db = resources.database_key()


def _restart() -> None:
    pager.restart(PREFIX)


with (
    st.container(border=True, key=f"{PREFIX}_filters"),
    feedback.reported(_("load the filters")),
):
    row = st.columns([2, 2, 2, 1.3, 1.3])
    who = row[0].selectbox(
        _("Who"),
        [ANYONE, *queries.audit_actors(db)],
        format_func=lambda name: name or _("Anyone"),
        key=f"{PREFIX}_actor",
        on_change=_restart,
    )
    action = row[1].selectbox(
        _("Action"),
        [ANY_ACTION, *ACTIONS],
        format_func=lambda code: code or _("Any action"),
        key=f"{PREFIX}_action",
        on_change=_restart,
    )
    address = row[2].text_input(_("Address contains"), key=f"{PREFIX}_address", on_change=_restart)
    zone = i18n.zone_label()
    start = row[3].date_input(
        _("From ({zone})").format(zone=zone),
        value=None,
        max_value=today(),
        key=f"{PREFIX}_start",
        on_change=_restart,
    )
    end = row[4].date_input(
        _("to ({zone})").format(zone=zone),
        value=None,
        max_value=today(),
        key=f"{PREFIX}_end",
        on_change=_restart,
    )
flt = AuditFilter(
    actor=who or None,
    action=action or None,
    address=address.strip() or None,
    start=start if isinstance(start, date) else None,
    end=end if isinstance(end, date) else None,
    zone=i18n.zone_name(),
)

with feedback.reported(_("load the audit log")):
    page = pager.fetch(
        PREFIX, lambda number, size: queries.audit_page(db, flt, number, size), size=PAGE_SIZE
    )
    frame, total = page.rows, page.total
    if total == 0:
        feedback.empty_state(_("No audit entries match these filters."))
    else:
        titles = labels(frame.columns)
        with st.container(key=f"{PREFIX}_entries"):
            grid.show(
                local_times(frame, ["when"]),
                key=f"{PREFIX}_table",
                column_config={
                    **titles,
                    "when": st.column_config.DatetimeColumn(
                        titles["when"], format="YYYY-MM-DD HH:mm:ss"
                    ),
                    "parameters": st.column_config.TextColumn(titles["parameters"], width="large"),
                },
            )
        pager.controls(PREFIX, page, _("{count} entries match.").format(count=f"{total:,}"))

    with st.container(border=True, key=f"{PREFIX}_export"):
        left, right = st.columns(2, vertical_alignment="bottom")
        bom = exports.encoding_choice(f"{PREFIX}_encoding", left)
        right.download_button(
            _("Download all {count} matching entries (CSV)").format(count=f"{total:,}"),
            data=partial(queries.audit_csv, db, actor, flt, bom, i18n.zone()),
            file_name=file_name("audit-log"),
            mime="text/csv",
            key=f"{PREFIX}_download",
            on_click="ignore",
            icon=":material/download:",
            help=_(
                "Times in {zone}, ISO 8601 with their offset. The export is itself recorded in "
                "the audit log."
            ).format(zone=i18n.zone_name()),
        )
