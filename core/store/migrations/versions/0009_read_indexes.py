"""read indexes: trigram search (SQLite FTS5, PostgreSQL pg_trgm)

The bounced list's free-text search scanned every address and directory entry. SQLite gets
two FTS5 tables with the trigram tokenizer, filled from the existing rows and kept by
triggers; PostgreSQL gets pg_trgm GIN indexes on lower(column), which its LIKE uses as they
are. MariaDB has no substring index (FULLTEXT matches words; there is no n-gram parser in
MariaDB), so it keeps scanning. See core/store/search.py.

Revision ID: 0009_read_indexes
Revises: 0008_retention
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_read_indexes"
down_revision: str | Sequence[str] | None = "0008_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of core/store/search.py's names: a migration never changes with the code.
TRIGRAM_INDEXES = (
    ("ix_trgm_address_summaries_address", "address_summaries", "address"),
    ("ix_trgm_directory_users_name", "directory_users", "name"),
    ("ix_trgm_directory_users_company", "directory_users", "company"),
    ("ix_trgm_directory_users_user_id", "directory_users", "user_id"),
)

# A phrase query for one address, to find its rows in the trigram table through the index
# (`rowid` is no key: VACUUM may renumber the rowids of a table without an integer key).
_PHRASE = "'\"' || replace({v}, '\"', '\"\"') || '\"'"
_DELETE_PERSON = (
    "DELETE FROM search_people WHERE search_people MATCH 'address : ' || "
    + _PHRASE.format(v="old.address")
    + " AND address = old.address;"
)

SQLITE = [
    "CREATE VIRTUAL TABLE search_addresses USING fts5("
    "address, tokenize = 'trigram case_sensitive 0')",
    "CREATE VIRTUAL TABLE search_people USING fts5("
    "address, name, company, user_id, tokenize = 'trigram case_sensitive 0')",
    "INSERT INTO search_addresses (address) SELECT address FROM address_summaries",
    "INSERT INTO search_people (address, name, company, user_id) "
    "SELECT address, name, company, user_id FROM directory_users",
    # Summaries are inserted once per address and never change address: an upsert that
    # updates fires no INSERT trigger, so ingest pays only for new addresses.
    "CREATE TRIGGER search_addresses_insert AFTER INSERT ON address_summaries BEGIN "
    "INSERT INTO search_addresses (address) VALUES (new.address); END",
    "CREATE TRIGGER search_addresses_delete AFTER DELETE ON address_summaries BEGIN "
    "DELETE FROM search_addresses WHERE search_addresses MATCH "
    + _PHRASE.format(v="old.address")
    + " AND address = old.address; END",
    "CREATE TRIGGER search_people_insert AFTER INSERT ON directory_users BEGIN "
    "INSERT INTO search_people (address, name, company, user_id) "
    "VALUES (new.address, new.name, new.company, new.user_id); END",
    "CREATE TRIGGER search_people_update AFTER UPDATE OF name, company, user_id "
    "ON directory_users WHEN old.name IS NOT new.name OR old.company IS NOT new.company "
    "OR old.user_id IS NOT new.user_id BEGIN "
    + _DELETE_PERSON
    + " INSERT INTO search_people (address, name, company, user_id) "
    "VALUES (new.address, new.name, new.company, new.user_id); END",
    "CREATE TRIGGER search_people_delete AFTER DELETE ON directory_users BEGIN "
    + _DELETE_PERSON
    + " END",
]



def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE:
            op.execute(statement)
    elif dialect == "postgresql":
        # pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, column in TRIGRAM_INDEXES:
            op.execute(
                f"CREATE INDEX {name} ON {table} USING gin (lower({column}) gin_trgm_ops)"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in (
            "search_addresses_insert",
            "search_addresses_delete",
            "search_people_insert",
            "search_people_update",
            "search_people_delete",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_addresses")
        op.execute("DROP TABLE IF EXISTS search_people")
    elif dialect == "postgresql":
        for name, _table, _column in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
