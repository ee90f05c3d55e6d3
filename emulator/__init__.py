"""A local SES emulator for the Bounce Desk demo and tests. A development tool, not AWS.

It serves the SESv2 suppression-list, import-job and GetAccount operations and SES v1
GetSendStatistics/GetSendQuota (which moto lacks or answers with zeros) on the same loopback
port as moto's own server, so one ``AWS_ENDPOINT_URL`` reaches sesv2, ses, s3, sqs, sns and
cloudwatch.

Entry points: ``python -m emulator serve`` (CLI), :func:`emulator.launch.start_emulator`
(subprocess) and :func:`emulator.launch.running_emulator` (in-process, for pytest).
Nothing heavy is imported here, so ``import emulator`` stays cheap.
"""

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account; the demo's ARNs use it too
