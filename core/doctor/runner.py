"""The `Doctor`: every check in order, one report.

A check that fails unexpectedly (AWS refuses, times out) becomes a problem line naming what
could not be checked; the remaining checks still run. Without AWS credentials or a region
the AWS checks are each reported as not checked.
"""

from __future__ import annotations

from collections.abc import Callable

from core import access
from core.access import Action, Actor
from core.doctor import aws, freshness, local
from core.doctor.findings import Finding, Report, problem, warning
from core.errors import AwsConfigurationError, BounceDeskError, SesAccessDenied
from core.ses.inspection import AwsInspector
from core.settings import Settings

AwsCheck = Callable[[aws.AwsDeployment], list[Finding]]

# In order: later checks use what earlier ones learnt (the caller, the topics). A new check
# is one function added here (or, without AWS, one call in `Doctor.run`).
AWS_CHECKS: tuple[tuple[str, AwsCheck], ...] = (
    ("aws credentials", aws.check_credentials),
    ("permissions", aws.check_permissions),
    ("ses account", aws.check_account),
    ("ses identities", aws.check_identities),
    ("sns subscription", aws.check_subscriptions),
    ("sqs queue", aws.check_queues),
)


class Doctor:
    """Checks one deployment; build it with `from_settings`, call `run()`."""

    def __init__(
        self,
        settings: Settings,
        inspector: Callable[[], AwsInspector],
        *,
        fetch: local.HttpsProbe = local.fetch_https,
    ) -> None:
        self.settings = settings
        self._inspector = inspector
        self._fetch = fetch

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        inspector: Callable[[], AwsInspector] | None = None,
        fetch: local.HttpsProbe = local.fetch_https,
    ) -> Doctor:
        """`inspector` builds the AWS clients (default: the standard AWS chain)."""
        return cls(
            settings, inspector or (lambda: AwsInspector.from_settings(settings)), fetch=fetch
        )

    def run(self) -> Report:
        found = local.check_settings(self.settings) + local.check_database(self.settings)
        found += freshness.check_jobs(self.settings)
        region = self.settings.aws_region
        try:
            inspector = self._inspector()
        except AwsConfigurationError as exc:
            found.append(problem("aws credentials", str(exc), "configure AWS access"))
            found += [warning(name, "not checked: no AWS access") for name, _ in AWS_CHECKS[1:]]
        else:
            region = inspector.region
            found += self._aws(aws.AwsDeployment(self.settings, inspector))
        found += local.check_certificates(self.settings, region, self._fetch)
        return Report(tuple(found))

    def _aws(self, deployment: aws.AwsDeployment) -> list[Finding]:
        found: list[Finding] = []
        for name, check in AWS_CHECKS:
            try:
                found += check(deployment)
            except SesAccessDenied as exc:
                found.append(problem(name, f"not checked, access denied: {exc}", aws.GRANT))
            except BounceDeskError as exc:
                found.append(problem(name, f"could not be checked: {exc}", "see the message"))
                if name == "aws credentials":  # nothing else can work
                    found += [
                        warning(later, "not checked: no AWS access") for later, _ in AWS_CHECKS[1:]
                    ]
                    break
        return found


def diagnose(doctor: Doctor, actor: Actor) -> Report:
    """The report, for someone allowed to see a deployment's configuration (admin)."""
    access.require(actor, Action.DIAGNOSE)
    return doctor.run()
