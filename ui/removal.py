"""Taking addresses off the SES suppression list, as both the bounced-users and the
suppression-list pages offer it: a confirmation dialog that lists the addresses, a progress
bar while the calls run, and the per-address results afterwards.

Only ids and strings live in session state: the addresses asked for, which of them are not
confirmed valid, whether the dialog is open, and the id of the last removal run.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from core.suppression import (
    AddressResult,
    Outcome,
    poll_import_jobs,
    removal_report,
    removal_results,
    remove_from_suppression_list,
    retry_failed,
    start_import_removal,
)
from ui import feedback, queries, resources, selection
from ui.format import labels

# Above this many addresses one call per address takes long (SES allows about one per
# second), so the dialog offers an SES import job instead.
IMPORT_JOB_SUGGESTED = 300
DEFAULT_REASON = "confirmed valid by staff"
OPEN = "removal_dialog_for"  # the page prefix whose dialog is open, or None


def _key(prefix: str, name: str) -> str:
    return f"{prefix}_removal_{name}"


def request(prefix: str, addresses: Sequence[str], unconfirmed: Sequence[str]) -> None:
    """Button callback: remember what to remove and open the dialog on this run."""
    st.session_state[_key(prefix, "addresses")] = list(addresses)
    st.session_state[_key(prefix, "unconfirmed")] = list(unconfirmed)
    st.session_state[OPEN] = prefix


def _close(*_: object) -> None:
    st.session_state[OPEN] = None


def dialog(prefix: str) -> None:
    """Show the confirmation dialog while it is open (call on every run of the page)."""
    if st.session_state.get(OPEN) == prefix:
        _confirm(prefix)


@st.dialog("Remove from the SES suppression list", width="large", on_dismiss=_close)
def _confirm(prefix: str) -> None:
    addresses: list[str] = st.session_state.get(_key(prefix, "addresses"), [])
    unconfirmed = set(st.session_state.get(_key(prefix, "unconfirmed"), []))
    st.write(
        f"{len(addresses)} addresses selected. Once removed, SES sends to them again; if one "
        "still bounces, SES lists it again and the bounce counts toward the bounce rate."
    )
    listing = pd.DataFrame(
        {
            "address": addresses,
            "confirmed valid": [a not in unconfirmed for a in addresses],
        }
    )
    st.dataframe(
        listing,
        hide_index=True,
        key=_key(prefix, "listing"),
        height=min(36 * len(addresses) + 40, 300),
    )
    include = False
    if unconfirmed:
        st.warning(
            f"{len(unconfirmed)} of these are not confirmed valid and are left out unless you "
            "include them.",
            icon=":material/warning:",
        )
        include = st.checkbox(
            f"Also remove the {len(unconfirmed)} addresses nobody confirmed valid",
            key=_key(prefix, "include_unconfirmed"),
        )
    chosen = [a for a in addresses if include or a not in unconfirmed]
    reason = st.text_input(
        "Reason (kept in the audit log)", value=DEFAULT_REASON, key=_key(prefix, "reason")
    )
    bulk = False
    if len(chosen) > IMPORT_JOB_SUGGESTED:
        bulk = (
            st.radio(
                "Method",
                ["One call per address", "SES import job (bulk)"],
                index=1,
                key=_key(prefix, "method"),
                help="An import job takes up to 10,000 addresses per job and needs an S3 "
                "bucket SES can read (BOUNCEDESK_SUPPRESSION_IMPORT_BUCKET).",
            )
            == "SES import job (bulk)"
        )
    left, right = st.columns(2)
    remove = left.button(
        f"Remove {len(chosen)} addresses",
        key=_key(prefix, "confirm"),
        type="primary",
        disabled=not chosen or not reason.strip(),
        icon=":material/delete:",
    )
    if right.button("Cancel", key=_key(prefix, "cancel")):
        _close()
        st.rerun()
    if remove:
        _run(prefix, chosen, reason.strip(), bulk)


def _run(prefix: str, addresses: list[str], reason: str, bulk: bool) -> None:
    bar = st.progress(0.0, text=f"Removing {len(addresses)} addresses…")

    def progress(done: int, total: int, last: AddressResult) -> None:
        bar.progress(
            done / max(total, 1), text=f"{done} of {total} done — {last.address}: {last.outcome}"
        )

    with feedback.reported("remove the addresses from the suppression list"):
        settings = resources.settings()
        if bulk:
            report = start_import_removal(
                resources.sessions(),
                resources.gateway(),
                addresses,
                actor=feedback.current_actor(),
                reason=reason,
                bucket=settings.suppression_import_bucket,
                prefix=settings.suppression_import_prefix,
            )
        else:
            report = remove_from_suppression_list(
                resources.sessions(),
                resources.gateway(),
                addresses,
                actor=feedback.current_actor(),
                reason=reason,
                progress=progress,
            )
        st.session_state[_key(prefix, "run")] = report.run_id
        selection.remember(prefix, addresses)
        _close()
        queries.clear()
        st.rerun()


def results(prefix: str) -> None:
    """The outcome of this session's last removal run, address by address."""
    run_id = st.session_state.get(_key(prefix, "run"))
    if run_id is None:
        return
    with feedback.reported("load the removal results"):
        report = removal_report(resources.sessions(), run_id)
        with resources.sessions()() as session:
            rows = removal_results(session, run_id)
        with st.container(border=True, key=_key(prefix, "results")):
            st.markdown(f"**Removal run {int(run_id)}** — {report.status}")
            counts = {o: report.count(o) for o in Outcome if report.count(o)}
            summary = ", ".join(f"{n} {o.value.replace('_', ' ')}" for o, n in counts.items())
            tone = st.success if report.ok else st.warning
            tone(summary or "Nothing to do.", icon=":material/fact_check:")
            frame = pd.DataFrame(
                [(r.address, r.outcome, r.message or "", r.attempts) for r in rows],
                columns=["address", "outcome", "message", "attempts"],
            )
            st.dataframe(
                frame,
                hide_index=True,
                key=_key(prefix, "result_table"),
                column_config=labels(frame.columns),
            )
            _follow_up(prefix, run_id, report.method, counts)


def _follow_up(prefix: str, run_id: int, method: str, counts: dict[Outcome, int]) -> None:
    settings = resources.settings()
    left, middle, right = st.columns(3)
    if counts.get(Outcome.FAILED) and left.button(
        "Retry the failed ones", key=_key(prefix, "retry"), icon=":material/replay:"
    ):
        with feedback.reported("retry the failed removals"):
            retry_failed(
                resources.sessions(),
                resources.gateway(),
                run_id,
                bucket=settings.suppression_import_bucket,
                prefix=settings.suppression_import_prefix,
            )
            queries.clear()
            st.rerun()
    waiting = method == "import_job" and counts.get(Outcome.SUBMITTED)
    if waiting and middle.button(
        "Check the import jobs", key=_key(prefix, "poll"), icon=":material/sync:"
    ):
        with feedback.reported("check the import jobs"):
            poll_import_jobs(resources.sessions(), resources.gateway(), run_id=run_id)
            queries.clear()
            st.rerun()
    if right.button("Dismiss", key=_key(prefix, "dismiss")):
        st.session_state.pop(_key(prefix, "run"), None)
        st.rerun()
