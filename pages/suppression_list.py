"""Suppression list: our mirror of the SES account-level list, and taking addresses off it."""

from __future__ import annotations

from functools import partial

import streamlit as st

from core.access import Action
from core.suppression.mirror import MirrorFilter
from ui import (
    actions,
    feedback,
    grid,
    i18n,
    identity,
    pager,
    queries,
    removal,
    resources,
    selection,
    terms,
)
from ui.format import file_name, labels, local_times, timestamp, today
from ui.i18n import _

PREFIX = "sl"
REASONS = ["BOUNCE", "COMPLAINT"]
MIRROR_PAGE_SIZE = 50

actor = feedback.page_header(
    _("Suppression list"),
    _(
        "SES drops mail to addresses on the account-level suppression list and reports a "
        "bounce that does not count toward the rate. Valid addresses stay unreachable until "
        "removed."
    ),
)
feedback.show_flash(PREFIX)
removal.results(PREFIX, actor)
db = resources.database_key()
sync_refusal = identity.refusal(actor, Action.SYNC)
remove_refusal = identity.refusal(actor, Action.REMOVE_CONFIRMED)

# --- Sync ----------------------------------------------------------------------------------
SYNC_STATUS = {"running": _("running"), "completed": _("completed"), "failed": _("failed")}
with (
    st.container(border=True, key="sl_sync_box"),
    feedback.reported(_("load the sync status")),
):
    last = queries.last_sync(db)
    left, right = st.columns([3, 2], vertical_alignment="center")
    if last is None:
        left.write(_("The mirror has never been synced with SES."))
    else:
        when = timestamp(last["finished_at"] or last["started_at"])
        status = SYNC_STATUS.get(str(last["status"]), str(last["status"]))
        seen = f"{last['seen']:,}"
        left.write(
            _(
                "Last sync {when}: {status}, {seen} addresses listed, {gone} no longer listed."
            ).format(when=when, status=status, seen=seen, gone=f"{last['gone']:,}")
            if last["gone"]
            else _("Last sync {when}: {status}, {seen} addresses listed.").format(
                when=when, status=status, seen=seen
            )
        )
        if last["error"]:
            left.text(_("It failed: {error}").format(error=last["error"]))
    incremental = right.checkbox(
        _("Only changes since the last sync"),
        key="sl_incremental",
        help=_("Faster, but cannot see addresses removed from the list by someone else."),
    )
    if right.button(
        _("Sync now"),
        key="sl_sync",
        type="primary",
        icon=":material/sync:",
        disabled=sync_refusal is not None,
        help=sync_refusal,
    ):
        bar = st.progress(0.0, text=_("Reading the suppression list from SES…"))

        def progress(pages: int, seen: int) -> None:
            bar.progress(
                min(0.95, pages / (pages + 1)),
                text=_("Page {page}: {count} addresses").format(page=pages, count=f"{seen:,}"),
            )

        with feedback.reported(_("sync the suppression list")):
            report = actions.sync_suppression_list(
                actor, incremental=incremental, progress=progress
            )
            queries.clear()
            feedback.flash(
                PREFIX,
                "success",
                _("Synced: {seen} addresses listed, {added} new, {gone} no longer listed.").format(
                    seen=f"{report.seen:,}", added=f"{report.added:,}", gone=f"{report.gone:,}"
                ),
                list(report.notes),
            )
            st.rerun()

