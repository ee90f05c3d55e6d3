"""CLI commands for the SES suppression list: thin wrappers over the suppression wing.

    python -m core suppression sync [--incremental]
    python -m core suppression remove ADDR... | --from-file F [--reason TEXT] [--yes]
                                      [--dry-run] [--admin-override]
    python -m core suppression resume RUN_ID
    python -m core suppression retry-failed RUN_ID
    python -m core suppression import-job --from-file F [--reason TEXT] [--yes]
                                      [--dry-run] [--admin-override] [--confirm-count N]
    python -m core suppression poll-jobs [--run RUN_ID]
    python -m core suppression export --console-csv [-o FILE] [--all-suppressed]
    python -m core suppression detail ADDRESS

Commands act as `settings.actor` with `settings.cli_role` (core.access): a removal plans
first (what `--dry-run` prints) and sends only the addresses that role may remove. The exit
code is 0 when everything asked for was done, 1 when something failed, was rejected or was
refused, 2 when configuration is missing (core.cli.common.EXIT_CODES).
"""

from __future__ import annotations

import argparse
import sys
from argparse import ArgumentParser
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from core.cli.common import (
    Commands,
    Handler,
    SesContext,
    add_command,
    add_group,
    open_output,
    printable,
    ses_context,
)
from core.errors import InvalidInput
from core.settings import Settings
from core.suppression import mirror as suppression
from core.suppression import removal
from core.suppression.guardrails import RejectedLine, RemovalPlan, Verdict, plan_removal


def register(commands: Commands) -> None:
    group = add_group(commands, "suppression", "the SES account suppression list")

    def add(name: str, handler: Handler, text: str, output: bool = False) -> ArgumentParser:
        return add_command(group, name, handler, text, output=output)

    sync = add("sync", handle_sync, "mirror the SES suppression list into the database")
    sync.add_argument("--incremental", action="store_true", help="only entries changed since")
    remove = add("remove", handle_remove, "remove addresses, one SES call each, paced")
    remove.add_argument("addresses", nargs="*", metavar="ADDR")
    bulk = add("import-job", handle_import_job, "remove in bulk (S3 + job)")
    for command in (remove, bulk):
        command.add_argument("--from-file", type=Path, help="one address per line")
        command.add_argument("--reason", default="", help="recorded in the audit trail")
        command.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        command.add_argument(
            "--dry-run", action="store_true", help="print what would happen, change nothing"
        )
        command.add_argument(
            "--admin-override",
            action="store_true",
            help="admin: also remove addresses that need an admin (needs --reason)",
        )
    bulk.add_argument(
        "--confirm-count",
        type=int,
        metavar="N",
        help="the number of addresses, required above max_removals_per_click",
    )
    for name, handler in (("resume", handle_resume), ("retry-failed", handle_retry_failed)):
        text = "finish an interrupted run" if name == "resume" else "send failed ones again"
        add(name, handler, text).add_argument("run_id", type=int, metavar="RUN_ID")
    poll = add("poll-jobs", handle_poll_jobs, "record the state of unfinished import jobs")
    poll.add_argument("--run", type=int, dest="run_id", help="only this removal run")
    export = add("export", handle_export, "write the SES console's bulk-removal CSV", True)
    export.add_argument("--console-csv", action="store_true", required=True)
    export.add_argument(
        "--all-suppressed",
        action="store_true",
        help="every suppressed address, not only confirmed (admin role)",
    )
    detail = add("detail", handle_detail, "why SES lists an address, with our bounce record")
    detail.add_argument("address")


# --- Plumbing ----------------------------------------------------------------------------


def _read_addresses(args: argparse.Namespace) -> list[str]:
    lines = list(getattr(args, "addresses", None) or [])
    if args.from_file is not None:
        try:
            lines += args.from_file.read_text(encoding="utf-8-sig").splitlines()
        except UnicodeDecodeError:
            raise InvalidInput(f"{args.from_file} is not UTF-8 text") from None
    if not lines:
        raise InvalidInput("give addresses as arguments or with --from-file")
    return lines


def _confirmed(args: argparse.Namespace, question: str, stdin: TextIO | None = None) -> bool:
    """A removal is never a surprise: ask, unless --yes; refuse when nobody can answer."""
    if args.yes:
        return True
    stdin = stdin or sys.stdin
    if not stdin.isatty():
        print("not confirmed: run interactively or pass --yes", file=sys.stderr)
        return False
    print(f"{question} [y/N] ", end="", flush=True)
    return stdin.readline().strip().lower() in {"y", "yes"}


