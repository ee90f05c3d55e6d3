"""The product says a user re-verified their address: record the confirmation and, when
asked to, take the address off the SES suppression list under the usual guardrails.

The confirmation is `core.recipients.confirmations.confirm_valid`'s, with the acting
person's name (an API token's ``token:<name>``) in the audit log. The removal, when a
`Remover` is given (``auto_remove_on_reverify``), is that service's: planned for the same
actor, refused for what needs an admin (a complaint, a re-bounce after an earlier removal),
one call, each attempt and outcome audited. It is only tried when our mirror lists the
address, so a login does not cost an SES call for every address that was never suppressed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine, select

from core.access import Actor
from core.errors import AwsCallFailed, AwsConfigurationError, InvalidAddress, InvalidInput
from core.recipients.confirmations import ConfirmOutcome, confirm_valid
from core.store.db import translated_errors
from core.store.models import Outcome
from core.store.tables import MIRROR
from core.suppression.guardrails import Verdict
from core.suppression.removal import Remover

MAX_METHOD_LENGTH = 64
MAX_NOTE_LENGTH = 2000


class Removal(StrEnum):
    REMOVED = "removed"
    NOT_ON_LIST = "not_on_list"
    NEEDS_ADMIN = "needs_admin"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ReverifyResult:
    """What recording a re-verification did. `removal` is None when no removal was tried
    (`removal_detail` says why); `run_id` names the removal run when there was one."""

    address: str
    confirmation: ConfirmOutcome
    removal: Removal | None
    removal_detail: str
    run_id: int | None = None


def record_reverification(
    engine: Engine,
    address: str,
    *,
    actor: Actor,
    method: str,
    note: str = "",
    remover: Callable[[], Remover] | None = None,
) -> ReverifyResult:
    """Confirm `address` valid as `actor` (how: `method`, and `note`), then, given how to
    build the removal service (`remover`), remove it from the suppression list if the
    mirror lists it and the guardrails allow `actor` to. The service (and so SES) is only
    built when the mirror lists the address."""
    method, note = _checked(method, note)
    text = f"re-verified by the user ({method})" + (f": {note}" if note else "")
    [confirmed] = confirm_valid(engine, [address], actor=actor, note=text)
    if confirmed.outcome is ConfirmOutcome.INVALID:
        raise InvalidAddress(confirmed.message)
    address = confirmed.address
    if remover is None:
        return ReverifyResult(address, confirmed.outcome, None, "auto_remove_on_reverify is off")
    if not _listed(engine, address):
        detail = "not on the SES suppression list at the last sync"
        return ReverifyResult(address, confirmed.outcome, None, detail)
    service = remover()
    reason = f"the user re-verified the address ({method})"
    [planned] = service.plan([address], actor=actor, reason=reason).items
    if planned.on_list is not True:
        detail = "not on the SES suppression list at the last sync"
        return ReverifyResult(address, confirmed.outcome, None, detail)
    if planned.verdict is not Verdict.ALLOWED:
        return ReverifyResult(address, confirmed.outcome, Removal.NEEDS_ADMIN, planned.why)
    try:
        report = service.remove([address], actor=actor, reason=reason)
    except (AwsCallFailed, AwsConfigurationError) as exc:
        # The run stays interrupted and resumable (`bouncedesk suppression resume`).
        return ReverifyResult(address, confirmed.outcome, Removal.FAILED, str(exc))
    [result] = report.results
    removal = {
        Outcome.REMOVED: Removal.REMOVED,
        Outcome.NOT_ON_LIST: Removal.NOT_ON_LIST,
    }.get(Outcome(result.outcome), Removal.FAILED)
    detail = result.message or "removed from the SES suppression list"
    return ReverifyResult(address, confirmed.outcome, removal, detail, report.run_id)


def _listed(engine: Engine, address: str) -> bool:
    """Whether our mirror lists the address as suppressed (as of the last sync)."""
    query = select(MIRROR.c.address).where(
        MIRROR.c.address == address, MIRROR.c.suppressed.is_(True)
    )
    with translated_errors(), engine.connect() as connection:
        return connection.scalar(query) is not None


def _checked(method: str, note: str) -> tuple[str, str]:
    method, note = method.strip(), note.strip()
    if not method:
        raise InvalidInput("method is required (how the user re-verified, e.g. email_link)")
    if len(method) > MAX_METHOD_LENGTH:
        raise InvalidInput(f"method is longer than {MAX_METHOD_LENGTH} characters")
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"note is longer than {MAX_NOTE_LENGTH} characters")
    if "\x00" in method or "\x00" in note:
        raise InvalidInput("method and note may not contain a NUL character")
    return method, note
