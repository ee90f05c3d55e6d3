"""How the store reports database errors: bad input is not an outage."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine, insert, select

from core.errors import InvalidInput, StoreUnavailable
from core.store.db import translated_errors
from core.store.models import DirectoryUser

NOW = datetime(2026, 10, 1, 12)


def test_a_value_the_database_refuses_is_bad_input_not_an_unreachable_database(
    engine: Engine,
) -> None:
    row = {
        "address": "a@example.com",
        "email": "a@example.com",
        "name": "An\x00n",
        "imported_at": NOW,
    }
    if engine.dialect.name != "postgresql":
        # SQLite and MariaDB store U+0000; only PostgreSQL text refuses it.
        with translated_errors(), engine.begin() as connection:
            connection.execute(insert(DirectoryUser.__table__), [row])
        with engine.connect() as connection:
            assert connection.scalar(select(DirectoryUser.name)) == "An\x00n"
        return
    refused = pytest.raises(InvalidInput, match="NUL")
    with refused as caught, translated_errors(), engine.begin() as connection:
        connection.execute(insert(DirectoryUser.__table__), [row])
    assert not isinstance(caught.value, StoreUnavailable)