def _print_rejected(rejected: tuple[RejectedLine, ...]) -> None:
    for line in rejected:
        print(f"rejected line {line.line}: {line.raw.strip()!r}: {line.reason}")


def _print_plan(plan: RemovalPlan, *, everything: bool) -> None:
    """Rejected lines and the addresses this role may not remove (all of them with
    `everything`, for --dry-run), then one summary line."""
    _print_rejected(plan.rejected)
    for item in plan.items:
        if everything or item.verdict is not Verdict.ALLOWED:
            print(f"  {item.verdict:<11} {printable(item.address)}: {printable(item.why)}")
    counts = ", ".join(
        f"{plan.count(verdict)} {verdict.value.replace('_', ' ')}" for verdict in Verdict
    )
    via = "one SES call each" if plan.method == "api" else "more than one click allows"
    print(f"plan for {plan.actor} ({plan.role}): {counts} ({via})")


def _print_removal(report: removal.RemovalReport) -> int:
    if report.run_id is None:
        print("nothing to remove")
        return 1 if report.rejected else 0
    counts = ", ".join(f"{count} {outcome}" for outcome, count in sorted(report.counts.items()))
    print(f"removal run {report.run_id} ({report.method}): {report.status}; {counts}")
    for result in report.results:
        if result.outcome == removal.Outcome.FAILED:
            print(f"  failed {printable(result.address)}: {printable(result.message)}")
    if report.count(removal.Outcome.PENDING):
        print(f"resume with: python -m core suppression resume {report.run_id}")
    if report.count(removal.Outcome.FAILED):
        print(f"retry failed ones with: python -m core suppression retry-failed {report.run_id}")
    return 0 if report.ok else 1


def _print_progress(done: int, total: int, result: removal.AddressResult) -> None:
    print(f"  [{done}/{total}] {result.outcome} {printable(result.address)}", flush=True)


# --- Handlers ----------------------------------------------------------------------------


def handle_sync(args: argparse.Namespace, settings: Settings) -> int:
    with ses_context(settings) as ctx:
        report = suppression.sync_suppression_list(
            ctx.engine, ctx.gateway(), actor=ctx.actor, incremental=args.incremental
        )
    kind = "incremental" if report.incremental else "full"
    print(
        f"{kind} sync {report.sync_id}: {report.pages} pages, {report.seen} listed, "
        f"{report.added} newly suppressed, {report.gone} no longer listed"
    )
    for note in report.notes:
        print(f"note: {printable(note)}")
    return 0


def _plan(ctx: SesContext, args: argparse.Namespace) -> RemovalPlan:
    return plan_removal(
        ctx.engine,
        _read_addresses(args),
        actor=ctx.actor,
        reason=args.reason,
        override=args.admin_override,
        max_per_click=ctx.settings.max_removals_per_click,
    )


def _left_out(plan: RemovalPlan) -> str:
    left = len(plan.items) - len(plan.allowed)
    return f" ({left} left out, see above)" if left else ""


def handle_remove(args: argparse.Namespace, settings: Settings) -> int:
    with ses_context(settings) as ctx:
        plan = _plan(ctx, args)
        _print_plan(plan, everything=args.dry_run)
        limit = ctx.settings.max_removals_per_click
        if args.dry_run:
            return 0 if plan.ok else 1
        count = len(plan.allowed)
        if count > limit:
            print(
                f"error: {count} addresses are more than {limit} at once "
                "(max_removals_per_click): use `python -m core suppression import-job`",
                file=sys.stderr,
            )
            return 1
        rate = ctx.settings.ses_request_rate
        question = (
            f"Remove {count} addresses from the SES suppression list (~{count / rate:.0f} s)"
            f"{_left_out(plan)}?"
        )
        if count and not _confirmed(args, question):
            return 1
        report = ctx.remover().remove(
            plan.allowed,
            actor=ctx.actor,
            reason=args.reason,
            override=args.admin_override,
            progress=_print_progress,
        )
    code = _print_removal(replace(report, rejected=plan.rejected))
    return code if plan.ok else 1


