"""The mailing policy's reasons (`core.recipients.mailing.Finding`) in this run's language,
with their days in the display zone."""

from __future__ import annotations

from datetime import datetime

from core.recipients.mailing import Finding, MailingStatus
from ui import i18n, terms
from ui.i18n import _


def _day(at: datetime | None) -> str:
    return f"{i18n.local(at):%Y-%m-%d}" if at is not None else "—"


def _bounce(text: str, finding: Finding) -> str:
    if finding.kind:
        text += " " + _("({kind})").format(kind=finding.kind)
    return f"{text}: {finding.detail}" if finding.detail else text


def reason(finding: Finding) -> str:
    """One reason, as a sentence a support person can read out."""
    day = _day(finding.at)
    if finding.code == "hard":
        return _bounce(_("hard bounce on {day}").format(day=day), finding)
    if finding.code == "soft":
        text = (
            _("1 soft bounce in {days} days, last on {day}")
            if finding.count == 1
            else _("{count} soft bounces in {days} days, last on {day}")
        ).format(count=finding.count, days=finding.window_days, day=day)
        return _bounce(text, finding)
    if finding.code == "complaint":
        text = _("complaint on {day}").format(day=day)
        return f"{text} ({finding.detail})" if finding.detail else text
    if finding.code == "suppressed":
        return _("on the SES account suppression list ({reason}) since {day}").format(
            reason=terms.word(terms.REASONS, finding.kind), day=day
        )
    if finding.code == "confirmed":
        return _("confirmed valid on {day}, after its last bounce").format(day=day)
    return _("no bounce, complaint or suppression that excludes it")


def reasons(status: MailingStatus) -> list[str]:
    """Why `status` is what it is; core's English sentences when it gave no findings."""
    if not status.findings:
        return list(status.reasons)
    return [reason(finding) for finding in status.findings]
