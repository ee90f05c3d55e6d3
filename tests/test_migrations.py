"""Schema migrations: `db upgrade` on empty databases, SQLite auto-upgrade, models == migration."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from core.cli.main import main
from core.store.db import current_revision, make_engine, normalise_url
from core.store.models import Base
from tests.conftest import REQUIRE_SERVERS, SERVER_URLS

ROOT = Path(__file__).resolve().parent.parent
TABLES = set(Base.metadata.tables)


def _server_database(backend: str, name: str, *, create: bool) -> str:
    """Drop the database `name` on a server, then create it empty if `create`; its URL."""
    base = make_url(normalise_url(SERVER_URLS[backend]))
    admin = create_engine(base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    quoted = f'"{name}"' if backend == "postgresql" else f"`{name}`"
    try:
        with admin.connect() as connection:
            force = " WITH (FORCE)" if backend == "postgresql" else ""
            connection.execute(text(f"DROP DATABASE IF EXISTS {quoted}{force}"))
            if create:
                charset = "" if backend == "postgresql" else " CHARACTER SET utf8mb4"
                connection.execute(text(f"CREATE DATABASE {quoted}{charset}"))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, worker_id: str
) -> Iterator[str]:
    """A database with no tables at all, on each backend."""
    backend = request.param
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"bdmigrate_{os.getpid()}_{worker_id}"
    try:
        url = _server_database(backend, name, create=True)
    except Exception as exc:  # noqa: BLE001 - any failure means the server is not reachable
        if REQUIRE_SERVERS:
            pytest.fail(f"{backend} not reachable: {exc}")
        pytest.skip(f"{backend} not reachable: {exc}")
    yield url
    _server_database(backend, name, create=False)


def differences(url: str) -> list[Any]:
    engine = make_engine(url, auto_upgrade=False)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = make_engine(url, auto_upgrade=False)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_db_upgrade_builds_on_an_empty_database_the_schema_the_models_describe(
    empty_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert table_names(empty_database_url) == set()
    assert main(["--database-url", empty_database_url, "db", "upgrade"]) == 0
    assert capsys.readouterr().out.startswith("schema at revision ")
    assert table_names(empty_database_url) == TABLES | {"alembic_version"}
    # Alembic's autogenerate comparison: a model changed without a migration shows up here.
    assert differences(empty_database_url) == []
    # Running it again is harmless.
    assert main(["--database-url", empty_database_url, "db", "upgrade"]) == 0


def test_db_upgrade_and_current_work_as_a_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOUNCEDESK_")}
    env["PYTHONPATH"] = str(ROOT)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "core", "--database-url", url, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=60,
        )

    before = run("db", "current")
    assert before.returncode == 0 and "empty database" in before.stdout
    done = run("db", "upgrade")
    assert done.returncode == 0, done.stderr
    revision = done.stdout.split()[-1]
    assert run("db", "current").stdout.strip() == revision


def test_an_empty_sqlite_file_is_upgraded_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "data" / "fresh.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert path.exists()
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
        assert current_revision(engine) is not None
    finally:
        engine.dispose()


def test_auto_upgrade_can_be_turned_off(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'manual.db'}", auto_upgrade=False)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def open_engine(url: str) -> str:
    """One process opening a new SQLite file (tests.processes runs four at once)."""
    from core.store.db import make_engine as make

    make(url).dispose()
    return "ok"


def test_four_processes_opening_one_new_sqlite_file_create_the_schema_once(
    tmp_path: Path,
) -> None:
    from tests.processes import run_together

    url = f"sqlite:///{tmp_path / 'new.db'}"
    outcomes = run_together("tests.test_migrations:open_engine", [(url,)] * 4)
    assert outcomes == ["ok"] * 4


def test_the_ingest_trust_migration_backfills_where_old_dead_letters_came_from(
    empty_database_url: str,
) -> None:
    from core.store.db import upgrade

    engine = make_engine(empty_database_url, auto_upgrade=False)
    try:
        upgrade(engine, "0001")
        letters = [
            ("upload:a.json#1", "not_json"),
            ("file:b.ndjson#2", "bad_signature"),
            ("lambda:req-1", "missing_field"),
            ("sqs:m-1", "bad_signature"),  # poll-sqs or the SQS-triggered Lambda: unknown
        ]
        with engine.begin() as connection:
            for source, code in letters:
                connection.execute(
                    text(
                        "INSERT INTO dead_letters (received_at, source, reason_code, reason, raw,"
                        " status, attempts) VALUES (:at, :source, :code, 'r', :raw, 'open', 0)"
                    ),
                    {"at": "2024-01-01 00:00:00", "source": source, "code": code, "raw": b"{}"},
                )
        upgrade(engine, "0003_ingest_trust")
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT source, entry_point, verify_mode FROM dead_letters ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in found] == [
        ("upload:a.json#1", "upload", None),
        ("file:b.ndjson#2", "file", "required"),
        ("lambda:req-1", "lambda", None),
        ("sqs:m-1", None, "required"),
    ]


def test_upgrading_from_0001_links_import_job_results_and_marks_calls_in_flight(
    empty_database_url: str,
) -> None:
    """Rows written before revision 0002 found their import job by message text only, and a
    call in flight showed only as a pending result with attempts counted."""
    from datetime import datetime

    import sqlalchemy as sa

    from core.store.db import upgrade

    engine = make_engine(empty_database_url, auto_upgrade=False)
    then = datetime(2026, 5, 1, 9, 30)
    try:
        upgrade(engine, "0001")
        runs = sa.table(
            "removal_runs", *(sa.column(n) for n in ("id", "actor", "reason", "method")),
            sa.column("created_at"), sa.column("status"), sa.column("requested"),
        )  # fmt: skip
        jobs = sa.table(
            "import_jobs", *(sa.column(n) for n in ("id", "run_id", "job_id", "action")),
            *(sa.column(n) for n in ("s3_url", "records", "status", "created_at", "updated_at")),
        )  # fmt: skip
        results = sa.table(
            "removal_results", *(sa.column(n) for n in ("id", "run_id", "address", "outcome")),
            sa.column("message"), sa.column("attempts"), sa.column("updated_at"),
        )  # fmt: skip
        job = {"action": "DELETE", "s3_url": "s3://b/k", "records": 1, "created_at": then}
        with engine.begin() as connection:
            connection.execute(
                sa.insert(runs),
                [
                    {"id": 1, "actor": "a", "reason": "r", "method": "import_job",
                     "created_at": then, "status": "submitted", "requested": 4},
                    {"id": 2, "actor": "a", "reason": "r", "method": "api",
                     "created_at": then, "status": "interrupted", "requested": 3},
                ],
            )  # fmt: skip
            connection.execute(
                sa.insert(jobs),
                [
                    {**job, "id": 1, "run_id": 1, "job_id": "job-1", "status": "FAILED",
                     "updated_at": then},
                    {**job, "id": 2, "run_id": 1, "job_id": "job-10", "status": "CREATED",
                     "updated_at": then},
                    {**job, "id": 3, "run_id": 1, "job_id": "job_%", "status": "COMPLETED",
                     "updated_at": then},
                ],
            )  # fmt: skip
            row = {"run_id": 1, "attempts": 0, "updated_at": then}
            connection.execute(
                sa.insert(results),
                [
                    {**row, "id": 1, "address": "failed@x.example", "outcome": "failed",
                     "message": "import job job-1 FAILED: Access denied"},
                    {**row, "id": 2, "address": "waiting@x.example", "outcome": "submitted",
                     "message": "import job job-10"},
                    {**row, "id": 3, "address": "partly@x.example", "outcome": "submitted",
                     "message": "import job job_% completed with 1 of 2 records failed; ..."},
                    {**row, "id": 4, "address": "never@x.example", "outcome": "pending",
                     "message": None},
                    {**row, "id": 5, "run_id": 2, "address": "sent@x.example",
                     "outcome": "pending", "attempts": 1, "message": None},
                    {**row, "id": 6, "run_id": 2, "address": "unsent@x.example",
                     "outcome": "pending", "message": None},
                    {**row, "id": 7, "run_id": 2, "address": "done@x.example",
                     "outcome": "removed", "attempts": 1, "message": None},
                ],
            )  # fmt: skip
        upgrade(engine, "0002_import_job_results")
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT id, import_job_id, attempted_at FROM removal_results ORDER BY id")
            ).all()
        assert [(r[0], r[1]) for r in found] == [
            (1, 1), (2, 2), (3, 3), (4, None), (5, None), (6, None), (7, None)
        ]  # fmt: skip
        assert [r[0] for r in found if r[2] is not None] == [5]  # the one call in flight
        assert current_revision(engine) == "0002_import_job_results"
    finally:
        engine.dispose()


def test_the_alerts_migration_backfills_the_stream_counts_ingest_would_keep(
    empty_database_url: str,
) -> None:
    from alembic import command

    from core.store.db import alembic_config, upgrade
    from core.store.tables import SET_DAILY
    from tests.alerts_kit import TODAY, send, tagged
    from tests.factories import ingest, make_bounce, make_complaint

    engine = make_engine(empty_database_url, auto_upgrade=False)
    try:
        upgrade(engine)
        send(engine, 20, 3, stream="bulk", complaints=1)
        send(engine, 10, 1, stream="transactional", day=TODAY.replace(day=19))
        send(engine, 5, 1)  # no configuration set: not counted per stream
        ingest(
            engine,
            tagged(make_bounce(["x@example.com"], subtype="OnAccountSuppressionList",
                               event=True), "bulk"),
            tagged(make_complaint(["y@example.com"], subtype="OnAccountSuppressionList",
                                  event=True), "bulk"),
        )  # fmt: skip
        query = select_all(SET_DAILY)
        with engine.connect() as connection:
            kept = sorted(tuple(row) for row in connection.execute(query))
        command.downgrade(alembic_config(engine), "0005_job_runs")
        upgrade(engine)
        with engine.connect() as connection:
            backfilled = sorted(tuple(row) for row in connection.execute(query))
    finally:
        engine.dispose()
    assert backfilled == kept
    assert ("bulk", "bounce", False, 1) in {row[1:] for row in kept}
    assert ("bulk", "complaint", False, 1) in {row[1:] for row in kept}
    assert ("transactional", "send", True, 10) in {row[1:] for row in kept}


def select_all(table: Any) -> Any:
    from sqlalchemy import select

    return select(table.c.day, table.c.configuration_set, table.c.kind,
                  table.c.counts_toward_rate, table.c.count)  # fmt: skip
