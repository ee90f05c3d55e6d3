"""Core read functions behind st.cache_data, returning DataFrames or plain values.

Every function takes `db` (the database URL) first, so two databases never share a cache
entry, and then only hashable plain values. Actions that change data call `clear()`.
A short TTL bounds how stale a page can be when another replica or the ingester writes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from datetime import date, tzinfo
from itertools import islice
from typing import Any

import pandas as pd
import streamlit as st

from core import audit, tokens
from core.access import Actor
from core.alerts import lifecycle as alert_lifecycle
from core.clock import utcnow
from core.doctor.runner import Doctor, diagnose
from core.ingest import dead_letters as dead_letter_store
from core.jobs.registry import JOBS
from core.jobs.status import JobStatus, job_statuses
from core.policy import COMPLAINT_REVIEW
from core.recipients import bounced, confirmations, directory, mailing
from core.recipients.bounced import BouncedFilter
from core.reports import ingestion as ingestion_report
from core.reports import overview as reports
from core.reports.rates import headroom
from core.ses.clients import resolve_region
from core.ses.inspection import AwsInspector
from core.suppression import mirror as suppression
from ui import resources, terms
from ui.format import timestamp
from ui.i18n import _

TTL = 30  # seconds


def clear() -> None:
    """After an action: every page shows the new state on its next run."""
    st.cache_data.clear()


def _record(value: object) -> dict[str, Any]:
    """A core value (dataclass or named tuple) as a dict of its fields."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if hasattr(value, "_asdict"):  # a named tuple or a SQLAlchemy row
        return dict(value._asdict())
    raise TypeError(f"not a dataclass or named tuple: {type(value).__name__}")


def _frame(values: Sequence[object], columns: list[str]) -> pd.DataFrame:
    """Core values as a frame; `columns` names the columns when there are no values."""
    if not values:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame([_record(v) for v in values])


# --- Overview ------------------------------------------------------------------------------


@st.cache_data(ttl=TTL, show_spinner=False)
def account_health(db: str, configuration_set: str | None = None) -> reports.AccountHealth:
    return reports.account_health(resources.engine(), configuration_set=configuration_set)


@st.cache_data(ttl=TTL, show_spinner=False)
def configuration_sets(db: str) -> list[str]:
    """The streams the overview's selector offers (the sets our facts name)."""
    return reports.configuration_sets_seen(resources.engine())


def complaint_headroom(health: reports.AccountHealth) -> int:
    """More complaints the last 7 days' sends can take before complaint review (0.1 %)."""
    return headroom(health.sends_7d, health.complaints_7d, COMPLAINT_REVIEW)


