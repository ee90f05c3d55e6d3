"""Importing the product's user directory from the CSV files people actually have."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import Engine, select

from core.errors import InvalidInput
from core.recipients.directory import RejectedRow, directory_size, import_users_csv
from core.store.models import DirectoryUser
from tests.factories import OPS


def users(engine: Engine) -> dict[str, tuple[str | None, str | None, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                DirectoryUser.address,
                DirectoryUser.user_id,
                DirectoryUser.name,
                DirectoryUser.company,
            )
        )
        return {address: (user_id, name, company) for address, user_id, name, company in rows}


def test_columns_may_come_in_any_order_after_a_bom_with_japanese_text(engine: Engine) -> None:
    data = "\ufeffCompany,Name,Email,User_ID\r\n株式会社キューブ,山田 太郎,Taro@Qube.CO.JP,U-1\r\n"
    report = import_users_csv(engine, OPS, io.BytesIO(data.encode("utf-8")))
    assert (report.imported, report.updated, report.rejected) == (1, 0, [])
    assert users(engine) == {"Taro@qube.co.jp": ("U-1", "山田 太郎", "株式会社キューブ")}


def test_a_file_without_a_header_is_read_as_email_user_id_name_company(engine: Engine) -> None:
    report = import_users_csv(engine, OPS, b"a@example.com,7,Ann,Acme\nb@example.com,8,Bob,\n")
    assert report.imported == 2
    assert users(engine)["b@example.com"] == ("8", "Bob", None)


def test_japanese_header_names_and_shift_jis_from_excel_are_understood(engine: Engine) -> None:
    data = "メールアドレス,氏名,会社名\r\nhanako@example.jp,佐藤 花子,キューブ商事\r\n"
    report = import_users_csv(engine, OPS, data.encode("cp932"))
    assert report.imported == 1
    assert users(engine)["hanako@example.jp"] == (None, "佐藤 花子", "キューブ商事")


def test_bad_addresses_and_duplicates_are_rejected_with_line_and_reason(engine: Engine) -> None:
    data = (
        b"email,name\n"
        b"ok@example.com,One\n"
        b"not-an-address,Two\n"
        b"\n"
        b",Nobody\n"
        b"two@example.com,Three\n"
        b"ok@example.COM,Four\n"
    )
    report = import_users_csv(engine, OPS, data)
    assert report.imported == 2
    assert report.rejected == [
        RejectedRow(3, "not a valid email address: 'not-an-address'"),
        RejectedRow(5, "no email address"),
        RejectedRow(7, "duplicate of line 2 (ok@example.com)"),
    ]
    assert users(engine)["ok@example.com"] == (None, "One", None)


def test_reimporting_updates_users_and_leaves_columns_the_file_lacks(engine: Engine) -> None:
    import_users_csv(engine, OPS, b"email,user_id,name,company\na@example.com,1,Ann,Acme\n")
    report = import_users_csv(
        engine, OPS, b"email,company\na@example.com,Acme Japan\nb@example.com,B\n"
    )
    assert (report.imported, report.updated) == (1, 1)
    assert users(engine)["a@example.com"] == ("1", "Ann", "Acme Japan")
    assert directory_size(engine) == 2


def test_a_header_without_an_email_column_is_refused(engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="email"):
        import_users_csv(engine, OPS, b"login,full name\nann,Ann\n")
    assert directory_size(engine) == 0


def test_an_empty_file_imports_nothing(engine: Engine) -> None:
    assert import_users_csv(engine, OPS, b"").imported == 0


def test_a_nul_byte_in_a_cell_rejects_that_row_and_imports_the_others(engine: Engine) -> None:
    # PostgreSQL text cannot hold U+0000; one bad cell must not fail the whole import.
    data = b"email,name\na@example.com,Ann\x00ie\nb@example.com,Bob\n"
    report = import_users_csv(engine, OPS, data)
    assert (report.imported, report.updated) == (1, 0)
    assert report.rejected == [RejectedRow(2, "name contains a NUL character")]
    assert users(engine) == {"b@example.com": (None, "Bob", None)}
