"""The pieces of the bounced-users page: filters, table, export and address detail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import partial
from typing import Literal

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
from ui import exports, feedback, grid, i18n, pager, queries, resources, selection, terms
from ui.format import file_name, labels, local_times, timestamp, today
from ui.i18n import N_, _

KINDS = ["hard", "soft", "undetermined", "complaint"]
SUPPRESSION: dict[Suppression, str] = {
    "any": N_("Any"),
    "suppressed": N_("On the list"),
    "not_suppressed": N_("Not on the list"),
}
CONFIRMED: dict[Confirmed, str] = {
    "any": N_("Any"),
    "yes": N_("Confirmed valid"),
    "no": N_("Not confirmed"),
}


def _restart(prefix: str) -> None:
    """A filter changed: back to page 1 with nothing selected."""
    pager.restart(prefix)
    selection.forget(prefix)


def filters(prefix: str) -> BouncedFilter:
    """The filter widgets; the filtering itself happens in the database, and the dates are
    days in the display zone."""
    subtypes = queries.subtypes(resources.database_key())
    on_change = partial(_restart, prefix)
    with st.container(border=True, key=f"{prefix}_filters"):
        row = st.columns([2, 2, 1.3, 1.3, 2])
        kinds = row[0].multiselect(
            _("Kind"),
            KINDS,
            format_func=lambda kind: terms.word(terms.KINDS, kind),
            placeholder=_("Any"),
            key=f"{prefix}_kinds",
            on_change=on_change,
        )
        chosen_subtypes = row[1].multiselect(
            _("Last bounce subtype"),
            subtypes,
            placeholder=_("Any"),
            key=f"{prefix}_subtypes",
            on_change=on_change,
        )
        zone = i18n.zone_label()
        start = row[2].date_input(
            _("Last event from ({zone})").format(zone=zone),
            value=None,
            max_value=today(),
            key=f"{prefix}_start",
            on_change=on_change,
        )
        end = row[3].date_input(
            _("to ({zone})").format(zone=zone),
            value=None,
            max_value=today(),
            key=f"{prefix}_end",
            on_change=on_change,
        )
        text = row[4].text_input(
            _("Search address, name, company, user id"),
            key=f"{prefix}_text",
            on_change=on_change,
        )
        row = st.columns([2, 2, 2, 2])
        domain = row[0].text_input(
            _("Domain"), key=f"{prefix}_domain", placeholder="example.co.jp", on_change=on_change
        )
        suppression = row[1].selectbox(
            _("Suppression list"),
            list(SUPPRESSION),
            format_func=lambda code: _(SUPPRESSION[code]),
            key=f"{prefix}_suppression",
            on_change=on_change,
        )
        confirmed = row[2].selectbox(
            _("Confirmed valid"),
            list(CONFIRMED),
            format_func=lambda code: _(CONFIRMED[code]),
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
        zone=i18n.zone_name(),
    )


def table(prefix: str, frame: pd.DataFrame) -> list[int]:
    """The page of rows, selectable; returns the selected row positions."""
    selection.restore(prefix, frame)
    titles = labels(frame.columns)
    shown = local_times(frame, ["last bounce"])
    if "last type" in shown:
        shown["last type"] = shown["last type"].map(lambda kind: terms.word(terms.KINDS, kind))
    return grid.pick_rows(
        shown,
        key=f"{prefix}_table",
        column_config={
            **titles,
            "address": st.column_config.TextColumn(titles["address"], pinned=True),
            "last bounce": st.column_config.DatetimeColumn(
                titles["last bounce"], format="YYYY-MM-DD HH:mm"
            ),
            "suppressed": st.column_config.CheckboxColumn(titles["suppressed"]),
            "confirmed valid": st.column_config.CheckboxColumn(titles["confirmed valid"]),
            "last diagnostic code": st.column_config.TextColumn(
                titles["last diagnostic code"], width="large"
            ),
        },
    )


def flash_results(
    prefix: str, change: Literal["confirm", "revoke"], results: Sequence[ConfirmResult]
) -> None:
    """Summarise a confirm or revoke for the next run, naming (as plain text) anything that
    did not apply."""
    done = sum(1 for r in results if r.outcome in {"confirmed", "revoked"})
    others = [r for r in results if r.outcome not in {"confirmed", "revoked"}]
    message = (
        _("{count} confirmed valid.").format(count=done)
        if change == "confirm"
        else _("{count} revoked.").format(count=done)
    )
    if others:
        message += " " + _("{count} not changed:").format(count=len(others))
    details = [f"{r.address}: {terms.word(terms.OUTCOMES, r.outcome)}" for r in others[:10]]
    feedback.flash(prefix, "success" if not others else "warning", message, details)
    selection.remember(prefix, [r.address for r in results])


def export(prefix: str, actor: Actor, flt: BouncedFilter, total: int) -> None:
    """The whole filtered result as CSV, written only when someone clicks Download."""
    with st.container(border=True, key=f"{prefix}_export"):
        left, right = st.columns([2, 2], vertical_alignment="bottom")
        bom = exports.encoding_choice(f"{prefix}_encoding", left)
        right.download_button(
            _("Download all {count} matching rows (CSV)").format(count=f"{total:,}"),
            data=partial(
                queries.bounced_csv, resources.database_key(), actor, flt, bom, i18n.zone()
            ),
            file_name=file_name("bounced-users"),
            mime="text/csv",
            key=f"{prefix}_download",
            on_click="ignore",
            icon=":material/download:",
        )
        st.caption(
            _(
                "Exports of personal data are recorded in the audit log. Times in the file are "
                "ISO 8601 with their offset, in {zone}."
            ).format(zone=i18n.zone_name())
        )


def detail(prefix: str, selected: str | None) -> None:
    """One address's whole story: every event, the suppression entry, the confirmations."""
    st.subheader(_("Address detail"))
    typed = st.text_input(
        _("Look up an address (or select exactly one row above)"), key=f"{prefix}_lookup"
    )
    address = typed.strip() or selected
    if not address:
        return
    with feedback.reported(_("load the address detail")):
        found = address_detail(resources.engine(), address)
        if found is None:
            feedback.empty_state(_("Bounce Desk has never heard of this address."))
            return
        _who(found)
        _events(prefix, found)
        _confirmations(prefix, found)
        _history(prefix, found)
    if st.button(_("Ask SES why it is listed"), key=f"{prefix}_ask_ses", icon=":material/help:"):
        with feedback.reported(_("ask SES about the address")):
            _ask_ses(address)


