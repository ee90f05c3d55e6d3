"""The audit trail on every backend: each action leaves exactly its entries, the log can be
filtered and exported, and nothing can change or delete an entry."""

from __future__ import annotations

import csv
import inspect
import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from core import audit
from core.access import Role
from core.audit import (
    ACTIONS,
    AuditFilter,
    audit_for_address,
    export_audit_csv,
    list_audit,
    parameters_of,
    record_audit,
)
from core.errors import AwsCallFailed
from core.ingest import intake
from core.ingest.dead_letters import retry_dead_letters
from core.ingest.pipeline import Ingester
from core.recipients.bounced import BouncedFilter, export_bounced_csv
from core.recipients.confirmations import confirm_valid, revoke_confirmation
from core.recipients.directory import import_users_csv
from core.recipients.mailing import export_exclusions_csv
from core.settings import Settings
from core.store.models import AuditEntry, DeadLetter
from core.suppression.mirror import (
    MirrorFilter,
    export_console_csv,
    export_mirror_csv,
    sync_suppression_list,
)
from core.suppression.removal import Remover
from tests.factories import ADMIN, OPS, ingest, make_bounce, person
from tests.suppression_kit import FakeSes

ROOT = Path(__file__).resolve().parents[1]
NO_WAIT = {"sleep": lambda _: None}


def remover(engine: Engine, ses: Any, **knobs: Any) -> Remover:
    return Remover(engine, ses, **{"max_per_click": 10, **NO_WAIT, **knobs})


def last_id(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc())) or 0)


def entries_after(engine: Engine, marker: int) -> list[tuple[str, str | None, str | None]]:
    """(action, address, outcome) of the entries written since `marker`, in order."""
    query = (
        select(AuditEntry.action, AuditEntry.address, AuditEntry.outcome)
        .where(AuditEntry.id > marker)
        .order_by(AuditEntry.id)
    )
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]  # type: ignore[misc]


def synced(engine: Engine, addresses: dict[str, str]) -> FakeSes:
    ses = FakeSes(addresses)
    sync_suppression_list(engine, ses, actor=OPS)
    return ses


# --- Each action, exactly its entries ------------------------------------------------------


def test_confirm_and_revoke_leave_one_entry_per_address_they_changed(engine: Engine) -> None:
    confirm_valid(engine, ["old@example.com"], actor=OPS, note="first")
    marker = last_id(engine)
    confirm_valid(engine, ["new@example.com", "old@example.com", "nope"], actor=OPS, note="n")
    revoke_confirmation(
        engine, ["old@example.com", "never@example.com"], actor=person("lead"), note="wrong"
    )
    assert entries_after(engine, marker) == [
        ("confirmation.confirm", "new@example.com", "confirmed"),
        ("confirmation.revoke", "old@example.com", "revoked"),
    ]


def test_a_removal_leaves_the_request_and_each_address_with_its_outcome(engine: Engine) -> None:
    confirm_valid(engine, ["a@example.com", "b@example.com"], actor=OPS, note="phoned")
    ses = synced(engine, {"a@example.com": "BOUNCE", "b@example.com": "BOUNCE"})
    del ses.listed["b@example.com"]  # someone removed it in the console meanwhile
    marker = last_id(engine)
    remover(engine, ses).remove(["a@example.com", "b@example.com"], actor=OPS, reason="r")
    assert entries_after(engine, marker) == [
        ("suppression.removal_requested", None, "api"),
        ("suppression.remove_attempt", "a@example.com", "sent"),
        ("suppression.remove", "a@example.com", "removed"),
        ("suppression.remove_attempt", "b@example.com", "sent"),
        ("suppression.remove", "b@example.com", "not_on_list"),
    ]


def test_an_import_job_leaves_its_creation_its_end_and_each_address(engine: Engine) -> None:
    confirm_valid(engine, ["a@example.com", "b@example.com"], actor=OPS, note="phoned")
    ses = synced(engine, {"a@example.com": "BOUNCE", "b@example.com": "BOUNCE"})
    marker = last_id(engine)
    remover(engine, ses, bucket="b").start_import(
        ["a@example.com", "b@example.com"], actor=OPS, reason="r"
    )
    remover(engine, ses).poll_jobs(actor=person("other"))
    assert entries_after(engine, marker) == [
        ("suppression.removal_requested", None, "import_job"),
        ("suppression.import_job", None, "CREATED"),
        ("suppression.import_job", None, "COMPLETED"),
        ("suppression.remove", "a@example.com", "removed"),
        ("suppression.remove", "b@example.com", "removed"),
    ]
    [removed, _] = audit_for_address(engine, "a@example.com")[:2]
    assert removed.actor == "other" and parameters_of(removed)["job_id"] == "job-1"


