"""The role matrix through core: each role tries each action by calling the core function the
pages and the CLI call. A refused action raises PermissionDenied before anything happens: no
SES call, no row, no audit entry. An allowed one leaves its audit entry.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from core.access import Actor, Role
from core.audit import AuditFilter, export_audit_csv
from core.errors import PermissionDenied
from core.ingest import intake
from core.ingest.dead_letters import retry_dead_letters
from core.ingest.pipeline import Ingester
from core.recipients.bounced import BouncedFilter, export_bounced_csv
from core.recipients.confirmations import confirm_valid, revoke_confirmation
from core.recipients.directory import import_users_csv
from core.recipients.mailing import export_exclusions_csv
from core.settings import Settings
from core.store.models import AuditEntry, DeadLetter, RemovalResult, RemovalRun
from core.suppression.mirror import (
    MirrorFilter,
    export_console_csv,
    export_mirror_csv,
    sync_suppression_list,
)
from core.suppression.removal import Remover
from tests.factories import ingest, make_bounce, make_complaint, person
from tests.suppression_kit import FakeSes

OK = "ok@example.com"  # confirmed valid since its last bounce
UNCONFIRMED = "unconfirmed@example.com"
COMPLAINT = "complaint@example.com"  # listed for a complaint, confirmed valid
REBOUNCED = "rebounced@example.com"  # removed by us, hard-bounced again, confirmed again
LISTED = {OK: "BOUNCE", UNCONFIRMED: "BOUNCE", COMPLAINT: "COMPLAINT", REBOUNCED: "BOUNCE"}
SETUP = person("setup", Role.ADMIN)


@dataclass
class Scene:
    engine: Engine
    ses: FakeSes


def seed(engine: Engine) -> Scene:
    ingest(engine, make_bounce([OK, UNCONFIRMED, REBOUNCED], at=datetime(2026, 1, 5)))
    ingest(engine, make_complaint([COMPLAINT], at=datetime(2026, 1, 5)))
    with engine.begin() as connection:
        run_id = connection.execute(
            insert(RemovalRun).values(
                actor="earlier", reason="r", method="api", created_at=datetime(2026, 2, 1),
                status="completed", requested=1,
            )
        ).inserted_primary_key[0]  # fmt: skip
        connection.execute(
            insert(RemovalResult).values(
                run_id=run_id, address=REBOUNCED, outcome="removed", attempts=1,
                updated_at=datetime(2026, 2, 1),
            )
        )  # fmt: skip
    ingest(engine, make_bounce([REBOUNCED], at=datetime(2026, 3, 1)))
    confirm_valid(engine, [OK, COMPLAINT, REBOUNCED], actor=SETUP, note="checked")
    ses = FakeSes(LISTED)
    sync_suppression_list(engine, ses, actor=SETUP)
    ses.calls.clear()
    return Scene(engine, ses)


def remove(*addresses: str, override: bool = False) -> Callable[[Scene, Actor], Any]:
    def act(scene: Scene, actor: Actor) -> Any:
        return Remover(scene.engine, scene.ses, max_per_click=10, sleep=lambda _: None).remove(
            addresses, actor=actor, reason="written reason", override=override
        )

    return act


def import_job(scene: Scene, actor: Actor) -> Any:
    return Remover(scene.engine, scene.ses, bucket="b", max_per_click=10).start_import(
        [OK], actor=actor, reason="r"
    )


def start_job(scene: Scene) -> None:
    import_job(scene, SETUP)
    scene.ses.calls.clear()


def poll(scene: Scene, actor: Actor) -> Any:
    return Remover(scene.engine, scene.ses, max_per_click=10).poll_jobs(actor=actor)


def export(kind: str) -> Callable[[Scene, Actor], Any]:
    def act(scene: Scene, actor: Actor) -> Any:
        out = io.BytesIO()
        if kind == "bounced":
            return export_bounced_csv(scene.engine, actor, BouncedFilter(), out)
        if kind == "exclusions":
            return export_exclusions_csv(scene.engine, actor, Settings(), out)
        if kind == "console":
            return export_console_csv(scene.engine, actor)
        if kind == "mirror":
            return export_mirror_csv(scene.engine, actor, MirrorFilter(), out)
        return export_audit_csv(scene.engine, actor, AuditFilter(), out)

    return act


def add_dead_letter(scene: Scene) -> None:
    with scene.engine.begin() as connection:
        connection.execute(
            insert(DeadLetter).values(
                received_at=datetime(2026, 5, 1), source="file:x", reason_code="bad_json",
                reason="not JSON", raw=b"{not json", status="open", attempts=0,
            )
        )  # fmt: skip


def retry(scene: Scene, actor: Actor) -> Any:
    ingester = Ingester(scene.engine, entry_point="retry", verify_mode="off")
    return retry_dead_letters(scene.engine, ingester, actor)


def upload(scene: Scene, actor: Actor) -> Any:
    ingester = Ingester(scene.engine, entry_point="upload", verify_mode="off")
    data = b'{"notificationType": "Bounce"}'
    return intake.ingest_upload(ingester, actor, "one.json", data)


class EmptyQueue:
    def receive_message(self, **_: Any) -> dict[str, Any]:
        return {}


def poll_sqs(scene: Scene, actor: Actor) -> Any:
    ingester = Ingester(scene.engine, entry_point="sqs", verify_mode="off")
    return intake.poll_queue(
        EmptyQueue(), "https://sqs.example/q", ingester, actor, max_messages=10, wait_seconds=0
    )


def nothing(scene: Scene) -> None:
    return None


# (what, the least role that may, setup, the call)
CASES: list[tuple[str, Role, Callable[[Scene], None], Callable[[Scene, Actor], Any]]] = [
    ("export the bounced list", Role.VIEWER, nothing, export("bounced")),
    ("export the exclusions", Role.VIEWER, nothing, export("exclusions")),
    ("export the console CSV", Role.VIEWER, nothing, export("console")),
    ("export the mirror", Role.VIEWER, nothing, export("mirror")),
    ("export the audit log", Role.VIEWER, nothing, export("audit")),
    (
        "confirm valid",
        Role.OPERATOR,
        nothing,
        lambda s, a: confirm_valid(s.engine, [UNCONFIRMED], actor=a, note="phoned"),
    ),
    (
        "revoke",
        Role.OPERATOR,
        nothing,
        lambda s, a: revoke_confirmation(s.engine, [OK], actor=a, note="wrong person"),
    ),
    (
        "sync the mirror",
        Role.OPERATOR,
        nothing,
        lambda s, a: sync_suppression_list(s.engine, s.ses, actor=a),
    ),
    ("remove a confirmed-valid address", Role.OPERATOR, nothing, remove(OK)),
    ("remove confirmed-valid ones by import job", Role.OPERATOR, nothing, import_job),
    ("check import jobs", Role.OPERATOR, start_job, poll),
    (
        "import the directory",
        Role.OPERATOR,
        nothing,
        lambda s, a: import_users_csv(s.engine, a, b"email\nx@example.com\n"),
    ),
    ("retry dead letters", Role.OPERATOR, add_dead_letter, retry),
    ("store an uploaded file", Role.OPERATOR, nothing, upload),
    ("poll SQS", Role.OPERATOR, nothing, poll_sqs),
    ("remove an unconfirmed address", Role.ADMIN, nothing, remove(UNCONFIRMED, override=True)),
    ("remove a complaint", Role.ADMIN, nothing, remove(COMPLAINT, override=True)),
    ("remove a re-bounced address", Role.ADMIN, nothing, remove(REBOUNCED, override=True)),
]
RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


def audit_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(AuditEntry)) or 0)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("what", "least", "setup", "act"), CASES, ids=[case[0] for case in CASES])
def test_each_role_may_do_exactly_its_part_through_core(
    sqlite_engine: Engine,
    role: Role,
    what: str,
    least: Role,
    setup: Callable[[Scene], None],
    act: Callable[[Scene, Actor], Any],
) -> None:
    scene = seed(sqlite_engine)
    setup(scene)
    before = audit_count(sqlite_engine)
    actor = person(f"{role}@qube.example", role)
    if RANK[role] >= RANK[least]:
        act(scene, actor)
        assert audit_count(sqlite_engine) > before, f"{what} leaves an audit entry"
    else:
        with pytest.raises(PermissionDenied) as caught:
            act(scene, actor)
        # The first role the actor lacks is named: a viewer hears "operator" first.
        needed = least if RANK[least] - RANK[role] == 1 or least == Role.OPERATOR else "operator"
        assert f"needs the {needed} role (yours: {role})" in str(caught.value)
        assert "ask ses-admins@qube.example" in str(caught.value)
        assert scene.ses.sent == [], "nothing reached SES"
        assert audit_count(sqlite_engine) == before, "nothing happened, so nothing to record"
