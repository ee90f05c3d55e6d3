"""Taking addresses off the SES suppression list, as both the bounced-users and the
suppression-list pages offer it: a dry run, a confirmation dialog that shows the plan
(`core.suppression.guardrails`) address by address, a progress bar while the calls run, and the
per-address results afterwards.

Who may remove what is decided in core; the dialog shows the plan core computed and sends
only what it allows, through `ui.actions` like every write of the dashboard. Only ids and
strings live in session state: the addresses asked for, whether the dialog is open, the id
of the last removal run.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from core.access import Action, Actor
from core.suppression.guardrails import PlannedAddress, RemovalPlan, Verdict
from core.suppression.runs import AddressResult, Outcome, removal_report, removal_results
from ui import actions, feedback, grid, i18n, identity, queries, resources, selection, terms
from ui.format import labels
from ui.i18n import N_, _

DEFAULT_REASON = N_("confirmed valid by staff")
OPEN = "removal_dialog_for"  # the page prefix whose dialog is open, or None


def _key(prefix: str, name: str) -> str:
    return f"{prefix}_removal_{name}"


def request(prefix: str, addresses: Sequence[str]) -> None:
    """Button callback: remember what to remove and open the dialog on this run."""
    st.session_state[_key(prefix, "addresses")] = list(addresses)
    st.session_state[OPEN] = prefix


def request_dry_run(prefix: str, addresses: Sequence[str]) -> None:
    """Button callback: show what removing these would do, changing nothing."""
    st.session_state[_key(prefix, "dry_run")] = list(addresses)


def _close(*_: object) -> None:
    st.session_state[OPEN] = None


def plan_frame(plan: RemovalPlan) -> pd.DataFrame:
    """The plan as a table (addresses and reasons are untrusted text: a dataframe only)."""
    return pd.DataFrame(
        {
            "address": [item.address for item in plan.items],
            "verdict": [terms.word(terms.VERDICTS, item.verdict) for item in plan.items],
            "why": [_why(item) for item in plan.items],
        }
    )


FLAGS = {
    "unconfirmed": N_("not confirmed valid since its last bounce"),
    "complaint": N_("listed by SES because of a complaint"),
    "rebounced": N_("removed by Bounce Desk before, then hard-bounced again"),
}


def _why(item: PlannedAddress) -> str:
    """Why the plan decided so. English shows core's sentence (with its dates); another
    language says the same from the verdict and the flags core returns."""
    if i18n.language() == i18n.SOURCE_LANGUAGE:
        return item.why
    if not item.flags:
        return _("confirmed valid since its last bounce")
    facts = "; ".join(terms.word(FLAGS, flag) for flag in item.flags)
    if item.verdict == Verdict.ALLOWED:
        return _("{facts}. Included by an admin, with a written reason.").format(facts=facts)
    if item.verdict == Verdict.BLOCKED:
        return _("{facts}. Not allowed for your role, or a written reason is missing.").format(
            facts=facts
        )
    return _("{facts}. An admin must include it on purpose, with a reason.").format(facts=facts)


def _summary(plan: RemovalPlan) -> str:
    text = _("{allowed} would be removed, {admin} need an admin, {blocked} blocked").format(
        allowed=plan.count(Verdict.ALLOWED),
        admin=plan.count(Verdict.NEEDS_ADMIN),
        blocked=plan.count(Verdict.BLOCKED),
    )
    if plan.method == "import_job":
        text += _(
            "; more than {limit} at once go to SES as an import job, confirmed by typing "
            "their number"
        ).format(limit=plan.max_per_click)
    return text + _(".")


def dry_run_panel(prefix: str, actor: Actor) -> None:
    """The plan for the addresses of the last dry-run click (call on every run)."""
    addresses = st.session_state.get(_key(prefix, "dry_run"))
    if not addresses:
        return
    with (
        st.container(border=True, key=_key(prefix, "dry_run_box")),
        feedback.reported(_("plan the removal")),
    ):
        st.markdown(_("**Dry run** — nothing was changed"))
        plan = actions.plan_removal(actor, addresses)
        st.caption(_summary(plan))
        grid.show(plan_frame(plan), key=_key(prefix, "dry_run_table"))
        if st.button(_("Dismiss"), key=_key(prefix, "dry_run_dismiss")):
            st.session_state.pop(_key(prefix, "dry_run"), None)
            st.rerun()


def dialog(prefix: str, actor: Actor) -> None:
    """Show the confirmation dialog while it is open (call on every run of the page)."""
    if st.session_state.get(OPEN) == prefix:
        # The title is given per run: a decorator's argument would keep the first language.
        st.dialog(_("Remove from the SES suppression list"), width="large", on_dismiss=_close)(
            _confirm
        )(prefix, actor)


def _confirm(prefix: str, actor: Actor) -> None:
    addresses: list[str] = st.session_state.get(_key(prefix, "addresses"), [])
    limit = resources.settings().max_removals_per_click
    st.write(
        _(
            "{count} addresses selected. Once removed, SES sends to them again; if one still "
            "bounces, SES lists it again and the bounce counts toward the bounce rate."
        ).format(count=len(addresses))
    )
    with feedback.reported(_("plan the removal")):
        plan = actions.plan_removal(actor, addresses)
        include, reason = _reason(prefix, actor, plan)
        if include:
            plan = actions.plan_removal(actor, addresses, reason=reason, override=True)
        listing = plan_frame(plan)
        grid.show(listing, key=_key(prefix, "listing"), height=min(36 * len(addresses) + 40, 300))
        chosen = plan.allowed
        bulk = plan.method == "import_job"
        counted = True
        if bulk:
            st.info(
                _(
                    "More than {limit} addresses at once: they go to SES as an import job (up "
                    "to 10,000 per job; needs the S3 bucket "
                    "BOUNCEDESK_SUPPRESSION_IMPORT_BUCKET). Type their number to confirm."
                ).format(limit=limit),
                icon=":material/inventory_2:",
            )
            typed = st.text_input(
                _("Number of addresses ({count})").format(count=len(chosen)),
                key=_key(prefix, "count"),
            )
            counted = typed.strip() == str(len(chosen))
        left, right = st.columns(2)
        remove = left.button(
            _("Remove {count} addresses").format(count=len(chosen)),
            key=_key(prefix, "confirm"),
            type="primary",
            disabled=not chosen or not reason.strip() or not counted,
            help=identity.refusal(actor, Action.REMOVE_CONFIRMED),
            icon=":material/delete:",
        )
        if right.button(_("Cancel"), key=_key(prefix, "cancel")):
            _close()
            st.rerun()
        if remove:
            _run(prefix, actor, chosen, reason.strip(), include, len(chosen) if bulk else None)


def _reason(prefix: str, actor: Actor, plan: RemovalPlan) -> tuple[bool, str]:
    """(include the addresses that need an admin, the reason to record). Only an admin is
    offered the choice, and must then write why."""
    waiting = plan.count(Verdict.NEEDS_ADMIN)
    if waiting and actor.can(Action.REMOVE_UNCONFIRMED):
        st.warning(
            _(
                "{count} of these need an admin's decision (see why below) and are left out "
                "unless you include them."
            ).format(count=waiting),
            icon=":material/warning:",
        )
        include = st.checkbox(
            _("Also remove the {count} addresses that need an admin").format(count=waiting),
            key=_key(prefix, "include_flagged"),
        )
        if include:
            written = st.text_input(
                _("Why remove them? (required, kept in the audit log)"),
                key=_key(prefix, "admin_reason"),
            )
            return True, written
    elif waiting:
        st.warning(
            _("{count} of these need the admin role and are left out (see why below).").format(
                count=waiting
            ),
            icon=":material/warning:",
        )
    reason = st.text_input(
        _("Reason (kept in the audit log)"), value=_(DEFAULT_REASON), key=_key(prefix, "reason")
    )
    return False, reason


def _run(
    prefix: str,
    actor: Actor,
    addresses: list[str],
    reason: str,
    override: bool,
    confirm_count: int | None,
) -> None:
    bar = st.progress(0.0, text=_("Removing {count} addresses…").format(count=len(addresses)))

    def progress(done: int, total: int, last: AddressResult) -> None:
        bar.progress(
            done / max(total, 1), text=_("{done} of {total} done").format(done=done, total=total)
        )

    with feedback.reported(_("remove the addresses from the suppression list")):
        if confirm_count is not None:
            report = actions.start_removal_import(
                actor, addresses, reason=reason, override=override, confirm_count=confirm_count
            )
        else:
            report = actions.remove_addresses(
                actor, addresses, reason=reason, override=override, progress=progress
            )
        st.session_state[_key(prefix, "run")] = report.run_id
        selection.remember(prefix, addresses)
        _close()
        queries.clear()
        st.rerun()


def results(prefix: str, actor: Actor) -> None:
    """The outcome of this session's last removal run, address by address."""
    run_id = st.session_state.get(_key(prefix, "run"))
    if run_id is None:
        return
    with feedback.reported(_("load the removal results")):
        report = removal_report(resources.engine(), run_id)
        rows = removal_results(resources.engine(), run_id)
        with st.container(border=True, key=_key(prefix, "results")):
            st.markdown(
                _("**Removal run {run}** — {status}").format(
                    run=int(run_id), status=terms.word(terms.RUN_STATUS, report.status)
                )
            )
            counts = {o: report.count(o) for o in Outcome if report.count(o)}
            summary = ", ".join(
                f"{n} {terms.word(terms.OUTCOMES, o.value)}" for o, n in counts.items()
            )
            tone = st.success if report.ok else st.warning
            tone(summary or _("Nothing to do."), icon=":material/fact_check:")
            frame = pd.DataFrame(
                [
                    (r.address, terms.word(terms.OUTCOMES, r.outcome), r.message or "", r.attempts)
                    for r in rows
                ],
                columns=["address", "outcome", "message", "attempts"],
            )
            grid.show(frame, key=_key(prefix, "result_table"), column_config=labels(frame.columns))
            _follow_up(prefix, actor, run_id, report.method, counts)


def _follow_up(
    prefix: str, actor: Actor, run_id: int, method: str, counts: dict[Outcome, int]
) -> None:
    left, middle, right = st.columns(3)
    if counts.get(Outcome.FAILED) and left.button(
        _("Retry the failed ones"),
        key=_key(prefix, "retry"),
        icon=":material/replay:",
        disabled=not actor.can(Action.REMOVE_CONFIRMED),
        help=identity.refusal(actor, Action.REMOVE_CONFIRMED),
    ):
        with feedback.reported(_("retry the failed removals")):
            actions.retry_failed_removals(actor, run_id)
            queries.clear()
            st.rerun()
    waiting = method == "import_job" and counts.get(Outcome.SUBMITTED)
    if waiting and middle.button(
        _("Check the import jobs"),
        key=_key(prefix, "poll"),
        icon=":material/sync:",
        disabled=not actor.can(Action.SYNC),
        help=identity.refusal(actor, Action.SYNC),
    ):
        with feedback.reported(_("check the import jobs")):
            actions.poll_import_jobs(actor, run_id)
            queries.clear()
            st.rerun()
    if right.button(_("Dismiss"), key=_key(prefix, "dismiss")):
        st.session_state.pop(_key(prefix, "run"), None)
        st.rerun()
