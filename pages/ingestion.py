"""Ingestion: upload notification files, poll SQS, watch counts, retry dead letters."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from core.access import Action
from ui import actions, charts, feedback, grid, identity, pager, queries, resources
from ui.format import labels, local_times, timestamp, today_utc
from ui.i18n import _

actor = feedback.page_header(
    _("Ingestion"),
    _(
        "Every SES notification is stored once, whatever the route (file, SQS, Lambda). "
        "Input that cannot be used is kept as a dead letter with its reason, never dropped."
    ),
)

DEAD_LETTERS = "dead"  # the dead-letter table's prefix (its pager, its selection)
DEAD_LETTER_PAGE_SIZE = 50

ingest_refusal = identity.refusal(actor, Action.INGEST)
upload_tab, poll_tab = st.tabs([_("Upload files"), _("Poll SQS")], key="ingest_tabs")

with upload_tab:
    files = st.file_uploader(
        _("Notification files: JSON, JSON array or NDJSON, optionally gzip-compressed"),
        type=["json", "ndjson", "jsonl", "txt", "gz"],
        accept_multiple_files=True,
        key="ingest_files",
    )
    if st.button(
        _("Store notifications"),
        key="ingest_store",
        type="primary",
        disabled=not files or ingest_refusal is not None,
        help=ingest_refusal,
    ):
        bar = st.progress(0.0, text=_("Storing…"))
        for number, upload in enumerate(files or [], start=1):
            # a file name is untrusted text
            st.text(_("File {number}: {name}").format(number=number, name=upload.name))
            with feedback.reported(_("store file {number}").format(number=number)):
                summary = actions.store_upload(actor, upload.name, upload.getvalue())
                st.success(
                    _(
                        "File {number}: {received} notifications read, {stored} new facts "
                        "stored, {duplicates} duplicates, {dead} dead-lettered, {ignored} "
                        "ignored."
                    ).format(
                        number=number,
                        received=summary.received,
                        stored=summary.stored,
                        duplicates=summary.duplicates,
                        dead=summary.dead_lettered,
                        ignored=summary.ignored,
                    ),
                    icon=":material/check_circle:",
                )
            bar.progress(
                number / len(files or [1]),
                text=_("Stored {number} of {count}").format(number=number, count=len(files or [])),
            )
        queries.clear()

with poll_tab:
    settings = resources.settings()
    default_queue = resources.queue_url_default()
    if settings.demo:
        st.caption(_("Demo: the emulator's queue, subscribed to the demo SES bounce topic."))
    queue_url = st.text_input(
        _("SQS queue URL"),
        value=default_queue,
        key="ingest_queue_url",
        placeholder="https://sqs.REGION.amazonaws.com/ACCOUNT/bounces",
    )
    max_messages = st.number_input(
        _("At most this many messages"),
        min_value=1,
        max_value=10_000,
        value=100,
        step=50,
        key="ingest_poll_max",
    )
    if st.button(
        _("Poll SQS now"),
        key="ingest_poll",
        type="primary",
        disabled=not queue_url or ingest_refusal is not None,
        help=ingest_refusal,
    ):
        with (
            feedback.reported(_("poll the queue")),
            st.spinner(_("Reading the queue…")),
        ):
            report = actions.poll_sqs(actor, queue_url.strip(), int(max_messages))
            summary = report.summary
            st.success(
                _(
                    "{messages} messages received, {deleted} deleted from the queue; {stored} "
                    "new facts stored, {duplicates} duplicates, {dead} dead-lettered."
                ).format(
                    messages=report.messages,
                    deleted=report.deleted,
                    stored=summary.stored,
                    duplicates=summary.duplicates,
                    dead=summary.dead_lettered,
                ),
                icon=":material/check_circle:",
            )
            if report.left_on_queue:
                st.warning(
                    _("{count} messages stay on the queue (SQS will redeliver).").format(
                        count=report.left_on_queue
                    ),
                    icon=":material/warning:",
                )
            for error in report.errors:
                st.text(error)
        queries.clear()

st.subheader(_("What the store holds"))
with feedback.reported(_("load the ingestion history")):
    db = resources.database_key()
    store = queries.store_counts(db)
    columns = st.columns(4)
    columns[0].metric(_("Facts stored"), f"{store.total_facts:,}")
    columns[1].metric(_("Bounces"), f"{store.by_kind.get('bounce', 0):,}")
    columns[2].metric(_("Complaints"), f"{store.by_kind.get('complaint', 0):,}")
    columns[3].metric(_("Open dead letters"), f"{store.open_dead_letters:,}")
    st.caption(
        _("Last notification received {when}.").format(when=timestamp(store.last_received_at))
    )
    today = today_utc()
    counts = queries.ingestion_counts(db, today - timedelta(days=29), today)
    if counts.empty:
        feedback.empty_state(
            _("Nothing received in the last 30 days. Upload a file or poll a queue.")
        )
    else:
        st.caption(_("Notifications per UTC day, the last 30 days."))
        st.plotly_chart(
            charts.ingestion_chart(counts, today - timedelta(days=29), today), key="ingest_chart"
        )
    runs = queries.recent_runs(db)
    if not runs.empty:
        with st.expander(_("Recent runs"), icon=":material/history:", key="ingest_runs_box"):
            grid.show(
                local_times(runs, ["started_at", "finished_at"]),
                key="ingest_runs",
                column_config=labels(runs.columns),
            )

st.subheader(_("Dead letters"))
with feedback.reported(_("load the dead letters")):
    db = resources.database_key()
    page = pager.fetch(
        DEAD_LETTERS,
        lambda number, size: (
            queries.dead_letters(db, number, size),
            queries.dead_letter_count(db),
        ),
        size=DEAD_LETTER_PAGE_SIZE,
    )
    if page.total == 0:
        feedback.empty_state(_("No open dead letters: everything received could be used."))
    else:
        letters = page.rows
        titles = labels(letters.columns)
        rows = grid.pick_rows(
            local_times(letters, ["received_at"]),
            key=f"{DEAD_LETTERS}_table",
            column_config={
                **titles,
                "id": st.column_config.NumberColumn(titles["id"], format="%d"),
            },
        )
        pager.controls(
            DEAD_LETTERS,
            page,
            _("{count} open dead letters.").format(count=f"{page.total:,}"),
        )
        selected = [int(letters.iloc[row]["id"]) for row in rows]
        for letter_id in selected[:3]:
            with st.expander(
                _("Raw payload of dead letter {id}").format(id=letter_id),
                expanded=True,
                key=f"dead_raw_{letter_id}",
            ):
                st.code(
                    queries.dead_letter_text(resources.database_key(), letter_id),
                    language=None,
                    wrap_lines=True,
                )
        label = (
            _("Retry {count} selected").format(count=len(selected))
            if selected
            else _("Retry all open")
        )
        if st.button(
            label,
            key="dead_retry",
            icon=":material/replay:",
            disabled=ingest_refusal is not None,
            help=ingest_refusal,
        ):
            with feedback.reported(_("retry the dead letters")):
                outcomes = actions.retry_dead_letters(actor, selected or None)
                resolved = sum(1 for outcome in outcomes if outcome.resolved)
                st.success(
                    _(
                        "{resolved} of {count} resolved; the rest stay open with their new reason."
                    ).format(resolved=resolved, count=len(outcomes)),
                    icon=":material/check_circle:",
                )
            queries.clear()