def _count_confirmed(args: argparse.Namespace, count: int, stdin: TextIO | None = None) -> bool:
    """The extra confirmation above max_removals_per_click: the exact number, given with
    --confirm-count or typed in answer to the question (--yes is not enough)."""
    if args.confirm_count is not None:
        if args.confirm_count == count:
            return True
        print(f"not confirmed: --confirm-count {args.confirm_count}, not {count}", file=sys.stderr)
        return False
    stdin = stdin or sys.stdin
    if not stdin.isatty():
        print(f"not confirmed: pass --confirm-count {count}", file=sys.stderr)
        return False
    print(f"Type the number of addresses to remove ({count}) to confirm: ", end="", flush=True)
    return stdin.readline().strip() == str(count)


def handle_import_job(args: argparse.Namespace, settings: Settings) -> int:
    with ses_context(settings) as ctx:
        plan = _plan(ctx, args)
        _print_plan(plan, everything=args.dry_run)
        if args.dry_run:
            return 0 if plan.ok else 1
        count, limit = len(plan.allowed), ctx.settings.max_removals_per_click
        question = f"Remove {count} addresses with SES import jobs{_left_out(plan)}?"
        if count > limit:
            if not _count_confirmed(args, count):
                return 1
        elif count and not _confirmed(args, question):
            return 1
        report = ctx.remover().start_import(
            plan.allowed,
            actor=ctx.actor,
            reason=args.reason,
            override=args.admin_override,
            confirm_count=count,
        )
    code = _print_removal(replace(report, rejected=plan.rejected))
    if report.run_id is not None:
        print(f"follow with: python -m core suppression poll-jobs --run {report.run_id}")
    return code if plan.ok else 1


def handle_resume(args: argparse.Namespace, settings: Settings) -> int:
    return _rerun(removal.Remover.resume, args, settings)


def handle_retry_failed(args: argparse.Namespace, settings: Settings) -> int:
    return _rerun(removal.Remover.retry_failed, args, settings)


def _rerun(operation: Any, args: argparse.Namespace, settings: Settings) -> int:
    """Resume or retry one removal run (same arguments for both)."""
    with ses_context(settings) as ctx:
        report = operation(ctx.remover(), args.run_id, actor=ctx.actor, progress=_print_progress)
    return _print_removal(report)


def handle_poll_jobs(args: argparse.Namespace, settings: Settings) -> int:
    with ses_context(settings) as ctx:
        states = ctx.remover().poll_jobs(actor=ctx.actor, run_id=args.run_id)
    if not states:
        print("no unfinished import jobs")
    for job in states:
        print(
            f"job {job.job_id} (run {job.run_id}): {job.status}, {job.records} records, "
            f"{job.processed} processed, {job.failed} failed"
        )
        if job.failure_url or job.failure_message:
            failures = f"{job.failure_message or ''} {job.failure_url or ''}".rstrip()
            print(f"  failures: {printable(failures)}")
    bad = [job for job in states if job.status in {"FAILED", "CANCELLED"} or job.failed]
    return 1 if bad else 0


def handle_export(args: argparse.Namespace, settings: Settings) -> int:
    with ses_context(settings) as ctx:
        export = suppression.export_console_csv(
            ctx.engine, ctx.actor, confirmed_only=not args.all_suppressed
        )
    with open_output(args.output) as out:
        out.write(export.body)
    if args.output is not None:
        print(f"wrote {export.count} addresses to {args.output}", file=sys.stderr)
    for address in export.left_out:
        print(
            f"left out {address!r}: it starts like a spreadsheet formula; remove it with "
            "`python -m core suppression remove` instead",
            file=sys.stderr,
        )
    for address in export.needs_admin:
        print(
            f"left out {address!r}: removing it needs an admin "
            "(`python -m core suppression remove --admin-override --reason ...`)",
            file=sys.stderr,
        )
    return 0


def handle_detail(args: argparse.Namespace, settings: Settings) -> int:
    with ses_context(settings) as ctx:
        detail = suppression.suppression_detail(ctx.engine, ctx.gateway(), args.address)
    if not detail.on_list:
        print(f"{printable(detail.address)} is not on the SES suppression list")
        return 0
    listed = f"{detail.email_address}: {detail.reason} since {detail.last_update_time}"
    print(printable(listed))
    print(printable(f"  SES message {detail.message_id}, feedback {detail.feedback_id}"))
    if detail.feedback is not None:
        fb = detail.feedback
        print(f"  our record: {fb.kind} {fb.bounce_type}/{fb.bounce_subtype} at {fb.occurred_at}")
        if fb.diagnostic_code:
            print(f"  diagnostic: {printable(fb.diagnostic_code)}")
    return 0
