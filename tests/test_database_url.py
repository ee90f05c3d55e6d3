"""core.database_url: the database URL checked at start-up and shown without its secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.cli.main import main
from core.database_url import describe_database_url
from core.errors import SettingsError
from core.settings import load_settings

SECRET = "hunter2tail"


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("BOUNCEDESK_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql+psycopg://desk:{SECRET}@db.corp.example:5433/desk", "postgresql://db.corp.example/desk"),
        (f"postgresql://desk@db.corp.example/desk?password={SECRET}", "postgresql://db.corp.example/desk"),
        (f"mysql+pymysql://desk@db.corp.example/desk?passwd={SECRET}&charset=utf8mb4", "mysql://db.corp.example/desk"),
        (f"mariadb://desk:{SECRET}@db.corp.example/desk", "mariadb://db.corp.example/desk"),
        ("sqlite:///data/bouncedesk.db", "sqlite:///data/bouncedesk.db"),
        ("sqlite://", "sqlite://"),
    ],
)  # fmt: skip
def test_the_description_shows_the_backend_host_and_database_only(url: str, shown: str) -> None:
    assert describe_database_url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://desk:hunter@2tail@db.corp.example/desk",  # the tail would be the host
        "postgresql://desk:hunter@2:tail@db.corp.example/desk",  # the tail would be the port
        "postgresql:/desk:hunter2tail",
        "postgresql+nodriver://desk:hunter2tail@db.corp.example/desk",
        "postgresql://desk:hunter2tail@db.corp.example:99999/desk",
    ],
)
def test_a_malformed_database_url_is_a_settings_error_that_quotes_none_of_it(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOUNCEDESK_DATABASE_URL", url)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "BOUNCEDESK_DATABASE_URL" in message
    assert "tail" not in message and "desk" not in message
    assert "tail" not in describe_database_url(url)
    assert main(["audit", "list"]) == 2  # the settings error, not a traceback
    err = capsys.readouterr().err
    assert err.startswith("error: invalid configuration") and "tail" not in err


def test_an_at_sign_in_a_password_is_accepted_percent_encoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "postgresql+psycopg://desk:hunter%402tail@db.corp.example/desk"
    monkeypatch.setenv("BOUNCEDESK_DATABASE_URL", url)
    assert load_settings().database_url == url
    assert describe_database_url(url) == "postgresql://db.corp.example/desk"
