"""Helpers for the deployment tests: the SAM template as CloudFormation sees it, and the
Lambda zip built once per test session."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import boto3
from cfnlint.decode import decode_str
from samtranslator.parser.parser import Parser
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.translator import Translator
from samtranslator.utils.py27hash_fix import undo_mark_unicode_str_in_template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "template.yaml"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bouncedesk/db-AbCdEf"
# The jobs the template schedules, by the Input of each ScheduleV2 event.
SCHEDULED_EVENT_TYPE = "ScheduleV2"


def load_template() -> dict[str, Any]:
    """deploy/template.yaml with its short-form tags (!Ref, !Sub) as Fn:: dictionaries."""
    template, problems = decode_str(TEMPLATE.read_text(encoding="utf-8"))
    assert not problems, problems
    assert template is not None
    return dict(template)


def packaged(template: dict[str, Any], bucket: str, key: str) -> dict[str, Any]:
    """`template` as `sam package` leaves it: the code's local path replaced by S3."""
    result = copy.deepcopy(template)
    result["Globals"]["Function"]["CodeUri"] = {"Bucket": bucket, "Key": key}
    return result


def transformed(
    template: dict[str, Any],
    parameters: dict[str, Any],
    iam_client: Any = None,
    region: str = "us-east-1",
) -> dict[str, Any]:
    """The CloudFormation template the SAM transform makes of `template` in `region` (as
    samtranslator.translator.transform.transform does, with the region given, not read
    from the environment)."""
    session = boto3.Session(region_name=region)
    loader = ManagedPolicyLoader(iam_client or session.client("iam"))
    translator = Translator(None, Parser(), boto_session=session)
    output = translator.translate(
        copy.deepcopy(template),
        parameter_values=dict(parameters),
        get_managed_policy_map=loader.load,
    )
    return dict(undo_mark_unicode_str_in_template(output))


def scheduled_jobs(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Job name -> its schedule's properties, from the jobs function's ScheduleV2 events."""
    events = template["Resources"]["JobsFunction"]["Properties"]["Events"]
    return {
        json.loads(event["Properties"]["Input"])["job"]: event["Properties"]
        for event in events.values()
        if event["Type"] == SCHEDULED_EVENT_TYPE
    }


def local_python() -> str:
    """This interpreter's version, the one a zip must be built for to import here."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"
