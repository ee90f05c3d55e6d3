"""`bouncedesk doctor`: one line per check of a deployment (ok / warning / problem, and what
to do). `findings` holds the values; `local` the checks without AWS (settings, database,
SNS certificates); `freshness` each job's last run (from `core.jobs.status`); `aws` the
checks through `core.ses.inspection` (credentials, permissions, account, identities, topics,
subscriptions, queues); `permissions` the table of what each feature needs; and `runner`
the `Doctor` that runs them in order."""
