"""Jobs that run themselves: every periodic task as a named job with one entry point.

`spec` (what a job is), `tasks` (one thin function per job over its wing's service),
`registry` (`JOBS`: the jobs there are), `locks` (one runner of a job at a time),
`runner` (`JobRunner`: run one job, run what is due, record each run), `status` (last run,
next due, stale), `lambda_handler` (the jobs function of the AWS deployment).
"""
