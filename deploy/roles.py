"""The IAM policies of deploy/template.yaml's roles, derived from the files in iam/.

iam/*.json are the policies as a person deploying by hand reads them (placeholders named
``REPLACE-WITH-...``); the template's roles carry the same statements with the placeholders
turned into CloudFormation substitutions. Each policy sits in the template between a
``# BEGIN iam/FILE`` and an ``# END iam/FILE`` line, which this script rewrites:

    python deploy/roles.py          # rewrite the blocks (make deploy-roles)
    python deploy/roles.py --check  # exit 1 if a block differs from its file (the tests)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "template.yaml"
# Every placeholder and what it is inside the stack.
COMMON = {
    "arn:aws:": "arn:${AWS::Partition}:",
    "REPLACE-WITH-REGION": "${AWS::Region}",
    "REPLACE-WITH-ACCOUNT-ID": "${AWS::AccountId}",
    "REPLACE-WITH-QUEUE-NAME": "${NotificationQueue.QueueName}",
    "REPLACE-WITH-DLQ-NAME": "${DeadLetterQueue.QueueName}",
    "REPLACE-WITH-DATABASE-SECRET-ARN": "${DatabaseSecretArn}",
}
# iam file -> (policy name, the function its REPLACE-WITH-FUNCTION-NAME means).
POLICIES = {
    "iam/ingest-function.json": ("bouncedesk-ingest", "${AWS::StackName}-ingest"),
    "iam/jobs-function.json": ("bouncedesk-jobs", "${AWS::StackName}-jobs"),
    "iam/jobs-scheduler.json": ("bouncedesk-jobs-scheduler", "${AWS::StackName}-jobs"),
}
_BLOCK = re.compile(
    r"^(?P<indent>[ ]*)# BEGIN (?P<name>iam/[\w.-]+)[^\n]*\n.*?^[ ]*# END (?P=name)[^\n]*$",
    re.MULTILINE | re.DOTALL,
)


def substitute(value: str, function_name: str) -> str:
    """`value` with its placeholders as CloudFormation ``${...}`` references."""
    for placeholder, reference in {
        **COMMON,
        "REPLACE-WITH-FUNCTION-NAME": function_name,
    }.items():
        value = value.replace(placeholder, reference)
    return value


def render(name: str, indent: str) -> str:
    """The YAML block for iam file `name`: one item of a role's Policies list."""
    policy_name, function_name = POLICIES[name]
    document = json.loads((ROOT / name).read_text(encoding="utf-8"))
    lines = [
        f"# BEGIN {name} (written by deploy/roles.py from that file: edit the file)",
        f"- PolicyName: {policy_name}",
        "  PolicyDocument:",
        f"    Version: {json.dumps(document['Version'])}",
        "    Statement:",
    ]
    for statement in document["Statement"]:
        lines.append(f"      - Sid: {statement['Sid']}")
        lines.append(f"        Effect: {statement['Effect']}")
        lines.extend(_field("Action", statement["Action"], function_name))
        lines.extend(_field("Resource", statement["Resource"], function_name))
    lines.append(f"# END {name}")
    return "\n".join(indent + line for line in lines)


def _field(key: str, value: Any, function_name: str) -> list[str]:
    values = value if isinstance(value, list) else [value]
    scalars = [_scalar(str(item), function_name) for item in values]
    if not isinstance(value, list):
        return [f"        {key}: {scalars[0]}"]
    return [f"        {key}:"] + [f"          - {scalar}" for scalar in scalars]


def _scalar(value: str, function_name: str) -> str:
    substituted = substitute(value, function_name)
    if substituted == value:
        return json.dumps(value)
    sole = re.fullmatch(r"\$\{([A-Za-z0-9]+)\}", substituted)
    if sole:  # one parameter or resource, nothing around it
        return f"!Ref {sole[1]}"
    return f"!Sub {json.dumps(substituted)}"


def rendered_template(text: str) -> str:
    """`text` (the template) with every iam block rendered from its file."""
    found = {match["name"] for match in _BLOCK.finditer(text)}
    missing = set(POLICIES) - found
    if missing:
        raise ValueError(f"deploy/template.yaml has no block for {', '.join(sorted(missing))}")
    return _BLOCK.sub(lambda m: render(m["name"], m["indent"]), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    text = TEMPLATE.read_text(encoding="utf-8")
    wanted = rendered_template(text)
    if args.check:
        if wanted != text:
            print("deploy/template.yaml's role policies differ from iam/: run make deploy-roles")
            return 1
        print("deploy/template.yaml's role policies match iam/")
        return 0
    TEMPLATE.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
