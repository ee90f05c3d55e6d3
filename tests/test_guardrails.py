"""The removal guardrails on every backend: who may remove which address, the dry run, the
per-click limit, and that the removal functions refuse what the plan does not allow."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from core.access import Role
from core.errors import InvalidInput, PermissionDenied
from core.recipients.confirmations import confirm_valid
from core.store.db import session_factory
from core.store.models import Base, Confirmation, RemovalResult, RemovalRun
from core.suppression.guardrails import Flag, Verdict, plan_removal
from core.suppression.mirror import sync_suppression_list
from core.suppression.removal import (
    remove_from_suppression_list,
    resume_removal,
    start_import_removal,
)
from tests.factories import ADMIN, OPS, VIEWER, ingest, make_bounce, person
from tests.suppression_kit import FakeSes

NO_WAIT = {"sleep": lambda _: None}
BOUNCED = datetime(2026, 3, 1, 12)
LATER = datetime(2026, 4, 1, 12)


@pytest.fixture
def sessions(engine: Engine) -> Any:
    return session_factory(engine)


def listed(sessions: Any, addresses: dict[str, str]) -> FakeSes:
    """SES lists these (address: reason), mirrored by a sync."""
    ses = FakeSes(addresses)
    sync_suppression_list(sessions, ses, actor=OPS)
    ses.calls.clear()
    return ses


def confirm_at(engine: Engine, address: str, at: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(Confirmation).values(address=address, confirmed_at=at, actor="ops", note="n")
        )


def plan(sessions: Any, *addresses: str, **options: Any) -> dict[str, Any]:
    options.setdefault("actor", OPS)
    options.setdefault("max_per_click", 100)
    found = plan_removal(sessions, addresses, **options)
    return {item.address: item for item in found.items}


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def test_an_address_confirmed_after_its_last_bounce_is_allowed_for_an_operator(
    engine: Engine, sessions: Any
) -> None:
    ingest(engine, make_bounce(["a@example.com"], at=BOUNCED))
    confirm_valid(engine, ["a@example.com"], actor=OPS, note="phoned")
    listed(sessions, {"a@example.com": "BOUNCE"})
    [item] = plan(sessions, "a@example.com").values()
    assert (item.verdict, item.flags) == (Verdict.ALLOWED, ())
    assert item.why == "confirmed valid since its last bounce"


def test_a_confirmation_older_than_the_last_bounce_needs_an_admin(
    engine: Engine, sessions: Any
) -> None:
    confirm_at(engine, "a@example.com", BOUNCED)
    ingest(engine, make_bounce(["a@example.com"], at=LATER))
    listed(sessions, {"a@example.com": "BOUNCE"})
    item = plan(sessions, "a@example.com")["a@example.com"]
    assert (item.verdict, item.flags) == (Verdict.NEEDS_ADMIN, (Flag.UNCONFIRMED,))
    assert item.why.startswith(
        "its confirmation (2026-03-01) is older than its last bounce (2026-04-01). "
        "Removing addresses that are not confirmed valid needs the admin role (yours: operator)"
    )


def test_an_address_never_confirmed_needs_an_admin_who_includes_it_with_a_reason(
    engine: Engine, sessions: Any
) -> None:
    ingest(engine, make_bounce(["a@example.com"], at=BOUNCED))
    listed(sessions, {"a@example.com": "BOUNCE"})
    assert plan(sessions, "a@example.com")["a@example.com"].verdict is Verdict.NEEDS_ADMIN
    as_admin = plan(sessions, "a@example.com", actor=ADMIN)["a@example.com"]
    assert as_admin.verdict is Verdict.NEEDS_ADMIN
    assert "An admin must include it on purpose" in as_admin.why
    no_reason = plan(sessions, "a@example.com", actor=ADMIN, override=True)["a@example.com"]
    assert no_reason.verdict is Verdict.BLOCKED and "A written reason is required" in no_reason.why
    included = plan(
        sessions, "a@example.com", actor=ADMIN, override=True, reason="user recreated the mailbox"
    )["a@example.com"]
    assert included.verdict is Verdict.ALLOWED and included.flags == (Flag.UNCONFIRMED,)


def test_an_operator_cannot_include_what_needs_an_admin(engine: Engine, sessions: Any) -> None:
    ingest(engine, make_bounce(["a@example.com"], at=BOUNCED))
    ses = listed(sessions, {"a@example.com": "BOUNCE"})
    item = plan(sessions, "a@example.com", override=True, reason="please")["a@example.com"]
    assert item.verdict is Verdict.NEEDS_ADMIN
    with pytest.raises(PermissionDenied, match="not confirmed valid needs the admin role"):
        remove_from_suppression_list(
            sessions, ses, ["a@example.com"], actor=OPS, reason="please", override=True,
            max_per_click=100, **NO_WAIT,
        )  # fmt: skip
    assert ses.sent == []
    assert row_counts(engine)["removal_runs"] == 0


def test_a_complaint_needs_an_admin_even_when_confirmed_valid(
    engine: Engine, sessions: Any
) -> None:
    confirm_valid(engine, ["c@example.com"], actor=OPS, note="phoned")
    ses = listed(sessions, {"c@example.com": "COMPLAINT"})
    item = plan(sessions, "c@example.com")["c@example.com"]
    assert (item.verdict, item.flags) == (Verdict.NEEDS_ADMIN, (Flag.COMPLAINT,))
    assert "listed by SES because of a complaint" in item.why
    assert "complaint needs the admin role" in item.why
    report = remove_from_suppression_list(
        sessions, ses, ["c@example.com"], actor=ADMIN, reason="consent given again, ticket 7",
        override=True, max_per_click=100, **NO_WAIT,
    )  # fmt: skip
    assert report.ok and ses.sent == [("delete", "c@example.com")]


def test_an_address_that_hard_bounced_again_after_its_removal_needs_an_admin(
    engine: Engine, sessions: Any
) -> None:
    ingest(engine, make_bounce(["r@example.com"], at=BOUNCED))
    confirm_valid(engine, ["r@example.com"], actor=OPS, note="phoned")
    ses = listed(sessions, {"r@example.com": "BOUNCE"})
    assert remove_from_suppression_list(
        sessions, ses, ["r@example.com"], actor=OPS, reason="r", max_per_click=100, **NO_WAIT
    ).ok
    with engine.begin() as connection:  # the removal happened in March, for a clear timeline
        connection.execute(RemovalResult.__table__.update().values(updated_at=BOUNCED))
    ingest(engine, make_bounce(["r@example.com"], at=LATER))  # and it bounces again
    confirm_valid(engine, ["r@example.com"], actor=OPS, note="phoned again")  # now, after it
    ses = listed(sessions, {"r@example.com": "BOUNCE"})
    item = plan(sessions, "r@example.com")["r@example.com"]
    assert (item.verdict, item.flags) == (Verdict.NEEDS_ADMIN, (Flag.REBOUNCED,))
    assert item.why.startswith(
        "removed by Bounce Desk on 2026-03-01, then hard-bounced again. Removing an address "
        "that hard-bounced again after an earlier removal needs the admin role"
    )


def test_a_soft_bounce_after_a_removal_does_not_flag_the_address(
    engine: Engine, sessions: Any
) -> None:
    ingest(engine, make_bounce(["s@example.com"], at=BOUNCED))
    confirm_valid(engine, ["s@example.com"], actor=OPS, note="phoned")
    ses = listed(sessions, {"s@example.com": "BOUNCE"})
    remove_from_suppression_list(
        sessions, ses, ["s@example.com"], actor=OPS, reason="r", max_per_click=100, **NO_WAIT
    )
    with engine.begin() as connection:
        connection.execute(RemovalResult.__table__.update().values(updated_at=BOUNCED))
    ingest(engine, make_bounce(["s@example.com"], bounce_type="Transient", at=LATER))
    confirm_valid(engine, ["s@example.com"], actor=OPS, note="phoned again")
    listed(sessions, {"s@example.com": "BOUNCE"})
    assert plan(sessions, "s@example.com")["s@example.com"].flags == ()


def test_a_viewer_may_plan_but_every_address_is_blocked(engine: Engine, sessions: Any) -> None:
    confirm_valid(engine, ["a@example.com"], actor=OPS, note="phoned")
    ses = listed(sessions, {"a@example.com": "BOUNCE"})
    item = plan(sessions, "a@example.com", actor=VIEWER)["a@example.com"]
    assert item.verdict is Verdict.BLOCKED
    assert "needs the operator role (yours: viewer)" in item.why
    with pytest.raises(PermissionDenied):
        remove_from_suppression_list(
            sessions, ses, ["a@example.com"], actor=VIEWER, reason="r", max_per_click=100
        )
    assert ses.sent == []


def test_a_dry_run_changes_nothing_anywhere(engine: Engine, sessions: Any) -> None:
    ingest(engine, make_bounce(["a@example.com", "b@example.com"], at=BOUNCED))
    confirm_valid(engine, ["a@example.com"], actor=OPS, note="phoned")
    ses = listed(sessions, {"a@example.com": "BOUNCE", "b@example.com": "COMPLAINT"})
    before = row_counts(engine)
    found = plan_removal(
        sessions, ["a@example.com", "b@example.com", "nonsense", " a@EXAMPLE.com "], actor=ADMIN,
        reason="r", override=True, max_per_click=1,
    )  # fmt: skip
    assert [(i.address, i.verdict) for i in found.items] == [
        ("a@example.com", Verdict.ALLOWED),
        ("b@example.com", Verdict.ALLOWED),
    ]
    assert [r.reason for r in found.rejected] == [
        "not a valid email address",
        "duplicate of line 1",
    ]
    assert found.method == "import_job" and not found.ok
    assert found.flagged == {"b@example.com": ["unconfirmed", "complaint"]}
    assert row_counts(engine) == before
    assert ses.calls == []


def test_more_than_the_per_click_limit_goes_through_an_import_job_confirmed_by_its_size(
    engine: Engine, sessions: Any
) -> None:
    addresses = [f"u{i}@example.com" for i in range(3)]
    confirm_valid(engine, addresses, actor=OPS, note="phoned")
    ses = listed(sessions, dict.fromkeys(addresses, "BOUNCE"))
    with pytest.raises(InvalidInput, match="more than 2 per click"):
        remove_from_suppression_list(
            sessions, ses, addresses, actor=OPS, reason="r", max_per_click=2, **NO_WAIT
        )
    common: dict[str, Any] = {"actor": OPS, "reason": "r", "bucket": "b", "max_per_click": 2}
    with pytest.raises(InvalidInput, match="give their number, 3"):
        start_import_removal(sessions, ses, addresses, **common)
    with pytest.raises(InvalidInput):
        start_import_removal(sessions, ses, addresses, confirm_count=2, **common)
    assert ses.sent == []
    report = start_import_removal(sessions, ses, addresses, confirm_count=3, **common)
    assert report.counts == {"submitted": 3}
    assert ses.sent == [("import_job", ",".join(addresses))]


def test_an_operator_cannot_resume_a_run_an_admin_started_for_unconfirmed_addresses(
    engine: Engine, sessions: Any
) -> None:
    ses = listed(sessions, {"a@example.com": "BOUNCE"})
    with engine.begin() as connection:
        run_id = connection.execute(
            insert(RemovalRun).values(
                actor="admin", reason="mailbox recreated", method="api",
                created_at=BOUNCED, status="interrupted", requested=1,
            )
        ).inserted_primary_key[0]  # fmt: skip
        connection.execute(
            insert(RemovalResult).values(
                run_id=run_id, address="a@example.com", outcome="pending", attempts=0,
                updated_at=BOUNCED,
            )
        )  # fmt: skip
    with pytest.raises(PermissionDenied, match="needs the admin role"):
        resume_removal(sessions, ses, run_id, actor=OPS, **NO_WAIT)
    assert ses.sent == []
    report = resume_removal(sessions, ses, run_id, actor=ADMIN, **NO_WAIT)
    assert report.counts == {"removed": 1}


def test_an_admin_override_is_kept_in_the_audit_entry_of_the_request(
    engine: Engine, sessions: Any
) -> None:
    ses = listed(sessions, {"a@example.com": "BOUNCE"})
    lead = person("lead@qube.example", Role.ADMIN)
    remove_from_suppression_list(
        sessions, ses, ["a@example.com"], actor=lead, reason="the user's IT confirmed it",
        override=True, max_per_click=100, **NO_WAIT,
    )  # fmt: skip
    from core.audit import AuditFilter, list_audit, parameters_of

    [requested] = list_audit(engine, AuditFilter(action="suppression.removal_requested")).rows
    parameters = parameters_of(requested)
    assert requested.actor == "lead@qube.example" and parameters["role"] == "admin"
    assert parameters["reason"] == "the user's IT confirmed it"
    assert parameters["admin_override"] == {"a@example.com": ["unconfirmed"]}
    assert json.loads(requested.parameters or "")["addresses"] == 1


def test_the_console_file_follows_the_guardrails_and_all_suppressed_needs_an_admin(
    engine: Engine, sessions: Any
) -> None:
    from core.suppression.mirror import export_console_csv

    confirm_valid(engine, ["ok@example.com", "c@example.com"], actor=OPS, note="phoned")
    listed(
        sessions,
        {"ok@example.com": "BOUNCE", "c@example.com": "COMPLAINT", "new@example.com": "BOUNCE"},
    )
    export = export_console_csv(sessions, OPS)
    assert export.body == b"ok@example.com\n"
    assert export.needs_admin == ("c@example.com",)
    with pytest.raises(PermissionDenied, match="not confirmed valid needs the admin role"):
        export_console_csv(sessions, OPS, confirmed_only=False)
    everything = export_console_csv(sessions, ADMIN, confirmed_only=False)
    assert everything.count == 3 and everything.needs_admin == ()
