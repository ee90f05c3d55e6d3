"""The database URL: checked once when settings load, and described without its secrets.

The URL holds the database password, in its user-info part or as a query parameter
(``?password=`` for psycopg, ``?passwd=`` for PyMySQL), so nothing here ever repeats the
URL or a piece of it in a message: a typo in a password must not end up on a screen or in a
log. The dashboard shows `describe_database_url`: the backend, host and database, nothing else.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

# What the user name and password must percent-encode to parse as themselves.
_RESERVED = "@ : / ? # [ ] %"
_MALFORMED = (
    "the URL does not parse (as scheme://user:password@host:port/database?options); "
    f"percent-encode any of {_RESERVED} in the user name or password, e.g. @ as %40"
)


def check_database_url(url: str) -> None:
    """Raise ValueError, with a message that quotes nothing of `url`, unless it parses into
    the database it seems to name and names a driver SQLAlchemy has."""
    parsed = _parse(url)
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ValueError("the port must be a number from 1 to 65535")
    try:
        parsed.get_dialect()
    except ArgumentError:
        raise ValueError(
            "unknown database driver; use sqlite:///PATH, postgresql+psycopg://... "
            "or mysql+pymysql://..."
        ) from None


def describe_database_url(url: str) -> str:
    """`url` cut down to its backend, host and database (``postgresql://db.corp/desk``), for
    people to read: never the user name, password, port or query options."""
    try:
        parsed = _parse(url)
    except ValueError:
        return "a database URL that does not parse"
    shown = URL.create(parsed.get_backend_name(), host=parsed.host, database=parsed.database)
    host = _query_host(parsed) if parsed.host is None else None
    if host is not None:
        shown = shown.update_query_dict({"host": host})
    return shown.render_as_string()


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        # ValueError quotes a bad port, which may be part of a password: say nothing of it.
        raise ValueError(_MALFORMED) from None
    # SQLAlchemy splits the user info at the first "@", so an unescaped "@" in a password
    # leaves the password's tail in the host name, which driver errors then print.
    if parsed.host is not None and ("@" in parsed.host or not parsed.host.strip()):
        raise ValueError(_MALFORMED)
    return parsed


def _query_host(parsed: URL) -> str | None:
    """psycopg and PyMySQL also take the host (a socket directory, say) as ``?host=``."""
    value = parsed.query.get("host")
    return value if isinstance(value, str) else None