def test_a_sync_leaves_one_entry_with_its_counts_and_a_failed_one_says_why(engine: Engine) -> None:
    marker = last_id(engine)
    synced(engine, {"a@example.com": "BOUNCE"})
    [(action, address, outcome)] = entries_after(engine, marker)
    assert (action, address, outcome) == ("suppression.sync", None, "completed")
    [entry] = list_audit(engine, AuditFilter(action="suppression.sync")).rows
    assert parameters_of(entry)["seen"] == 1 and parameters_of(entry)["role"] == "operator"

    class Broken(FakeSes):
        def list_suppressed_destinations(self, **kwargs: Any) -> Any:
            raise AwsCallFailed("ListSuppressedDestinations: token expired")

    with pytest.raises(AwsCallFailed):
        sync_suppression_list(engine, Broken(), actor=OPS)
    newest = list_audit(engine, AuditFilter(action="suppression.sync")).rows[0]
    assert (newest.outcome, newest.detail) == (
        "failed",
        "ListSuppressedDestinations: token expired",
    )


def test_every_export_of_personal_data_leaves_one_entry(engine: Engine) -> None:
    ingest(engine, make_bounce(["a@example.com"]))
    confirm_valid(engine, ["a@example.com"], actor=OPS, note="phoned")
    synced(engine, {"a@example.com": "BOUNCE"})
    viewer = person("support", Role.VIEWER)
    marker = last_id(engine)
    export_bounced_csv(engine, viewer, BouncedFilter(kinds=frozenset({"hard"})), io.BytesIO())
    export_exclusions_csv(engine, viewer, Settings(), io.BytesIO())
    export_console_csv(engine, viewer)
    export_mirror_csv(engine, viewer, MirrorFilter(), io.BytesIO())
    export_audit_csv(engine, viewer, AuditFilter(action="export.bounced"), io.BytesIO())
    assert entries_after(engine, marker) == [
        ("export.bounced", None, "1 rows"),
        ("export.exclusions", None, "1 rows"),  # on the suppression list: excluded
        ("export.console_csv", None, "1 addresses"),
        ("export.suppression_mirror", None, "1 rows"),
        ("export.audit", None, "1 rows"),
    ]
    bounced = list_audit(engine, AuditFilter(action="export.bounced")).rows[0]
    assert parameters_of(bounced)["filter"]["kinds"] == ["hard"]
    assert (bounced.actor, parameters_of(bounced)["role"]) == ("support", "viewer")


def test_a_directory_import_a_dead_letter_retry_and_an_upload_are_each_audited(
    engine: Engine,
) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(DeadLetter).values(
                received_at=datetime(2026, 5, 1), source="file:x", reason_code="bad_json",
                reason="not JSON", raw=b"{not json", status="open", attempts=0,
            )
        )  # fmt: skip
    marker = last_id(engine)
    import_users_csv(engine, OPS, b"email,name\na@example.com,Ann\nnot-an-address,Bob\n")
    retry_dead_letters(engine, Ingester(engine, entry_point="retry", verify_mode="off"), OPS)
    upload = Ingester(engine, entry_point="upload", verify_mode="off")
    intake.ingest_upload(upload, OPS, "bounces.json", b"[]")
    assert entries_after(engine, marker) == [
        ("directory.import", None, "1 added, 0 updated"),
        ("dead_letters.retry", None, "0 of 1 resolved"),
        ("ingest.upload", None, "started"),
        ("ingest.upload", None, "completed"),
    ]
    directory = list_audit(engine, AuditFilter(action="directory.import")).rows[0]
    assert parameters_of(directory)["rejected"] == 1


def test_a_failing_upload_is_recorded_as_failed_with_the_error(engine: Engine) -> None:
    class Failing(Ingester):
        def ingest(self, items: Any, source: str, **_: Any) -> Any:
            raise AwsCallFailed("the store went away")

    marker = last_id(engine)
    with pytest.raises(AwsCallFailed):
        intake.ingest_upload(
            Failing(engine, entry_point="upload", verify_mode="off"), OPS, "x.json", b"{}"
        )
    assert entries_after(engine, marker) == [("ingest.upload", None, "failed")]


def test_an_unknown_action_name_is_a_programming_error(engine: Engine) -> None:
    with engine.begin() as connection, pytest.raises(ValueError, match="core.audit.ACTIONS"):
        record_audit(connection, OPS, "confirmation.edit", None, None)


# --- Reading the log -----------------------------------------------------------------------


