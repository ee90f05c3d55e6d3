"""Suppression list: our mirror of the SES account-level list, and taking addresses off it."""

from __future__ import annotations

from functools import partial

import streamlit as st

from core.access import Action
from core.suppression.mirror import MirrorFilter
from ui import actions, feedback, grid, identity, pager, queries, removal, resources, selection
from ui.format import labels, timestamp, today_utc

PREFIX = "sl"
REASONS = ["BOUNCE", "COMPLAINT"]
MIRROR_PAGE_SIZE = 50

actor = feedback.page_header(
    "Suppression list",
    "SES drops mail to addresses on the account-level suppression list and reports a bounce "
    "that does not count toward the rate. Valid addresses stay unreachable until removed.",
)
feedback.show_flash(PREFIX)
removal.results(PREFIX, actor)
db = resources.database_key()
sync_refusal = identity.refusal(actor, Action.SYNC)
remove_refusal = identity.refusal(actor, Action.REMOVE_CONFIRMED)

# --- Sync ----------------------------------------------------------------------------------
with st.container(border=True, key="sl_sync_box"), feedback.reported("load the sync status"):
    last = queries.last_sync(db)
    left, right = st.columns([3, 2], vertical_alignment="center")
    if last is None:
        left.write("The mirror has never been synced with SES.")
    else:
        left.write(
            f"Last sync {timestamp(last['finished_at'] or last['started_at'])}: "
            f"{last['status']}, {last['seen']:,} addresses listed"
            + (f", {last['gone']:,} no longer listed." if last["gone"] else ".")
        )
        if last["error"]:
            left.text(f"It failed: {last['error']}")
    incremental = right.checkbox(
        "Only changes since the last sync",
        key="sl_incremental",
        help="Faster, but cannot see addresses removed from the list by someone else.",
    )
    if right.button(
        "Sync now",
        key="sl_sync",
        type="primary",
        icon=":material/sync:",
        disabled=sync_refusal is not None,
        help=sync_refusal,
    ):
        bar = st.progress(0.0, text="Reading the suppression list from SES…")

        def progress(pages: int, seen: int) -> None:
            bar.progress(min(0.95, pages / (pages + 1)), text=f"Page {pages}: {seen:,} addresses")

        with feedback.reported("sync the suppression list"):
            report = actions.sync_suppression_list(
                actor, incremental=incremental, progress=progress
            )
            queries.clear()
            feedback.flash(
                PREFIX,
                "success",
                f"Synced: {report.seen:,} addresses listed, {report.added:,} new, "
                f"{report.gone:,} no longer listed. " + " ".join(report.notes),
            )
            st.rerun()

# --- Candidates ----------------------------------------------------------------------------
st.subheader("Ready to remove")
st.caption(
    "On the list, and confirmed valid by staff since their last bounce: the addresses the "
    "team used to collect by hand for the console's bulk delete."
)
with feedback.reported("load the removal candidates"):
    candidates = queries.removal_candidates(db)
    if candidates.empty:
        feedback.empty_state(
            "No candidates. Confirm addresses valid on the Bounced users page first."
        )
    else:
        grid.show(
            candidates[
                [
                    "address",
                    "suppression_reason",
                    "suppressed_at",
                    "confirmed_at",
                    "confirmed_by",
                    "note",
                ]
            ],
            key="sl_candidates",
            column_config=labels(candidates.columns),
        )
        left, right = st.columns(2)
        left.button(
            f"Remove all {len(candidates)} candidates…",
            key="sl_remove_candidates",
            type="primary",
            icon=":material/delete:",
            disabled=remove_refusal is not None,
            help=remove_refusal,
            on_click=removal.request,
            args=(PREFIX, list(candidates["address"])),
            width="stretch",
        )
        right.download_button(
            "Console bulk-delete CSV",
            data=partial(queries.console_csv, db, actor),
            file_name=f"ses-bulk-delete-{today_utc():%Y%m%d}.csv",
            mime="text/csv",
            key="sl_console_csv",
            on_click="ignore",
            icon=":material/download:",
            help="For SES console → Suppression list → Bulk actions → Bulk delete: one "
            "address per line, no header. The export is recorded in the audit log.",
            width="stretch",
        )
        formulas, needs_admin = queries.console_csv_left_out(db)
        if formulas:
            st.warning(
                f"{len(formulas)} candidates start with a character spreadsheets run as a "
                "formula (= + - @). They are left out of the console file; remove them here "
                "instead (one SES call each):",
                icon=":material/warning:",
            )
            for address in formulas[:20]:
                st.text(address)
        if needs_admin:
            st.warning(
                f"{len(needs_admin)} candidates need an admin (listed for a complaint, or "
                "hard-bounced again after a removal). They are left out of the console file; "
                "an admin removes them here, with a reason:",
                icon=":material/warning:",
            )
            for address in needs_admin[:20]:
                st.text(address)

# --- The mirror ----------------------------------------------------------------------------
st.subheader("Mirror")


def _restart() -> None:
    pager.restart(PREFIX)
    selection.forget(PREFIX)


with st.container(border=True, key="sl_filters"):
    row = st.columns([2, 1.3, 1.3, 2, 1.5])
    reasons = row[0].multiselect("Reason", REASONS, key="sl_reasons", on_change=_restart)
    start = row[1].date_input("Listed from", value=None, key="sl_start", on_change=_restart)
    end = row[2].date_input("to (UTC)", value=None, key="sl_end", on_change=_restart)
    text = row[3].text_input("Address contains", key="sl_text", on_change=_restart)
    status = row[4].selectbox(
        "Show", ["On the list", "No longer listed"], key="sl_status", on_change=_restart
    )
mirror_filter = MirrorFilter(tuple(reasons), start, end, text, status == "On the list")

with feedback.reported("load the suppression mirror"):
    page = pager.fetch(
        PREFIX,
        lambda number, size: queries.suppression_mirror(db, mirror_filter, number, size),
        size=MIRROR_PAGE_SIZE,
    )
    frame, total = page.rows, page.total
    if total == 0:
        feedback.empty_state("No addresses match. Sync the mirror if it has never been synced.")
    else:
        selection.restore(PREFIX, frame)
        rows = grid.pick_rows(frame, key="sl_table", column_config=labels(frame.columns))
        pager.controls(PREFIX, page, f"{total:,} addresses.")
        selected = [str(frame.iloc[i]["address"]) for i in rows]
        remove_col, dry_col, export_col = st.columns(3)
        remove_col.button(
            f"Remove {len(selected)} selected…" if selected else "Select rows to remove them",
            key="sl_remove_selected",
            icon=":material/delete:",
            disabled=not selected or remove_refusal is not None,
            help=remove_refusal,
            on_click=removal.request,
            args=(PREFIX, selected),
        )
        dry_col.button(
            "Dry run",
            key="sl_dry_run",
            icon=":material/preview:",
            disabled=not selected,
            help="What removing the selected addresses would do for you; nothing changes.",
            on_click=removal.request_dry_run,
            args=(PREFIX, selected),
        )
        export_col.download_button(
            f"Download all {total:,} (CSV)",
            data=partial(queries.mirror_csv, db, actor, mirror_filter),
            file_name=f"suppression-mirror-{today_utc():%Y%m%d}.csv",
            mime="text/csv",
            key="sl_mirror_csv",
            on_click="ignore",
            icon=":material/download:",
            help="The mirror as filtered here. The export is recorded in the audit log.",
        )
        removal.dry_run_panel(PREFIX, actor)

removal.dialog(PREFIX, actor)
