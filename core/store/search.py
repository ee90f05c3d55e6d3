"""The free-text search indexes of the bounced list: names, and how to query them.

They are not models: SQLite's are FTS5 virtual tables (trigram tokenizer) kept by triggers,
PostgreSQL's are `pg_trgm` GIN indexes on ``lower(column)``, and MariaDB has none (its
FULLTEXT indexes match words, not substrings, and it has no n-gram parser: a substring search
there scans). Migration ``0009_read_indexes`` creates them; the schema comparison of
`tests/test_migrations.py` leaves the names below out.

The indexes only find candidates. Every search still applies the plain ``LIKE`` it always
did to the rows found, so a search finds exactly the rows ``LIKE`` finds; an index that
folds more case (FTS5 folds non-ASCII letters, ``LIKE`` on SQLite does not) only finds more
candidates, never fewer.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, TableClause, column, literal_column, table

# FTS5 trigram tables cannot match fewer than three characters: shorter terms scan.
MIN_INDEXED_CHARS = 3

# SQLite: one trigram table per searched table (the address alone; the directory's name,
# company and user id, with the address it belongs to stored but not indexed).
ADDRESS_SEARCH = "search_addresses"
PEOPLE_SEARCH = "search_people"
FTS5_SHADOW_SUFFIXES = ("", "_data", "_idx", "_content", "_docsize", "_config")
SQLITE_TABLES = frozenset(
    f"{name}{suffix}" for name in (ADDRESS_SEARCH, PEOPLE_SEARCH) for suffix in FTS5_SHADOW_SUFFIXES
)

# PostgreSQL: (index name, table, column) of every pg_trgm index.
POSTGRES_TRIGRAM_INDEXES = (
    ("ix_trgm_address_summaries_address", "address_summaries", "address"),
    ("ix_trgm_directory_users_name", "directory_users", "name"),
    ("ix_trgm_directory_users_company", "directory_users", "company"),
    ("ix_trgm_directory_users_user_id", "directory_users", "user_id"),
)

# Everything above, for a schema comparison that should not expect it among the models.
NOT_MODELLED = SQLITE_TABLES | {name for name, _table, _column in POSTGRES_TRIGRAM_INDEXES}


def address_search() -> TableClause:
    return table(ADDRESS_SEARCH, column("address"))


def people_search() -> TableClause:
    return table(PEOPLE_SEARCH, column("address"))


def matches(fts: TableClause, query: str) -> ColumnElement[bool]:
    """``fts MATCH query``: the rows of an FTS5 table that a full-text query finds."""
    return literal_column(fts.name).op("MATCH", is_comparison=True)(query)


def fts_phrase(term: str) -> str:
    """`term` as one FTS5 phrase: with the trigram tokenizer, a substring match."""
    return '"' + term.replace('"', '""') + '"'


def indexed(term: str) -> bool:
    """Whether the SQLite trigram tables can find `term` (else the search scans)."""
    return len(term) >= MIN_INDEXED_CHARS
