"""Ingestion: upload notification files, poll SQS, watch counts, retry dead letters."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from core.access import Action
from ui import actions, charts, feedback, grid, identity, pager, queries, resources
from ui.format import labels, timestamp, today_utc

actor = feedback.page_header(
    "Ingestion",
    "Every SES notification is stored once, whatever the route (file, SQS, Lambda). "
    "Input that cannot be used is kept as a dead letter with its reason, never dropped.",
)

DEAD_LETTERS = "dead"  # the dead-letter table's prefix (its pager, its selection)
DEAD_LETTER_PAGE_SIZE = 50

ingest_refusal = identity.refusal(actor, Action.INGEST)
upload_tab, poll_tab = st.tabs(["Upload files", "Poll SQS"], key="ingest_tabs")

with upload_tab:
    files = st.file_uploader(
        "Notification files: JSON, JSON array or NDJSON, optionally gzip-compressed",
        type=["json", "ndjson", "jsonl", "txt", "gz"],
        accept_multiple_files=True,
        key="ingest_files",
    )
    if st.button(
        "Store notifications",
        key="ingest_store",
        type="primary",
        disabled=not files or ingest_refusal is not None,
        help=ingest_refusal,
    ):
        bar = st.progress(0.0, text="Storing…")
        for number, upload in enumerate(files or [], start=1):
            st.text(f"File {number}: {upload.name}")  # a file name is untrusted text
            with feedback.reported(f"store file {number}"):
                summary = actions.store_upload(actor, upload.name, upload.getvalue())
                st.success(
                    f"File {number}: {summary.received} notifications read, "
                    f"{summary.stored} new facts stored, {summary.duplicates} duplicates, "
                    f"{summary.dead_lettered} dead-lettered, {summary.ignored} ignored.",
                    icon=":material/check_circle:",
                )
            bar.progress(number / len(files or [1]), text=f"Stored {number} of {len(files or [])}")
        queries.clear()

with poll_tab:
    settings = resources.settings()
    default_queue = resources.queue_url_default()
    if settings.demo:
        st.caption("Demo: the emulator's queue, subscribed to the demo SES bounce topic.")
    queue_url = st.text_input(
        "SQS queue URL",
        value=default_queue,
        key="ingest_queue_url",
        placeholder="https://sqs.REGION.amazonaws.com/ACCOUNT/bounces",
    )
    max_messages = st.number_input(
        "At most this many messages",
        min_value=1,
        max_value=10_000,
        value=100,
        step=50,
        key="ingest_poll_max",
    )
    if st.button(
        "Poll SQS now",
        key="ingest_poll",
        type="primary",
        disabled=not queue_url or ingest_refusal is not None,
        help=ingest_refusal,
    ):
        with (
            feedback.reported("poll the queue"),
            st.spinner("Reading the queue…"),
        ):
            report = actions.poll_sqs(actor, queue_url.strip(), int(max_messages))
            summary = report.summary
            st.success(
                f"{report.messages} messages received, {report.deleted} deleted from the queue; "
                f"{summary.stored} new facts stored, {summary.duplicates} duplicates, "
                f"{summary.dead_lettered} dead-lettered.",
                icon=":material/check_circle:",
            )
            if report.left_on_queue:
                st.warning(
                    f"{report.left_on_queue} messages stay on the queue (SQS will redeliver).",
                    icon=":material/warning:",
                )
            for error in report.errors:
                st.text(error)
        queries.clear()

st.subheader("What the store holds")
with feedback.reported("load the ingestion history"):
    db = resources.database_key()
    store = queries.store_counts(db)
    columns = st.columns(4)
    columns[0].metric("Facts stored", f"{store.total_facts:,}")
    columns[1].metric("Bounces", f"{store.by_kind.get('bounce', 0):,}")
    columns[2].metric("Complaints", f"{store.by_kind.get('complaint', 0):,}")
    columns[3].metric("Open dead letters", f"{store.open_dead_letters:,}")
    st.caption(f"Last notification received {timestamp(store.last_received_at)}.")
    today = today_utc()
    counts = queries.ingestion_counts(db, today - timedelta(days=29), today)
    if counts.empty:
        feedback.empty_state("Nothing received in the last 30 days. Upload a file or poll a queue.")
    else:
        st.plotly_chart(
            charts.ingestion_chart(counts, today - timedelta(days=29), today), key="ingest_chart"
        )
    runs = queries.recent_runs(db)
    if not runs.empty:
        with st.expander("Recent runs", icon=":material/history:", key="ingest_runs_box"):
            grid.show(runs, key="ingest_runs", column_config=labels(runs.columns))

st.subheader("Dead letters")
with feedback.reported("load the dead letters"):
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
        feedback.empty_state("No open dead letters: everything received could be used.")
    else:
        letters = page.rows
        rows = grid.pick_rows(
            letters,
            key=f"{DEAD_LETTERS}_table",
            column_config={
                **labels(letters.columns),
                "id": st.column_config.NumberColumn("Id", format="%d"),
            },
        )
        pager.controls(DEAD_LETTERS, page, f"{page.total:,} open dead letters.")
        selected = [int(letters.iloc[row]["id"]) for row in rows]
        for letter_id in selected[:3]:
            with st.expander(
                f"Raw payload of dead letter {letter_id}",
                expanded=True,
                key=f"dead_raw_{letter_id}",
            ):
                st.code(
                    queries.dead_letter_text(resources.database_key(), letter_id),
                    language=None,
                    wrap_lines=True,
                )
        label = f"Retry {len(selected)} selected" if selected else "Retry all open"
        if st.button(
            label,
            key="dead_retry",
            icon=":material/replay:",
            disabled=ingest_refusal is not None,
            help=ingest_refusal,
        ):
            with feedback.reported("retry the dead letters"):
                outcomes = actions.retry_dead_letters(actor, selected or None)
                resolved = sum(1 for outcome in outcomes if outcome.resolved)
                st.success(
                    f"{resolved} of {len(outcomes)} resolved; the rest stay open with their "
                    "new reason.",
                    icon=":material/check_circle:",
                )
            queries.clear()
