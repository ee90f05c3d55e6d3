"""Alerts: rules on rates, spikes, SES's own status, the pipeline and the list; their
lifecycle and history; delivery through apprise channels; and the guard that pauses only a
protected configuration set. Checked by `AlertChecker` (the `alerts-check` job, the CLI's
`alerts check`); job health is handed in, never imported."""
