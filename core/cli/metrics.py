"""CLI commands for the SES account's figures: thin wrappers over core.ses.metrics.

    python -m core metrics pull [--days N]
    python -m core account

`account` exits 1 when SES does not report the account HEALTHY and sending.
"""

from __future__ import annotations

import argparse

from core.cli.common import Commands, add_command, add_group, printable, ses_context
from core.ses import metrics
from core.settings import Settings


def register(commands: Commands) -> None:
    group = add_group(commands, "metrics", "SES reputation and volume history")
    pull = add_command(
        group, "pull", handle_metrics_pull, "store CloudWatch metrics and GetSendStatistics"
    )
    pull.add_argument("--days", type=int, default=14, help="CloudWatch window (default 14)")
    add_command(
        commands, "account", handle_account, "record and show SES account health (GetAccount)"
    )


def handle_metrics_pull(args: argparse.Namespace, settings: Settings) -> int:
    with ses_context(settings) as ctx:
        reports = metrics.pull_metrics(ctx.engine, ctx.gateway(), days=args.days)
    for report in reports:
        window = f"{report.start} .. {report.end}" if report.start else "no data"
        print(f"{report.source}: {report.points} points ({window})")
        for name, count in sorted(report.by_metric.items()):
            print(f"  {name}: {count}")
    return 0


def handle_account(args: argparse.Namespace, settings: Settings) -> int:
    with ses_context(settings) as ctx:
        health = metrics.record_account_snapshot(ctx.engine, ctx.gateway())
    print(f"enforcement status: {printable(health.enforcement_status)}")
    print(f"sending enabled: {health.sending_enabled}")
    print(f"production access: {health.production_access_enabled}")
    print(
        f"quota: {health.sent_last_24_hours} of {health.max_24_hour_send} in 24 h, "
        f"max {health.max_send_rate}/s"
    )
    reasons = ", ".join(printable(reason) for reason in health.suppressed_reasons)
    print(f"suppressed reasons: {reasons or 'none'}")
    healthy = health.enforcement_status in (None, "HEALTHY") and health.sending_enabled is not False
    return 0 if healthy else 1
