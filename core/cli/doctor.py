"""`bouncedesk doctor`: check a deployment end to end, one line per check.

    bouncedesk doctor [--json]

Exit 0 when no check found a problem (warnings allowed), 1 otherwise. Invalid settings are
reported as the settings check's problem (exit 1), not as a start-up error.
"""

from __future__ import annotations

import argparse

from core.cli.common import Commands, add_command, print_json, printable
from core.doctor.findings import Report, problem
from core.doctor.runner import Doctor
from core.errors import SettingsError
from core.settings import Settings


def register(commands: Commands) -> None:
    command = add_command(
        commands,
        "doctor",
        handle_doctor,
        "check settings, database, AWS access, SES, SNS, SQS and certificates (changes nothing)",
    )
    command.add_argument("--json", action="store_true", help="the report as JSON")
    command.set_defaults(on_invalid_settings=handle_invalid_settings)


def handle_doctor(args: argparse.Namespace, settings: Settings) -> int:
    return show(Doctor.from_settings(settings).run(), as_json=args.json)


def handle_invalid_settings(args: argparse.Namespace, error: SettingsError) -> int:
    """Settings that do not load are the first check's problem; nothing else can run."""
    finding = problem("settings", str(error), "fix the setting(s) named above")
    return show(Report((finding,)), as_json=args.json)


def show(report: Report, *, as_json: bool) -> int:
    if as_json:
        print_json(report.to_dict())
    else:
        for finding in report.findings:
            print(printable(finding.line()))
        print(report.summary())
    return report.exit_code