# --- Candidates ----------------------------------------------------------------------------
st.subheader(_("Ready to remove"))
st.caption(
    _(
        "On the list, and confirmed valid by staff since their last bounce: the addresses the "
        "team used to collect by hand for the console's bulk delete."
    )
)
with feedback.reported(_("load the removal candidates")):
    candidates = queries.removal_candidates(db)
    if candidates.empty:
        feedback.empty_state(
            _("No candidates. Confirm addresses valid on the Bounced users page first.")
        )
    else:
        grid.show(
            local_times(candidates, ["suppressed_at", "confirmed_at"])[
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
            _("Remove all {count} candidates…").format(count=len(candidates)),
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
            _("Console bulk-delete CSV"),
            data=partial(queries.console_csv, db, actor),
            file_name=file_name("ses-bulk-delete"),
            mime="text/csv",
            key="sl_console_csv",
            on_click="ignore",
            icon=":material/download:",
            help=_(
                "For SES console → Suppression list → Bulk actions → Bulk delete: one "
                "address per line, no header. The export is recorded in the audit log."
            ),
            width="stretch",
        )
        formulas, needs_admin = queries.console_csv_left_out(db)
        if formulas:
            st.warning(
                _(
                    "{count} candidates start with a character spreadsheets run as a formula "
                    "(= + - @). They are left out of the console file; remove them here "
                    "instead (one SES call each):"
                ).format(count=len(formulas)),
                icon=":material/warning:",
            )
            for address in formulas[:20]:
                st.text(address)
        if needs_admin:
            st.warning(
                _(
                    "{count} candidates need an admin (listed for a complaint, or hard-bounced "
                    "again after a removal). They are left out of the console file; an admin "
                    "removes them here, with a reason:"
                ).format(count=len(needs_admin)),
                icon=":material/warning:",
            )
            for address in needs_admin[:20]:
                st.text(address)

# --- The mirror ----------------------------------------------------------------------------
st.subheader(_("Mirror"))


def _restart() -> None:
    pager.restart(PREFIX)
    selection.forget(PREFIX)


with st.container(border=True, key="sl_filters"):
    row = st.columns([2, 1.3, 1.3, 2, 1.5])
    reasons = row[0].multiselect(
        _("Reason"),
        REASONS,
        format_func=lambda code: terms.word(terms.REASONS, code),
        placeholder=_("Any"),
        key="sl_reasons",
        on_change=_restart,
    )
    zone = i18n.zone_label()
    start = row[1].date_input(
        _("Listed from ({zone})").format(zone=zone),
        value=None,
        max_value=today(),
        key="sl_start",
        on_change=_restart,
    )
    end = row[2].date_input(
        _("to ({zone})").format(zone=zone),
        value=None,
        max_value=today(),
        key="sl_end",
        on_change=_restart,
    )
    text = row[3].text_input(_("Address contains"), key="sl_text", on_change=_restart)
    SHOW = {"listed": _("On the list"), "gone": _("No longer listed")}
    status = row[4].selectbox(
        _("Show"), list(SHOW), format_func=SHOW.__getitem__, key="sl_status", on_change=_restart
    )
mirror_filter = MirrorFilter(
    tuple(reasons), start, end, text, status == "listed", zone=i18n.zone_name()
)

with feedback.reported(_("load the suppression mirror")):
    page = pager.fetch(
        PREFIX,
        lambda number, size: queries.suppression_mirror(db, mirror_filter, number, size),
        size=MIRROR_PAGE_SIZE,
    )
    frame, total = page.rows, page.total
    if total == 0:
        feedback.empty_state(_("No addresses match. Sync the mirror if it has never been synced."))
    else:
        selection.restore(PREFIX, frame)
        shown = local_times(frame, ["listed since"])
        shown["reason"] = shown["reason"].map(lambda code: terms.word(terms.REASONS, code))
        rows = grid.pick_rows(shown, key="sl_table", column_config=labels(frame.columns))
        pager.controls(PREFIX, page, _("{count} addresses.").format(count=f"{total:,}"))
        selected = [str(frame.iloc[i]["address"]) for i in rows]
        remove_col, dry_col, export_col = st.columns(3)
        remove_col.button(
            _("Remove {count} selected…").format(count=len(selected))
            if selected
            else _("Select rows to remove them"),
            key="sl_remove_selected",
            icon=":material/delete:",
            disabled=not selected or remove_refusal is not None,
            help=remove_refusal,
            on_click=removal.request,
            args=(PREFIX, selected),
        )
        dry_col.button(
            _("Dry run"),
            key="sl_dry_run",
            icon=":material/preview:",
            disabled=not selected,
            help=_("What removing the selected addresses would do for you; nothing changes."),
            on_click=removal.request_dry_run,
            args=(PREFIX, selected),
        )
        export_col.download_button(
            _("Download all {count} (CSV)").format(count=f"{total:,}"),
            data=partial(queries.mirror_csv, db, actor, mirror_filter, i18n.zone()),
            file_name=file_name("suppression-mirror"),
            mime="text/csv",
            key="sl_mirror_csv",
            on_click="ignore",
            icon=":material/download:",
            help=_(
                "The mirror as filtered here, times in {zone}. The export is recorded in the "
                "audit log."
            ).format(zone=i18n.zone_name()),
        )
        removal.dry_run_panel(PREFIX, actor)

removal.dialog(PREFIX, actor)
