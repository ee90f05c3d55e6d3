"""Free-text search of the bounced list: the trigram indexes find exactly what LIKE finds.

The reference is the plain LIKE search the list did before the indexes (on PostgreSQL with
index scans turned off, so it really is the scan), run on the same database.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine, delete, text, update

from core.recipients.bounced import BouncedFilter, list_bounced
from core.recipients.directory import import_users_csv
from core.store import search
from core.store.tables import SUMMARIES, USERS
from tests.factories import OPS, ingest, make_bounce

PEOPLE = [  # address, user id, name, company
    ("sato.hanako@docomo.ne.jp", "U-0001", "佐藤 花子", "株式会社キューブ"),
    ("sato.taro@ezweb.ne.jp", "U-0002", "佐藤 太郎", "山田商事"),
    ("hanako.suzuki@gmail.com", "U-0003", "鈴木 花子", "テック工業"),
    ("Mixed.Case@Example.com", "U_0004", "Émile Zola", "ACME 100%"),
    ("john.smith@outlook.com", "U-0005", "John Smith", 'Globex "quoted"'),
    ("user01234.k@yahoo.co.jp", "U-01234", "高橋 翔", "丸紅物産"),
    ("user012340.info@yahoo.co.jp", "U-01235", None, None),
]
TERMS = [
    "佐藤 花子", "佐藤", "花子", "キューブ", "株式会社", "山田商事", "user01234", "USER01234",
    "yahoo.co.jp", "@gmail", "mixed.case", "MIXED", "émile", "ÉMILE", "zola", "100%", "%",
    "u_0", "U_", "_", "\"quoted\"", "quoted\"", "smith@", "ne.jp", "ab", "x", "no such person",
    "'; drop table", "U-0",
]  # fmt: skip


@pytest.fixture
def people(engine: Engine) -> Engine:
    for i, (address, *_rest) in enumerate(PEOPLE):
        ingest(engine, make_bounce([address], at=datetime(2026, 10, 1 + i, 12)))
    rows = "".join(f"{a},{u},{quoted(n)},{quoted(c)}\r\n" for a, u, n, c in PEOPLE)
    import_users_csv(engine, OPS, f"email,user_id,name,company\r\n{rows}".encode())
    return engine


def quoted(value: str | None) -> str:
    return '"' + (value or "").replace('"', '""') + '"'


def found(engine: Engine, term: str) -> set[str]:
    page = list_bounced(engine, BouncedFilter(text=term), page_size=100)
    assert page.total == len(page.rows)
    return {row.address for row in page.rows}


def like_scan(engine: Engine, term: str) -> set[str]:
    """The search without any index: LIKE over every address and directory entry."""
    pattern = "%" + term.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
    sqlite = engine.dialect.name == "sqlite"
    columns = ["s.address", "d.name", "d.company", "d.user_id"]
    match = " OR ".join(
        f"{c} LIKE :p ESCAPE '/'" if sqlite else f"lower({c}) LIKE lower(:p) ESCAPE '/'"
        for c in columns
    )
    query = text(
        "SELECT s.address FROM address_summaries s "
        f"LEFT JOIN directory_users d ON d.address = s.address WHERE {match}"
    )
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL enable_indexscan = off"))
            connection.execute(text("SET LOCAL enable_bitmapscan = off"))
        return set(connection.scalars(query, {"p": pattern}))


def test_search_finds_the_rows_a_plain_like_finds_for_every_term(people: Engine) -> None:
    for term in TERMS:
        assert found(people, term) == like_scan(people, term), term
    # The comparison is not vacuous: Japanese names and addresses are found.
    assert found(people, "佐藤 花子") == {"sato.hanako@docomo.ne.jp"}
    assert found(people, "花子") == {"sato.hanako@docomo.ne.jp", "hanako.suzuki@gmail.com"}
    assert found(people, "user01234") == {
        "user01234.k@yahoo.co.jp",
        "user012340.info@yahoo.co.jp",
    }
    assert found(people, "no such person") == set()


def test_the_sqlite_trigram_tables_follow_directory_changes_and_deletes(
    sqlite_engine: Engine,
) -> None:
    ingest(sqlite_engine, make_bounce(["kato@docomo.ne.jp"], at=datetime(2026, 10, 1, 12)))
    import_users_csv(
        sqlite_engine, OPS, b"email,user_id,name\r\nkato@docomo.ne.jp,U-9,Kato Ken\r\n"
    )
    assert found(sqlite_engine, "kato ken") == {"kato@docomo.ne.jp"}
    with sqlite_engine.begin() as connection:
        connection.execute(update(USERS).values(name="加藤 健"))
    assert found(sqlite_engine, "kato ken") == set()
    assert found(sqlite_engine, "加藤 健") == {"kato@docomo.ne.jp"}
    with sqlite_engine.begin() as connection:
        connection.execute(delete(USERS))
        people = connection.scalar(text(f"SELECT count(*) FROM {search.PEOPLE_SEARCH}"))
        connection.execute(delete(SUMMARIES))
        addresses = connection.scalar(text(f"SELECT count(*) FROM {search.ADDRESS_SEARCH}"))
    assert (people, addresses) == (0, 0)


def test_sqlite_searches_through_the_trigram_tables(sqlite_engine: Engine) -> None:
    """A row only the trigram table knows is a candidate, and LIKE still has the last word:
    proof that the index is consulted, and that it never widens the answer."""
    ingest(sqlite_engine, make_bounce(["real@example.com"], at=datetime(2026, 10, 1, 12)))
    with sqlite_engine.begin() as connection:
        connection.execute(text(f"DELETE FROM {search.ADDRESS_SEARCH}"))
    assert found(sqlite_engine, "real@") == set(), "the address table is searched via FTS5"
    assert found(sqlite_engine, "re") == {"real@example.com"}, "two characters: a plain scan"


def test_postgresql_can_answer_a_japanese_search_from_its_trigram_index(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("pg_trgm is PostgreSQL's")
    query = text(
        "EXPLAIN SELECT name FROM directory_users WHERE lower(name) LIKE lower(:p) ESCAPE '/'"
    )
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(connection.scalars(query, {"p": "%佐藤 花子%"}))
    assert "ix_trgm_directory_users_name" in plan
