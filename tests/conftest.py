"""Shared fixtures: a real database per backend, and the sample payloads.

Every test that asks for ``engine`` runs once per backend: a temp-file SQLite always, and
PostgreSQL and MariaDB when reachable (``BOUNCEDESK_TEST_POSTGRES_URL`` /
``BOUNCEDESK_TEST_MARIADB_URL`` override the local defaults). With
``BOUNCEDESK_TEST_REQUIRE_SERVERS=1`` (CI) an unreachable server fails instead of skipping.
Each pytest-xdist worker gets its own server database, emptied between tests.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from core.store.db import make_engine, normalise_url, upgrade
from core.store.models import Base

# Payloads taken from AWS's guides and other public repositories live beside the project, in
# ../shared (every developer and CI have it), and are never copied into it.
SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
FIXTURES = SHARED / "samples"
PEER_SAMPLES = SHARED / "peer-samples"
SERVER_URLS = {
    "postgresql": os.environ.get(
        "BOUNCEDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get(
        "BOUNCEDESK_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
    ),
}
REQUIRE_SERVERS = os.environ.get("BOUNCEDESK_TEST_REQUIRE_SERVERS") == "1"
BACKENDS = ["sqlite", "postgresql", "mariadb"]


def require_shared(directory: Path = FIXTURES) -> Path:
    """`directory` under ../shared, or skip (the test, or the module at collection)."""
    if not directory.is_dir():
        pytest.skip(
            f"../shared/{directory.name} is absent (expected beside the repository at"
            f" {directory}); the tests that read its payloads are skipped",
            allow_module_level=True,
        )
    return directory


def load_fixture(name: str) -> Any:
    """A payload from ../shared/samples, parsed."""
    return json.loads((require_shared() / name).read_text(encoding="utf-8"))


def fixture_bytes(name: str) -> bytes:
    """A payload from ../shared/samples, byte for byte."""
    return (require_shared() / name).read_bytes()


def _worker_database(backend: str, name: str) -> str:
    """Create (once) and return the URL of this worker's own database on a server."""
    base = make_url(normalise_url(SERVER_URLS[backend]))
    admin = create_engine(base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as connection:
            if backend == "postgresql":
                exists = connection.scalar(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                )
                if exists:
                    connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
                connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(
        parsed.set(database=make_url(normalise_url(SERVER_URLS[_backend(url)])).database),
        isolation_level="AUTOCOMMIT",
    )
    quote = '"' if parsed.get_backend_name() == "postgresql" else "`"
    force = " WITH (FORCE)" if parsed.get_backend_name() == "postgresql" else ""
    try:
        with admin.connect() as connection:
            connection.execute(
                text(f"DROP DATABASE IF EXISTS {quote}{parsed.database}{quote}{force}")
            )
    finally:
        admin.dispose()


def _backend(url: str) -> str:
    return "postgresql" if make_url(url).get_backend_name() == "postgresql" else "mariadb"


@pytest.fixture(scope="session")
def server_databases(worker_id: str, testrun_uid: str) -> Iterator[dict[str, str | Exception]]:
    """URL per reachable server backend, or the reason it is not reachable.

    Database names carry the test run's id, so two runs on one machine never collide.
    """
    found: dict[str, str | Exception] = {}
    name = f"bd_{testrun_uid[:10]}_{worker_id}"
    for backend in ("postgresql", "mariadb"):
        try:
            url = _worker_database(backend, name)
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            found[backend] = url
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            found[backend] = exc
    yield found
    for url in found.values():
        if isinstance(url, str):
            _drop_database(url)


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, server_databases: dict[str, Any]
) -> Iterator[str]:
    """A migrated, empty database on each backend."""
    backend = request.param
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'bouncedesk.db'}"
        return
    url = server_databases[backend]
    if isinstance(url, Exception):
        message = f"{backend} not reachable: {url}"
        if REQUIRE_SERVERS:
            pytest.fail(message)
        pytest.skip(message)
    _empty_tables(url)
    yield url


def _empty_tables(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
                for table in reversed(Base.metadata.sorted_tables):
                    connection.execute(text(f"DELETE FROM `{table.name}`"))
                connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))
    finally:
        engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """For tests about SQLite itself, or that need no other backend."""
    engine = make_engine(f"sqlite:///{tmp_path / 'bouncedesk.db'}")
    yield engine
    engine.dispose()


def build_lambda_zip(out: Path, python: str) -> Path:
    """`make lambda-zip` for Python `python` (e.g. "3.12"), into `out`."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parent.parent / "deploy" / "lambda_zip.py"
    built = subprocess.run(
        [sys.executable, str(script), "--python", python, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr[-2000:]
    return out


@pytest.fixture(scope="session")
def lambda_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Lambda package `make lambda-zip` builds, for this interpreter's Python (so it
    imports here), once per session. Modules that use it share the xdist group
    ``lambda-zip``, so one worker builds it."""
    import sys

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return build_lambda_zip(tmp_path_factory.mktemp("lambda") / "bouncedesk-lambda.zip", python)