@st.cache_data(ttl=TTL, show_spinner=False)
def rate_trend(
    db: str, start: date, end: date, kind: reports.Kind, configuration_set: str | None = None
) -> pd.DataFrame:
    points = reports.rate_trend(
        resources.engine(), start, end, kind=kind, configuration_set=configuration_set
    )
    columns = ["day", "sends", "sends_source", "events", "daily_rate", "rolling_7d_rate"]
    frame = _frame(points, [*columns, "official_rate"])
    for column in ("daily_rate", "rolling_7d_rate", "official_rate"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


@st.cache_data(ttl=TTL, show_spinner=False)
def bounces_by_type(db: str, start: date, end: date) -> pd.DataFrame:
    counts = reports.bounces_by_type(resources.engine(), start, end)
    frame = _frame(counts, ["day", "classification", "subtype", "count"])
    if not frame.empty:
        frame["type"] = frame["classification"] + " / " + frame["subtype"].replace("", "—")
    return frame


@st.cache_data(ttl=TTL, show_spinner=False)
def top_domains(db: str, start: date, end: date, limit: int) -> pd.DataFrame:
    domains = reports.top_domains(resources.engine(), start, end, limit=limit)
    columns = ["domain", "hard", "soft", "undetermined", "complaints", "total"]
    return _frame(domains, columns)


# --- Ingestion -----------------------------------------------------------------------------


@st.cache_data(ttl=TTL, show_spinner=False)
def ingestion_counts(db: str, start: date, end: date) -> pd.DataFrame:
    """Per day: facts stored, duplicates and dead letters (long format for a stacked chart)."""
    days = ingestion_report.ingestion_counts(resources.engine(), start, end)
    columns = ["day", "entry_point", "received", "stored", "duplicates", "dead_lettered"]
    frame = _frame(days, columns)
    if frame.empty:
        return pd.DataFrame(columns=["day", "outcome", "count"])
    totals = frame.groupby("day", as_index=False)[["stored", "duplicates", "dead_lettered"]].sum()
    totals = totals.rename(columns={"dead_lettered": "dead-lettered"})
    return totals.melt(id_vars="day", var_name="outcome", value_name="count")


@st.cache_data(ttl=TTL, show_spinner=False)
def recent_runs(db: str, limit: int = 50) -> pd.DataFrame:
    runs = ingestion_report.recent_runs(resources.engine(), limit=limit)
    columns = ["id", "entry_point", "source", "started_at", "finished_at", "received", "stored"]
    return _frame(runs, [*columns, "duplicates", "dead_lettered", "error"])


@st.cache_data(ttl=TTL, show_spinner=False)
def store_counts(db: str) -> ingestion_report.StoreCounts:
    return ingestion_report.store_counts(resources.engine())


@st.cache_data(ttl=TTL, show_spinner=False)
def dead_letter_count(db: str) -> int:
    return dead_letter_store.count_dead_letters(resources.engine())


@st.cache_data(ttl=TTL, show_spinner=False)
def dead_letters(db: str, page: int, page_size: int) -> pd.DataFrame:
    letters = dead_letter_store.list_dead_letters(
        resources.engine(), limit=page_size, offset=(page - 1) * page_size
    )
    columns = ["id", "received_at", "source", "reason_code", "reason", "attempts", "size"]
    frame = _frame(letters, columns)
    return frame[columns] if not frame.empty else frame


@st.cache_data(ttl=TTL, show_spinner=False)
def dead_letter_text(db: str, letter_id: int) -> str:
    """The stored bytes as text (invalid UTF-8 shown as U+FFFD), for st.code, never markdown."""
    raw = dead_letter_store.dead_letter_raw(resources.engine(), letter_id)
    return "" if raw is None else raw.decode("utf-8", errors="replace")


# --- Bounced users -------------------------------------------------------------------------

BOUNCED_COLUMNS = {
    "address": "address",
    "name": "name",
    "company": "company",
    "user_id": "user id",
    "hard_count": "hard",
    "soft_count": "soft",
    "undetermined_count": "undetermined",
    "complaint_count": "complaints",
    "last_classification": "last type",
    "last_subtype": "last subtype",
    "last_bounce_at": "last bounce",
    "suppressed": "suppressed",
    "confirmed_valid": "confirmed valid",
    "last_diagnostic_code": "last diagnostic code",
}


def _filter_hash(flt: BouncedFilter) -> tuple[object, ...]:
    """The cache's view of a filter: kinds and subtypes sorted, so the order they were
    picked in never makes a second cache entry."""
    return (
        sorted(flt.kinds),
        sorted(flt.subtypes),
        flt.start,
        flt.end,
        flt.domain,
        flt.text,
        flt.suppression,
        flt.confirmed,
        flt.zone,
    )


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs={BouncedFilter: _filter_hash})
def bounced_page(
    db: str, flt: BouncedFilter, cursor: str | None, page_size: int
) -> tuple[pd.DataFrame, int, str | None, str | None]:
    """One keyset page of the bounced list in display columns (cursor None: the first),
    the total matching, and the cursors of the next and previous pages."""
    found = bounced.list_bounced(resources.engine(), flt, cursor=cursor, page_size=page_size)
    frame = _frame(found.rows, list(BOUNCED_COLUMNS))
    frame = frame[list(BOUNCED_COLUMNS)].rename(columns=BOUNCED_COLUMNS)
    return frame, found.total, found.next_cursor, found.previous_cursor


def bounced_csv(
    db: str, actor: Actor, flt: BouncedFilter, bom: bool, zone: tzinfo | None = None
) -> bytes:
    """The whole filtered bounced list, written when someone clicks Download (times with
    `zone`'s offset); the export is recorded in the audit log."""
    buffer = io.BytesIO()
    bounced.export_bounced_csv(resources.engine(), actor, flt, buffer, bom=bom, zone=zone)
    return buffer.getvalue()


@st.cache_data(ttl=TTL, show_spinner=False)
def subtypes(db: str) -> list[str]:
    return bounced.subtypes_seen(resources.engine())


# --- Suppression list ----------------------------------------------------------------------

MIRROR_COLUMNS = {
    "address": "address",
    "reason": "reason",
    "last_update_time": "listed since",
    "suppressed": "on the list",
    "confirmed_valid": "confirmed valid",
    "removed_by_us": "removed by Bounce Desk",
}


@st.cache_data(ttl=TTL, show_spinner=False)
def suppression_mirror(
    db: str, flt: suppression.MirrorFilter, page: int, page_size: int
) -> tuple[pd.DataFrame, int]:
    """One page of the mirror, newest listing first, with each address's confirmation state."""
    rows, total = suppression.list_mirror(resources.engine(), flt, page=page, page_size=page_size)
    frame = _frame(rows, list(MIRROR_COLUMNS))
    return frame[list(MIRROR_COLUMNS)].rename(columns=MIRROR_COLUMNS), total