def _who(found: AddressDetail) -> None:
    st.text(_("Address: {address}").format(address=found.address))
    if found.user:
        user = found.user
        st.text(
            _("User: {name} ({company}), id {user_id}").format(
                name=user.name or "—", company=user.company or "—", user_id=user.user_id or "—"
            )
        )
    entry = found.suppression
    if entry is None:
        st.text(_("Suppression list: not listed (as of the last sync)"))
        return
    state = (
        _("on the list")
        if entry.suppressed
        else _("removed {when}").format(when=timestamp(entry.unsuppressed_at))
    )
    st.text(
        _("Suppression list: {reason}, {state} (listed {when})").format(
            reason=terms.word(terms.REASONS, entry.reason),
            state=state,
            when=timestamp(entry.last_update_time),
        )
    )


EVENT_COLUMNS = {
    "occurred_at": "occurred",
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
    "confirmed_at": "confirmed",
    "actor": "by",
    "note": "note",
    "revoked_at": "revoked",
    "revoked_by": "revoked by",
    "revoke_note": "why",
    "current": "current",
}


def _view(values: Sequence[object], columns: dict[str, str]) -> pd.DataFrame:
    rows = [[getattr(v, name) for name in columns] for v in values]
    return pd.DataFrame(rows, columns=list(columns.values()))


def _events(prefix: str, found: AddressDetail) -> None:
    st.caption(_("Events ({count}, newest first)").format(count=found.facts_total))
    events = _view(found.facts, EVENT_COLUMNS)
    events["kind"] = events["kind"].map(lambda kind: terms.word(terms.KINDS, kind))
    grid.show(
        local_times(events, ["occurred"]),
        key=f"{prefix}_events",
        column_config=labels(events.columns),
    )


def _confirmations(prefix: str, found: AddressDetail) -> None:
    if not found.confirmations:
        st.caption(_("Never confirmed valid."))
        return
    st.caption(_("Confirmations"))
    history = _view(found.confirmations, CONFIRMATION_COLUMNS)
    grid.show(
        local_times(history, ["confirmed", "revoked"]),
        key=f"{prefix}_confirmations",
        column_config=labels(history.columns),
    )


def _history(prefix: str, found: AddressDetail) -> None:
    """What Bounce Desk did to this address, from the audit log."""
    if not found.audit:
        st.caption(_("No changes recorded for this address."))
        return
    st.caption(_("Audit history (newest first)"))
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
    history = pd.DataFrame(rows, columns=["when", "who", "role", "action", "outcome", "parameters"])
    grid.show(
        local_times(history, ["when"]),
        key=f"{prefix}_audit",
        column_config=labels(history.columns),
    )


def _ask_ses(address: str) -> None:
    info = suppression_detail(resources.engine(), resources.gateway(), address)
    if not info.on_list:
        st.text(_("SES says: not on the account-level suppression list."))
        return
    st.text(
        _("SES says: listed for {reason} since {when}").format(
            reason=terms.word(terms.REASONS, info.reason), when=timestamp(info.last_update_time)
        )
    )
    st.text(
        _("Message id: {message_id}   Feedback id: {feedback_id}").format(
            message_id=info.message_id or "—", feedback_id=info.feedback_id or "—"
        )
    )
    record = info.feedback
    if record:
        kind = "/".join(part for part in (record.bounce_type, record.bounce_subtype) if part)
        st.text(
            _("Our record of it: {kind} {type} at {when}").format(
                kind=terms.word(terms.KINDS, record.kind),
                type=kind,
                when=timestamp(record.occurred_at),
            )
        )
        st.code(record.diagnostic_code or _("(no diagnostic code)"), language=None, wrap_lines=True)
