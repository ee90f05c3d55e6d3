"""One runner of a job at a time, across every process and replica that shares the database.

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) keyed on the job's name;
- MariaDB/MySQL: a named lock, `GET_LOCK(name, 0)`, its name carrying the database's: named
  locks are server-wide, and two deployments (or test runs) sharing one server must not
  block each other (PostgreSQL's advisory locks already belong to one database);
- SQLite: a file lock beside the database file (`filelock`), since SQLite has no named locks
  and every process that opens the file can also see its folder.

Each is tried once, without waiting: a runner that does not get the lock reports the job as
already running. The server locks belong to one connection, held for the whole run and
released when it closes, so a killed runner never leaves a job locked.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from core.store.db import translated_errors

PREFIX = "bouncedesk.job."
# In-memory SQLite databases live in one process: a thread lock per job is enough there.
_MEMORY_LOCKS: dict[str, threading.Lock] = {}
_MEMORY_GUARD = threading.Lock()


def lock_name(job: str, database: str | None = None) -> str:
    """The server-side name of a job's lock in `database`; MySQL allows 64 characters, so a
    longer name keeps its start and ends in a digest of the whole."""
    name = PREFIX + (f"{database}." if database else "") + job
    if len(name) <= 64:
        return name
    return name[:47] + "." + hashlib.sha256(name.encode()).hexdigest()[:16]


def advisory_key(job: str) -> int:
    """A stable signed 64-bit key for `pg_try_advisory_lock` (the same in every process)."""
    digest = hashlib.sha256(lock_name(job).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def job_lock(engine: Engine, job: str) -> Iterator[bool]:
    """Try to take `job`'s lock: yields True while it is held, False when another runner
    holds it. Released when the block ends."""
    backend = engine.dialect.name
    if backend == "sqlite":
        with _file_lock(engine, job) as held:
            yield held
        return
    name = lock_name(job, engine.url.database)
    with translated_errors(), engine.connect() as connection:
        held = _try_server_lock(connection, backend, job, name)
        # The lock's connection must not sit in a transaction for the whole run.
        connection.commit()
        try:
            yield held
        finally:
            if held:
                with translated_errors():
                    _release_server_lock(connection, backend, job, name)
                    connection.commit()


def _try_server_lock(connection: Connection, backend: str, job: str, name: str) -> bool:
    if backend == "postgresql":
        query = text("SELECT pg_try_advisory_lock(:key)")
        return bool(connection.scalar(query, {"key": advisory_key(job)}))
    return connection.scalar(text("SELECT GET_LOCK(:name, 0)"), {"name": name}) == 1


def _release_server_lock(connection: Connection, backend: str, job: str, name: str) -> None:
    if backend == "postgresql":
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": advisory_key(job)})
    else:
        connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})


@contextmanager
def _file_lock(engine: Engine, job: str) -> Iterator[bool]:
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:":
        with _MEMORY_GUARD:
            lock = _MEMORY_LOCKS.setdefault(job, threading.Lock())
        held = lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                lock.release()
        return
    # A fresh lock object each time: filelock's locks are re-entrant per object, and two
    # runners in one process (threads) must exclude each other like two processes do.
    file_lock = FileLock(f"{database}.job-{job}.lock", timeout=0, is_singleton=False)
    try:
        file_lock.acquire()
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        file_lock.release()
