"""The pieces of the bounced-users page: filters, table, export and address detail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import partial

import pandas as pd
import streamlit as st

from core.access import Actor
from core.audit import parameters_of
from core.recipients.bounced import (
    AddressDetail,
    BouncedFilter,
    Confirmed,
    Suppression,
    address_detail,
)
from core.recipients.confirmations import ConfirmResult
from core.suppression.mirror import suppression_detail
from ui import feedback, grid, pager, queries, resources, selection
from ui.format import labels, timestamp, today_utc

KINDS = ["hard", "soft", "undetermined", "complaint"]
SUPPRESSION: dict[Suppression, str] = {
    "any": "Any",
    "suppressed": "On the list",
    "not_suppressed": "Not on the list",
}
CONFIRMED: dict[Confirmed, str] = {"any": "Any", "yes": "Confirmed valid", "no": "Not confirmed"}
ENCODINGS = ["UTF-8", "UTF-8 with BOM (Excel)"]


def _restart(prefix: str) -> None:
    """A filter changed: back to page 1 with nothing selected."""
    pager.restart(prefix)
    selection.forget(prefix)


def filters(prefix: str) -> BouncedFilter:
    """The filter widgets; the filtering itself happens in the database."""
    subtypes = queries.subtypes(resources.database_key())
    on_change = partial(_restart, prefix)
    with st.container(border=True, key=f"{prefix}_filters"):
        row = st.columns([2, 2, 1.3, 1.3, 2])
        kinds = row[0].multiselect("Kind", KINDS, key=f"{prefix}_kinds", on_change=on_change)
        chosen_subtypes = row[1].multiselect(
            "Last bounce subtype", subtypes, key=f"{prefix}_subtypes", on_change=on_change
        )
        start = row[2].date_input(
            "Last event from",
            value=None,
            max_value=today_utc(),
            key=f"{prefix}_start",
            on_change=on_change,
        )
        end = row[3].date_input(
            "to (UTC)", value=None, max_value=today_utc(), key=f"{prefix}_end", on_change=on_change
        )
        text = row[4].text_input(
            "Search address, name, company, user id", key=f"{prefix}_text", on_change=on_change
        )
        row = st.columns([2, 2, 2, 2])
        domain = row[0].text_input(
            "Domain", key=f"{prefix}_domain", placeholder="example.co.jp", on_change=on_change
        )
        suppression = row[1].selectbox(
            "Suppression list",
            list(SUPPRESSION),
            format_func=SUPPRESSION.__getitem__,
            key=f"{prefix}_suppression",
            on_change=on_change,
        )
        confirmed = row[2].selectbox(
            "Confirmed valid",
            list(CONFIRMED),
            format_func=CONFIRMED.__getitem__,
            key=f"{prefix}_confirmed",
            on_change=on_change,
        )
        pager.size_picker(prefix, row[3], on_change=on_change)
    return BouncedFilter(
        kinds=frozenset(kinds),
        subtypes=frozenset(chosen_subtypes),
        start=start if isinstance(start, date) else None,
        end=end if isinstance(end, date) else None,
        domain=domain.strip() or None,
        text=text.strip() or None,
        suppression=suppression,
        confirmed=confirmed,
    )


def table(prefix: str, frame: pd.DataFrame) -> list[int]:
    """The page of rows, selectable; returns the selected row positions."""
    selection.restore(prefix, frame)
    return grid.pick_rows(
        frame,
        key=f"{prefix}_table",
        column_config={
            **{name: name.capitalize() for name in frame.columns},
            "address": st.column_config.TextColumn("Address", pinned=True),
            "user id": "User id",
            "last bounce (UTC)": st.column_config.DatetimeColumn(
                "Last bounce (UTC)", format="YYYY-MM-DD HH:mm"
            ),
            "suppressed": st.column_config.CheckboxColumn("On suppression list"),
            "confirmed valid": st.column_config.CheckboxColumn("Confirmed valid"),
            "last diagnostic code": st.column_config.TextColumn(
                "Last diagnostic code", width="large"
            ),
        },
    )


def flash_results(prefix: str, verb: str, results: Sequence[ConfirmResult]) -> None:
    """Summarise a confirm or revoke for the next run, naming (as plain text) anything that
    did not apply."""
    done = [r for r in results if r.outcome in {"confirmed", "revoked"}]
    others = [r for r in results if r not in done]
    message = f"{len(done)} {verb}."
    if others:
        message += f" {len(others)} not changed:"
    details = [f"{r.address}: {r.message}" for r in others[:10]]
    feedback.flash(prefix, "success" if not others else "warning", message, details)
    selection.remember(prefix, [r.address for r in results])


def export(prefix: str, actor: Actor, flt: BouncedFilter, total: int) -> None:
    """The whole filtered result as CSV, written only when someone clicks Download."""
    with st.container(border=True, key=f"{prefix}_export"):
        left, right = st.columns([2, 2], vertical_alignment="bottom")
        encoding = left.radio("CSV encoding", ENCODINGS, horizontal=True, key=f"{prefix}_encoding")
        right.download_button(
            f"Download all {total:,} matching rows (CSV)",
            data=partial(
                queries.bounced_csv, resources.database_key(), actor, flt, encoding == ENCODINGS[1]
            ),
            file_name=f"bounced-users-{today_utc():%Y%m%d}.csv",
            mime="text/csv",
            key=f"{prefix}_download",
            on_click="ignore",
            icon=":material/download:",
        )
        st.caption("Exports of personal data are recorded in the audit log.")


def detail(prefix: str, selected: str | None) -> None:
    """One address's whole story: every event, the suppression entry, the confirmations."""
    st.subheader("Address detail")
    typed = st.text_input(
        "Look up an address (or select exactly one row above)", key=f"{prefix}_lookup"
    )
    address = typed.strip() or selected
    if not address:
        return
    with feedback.reported("load the address detail"):
        found = address_detail(resources.engine(), address)
        if found is None:
            feedback.empty_state("Bounce Desk has never heard of this address.")
            return
        _who(found)
        _events(prefix, found)
        _confirmations(prefix, found)
        _history(prefix, found)
    if st.button("Ask SES why it is listed", key=f"{prefix}_ask_ses", icon=":material/help:"):
        with feedback.reported("ask SES about the address"):
            _ask_ses(address)


