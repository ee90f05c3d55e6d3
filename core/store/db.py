"""Engines, sessions and schema upgrades for SQLite, PostgreSQL and MariaDB/MySQL.

The embedded default is a SQLite file under ``data/`` in WAL mode, upgraded automatically
the first time an empty file is used. Server databases are upgraded explicitly with
``python -m core db upgrade`` so that several replicas never race to migrate.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import InvalidInput, StoreUnavailable

MIGRATIONS = Path(__file__).with_name("migrations")
# What `session_factory` returns; public functions take the Engine, never one of these.
SessionFactory = sessionmaker[Session]


def normalise_url(url: str) -> str:
    """Pick the drivers we ship (psycopg 3, PyMySQL) when a URL names none."""
    parsed = make_url(url)
    driver = {
        "postgresql": "postgresql+psycopg",
        "mysql": "mysql+pymysql",
        "mariadb": "mariadb+pymysql",
    }
    if parsed.drivername in driver:
        parsed = parsed.set(drivername=driver[parsed.drivername])
    if parsed.get_backend_name() in {"mysql", "mariadb"} and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, auto_upgrade: bool = True, **kwargs: Any) -> Engine:
    """Create an engine; an empty SQLite file gets the current schema on first use."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed.database, url, **kwargs)
        if auto_upgrade:
            _upgrade_once(engine, parsed.database)
        return engine
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_recycle": 1800}
    options["connect_args"] = {"connect_timeout": 10}
    options.update(kwargs)
    engine = create_engine(url, **options)
    if parsed.get_backend_name() == "mysql" and _is_mariadb(engine):
        # The mariadb dialect enables INSERT ... RETURNING, which ingestion relies on for speed.
        engine.dispose()
        engine = create_engine(parsed.set(drivername="mariadb+pymysql"), **options)
    return engine


def _is_mariadb(engine: Engine) -> bool:
    try:
        with engine.connect():
            return bool(getattr(engine.dialect, "is_mariadb", False))
    except DBAPIError as exc:
        raise StoreUnavailable(describe_database_error(exc)) from exc


def _upgrade_once(engine: Engine, database: str | None) -> None:
    """Give a new SQLite file the schema exactly once, whoever opens it first.

    Several processes may open the same empty file at once (ingesters, the dashboard). The
    one that upgrades holds an exclusive lock on a file beside the database until the last
    migration is done; everyone else checks under a shared lock, so nobody sees the half-built
    schema (pysqlite commits each CREATE TABLE as it goes, `alembic_version` first).
    """
    if not database or database == ":memory:":
        if not inspect(engine).has_table("alembic_version"):
            upgrade(engine)
        return
    with open(f"{database}.upgrade-lock", "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_SH)
            if inspect(engine).has_table("alembic_version"):
                return
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not inspect(engine).has_table("alembic_version"):
                upgrade(engine)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _sqlite_engine(database: str | None, url: str, **kwargs: Any) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets the dashboard read while an ingester writes.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (Alembic)."""
    try:
        command.upgrade(alembic_config(engine), revision)
    except OperationalError as exc:
        raise StoreUnavailable(describe_database_error(exc)) from exc


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False)


def open_session(engine: Engine) -> Session:
    """A session on `engine` for one unit of work (`with open_session(engine) as s:`);
    what it loaded stays readable after commit and close."""
    return Session(engine, expire_on_commit=False)


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turn driver errors into StoreUnavailable, the one database error the rest of core sees;
    a value the database refuses (a NUL in PostgreSQL text, an out-of-range number) is bad
    input, InvalidInput, not an outage."""
    try:
        yield
    except DataError as exc:
        raise InvalidInput(describe_database_error(exc)) from exc
    except DBAPIError as exc:
        raise StoreUnavailable(describe_database_error(exc)) from exc


# MySQL/MariaDB errors about one statement's values: packet too large, data too long,
# incorrect string, out of range, bad datetime, invalid JSON, and the connection the server
# drops after a packet too large.
_MYSQL_VALUE_ERRORS = frozenset({1153, 1406, 1366, 1264, 1292, 3140, 2006, 2013})


def refuses_the_values(exc: BaseException | None) -> bool:
    """Whether a database error is about the values written (so another row could still be
    stored), not about the database itself (down, schema missing)."""
    if isinstance(exc, DataError | IntegrityError):
        return True
    args = getattr(getattr(exc, "orig", None), "args", None) or (None,)
    return isinstance(exc, DBAPIError) and args[0] in _MYSQL_VALUE_ERRORS


def describe_database_error(exc: DBAPIError) -> str:
    original = getattr(exc, "orig", None) or exc
    text = (
        str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    )
    return f"database error: {text}"