def mirror_csv(
    db: str, actor: Actor, flt: suppression.MirrorFilter, zone: tzinfo | None = None
) -> bytes:
    """Written when someone clicks Download (times with `zone`'s offset); the export is
    recorded in the audit log."""
    buffer = io.BytesIO()
    suppression.export_mirror_csv(resources.engine(), actor, flt, buffer, zone=zone)
    return buffer.getvalue()


@st.cache_data(ttl=TTL, show_spinner=False)
def last_sync(db: str) -> dict[str, Any] | None:
    found = suppression.last_sync(resources.engine())
    if found is None:
        return None
    columns = ["started_at", "finished_at", "status", "incremental", "seen", "gone", "error"]
    return {name: getattr(found, name) for name in columns}


@st.cache_data(ttl=TTL, show_spinner=False)
def removal_candidates(db: str) -> pd.DataFrame:
    candidates = confirmations.removal_candidates(resources.engine())
    columns = ["address", "email_address", "suppression_reason", "suppressed_at"]
    return _frame(candidates, [*columns, "confirmed_at", "confirmed_by", "note", "last_bounce_at"])


def console_csv(db: str, actor: Actor) -> bytes:
    """The SES console's bulk-delete file for every suppressed, confirmed-valid address;
    written when someone clicks Download and recorded in the audit log."""
    return suppression.export_console_csv(resources.engine(), actor).body


@st.cache_data(ttl=TTL, show_spinner=False)
def console_csv_left_out(db: str) -> tuple[list[str], list[str]]:
    """The candidates the console file leaves out: (starting like a formula, needing an
    admin)."""
    found = suppression.console_csv_plan(resources.engine())
    return list(found.left_out), list(found.needs_admin)


# --- Mailing exclusions --------------------------------------------------------------------


@st.cache_data(ttl=TTL, show_spinner=False)
def exclusions_preview(db: str, limit: int) -> pd.DataFrame:
    """The first `limit` excluded addresses: address, reason (core's English), since, and
    the reasons as data (`findings`) for the page to word in its language."""
    rows = list(islice(mailing.excluded_addresses(resources.engine(), resources.settings()), limit))
    return pd.DataFrame(
        {
            "address": [row.address for row in rows],
            "reason": [row.reason for row in rows],
            "since": pd.Series([row.since for row in rows], dtype="datetime64[ns]"),
            "findings": [row.findings for row in rows],
        }
    )


def mailing_status(db: str, address: str) -> mailing.MailingStatus:
    """Whether bulk mail may go to one address, and why; not cached: whoever asks about one
    address wants today's answer."""
    return mailing.mailing_status(resources.engine(), address, resources.settings())


def exclusions_csv(db: str, bom: bool, actor: Actor, zone: tzinfo | None = None) -> bytes:
    """Written when someone clicks Download (times with `zone`'s offset); the export is
    recorded in the audit log."""
    buffer = io.BytesIO()
    mailing.export_exclusions_csv(
        resources.engine(), actor, resources.settings(), buffer, bom, zone=zone
    )
    return buffer.getvalue()


@st.cache_data(ttl=TTL, show_spinner=False)
def directory_size(db: str) -> int:
    return directory.directory_size(resources.engine())


# --- API tokens ----------------------------------------------------------------------------


