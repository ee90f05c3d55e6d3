"""Audit log: who changed what and who exported what, newest first; itself exportable."""

from __future__ import annotations

from datetime import date
from functools import partial

import streamlit as st

from core.audit import ACTIONS, AuditFilter
from ui import feedback, grid, pager, queries, resources
from ui.format import labels, today_utc

PREFIX = "al"
ENCODINGS = ["UTF-8", "UTF-8 with BOM (Excel)"]
ANYONE, ANY_ACTION = "Anyone", "Any action"
PAGE_SIZE = 50

actor = feedback.page_header(
    "Audit log",
    "Every change Bounce Desk made (confirmations, removals, syncs, imports, ingestion by "
    "hand) and every export of personal data: who, when, on which addresses, with which "
    "parameters, and how it went. Entries are never changed or deleted.",
)
db = resources.database_key()


def _restart() -> None:
    pager.restart(PREFIX)


with (
    st.container(border=True, key=f"{PREFIX}_filters"),
    feedback.reported("load the filters"),
):
    row = st.columns([2, 2, 2, 1.3, 1.3])
    who = row[0].selectbox(
        "Who", [ANYONE, *queries.audit_actors(db)], key=f"{PREFIX}_actor", on_change=_restart
    )
    action = row[1].selectbox(
        "Action", [ANY_ACTION, *ACTIONS], key=f"{PREFIX}_action", on_change=_restart
    )
    address = row[2].text_input("Address contains", key=f"{PREFIX}_address", on_change=_restart)
    start = row[3].date_input(
        "From", value=None, max_value=today_utc(), key=f"{PREFIX}_start", on_change=_restart
    )
    end = row[4].date_input(
        "to (UTC)", value=None, max_value=today_utc(), key=f"{PREFIX}_end", on_change=_restart
    )
flt = AuditFilter(
    actor=None if who in (None, ANYONE) else who,
    action=None if action in (None, ANY_ACTION) else action,
    address=address.strip() or None,
    start=start if isinstance(start, date) else None,
    end=end if isinstance(end, date) else None,
)

with feedback.reported("load the audit log"):
    page = pager.fetch(
        PREFIX, lambda number, size: queries.audit_page(db, flt, number, size), size=PAGE_SIZE
    )
    frame, total = page.rows, page.total
    if total == 0:
        feedback.empty_state("No audit entries match these filters.")
    else:
        with st.container(key=f"{PREFIX}_entries"):
            grid.show(
                frame,
                key=f"{PREFIX}_table",
                column_config={
                    **labels(frame.columns),
                    "when (UTC)": st.column_config.DatetimeColumn(
                        "When (UTC)", format="YYYY-MM-DD HH:mm:ss"
                    ),
                    "parameters": st.column_config.TextColumn("Parameters", width="large"),
                },
            )
        pager.controls(PREFIX, page, f"{total:,} entries match.")

    with st.container(border=True, key=f"{PREFIX}_export"):
        left, right = st.columns(2, vertical_alignment="bottom")
        encoding = left.radio("CSV encoding", ENCODINGS, horizontal=True, key=f"{PREFIX}_encoding")
        right.download_button(
            f"Download all {total:,} matching entries (CSV)",
            data=partial(queries.audit_csv, db, actor, flt, encoding == ENCODINGS[1]),
            file_name=f"audit-log-{today_utc():%Y%m%d}.csv",
            mime="text/csv",
            key=f"{PREFIX}_download",
            on_click="ignore",
            icon=":material/download:",
            help="The export is itself recorded in the audit log.",
        )
