"""The database URL from a Secrets Manager secret (core/database_secret.py), against moto."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from sqlalchemy.engine import make_url

from core.database_secret import read_secret, url_from_secret_string
from core.errors import SettingsError
from core.settings import load_settings

REGION = "eu-west-1"
URL = "postgresql+psycopg://desk:s3cr%40t@db.example.internal:5432/bouncedesk"


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("AWS_", "BOUNCEDESK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    read_secret.cache_clear()
    with mock_aws():
        yield
    read_secret.cache_clear()


def make_secret(value: str, name: str = "bouncedesk/database") -> str:
    client = boto3.client("secretsmanager", region_name=REGION)
    return client.create_secret(Name=name, SecretString=value)["ARN"]


def test_a_secret_holding_a_url_becomes_the_database_url() -> None:
    arn = make_secret(URL)
    settings = load_settings(database_secret_arn=arn)
    assert settings.database_url == URL


def test_the_secret_is_read_once_per_process_even_when_settings_load_again() -> None:
    arn = make_secret(URL)
    assert load_settings(database_secret_arn=arn).database_url == URL
    client = boto3.client("secretsmanager", region_name=REGION)
    client.put_secret_value(SecretId=arn, SecretString="sqlite:///elsewhere.db")
    assert load_settings(database_secret_arn=arn).database_url == URL
    read_secret.cache_clear()  # a new process (a Lambda cold start) reads the new value
    assert load_settings(database_secret_arn=arn).database_url == "sqlite:///elsewhere.db"


def test_a_json_secret_with_a_url_key_is_understood() -> None:
    arn = make_secret(json.dumps({"url": URL}))
    assert load_settings(database_secret_arn=arn).database_url == URL


def test_an_rds_shaped_secret_builds_the_url_with_the_driver_for_its_engine() -> None:
    fields = {
        "engine": "mariadb",
        "host": "db.example.internal",
        "port": 3306,
        "username": "desk",
        "password": "p@ss:word/#",
        "dbname": "bouncedesk",
    }
    settings = load_settings(database_secret_arn=make_secret(json.dumps(fields)))
    assert settings.database_url.startswith("mysql+pymysql://desk:")
    assert settings.database_url.endswith("@db.example.internal:3306/bouncedesk")
    assert make_url(settings.database_url).password == "p@ss:word/#"


def test_an_rds_managed_secret_takes_the_server_from_database_url() -> None:
    secret = json.dumps({"username": "desk", "password": "hunter2"})
    settings = load_settings(
        database_secret_arn=make_secret(secret),
        database_url="postgresql+psycopg://db.example.internal:5432/bouncedesk",
    )
    assert settings.database_url == (
        "postgresql+psycopg://desk:hunter2@db.example.internal:5432/bouncedesk"
    )


def test_credentials_alone_without_a_server_are_refused_naming_the_setting() -> None:
    secret = json.dumps({"username": "desk", "password": "hunter2"})
    with pytest.raises(SettingsError) as raised:
        load_settings(database_secret_arn=make_secret(secret))
    assert "BOUNCEDESK_DATABASE_SECRET_ARN" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_a_missing_secret_is_a_settings_error_that_says_which_permission_is_needed() -> None:
    arn = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:absent-AbCdEf"
    with pytest.raises(SettingsError, match="secretsmanager:GetSecretValue"):
        load_settings(database_secret_arn=arn)


def test_a_value_that_is_not_a_secret_arn_is_refused_before_any_call() -> None:
    with pytest.raises(SettingsError, match="not a Secrets Manager secret ARN"):
        load_settings(database_secret_arn="bouncedesk/database")


def test_a_secret_url_for_an_unknown_database_is_refused_without_quoting_it() -> None:
    arn = make_secret("oracle://desk:hunter2@db/x")
    with pytest.raises(SettingsError) as raised:
        load_settings(database_secret_arn=arn)
    assert "hunter2" not in str(raised.value)
    assert "accepted values" in str(raised.value)


def test_a_json_secret_that_does_not_parse_is_refused_without_quoting_it() -> None:
    with pytest.raises(ValueError) as raised:
        url_from_secret_string('{"password": "hunter2"')
    assert "hunter2" not in str(raised.value)