def test_the_log_filters_by_actor_action_address_and_day_newest_first(engine: Engine) -> None:
    confirm_valid(engine, ["a@example.com"], actor=person("alice@corp.example"), note="n")
    confirm_valid(engine, ["b@example.com"], actor=person("bob@corp.example"), note="n")
    revoke_confirmation(engine, ["a@example.com"], actor=person("bob@corp.example"), note="n")
    everything = list_audit(engine, AuditFilter())
    assert [(r.action, r.address) for r in everything.rows] == [
        ("confirmation.revoke", "a@example.com"),
        ("confirmation.confirm", "b@example.com"),
        ("confirmation.confirm", "a@example.com"),
    ]
    assert list_audit(engine, AuditFilter(actor="BOB")).total == 2
    assert list_audit(engine, AuditFilter(action="confirmation.revoke")).total == 1
    assert list_audit(engine, AuditFilter(address="a@")).total == 2
    today = datetime.now().date()
    assert list_audit(engine, AuditFilter(start=today - timedelta(days=1))).total == 3
    assert list_audit(engine, AuditFilter(end=date(2020, 1, 1))).total == 0
    second = list_audit(engine, AuditFilter(), page=2, page_size=2)
    assert (second.total, [r.address for r in second.rows]) == (3, ["a@example.com"])
    assert [r.action for r in audit_for_address(engine, "a@EXAMPLE.com")] == [
        "confirmation.revoke",
        "confirmation.confirm",
    ]


def test_the_export_writes_every_matching_entry_formula_safe(engine: Engine) -> None:
    confirm_valid(engine, ["a@example.com"], actor=person('=HYPERLINK("x")'), note="n")
    out = io.BytesIO()
    assert export_audit_csv(engine, ADMIN, AuditFilter(address="a@"), out) == 1
    [row] = list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8"))))
    assert row["actor"] == '\'=HYPERLINK("x")' and row["action"] == "confirmation.confirm"


# --- Append-only ---------------------------------------------------------------------------


def _sources() -> dict[Path, str]:
    folders = [ROOT / "core", ROOT / "ui", ROOT / "pages", ROOT / "emulator"]
    files = [*(p for f in folders for p in f.rglob("*.py")), ROOT / "dashboard.py"]
    return {path: path.read_text(encoding="utf-8") for path in files}


def test_only_core_audit_touches_the_audit_table() -> None:
    touching = sorted(
        str(path.relative_to(ROOT))
        for path, text in _sources().items()
        if re.search(r"\bAuditEntry\b|\b(FROM|INTO|UPDATE|TABLE|JOIN)\s+[`\"]?audit_log\b", text)
    )
    assert touching == ["core/audit.py", "core/store/models.py"]


# update(AUDIT), delete(AuditEntry), AuditEntry.__table__.update(), AUDIT.delete(), and
# "UPDATE audit_log ..." / "DELETE FROM audit_log" in raw SQL.
FORBIDDEN = re.compile(
    r"(update|delete)\s*\(\s*(AUDIT|AuditEntry)\b|(AUDIT|AuditEntry)\S*\.(update|delete)\b"
    r"|\b(UPDATE|DELETE\s+FROM)\s+[`\"]?audit_log",
    re.IGNORECASE,
)


def test_no_code_updates_or_deletes_audit_entries() -> None:
    offenders = [str(p) for p, text in _sources().items() if FORBIDDEN.search(text)]
    assert offenders == []


def test_the_audit_api_can_only_append_and_read() -> None:
    public = {
        name
        for name, value in vars(audit).items()
        if inspect.isfunction(value) and value.__module__ == "core.audit" and name[0] != "_"
    }
    assert public == {
        "audit_row",
        "record_audit",
        "record_audit_rows",
        "list_audit",
        "audit_for_address",
        "export_audit_csv",
        "parameters_of",
        "actors_seen",
    }


@pytest.mark.parametrize(
    "edit",
    [
        "connection.execute(update(AUDIT).values(outcome='x'))",
        "session.execute(delete(AuditEntry).where(AuditEntry.id == 1))",
        "AuditEntry.__table__.update().values(actor='x')",
        "AUDIT.delete()",
        'text("DELETE FROM audit_log WHERE id = 1")',
        str(update(AuditEntry).values(outcome="x")),  # what SQLAlchemy sends
    ],
)
def test_the_check_would_catch_each_way_of_editing_an_entry(edit: str) -> None:
    assert FORBIDDEN.search(edit)


def test_every_action_name_is_documented() -> None:
    docs = (ROOT / "docs" / "access.md").read_text(encoding="utf-8")
    assert [action for action in ACTIONS if f"`{action}`" not in docs] == []
