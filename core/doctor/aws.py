"""The checks that ask AWS (all through `core.ses.inspection`; every call reads)."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.doctor.findings import Finding, ok, problem, warning
from core.doctor.permissions import PERMISSIONS, Permission, queue_arn, simulation_principal
from core.errors import AwsCallFailed, SesAccessDenied, SesNotFound
from core.ses.gateway import SesGateway
from core.ses.inspection import AwsInspector, CallerIdentity, EventDestination, IdentityTopics
from core.settings import Settings

GRANT = "grant it (iam/bouncedesk-policy.json, docs/aws.md)"
BACKLOG_WARNING = 1000  # visible messages: ingestion is not keeping up
FEEDBACK = frozenset({"bounce", "complaint"})


@dataclass
class AwsDeployment:
    """What the AWS checks share: settings, the inspector, and what earlier checks learnt."""

    settings: Settings
    inspector: AwsInspector
    caller: CallerIdentity | None = None
    topics: set[str] = field(default_factory=set)  # the topics SES publishes feedback to

    @property
    def queue_arn(self) -> str | None:
        url = self.settings.sqs_queue_url
        return queue_arn(url, self.inspector.region) if url else None


def check_credentials(d: AwsDeployment) -> list[Finding]:
    d.caller = d.inspector.caller_identity()
    return [
        ok(
            "aws credentials",
            f"{d.caller.arn} (account {d.caller.account}), region {d.inspector.region}",
        )
    ]


def check_permissions(d: AwsDeployment) -> list[Finding]:
    found: list[Finding] = []
    simulator_down: str | None = None
    for permission in PERMISSIONS:
        name = f"permission {permission.action}"
        if permission.read:
            found.append(_probe(d, permission, name))
            continue
        resource = _resource(d, permission)
        if resource is None:
            continue  # the feature is not configured here (no queue, no import bucket)
        if simulator_down is None:
            finding, simulator_down = _simulate(d, permission, resource, name)
            found.append(finding)
        else:
            found.append(_unchecked(permission, name, simulator_down))
    return found


def _probe(d: AwsDeployment, permission: Permission, name: str) -> Finding:
    try:
        d.inspector.probe(permission.action)
    except SesNotFound:
        pass  # allowed: the probe asked about something that does not exist
    except SesAccessDenied:
        return problem(name, f"denied: {permission.needed_for} will fail", GRANT)
    except AwsCallFailed as exc:
        return warning(name, f"not checked: {_short(exc)}", "run doctor again")
    return ok(name, f"allowed ({permission.needed_for})")


def _resource(d: AwsDeployment, permission: Permission) -> str | None:
    if permission.resource == "queue":
        return d.queue_arn
    if permission.resource == "import bucket":
        bucket = d.settings.suppression_import_bucket
        prefix = d.settings.suppression_import_prefix
        return f"arn:aws:s3:::{bucket}/{prefix}doctor-probe.csv" if bucket else None
    return permission.resource


def _simulate(
    d: AwsDeployment, permission: Permission, resource: str, name: str
) -> tuple[Finding, str | None]:
    """One simulated permission; the second value, when set, says why the simulator cannot
    be used at all (so the remaining write permissions are not asked again)."""
    principal = simulation_principal(d.caller.arn) if d.caller else None
    if principal is None:
        why = "IAM's policy simulator cannot simulate this identity (root or federated)"
        return _unchecked(permission, name, why), why
    try:
        decision = d.inspector.simulate(principal, permission.action, resource)
    except SesAccessDenied:
        why = "iam:SimulatePrincipalPolicy is not allowed for this identity"
        return _unchecked(permission, name, why), why
    except SesNotFound:
        try:  # an assumed role with a path: the simulator needs the role's full ARN
            principal = d.inspector.role_arn(principal.rsplit("/", 1)[1])
            decision = d.inspector.simulate(principal, permission.action, resource)
        except AwsCallFailed as exc:
            why = f"the policy simulator could not be used ({_short(exc)})"
            return _unchecked(permission, name, why), why
    except AwsCallFailed as exc:
        why = f"the policy simulator could not be used ({_short(exc)})"
        return _unchecked(permission, name, why), why
    if decision == "allowed":
        return ok(name, f"allowed by IAM's policy simulator ({permission.needed_for})"), None
    return problem(name, f"{decision}: {permission.needed_for} will fail", GRANT), None


def _unchecked(permission: Permission, name: str, why: str) -> Finding:
    return warning(
        name,
        f"not checked: it is a write with no dry run, and {why}",
        f"check that the role allows it ({permission.needed_for}); iam/bouncedesk-policy.json",
    )


def check_account(d: AwsDeployment) -> list[Finding]:
    account = SesGateway(d.inspector.clients["sesv2"]).get_account()
    status, sending = account.enforcement_status, account.sending_enabled
    state = f"enforcement {status}, sending {'enabled' if sending else 'disabled'}"
    if status == "SHUTDOWN" or sending is False:
        return [
            problem(
                "ses account",
                state,
                "SES has stopped this account's sending: see the SES console's reputation "
                "page and open a case with AWS",
            )
        ]
    if status not in (None, "HEALTHY"):
        return [
            warning(
                "ses account",
                f"{state}: the account is under review",
                "bring the bounce rate under 5 % and complaints under 0.1 % (Overview page)",
            )
        ]
    found = [ok("ses account", state)]
    if account.production_access_enabled is False:
        found.append(
            warning(
                "ses account: sandbox",
                "no production access: mail goes only to verified addresses, and "
                "suppression-list import jobs are refused",
                "request production access in the SES console",
            )
        )
    return found


def check_identities(d: AwsDeployment) -> list[Finding]:
    """Which identities and configuration sets publish bounces and complaints to a topic."""
    inspector, trusted = d.inspector, set(d.settings.sns_topic_arns)
    identities = inspector.identity_topics(inspector.identities())
    destinations = [
        destination
        for name in inspector.configuration_sets()
        for destination in inspector.sns_destinations(name)
    ]
    reaching = [x for x in destinations if x.enabled and x.event_types >= FEEDBACK]
    for identity in identities:
        d.topics.update(t for t in (identity.bounce_topic, identity.complaint_topic) if t)
    d.topics.update(x.topic_arn for x in reaching)
    return [
        _identities_finding(identities, reaching, trusted, inspector.region),
        _configuration_sets_finding(destinations, reaching, trusted),
    ]


def _identities_finding(
    identities: list[IdentityTopics],
    reaching: list[EventDestination],
    trusted: set[str],
    region: str,
) -> Finding:
    name = "ses identities"
    if not identities:
        return problem(
            name,
            f"no identities in {region}",
            "verify the sending domain in this region, or set aws_region to the region "
            "your mail is sent from",
        )
    untrusted = sorted(
        {t for i in identities for t in (i.bounce_topic, i.complaint_topic) if t} - trusted
    )
    if trusted and untrusted:
        return problem(
            name,
            f"feedback goes to {_names(untrusted)}, which sns_topic_arns does not list: "
            "those notifications are dead-lettered as untrusted_topic",
            "add the topic(s) to sns_topic_arns, or point the identities at a listed topic",
        )
    silent = [i.identity for i in identities if not (i.bounce_topic and i.complaint_topic)]
    if not silent:
        return ok(name, f"{len(identities)} publish bounces and complaints to SNS")
    text = f"{_names(silent)} publish(es) bounces or complaints to no topic"
    fix = "set the Bounce and Complaint SNS topics of each identity (SES console, Notifications)"
    if reaching:
        return warning(
            name,
            f"{text}: only mail sent with configuration set "
            f"{_names(sorted({x.configuration_set for x in reaching}))} reaches Bounce Desk",
            fix,
        )
    return problem(name, f"{text}, and no configuration set publishes them either", fix)


def _configuration_sets_finding(
    destinations: list[EventDestination], reaching: list[EventDestination], trusted: set[str]
) -> Finding:
    name = "ses configuration sets"
    if not destinations:
        return ok(name, "no SNS event destinations (identity notifications are used)")
    untrusted = sorted({x.topic_arn for x in reaching} - trusted)
    if trusted and untrusted:
        return problem(
            name,
            f"event destinations publish to {_names(untrusted)}, which sns_topic_arns does "
            "not list: those events are dead-lettered as untrusted_topic",
            "add the topic(s) to sns_topic_arns",
        )
    partial = [f"{x.configuration_set}/{x.name}" for x in destinations if x not in reaching]
    if partial:
        return warning(
            name,
            f"{_names(partial)}: disabled, or not publishing both bounces and complaints",
            "enable the destination with the Bounce and Complaint event types",
        )
    return ok(name, f"{len(reaching)} SNS event destination(s) publish bounces and complaints")


def check_subscriptions(d: AwsDeployment) -> list[Finding]:
    """Each topic exists and feeds the queue (or, without a queue setting, something)."""
    topics = sorted(d.topics | set(d.settings.sns_topic_arns))
    if not topics:
        return [
            problem(
                "sns subscription",
                "no topic to check: SES publishes to none and sns_topic_arns is empty",
                "create an SNS topic, set it on the identities, and list it in sns_topic_arns",
            )
        ]
    return [_subscription_finding(d, topic) for topic in topics]


def _subscription_finding(d: AwsDeployment, topic: str) -> Finding:
    name = f"sns subscription {topic.rsplit(':', 1)[-1]}"
    if not d.inspector.topic_exists(topic):
        return problem(name, f"topic {topic} does not exist", "create it, or fix the settings")
    subscriptions = d.inspector.subscriptions(topic)
    queue = d.queue_arn
    if queue is None:
        feeds = [s for s in subscriptions if s.protocol in ("sqs", "lambda") and s.confirmed]
        if feeds:
            return ok(name, f"{topic} feeds {_names([s.endpoint for s in feeds])}")
        return problem(name, f"{topic} has no confirmed SQS or Lambda subscription", _SUBSCRIBE)
    mine = [s for s in subscriptions if s.protocol == "sqs" and s.endpoint == queue]
    if not mine:
        return problem(
            name,
            f"{topic} is not subscribed by the queue {queue}: SES's notifications never "
            "reach Bounce Desk",
            f"aws sns subscribe --topic-arn {topic} --protocol sqs --notification-endpoint {queue}",
        )
    if not any(s.confirmed for s in mine):
        return problem(name, f"the subscription of {queue} is pending confirmation", _SUBSCRIBE)
    raw = any(s.raw_delivery for s in mine)
    if raw and d.settings.verify_sns_sqs == "required":
        return problem(
            name,
            "raw message delivery is on, but verify_sns_sqs = required: every message is "
            "dead-lettered (raw bodies carry no signature)",
            "turn raw message delivery off, or set verify_sns_sqs = when_present",
        )
    delivery = "raw delivery (unsigned bodies)" if raw else "SNS envelopes"
    return ok(name, f"{topic} feeds {queue} ({delivery})")


_SUBSCRIBE = "subscribe the ingesting queue or Lambda to the topic and confirm it"


def check_queues(d: AwsDeployment) -> list[Finding]:
    url = d.settings.sqs_queue_url
    if not url:
        return []  # the settings check already says the queue is not configured
    queue = d.inspector.queue(url)
    found = [
        ok("sqs queue", f"{queue.visible} waiting, {queue.in_flight} in flight")
        if queue.visible < BACKLOG_WARNING
        else warning(
            "sqs queue",
            f"{queue.visible} waiting: ingestion is not keeping up",
            "check that poll-sqs or the ingest Lambda runs, and its errors",
        )
    ]
    if queue.dead_letter_arn is None:
        found.append(
            warning(
                "sqs dead-letter queue",
                "the queue has no redrive policy: a message that keeps failing is retried "
                "until its retention ends, then lost",
                "give it a dead-letter queue (maxReceiveCount 5)",
            )
        )
        return found
    dead = d.inspector.queue(d.inspector.queue_url(queue.dead_letter_arn))
    depth = dead.visible + dead.in_flight
    if depth:
        found.append(
            problem(
                "sqs dead-letter queue",
                f"{depth} message(s) in {queue.dead_letter_arn}: they failed ingestion "
                f"{queue.max_receive_count or 'several'} times",
                "look at them (aws sqs receive-message) and, once fixed, redrive them",
            )
        )
    else:
        found.append(ok("sqs dead-letter queue", f"{queue.dead_letter_arn} is empty"))
    return found


def _names(values: list[str], limit: int = 3) -> str:
    shown = ", ".join(values[:limit])
    return f"{shown} and {len(values) - limit} more" if len(values) > limit else shown


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
