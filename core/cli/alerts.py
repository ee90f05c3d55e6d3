"""CLI commands for alerts: thin wrappers over core.alerts.

    bouncedesk alerts check [--no-ses]
    bouncedesk alerts list [--all] [--rule RULE] [--scope TEXT]
    bouncedesk alerts ack ID [--note TEXT]
    bouncedesk alerts snooze ID --for 4h
    bouncedesk alerts resume CONFIGURATION_SET --reason TEXT   (admin: BOUNCEDESK_CLI_ROLE=admin)

`check` exits 0 after a complete check, 1 when a rule family could not be evaluated or a
delivery failed (the rest of the check still ran).
"""

from __future__ import annotations

import argparse

from core.access import Action, cli_actor, require
from core.alerts.channels import Notifier
from core.alerts.checker import AlertChecker, CheckSummary
from core.alerts.guard import resume_sending
from core.alerts.lifecycle import AlertFilter, acknowledge, list_alerts, parse_duration, snooze
from core.cli.common import Commands, add_command, add_group, printable, ses_context
from core.settings import Settings
from core.store.db import make_engine


def register(commands: Commands) -> None:
    group = add_group(commands, "alerts", "rate, spike, SES and pipeline alerts; the guard")
    check = add_command(group, "check", handle_check, "evaluate every rule once and notify")
    check.add_argument(
        "--no-ses", action="store_true", help="judge the stored figures only; call no AWS API"
    )
    listing = add_command(group, "list", handle_list, "open alerts, newest first")
    listing.add_argument("--all", action="store_true", help="resolved ones too")
    listing.add_argument("--rule", help="only this rule (e.g. bounce_rate_warning)")
    listing.add_argument("--scope", help="scope contains this text (e.g. bulk)")
    ack = add_command(group, "ack", handle_ack, "acknowledge: no more notifications")
    ack.add_argument("id", type=int, metavar="ID")
    ack.add_argument("--note", default="", help="what is being done about it")
    quiet = add_command(group, "snooze", handle_snooze, "no notifications for a while")
    quiet.add_argument("id", type=int, metavar="ID")
    quiet.add_argument("--for", dest="duration", required=True, help="e.g. 30m, 4h, 2d")
    resume = add_command(
        group, "resume", handle_resume, "resume sending for a configuration set (admin)"
    )
    resume.add_argument("configuration_set", metavar="CONFIGURATION_SET")
    resume.add_argument("--reason", required=True, help="why it is safe to send again")


def handle_check(args: argparse.Namespace, settings: Settings) -> int:
    notifier = Notifier.from_settings(settings)
    with ses_context(settings) as ctx:
        gateway = None if args.no_ses else ctx.gateway()
        summary = AlertChecker.from_settings(settings, ctx.engine, gateway, notifier).check()
    print_summary(summary)
    return 1 if summary.skipped or summary.failed_deliveries else 0


def print_summary(summary: CheckSummary) -> None:
    print(
        f"checked at {summary.at:%Y-%m-%d %H:%M:%S} UTC: {summary.findings} conditions hold; "
        f"opened {len(summary.opened)}, re-notified {len(summary.renotified)}, "
        f"resolved {len(summary.resolved)}"
    )
    for step in summary.guard:
        rate = "no data" if step.rate is None else f"{step.rate:.2%} ({step.source})"
        print(f"guard {printable(step.configuration_set)}: {step.outcome}, bounce rate {rate}")
    for delivery in summary.deliveries:
        if not delivery.delivered:
            print(f"delivery failed: {printable(delivery.channel)}: {printable(delivery.detail)}")
    for family, why in sorted(summary.skipped.items()):
        print(f"not evaluated: {family}: {printable(why)}")


def handle_list(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    flt = AlertFilter(status=None if args.all else "open", rule=args.rule, scope=args.scope)
    alerts = list_alerts(engine, flt)
    if not alerts:
        print("no alerts" if args.all else "no open alerts")
    for alert in alerts:
        quiet = ""
        if alert.acknowledged_by:
            quiet = f"  acknowledged by {printable(alert.acknowledged_by)}"
        elif alert.snoozed_until:
            quiet = f"  snoozed until {alert.snoozed_until:%Y-%m-%d %H:%M}"
        print(
            f"#{alert.id}  {alert.opened_at:%Y-%m-%d %H:%M}  {alert.status:<8} "
            f"{alert.severity:<8} {printable(alert.rule)} [{printable(alert.scope)}]{quiet}\n"
            f"      {printable(alert.title)}"
        )
    return 0


def handle_ack(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    alert = acknowledge(engine, cli_actor(settings), args.id, args.note)
    print(f"#{alert.id} acknowledged by {printable(alert.acknowledged_by)}")
    return 0


def handle_snooze(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    alert = snooze(engine, cli_actor(settings), args.id, parse_duration(args.duration))
    print(f"#{alert.id} snoozed until {alert.snoozed_until:%Y-%m-%d %H:%M} UTC")
    return 0


def handle_resume(args: argparse.Namespace, settings: Settings) -> int:
    with ses_context(settings) as ctx:
        # Refuse a non-admin before looking for AWS credentials (resume_sending checks again).
        require(ctx.actor, Action.RESUME_SENDING)
        resume_sending(ctx.engine, ctx.gateway(), ctx.actor, args.configuration_set, args.reason)
    print(f"sending resumed for configuration set {printable(args.configuration_set)}")
    return 0
