"""Retention: raw facts past their kind's age are deleted in short batches; the daily
counts and the per-address summaries, kept at ingest, stay (`purge.Retention`)."""
