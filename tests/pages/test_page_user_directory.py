"""User directory: import a CSV, report rejected rows, and show users on bounced rows."""

from __future__ import annotations

from factories import ingest, make_bounce
from pagekit import assert_clean, run_page
from sqlalchemy import Engine

from core.recipients.directory import directory_size

USERS = (
    "email,user_id,name,company\n"
    "tanaka@example.co.jp,1001,田中 愛,双葉ネットワークス株式会社\n"
    "not-an-address,1002,Bad Row,\n"
    "tanaka@example.co.jp,1003,Again,\n"
    "sato@example.co.jp,1004,佐藤 和也,株式会社いろは設計\n"
).encode("cp932")


def test_importing_users_reports_what_went_in_and_each_rejected_row(db: Engine):
    at = run_page("user_directory")
    assert at.metric[0].value == "0"
    at.file_uploader(key="ud_file").set_value(("users.csv", USERS, "text/csv")).run()
    at.button(key="ud_import").click().run()
    assert_clean(at)
    assert [w.value for w in at.warning] == ["2 users added, 0 updated, 2 rows rejected."]
    rejected = at.dataframe[0].value
    assert list(rejected["line"]) == [3, 4]
    assert "not a valid email address" in rejected["reason"][0]
    assert "duplicate of line 2" in rejected["reason"][1]
    assert directory_size(db) == 2
    assert at.metric[0].value == "2"


def test_imported_users_appear_on_the_bounced_list(db: Engine):
    ingest(db, make_bounce(["sato@example.co.jp"]))
    at = run_page("user_directory")
    at.file_uploader(key="ud_file").set_value(("users.csv", USERS, "text/csv")).run()
    at.button(key="ud_import").click().run()
    bounced = run_page("bounced_users").dataframe(key="bu_table").value
    assert bounced.iloc[0]["name"] == "佐藤 和也"
    assert bounced.iloc[0]["company"] == "株式会社いろは設計"


def test_the_import_button_waits_for_a_file(db: Engine):
    at = run_page("user_directory")
    assert at.button(key="ud_import").disabled