@st.cache_data(ttl=TTL, show_spinner=False)
def api_tokens(db: str) -> pd.DataFrame:
    """Every API token (never its secret), active ones first."""
    rows = [
        (t.name, str(t.scope), "active" if t.active else "revoked", t.created_at,
         t.created_by, t.last_used_at, t.revoked_at, t.revoked_by)
        for t in tokens.list_tokens(resources.engine())
    ]  # fmt: skip
    columns = ["name", "scope", "state", "created_at", "created_by", "last_used_at",
               "revoked_at", "revoked_by"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


# --- Audit log -----------------------------------------------------------------------------

AUDIT_COLUMNS = {
    "at": "when",
    "actor": "who",
    "action": "action",
    "address": "address",
    "outcome": "outcome",
    "parameters": "parameters",
    "detail": "detail",
}


@st.cache_data(ttl=TTL, show_spinner=False)
def audit_page(
    db: str, flt: audit.AuditFilter, page: int, page_size: int
) -> tuple[pd.DataFrame, int]:
    found = audit.list_audit(resources.engine(), flt, page=page, page_size=page_size)
    frame = _frame(found.rows, list(AUDIT_COLUMNS))
    return frame[list(AUDIT_COLUMNS)].rename(columns=AUDIT_COLUMNS), found.total


@st.cache_data(ttl=TTL, show_spinner=False)
def audit_actors(db: str) -> list[str]:
    return audit.actors_seen(resources.engine())


def audit_csv(
    db: str, actor: Actor, flt: audit.AuditFilter, bom: bool, zone: tzinfo | None = None
) -> bytes:
    """Written when someone clicks Download (times with `zone`'s offset); the export is
    itself recorded in the log."""
    buffer = io.BytesIO()
    audit.export_audit_csv(resources.engine(), actor, flt, buffer, bom=bom, zone=zone)
    return buffer.getvalue()


# --- Alerts --------------------------------------------------------------------------------


def _alert_filter_hash(flt: alert_lifecycle.AlertFilter) -> tuple[object, ...]:
    return (flt.status, flt.rule, flt.scope, flt.start, flt.end)


@st.cache_data(ttl=TTL, show_spinner=False)
def open_alerts_summary(db: str) -> tuple[int, str | None]:
    """How many alerts are open and the title of the most severe, newest one (the banner)."""
    alerts = alert_lifecycle.list_alerts(resources.engine(), alert_lifecycle.AlertFilter())
    if not alerts:
        return 0, None
    rank = {"critical": 0, "review": 1, "warning": 2}
    worst = min(alerts, key=lambda a: (rank.get(a.severity, 3), -a.id))
    return len(alerts), worst.title


@st.cache_data(
    ttl=TTL, show_spinner=False, hash_funcs={alert_lifecycle.AlertFilter: _alert_filter_hash}
)
def alerts(db: str, flt: alert_lifecycle.AlertFilter) -> pd.DataFrame:
    rows = alert_lifecycle.list_alerts(resources.engine(), flt)
    return _frame(rows, alert_lifecycle.ALERT_HEADER)


@st.cache_data(ttl=TTL, show_spinner=False)
def alert_rules(db: str) -> list[str]:
    return alert_lifecycle.rules_seen(resources.engine())


@st.cache_data(ttl=TTL, show_spinner=False)
def alert_history(db: str, alert_id: int) -> pd.DataFrame:
    events = alert_lifecycle.alert_events(resources.engine(), alert_id)
    return _frame(events, ["id", "alert_id", "at", "kind", "actor", "detail"])


def alerts_csv(db: str, flt: alert_lifecycle.AlertFilter, bom: bool) -> bytes:
    """Every alert matching `flt` as CSV, through the formula-safe writer."""
    out = io.BytesIO()
    alert_lifecycle.export_alerts_csv(resources.engine(), flt, out, bom=bom)
    return out.getvalue()


# --- Jobs ----------------------------------------------------------------------------------


@st.cache_data(ttl=TTL, show_spinner=False)
def job_status(db: str) -> list[JobStatus]:
    """Each job's last run, next due and staleness (the Jobs page and the sidebar warning)."""
    return job_statuses(resources.engine(), resources.settings(), JOBS, utcnow())


def job_table(db: str) -> pd.DataFrame:
    """The jobs as the Jobs page's table: one row per job."""
    rows = [
        {
            "job": status.name,
            "does": status.does,
            "every": _every(status),
            "last_run": status.last_started,
            "outcome": terms.word(terms.JOB_OUTCOMES, status.last_outcome)
            if status.last_outcome
            else _("never run"),
            "summary": status.last_error or status.last_summary or "",
            "next_due": _("off")
            if status.next_due is None
            else (_("now") if status.due else timestamp(status.next_due)),
            "stale": status.why_stale or "",
        }
        for status in job_status(db)
    ]
    return pd.DataFrame(rows)


def _every(status: JobStatus) -> str:
    if status.interval is None:
        return _("off")
    minutes = int(status.interval.total_seconds() // 60)
    if minutes < 120 or minutes % 60:
        return _("{minutes} min").format(minutes=minutes)
    return _("{hours} h").format(hours=minutes // 60)


# --- Doctor --------------------------------------------------------------------------------

DOCTOR_COLUMNS = ["status", "check", "message", "action"]


def _inspector() -> AwsInspector:
    """This server's AWS clients (the demo's emulator, or the standard AWS chain)."""
    env = resources.environment()
    region = env.region or resolve_region(env.settings, env.session())
    return AwsInspector.from_factory(env.client, region)


@st.cache_data(ttl=TTL, show_spinner=False)
def doctor_report(db: str, actor: Actor) -> tuple[pd.DataFrame, int, str]:
    """The deployment check as rows, its exit code and its summary (admin only)."""
    doctor = Doctor.from_settings(resources.settings(), inspector=_inspector)
    report = diagnose(doctor, actor)
    frame = pd.DataFrame([f.to_dict() for f in report.findings], columns=DOCTOR_COLUMNS)
    return frame, report.exit_code, report.summary()
