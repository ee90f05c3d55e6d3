"""Words for the codes core returns: table columns, statuses, kinds, verdicts, outcomes.

Core hands the dashboard codes and data (`RateStatus.REVIEW`, `Verdict.NEEDS_ADMIN`,
"last_bounce_at"); this module holds their English names, marked for the catalog, and
returns them in this run's language. A code it does not know is shown as it came.
"""

from __future__ import annotations

from collections.abc import Mapping

from ui.i18n import N_, _

# Table columns, by the key the queries and widgets give them. A time column's title names
# the display zone: "{zone}" is filled with its abbreviation ("JST").
COLUMNS: dict[str, str] = {
    "address": N_("Address"),
    "email_address": N_("Email address as listed"),
    "name": N_("Name"),
    "company": N_("Company"),
    "user id": N_("User id"),
    "hard": N_("Hard"),
    "soft": N_("Soft"),
    "undetermined": N_("Undetermined"),
    "complaints": N_("Complaints"),
    "total": N_("Total"),
    "domain": N_("Domain"),
    "last type": N_("Last type"),
    "last subtype": N_("Last subtype"),
    "suppressed": N_("On suppression list"),
    "confirmed valid": N_("Confirmed valid"),
    "last diagnostic code": N_("Last diagnostic code"),
    "reason": N_("Reason"),
    "on the list": N_("On the list"),
    "removed by Bounce Desk": N_("Removed by Bounce Desk"),
    "who": N_("Who"),
    "action": N_("Action"),
    "outcome": N_("Outcome"),
    "parameters": N_("Parameters"),
    "detail": N_("Detail"),
    "suppression_reason": N_("Suppression reason"),
    "confirmed_by": N_("Confirmed by"),
    "note": N_("Note"),
    "id": N_("Id"),
    "source": N_("Source"),
    "reason_code": N_("Reason code"),
    "attempts": N_("Attempts"),
    "size": N_("Size (bytes)"),
    "entry_point": N_("Entry point"),
    "received": N_("Received"),
    "stored": N_("Stored"),
    "duplicates": N_("Duplicates"),
    "dead_lettered": N_("Dead-lettered"),
    "error": N_("Error"),
    "kind": N_("Kind"),
    "type": N_("Type"),
    "subtype": N_("Subtype"),
    "counts toward rate": N_("Counts toward rate"),
    "diagnostic code": N_("Diagnostic code"),
    "status": N_("Status"),
    "reporting MTA": N_("Reporting MTA"),
    "subject": N_("Subject"),
    "by": N_("By"),
    "revoked by": N_("Revoked by"),
    "why": N_("Why"),
    "current": N_("Current"),
    "role": N_("Role"),
    "verdict": N_("Verdict"),
    "message": N_("Message"),
    "line": N_("Line"),
    "job": N_("Job"),
    "does": N_("Does"),
    "every": N_("Every"),
    "next_due": N_("Next due"),
    "stale": N_("Stale"),
    "summary": N_("Summary"),
    "severity": N_("Severity"),
    "title": N_("Title"),
    "scope": N_("Scope"),
    "notifications": N_("Notifications"),
    "acknowledged_by": N_("Acknowledged by"),
    "rule": N_("Rule"),
    "actor": N_("Who"),
}
TIME_COLUMNS: dict[str, str] = {
    "last bounce": N_("Last bounce ({zone})"),
    "listed since": N_("Listed since ({zone})"),
    "when": N_("When ({zone})"),
    "occurred": N_("Occurred ({zone})"),
    "confirmed": N_("Confirmed ({zone})"),
    "revoked": N_("Revoked ({zone})"),
    "suppressed_at": N_("Suppressed at ({zone})"),
    "confirmed_at": N_("Confirmed at ({zone})"),
    "last_bounce_at": N_("Last bounce at ({zone})"),
    "received_at": N_("Received at ({zone})"),
    "started_at": N_("Started at ({zone})"),
    "finished_at": N_("Finished at ({zone})"),
    "since": N_("Since ({zone})"),
    "last_run": N_("Last run ({zone})"),
    "opened_at": N_("Opened at ({zone})"),
    "last_seen_at": N_("Last seen at ({zone})"),
    "snoozed_until": N_("Snoozed until ({zone})"),
    "resolved_at": N_("Resolved at ({zone})"),
    "at": N_("At ({zone})"),
}


def column(key: str, zone: str) -> str:
    """The header of column `key`; an unknown key is shown capitalised, as it came."""
    if key in TIME_COLUMNS:
        return _(TIME_COLUMNS[key]).format(zone=zone)
    if key in COLUMNS:
        return _(COLUMNS[key])
    return key.replace("_", " ").capitalize()


def word(words: Mapping[str, str], code: object) -> str:
    """The name of `code` in `words` (a table of N_-marked names), translated."""
    text = words.get(str(code))
    return _(text) if text is not None else str(code)


# RateStatus values (core.reports.rates).
RATE_STATUS = {
    "Healthy": N_("Healthy"),
    "Under review": N_("Under review"),
    "At risk of pause": N_("At risk of pause"),
    "No data": N_("No data"),
}
# SESv2 GetAccount EnforcementStatus.
ENFORCEMENT = {
    "HEALTHY": N_("Healthy"),
    "PROBATION": N_("Probation (under review)"),
    "SHUTDOWN": N_("Shut down (sending paused)"),
}
# Bounce classifications and event kinds as the charts and filters show them.
KINDS = {
    "hard": N_("hard"),
    "soft": N_("soft"),
    "undetermined": N_("undetermined"),
    "complaint": N_("complaint"),
    "bounce": N_("bounce"),
}
VERDICTS = {
    "allowed": N_("allowed"),
    "needs_admin": N_("needs admin"),
    "blocked": N_("blocked"),
}
# Removal outcomes (core.suppression.runs.Outcome) and confirmation outcomes.
OUTCOMES = {
    "removed": N_("removed"),
    "not_on_list": N_("not on list"),
    "failed": N_("failed"),
    "submitted": N_("submitted"),
    "pending": N_("pending"),
    "confirmed": N_("confirmed valid"),
    "already_confirmed": N_("already confirmed valid since its last bounce"),
    "revoked": N_("confirmation revoked"),
    "not_confirmed": N_("had no confirmation to revoke"),
    "invalid": N_("not a valid email address"),
    "duplicate": N_("listed more than once; handled once"),
}
# Removal runs (core.store.models.RunStatus).
RUN_STATUS = {
    "running": N_("running"),
    "submitted": N_("submitted"),
    "completed": N_("completed"),
    "with_failures": N_("with failures"),
    "interrupted": N_("interrupted"),
}
# Job runs (core.store.models.JobOutcome).
JOB_OUTCOMES = {
    "running": N_("running"),
    "succeeded": N_("succeeded"),
    "failed": N_("failed"),
    "skipped": N_("skipped (already running)"),
}
# Ingestion outcomes in the ingestion chart.
INGESTION = {
    "stored": N_("stored"),
    "duplicates": N_("duplicates"),
    "dead-lettered": N_("dead-lettered"),
}
# SES suppression reasons.
REASONS = {"BOUNCE": N_("Bounce"), "COMPLAINT": N_("Complaint")}
