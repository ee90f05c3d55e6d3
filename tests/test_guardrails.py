"""The removal guardrails on every backend: who may remove which address, the dry run, the
per-click limit, and that the removal functions refuse what the plan does not allow."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from core.access import Role
from core.errors import InvalidInput, PermissionDenied, SesUnreachable
from core.recipients.confirmations import confirm_valid
from core.store.models import Base, Confirmation, RemovalResult, RemovalRun
from core.suppression.guardrails import Flag, Verdict, plan_removal
from core.suppression.mirror import sync_suppression_list
from core.suppression.removal import Remover
from tests.factories import ADMIN, OPS, VIEWER, ingest, make_bounce, person
from tests.suppression_kit import FakeSes

NO_WAIT = {"sleep": lambda _: None}
BOUNCED = datetime(2026, 3, 1, 12)
LATER = datetime(2026, 4, 1, 12)


def remover(engine: Engine, ses: Any, **knobs: Any) -> Remover:
    return Remover(engine, ses, **{"max_per_click": 100, **NO_WAIT, **knobs})


def listed(engine: Engine, addresses: dict[str, str]) -> FakeSes:
    """SES lists these (address: reason), mirrored by a sync."""
    ses = FakeSes(addresses)
    sync_suppression_list(engine, ses, actor=OPS)
    ses.calls.clear()
    return ses


def confirm_at(engine: Engine, address: str, at: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(Confirmation).values(address=address, confirmed_at=at, actor="ops", note="n")
        )


def plan(engine: Engine, *addresses: str, **options: Any) -> dict[str, Any]:
    options.setdefault("actor", OPS)
    options.setdefault("max_per_click", 100)
    found = plan_removal(engine, addresses, **options)
    return {item.address: item for item in found.items}


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def test_an_address_confirmed_after_its_last_bounce_is_allowed_for_an_operator(
    engine: Engine,
) -> None:
    ingest(engine, make_bounce(["a@example.com"], at=BOUNCED))
    confirm_valid(engine, ["a@example.com"], actor=OPS, note="phoned")
    listed(engine, {"a@example.com": "BOUNCE"})
    [item] = plan(engine, "a@example.com").values()
    assert (item.verdict, item.flags) == (Verdict.ALLOWED, ())
    assert item.why == "confirmed valid since its last bounce"


def test_a_confirmation_older_than_the_last_bounce_needs_an_admin(engine: Engine) -> None:
    confirm_at(engine, "a@example.com", BOUNCED)
    ingest(engine, make_bounce(["a@example.com"], at=LATER))
    listed(engine, {"a@example.com": "BOUNCE"})
    item = plan(engine, "a@example.com")["a@example.com"]
    assert (item.verdict, item.flags) == (Verdict.NEEDS_ADMIN, (Flag.UNCONFIRMED,))
    assert item.why.startswith(
        "its confirmation (2026-03-01) is older than its last bounce (2026-04-01). "
        "Removing addresses that are not confirmed valid needs the admin role (yours: operator)"
    )


def test_an_address_never_confirmed_needs_an_admin_who_includes_it_with_a_reason(
    engine: Engine,
) -> None:
    ingest(engine, make_bounce(["a@example.com"], at=BOUNCED))
    listed(engine, {"a@example.com": "BOUNCE"})
    assert plan(engine, "a@example.com")["a@example.com"].verdict is Verdict.NEEDS_ADMIN
    as_admin = plan(engine, "a@example.com", actor=ADMIN)["a@example.com"]
    assert as_admin.verdict is Verdict.NEEDS_ADMIN
    assert "An admin must include it on purpose" in as_admin.why
    no_reason = plan(engine, "a@example.com", actor=ADMIN, override=True)["a@example.com"]
    assert no_reason.verdict is Verdict.BLOCKED and "A written reason is required" in no_reason.why
    included = plan(
        engine, "a@example.com", actor=ADMIN, override=True, reason="user recreated the mailbox"
    )["a@example.com"]
    assert included.verdict is Verdict.ALLOWED and included.flags == (Flag.UNCONFIRMED,)


def test_an_operator_cannot_include_what_needs_an_admin(engine: Engine) -> None:
    ingest(engine, make_bounce(["a@example.com"], at=BOUNCED))
    ses = listed(engine, {"a@example.com": "BOUNCE"})
    item = plan(engine, "a@example.com", override=True, reason="please")["a@example.com"]
    assert item.verdict is Verdict.NEEDS_ADMIN
    with pytest.raises(PermissionDenied, match="not confirmed valid needs the admin role"):
        remover(engine, ses).remove(["a@example.com"], actor=OPS, reason="please", override=True)
    assert ses.sent == []
    assert row_counts(engine)["removal_runs"] == 0


def test_a_complaint_needs_an_admin_even_when_confirmed_valid(engine: Engine) -> None:
    confirm_valid(engine, ["c@example.com"], actor=OPS, note="phoned")
    ses = listed(engine, {"c@example.com": "COMPLAINT"})
    item = plan(engine, "c@example.com")["c@example.com"]
    assert (item.verdict, item.flags) == (Verdict.NEEDS_ADMIN, (Flag.COMPLAINT,))
    assert "listed by SES because of a complaint" in item.why
    assert "complaint needs the admin role" in item.why
    report = remover(engine, ses).remove(
        ["c@example.com"], actor=ADMIN, reason="consent given again, ticket 7", override=True
    )
    assert report.ok and ses.sent == [("delete", "c@example.com")]


def test_an_address_that_hard_bounced_again_after_its_removal_needs_an_admin(
    engine: Engine,
) -> None:
    ingest(engine, make_bounce(["r@example.com"], at=BOUNCED))
    confirm_valid(engine, ["r@example.com"], actor=OPS, note="phoned")
    ses = listed(engine, {"r@example.com": "BOUNCE"})
    assert remover(engine, ses).remove(["r@example.com"], actor=OPS, reason="r").ok
    with engine.begin() as connection:  # the removal happened in March, for a clear timeline
        connection.execute(RemovalResult.__table__.update().values(updated_at=BOUNCED))
    ingest(engine, make_bounce(["r@example.com"], at=LATER))  # and it bounces again
    confirm_valid(engine, ["r@example.com"], actor=OPS, note="phoned again")  # now, after it
    ses = listed(engine, {"r@example.com": "BOUNCE"})
    item = plan(engine, "r@example.com")["r@example.com"]
    assert (item.verdict, item.flags) == (Verdict.NEEDS_ADMIN, (Flag.REBOUNCED,))
    assert item.why.startswith(
        "removed by Bounce Desk on 2026-03-01, then hard-bounced again. Removing an address "
        "that hard-bounced again after an earlier removal needs the admin role"
    )


class ResponseLost(FakeSes):
    """SES removes the address; its answer never reaches us."""

    def delete_suppressed_destination(self, email_address: str) -> None:
        super().delete_suppressed_destination(email_address)
        raise SesUnreachable("cannot reach AWS (read timed out)")


def test_a_removal_whose_answer_was_lost_counts_when_the_address_hard_bounces_again(
    engine: Engine,
) -> None:
    ingest(engine, make_bounce(["r@example.com"], at=BOUNCED))
    confirm_valid(engine, ["r@example.com"], actor=OPS, note="phoned")
    listed(engine, {"r@example.com": "BOUNCE"})
    lost = ResponseLost({"r@example.com": "BOUNCE"})
    with pytest.raises(SesUnreachable):
        remover(engine, lost).remove(["r@example.com"], actor=OPS, reason="r")
    with engine.begin() as connection:  # the call went out in March, for a clear timeline
        connection.execute(RemovalResult.__table__.update().values(attempted_at=BOUNCED))
    ingest(engine, make_bounce(["r@example.com"], at=LATER))  # SES lists it again
    confirm_valid(engine, ["r@example.com"], actor=OPS, note="phoned again")
    listed(engine, {"r@example.com": "BOUNCE"})
    item = plan(engine, "r@example.com")["r@example.com"]
    assert (item.verdict, item.flags) == (Verdict.NEEDS_ADMIN, (Flag.REBOUNCED,))


def test_a_soft_bounce_after_a_removal_does_not_flag_the_address(engine: Engine) -> None:
    ingest(engine, make_bounce(["s@example.com"], at=BOUNCED))
    confirm_valid(engine, ["s@example.com"], actor=OPS, note="phoned")
    ses = listed(engine, {"s@example.com": "BOUNCE"})
    remover(engine, ses).remove(["s@example.com"], actor=OPS, reason="r")
    with engine.begin() as connection:
        connection.execute(RemovalResult.__table__.update().values(updated_at=BOUNCED))
    ingest(engine, make_bounce(["s@example.com"], bounce_type="Transient", at=LATER))
    confirm_valid(engine, ["s@example.com"], actor=OPS, note="phoned again")
    listed(engine, {"s@example.com": "BOUNCE"})
    assert plan(engine, "s@example.com")["s@example.com"].flags == ()


def test_a_viewer_may_plan_but_every_address_is_blocked(engine: Engine) -> None:
    confirm_valid(engine, ["a@example.com"], actor=OPS, note="phoned")
    ses = listed(engine, {"a@example.com": "BOUNCE"})
    item = plan(engine, "a@example.com", actor=VIEWER)["a@example.com"]
    assert item.verdict is Verdict.BLOCKED
    assert "needs the operator role (yours: viewer)" in item.why
    with pytest.raises(PermissionDenied):
        remover(engine, ses).remove(["a@example.com"], actor=VIEWER, reason="r")
    assert ses.sent == []


def test_a_dry_run_changes_nothing_anywhere(engine: Engine) -> None:
    ingest(engine, make_bounce(["a@example.com", "b@example.com"], at=BOUNCED))
    confirm_valid(engine, ["a@example.com"], actor=OPS, note="phoned")
    ses = listed(engine, {"a@example.com": "BOUNCE", "b@example.com": "COMPLAINT"})
    before = row_counts(engine)
    found = plan_removal(
        engine, ["a@example.com", "b@example.com", "nonsense", " a@EXAMPLE.com "], actor=ADMIN,
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
    engine: Engine,
) -> None:
    addresses = [f"u{i}@example.com" for i in range(3)]
    confirm_valid(engine, addresses, actor=OPS, note="phoned")
    ses = listed(engine, dict.fromkeys(addresses, "BOUNCE"))
    with pytest.raises(InvalidInput, match="more than 2 per click"):
        remover(engine, ses, max_per_click=2).remove(addresses, actor=OPS, reason="r")
    common: dict[str, Any] = {"actor": OPS, "reason": "r"}
    bulk = remover(engine, ses, bucket="b", max_per_click=2)
    with pytest.raises(InvalidInput, match="give their number, 3"):
        bulk.start_import(addresses, **common)
    with pytest.raises(InvalidInput):
        bulk.start_import(addresses, confirm_count=2, **common)
    assert ses.sent == []
    report = bulk.start_import(addresses, confirm_count=3, **common)
    assert report.counts == {"submitted": 3}
    assert ses.sent == [("import_job", ",".join(addresses))]


def test_an_operator_cannot_resume_a_run_an_admin_started_for_unconfirmed_addresses(
    engine: Engine,
) -> None:
    ses = listed(engine, {"a@example.com": "BOUNCE"})
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
        remover(engine, ses).resume(run_id, actor=OPS)
    assert ses.sent == []
    report = remover(engine, ses).resume(run_id, actor=ADMIN)
    assert report.counts == {"removed": 1}


def test_an_admin_override_is_kept_in_the_audit_entry_of_the_request(engine: Engine) -> None:
    ses = listed(engine, {"a@example.com": "BOUNCE"})
    lead = person("lead@qube.example", Role.ADMIN)
    remover(engine, ses).remove(
        ["a@example.com"], actor=lead, reason="the user's IT confirmed it", override=True
    )
    from core.audit import AuditFilter, list_audit, parameters_of

    [requested] = list_audit(engine, AuditFilter(action="suppression.removal_requested")).rows
    parameters = parameters_of(requested)
    assert requested.actor == "lead@qube.example" and parameters["role"] == "admin"
    assert parameters["reason"] == "the user's IT confirmed it"
    assert parameters["admin_override"] == {"a@example.com": ["unconfirmed"]}
    assert json.loads(requested.parameters or "")["addresses"] == 1


def test_the_console_file_follows_the_guardrails_and_all_suppressed_needs_an_admin(
    engine: Engine,
) -> None:
    from core.suppression.mirror import export_console_csv

    confirm_valid(engine, ["ok@example.com", "c@example.com"], actor=OPS, note="phoned")
    listed(
        engine,
        {"ok@example.com": "BOUNCE", "c@example.com": "COMPLAINT", "new@example.com": "BOUNCE"},
    )
    export = export_console_csv(engine, OPS)
    assert export.body == b"ok@example.com\n"
    assert export.needs_admin == ("c@example.com",)
    with pytest.raises(PermissionDenied, match="not confirmed valid needs the admin role"):
        export_console_csv(engine, OPS, confirmed_only=False)
    everything = export_console_csv(engine, ADMIN, confirmed_only=False)
    assert everything.count == 3 and everything.needs_admin == ()