def _who(found: AddressDetail) -> None:
    st.text(f"Address: {found.address}")
    if found.user:
        user = found.user
        st.text(f"User: {user.name or '—'} ({user.company or '—'}), id {user.user_id or '—'}")
    entry = found.suppression
    if entry is None:
        st.text("Suppression list: not listed (as of the last sync)")
        return
    state = "on the list" if entry.suppressed else f"removed {timestamp(entry.unsuppressed_at)}"
    listed = timestamp(entry.last_update_time)
    st.text(f"Suppression list: {entry.reason}, {state} (listed {listed})")


EVENT_COLUMNS = {
    "occurred_at": "occurred (UTC)",
    "kind": "kind",
    "bounce_type": "type",
    "bounce_subtype": "subtype",
    "counts_toward_bounce_rate": "counts toward rate",
    "diagnostic_code": "diagnostic code",
    "status": "status",
    "reporting_mta": "reporting MTA",
    "subject": "subject",
}
CONFIRMATION_COLUMNS = {
    "confirmed_at": "confirmed (UTC)",
    "actor": "by",
    "note": "note",
    "revoked_at": "revoked (UTC)",
    "revoked_by": "revoked by",
    "revoke_note": "why",
    "current": "current",
}


def _view(values: Sequence[object], columns: dict[str, str]) -> pd.DataFrame:
    rows = [[getattr(v, name) for name in columns] for v in values]
    return pd.DataFrame(rows, columns=list(columns.values()))


def _events(prefix: str, found: AddressDetail) -> None:
    st.caption(f"Events ({found.facts_total}, newest first)")
    events = _view(found.facts, EVENT_COLUMNS)
    grid.show(events, key=f"{prefix}_events", column_config=labels(events.columns))


def _confirmations(prefix: str, found: AddressDetail) -> None:
    if not found.confirmations:
        st.caption("Never confirmed valid.")
        return
    st.caption("Confirmations")
    history = _view(found.confirmations, CONFIRMATION_COLUMNS)
    grid.show(history, key=f"{prefix}_confirmations", column_config=labels(history.columns))


def _history(prefix: str, found: AddressDetail) -> None:
    """What Bounce Desk did to this address, from the audit log."""
    if not found.audit:
        st.caption("No changes recorded for this address.")
        return
    st.caption("Audit history (newest first)")
    rows = [
        (
            entry.at,
            entry.actor,
            parameters_of(entry).get("role", ""),
            entry.action,
            entry.outcome or "",
            entry.parameters or "",
        )
        for entry in found.audit
    ]
    history = pd.DataFrame(
        rows, columns=["when (UTC)", "who", "role", "action", "outcome", "parameters"]
    )
    grid.show(history, key=f"{prefix}_audit", column_config=labels(history.columns))


def _ask_ses(address: str) -> None:
    info = suppression_detail(resources.engine(), resources.gateway(), address)
    if not info.on_list:
        st.text("SES says: not on the account-level suppression list.")
        return
    st.text(f"SES says: listed for {info.reason} since {timestamp(info.last_update_time)}")
    st.text(f"Message id: {info.message_id or '—'}   Feedback id: {info.feedback_id or '—'}")
    record = info.feedback
    if record:
        kind = "/".join(part for part in (record.bounce_type, record.bounce_subtype) if part)
        st.text(f"Our record of it: {record.kind} {kind} at {timestamp(record.occurred_at)}")
        st.code(record.diagnostic_code or "(no diagnostic code)", language=None, wrap_lines=True)
