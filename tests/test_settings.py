"""core.settings: read once, validated at start-up, from the environment and a TOML file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.cli.main import main
from core.errors import SettingsError
from core.settings import load_settings

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-notifications"


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No BOUNCEDESK_* variable and no bouncedesk.toml from the machine running the tests."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("BOUNCEDESK_"):
            monkeypatch.delenv(name)


def error_for(**env: str) -> str:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        with pytest.raises(SettingsError) as caught:
            load_settings()
    return str(caught.value)


def test_the_defaults_need_no_configuration() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///data/bouncedesk.db"
    assert (settings.verify_sns_file, settings.verify_sns_sqs) == ("off", "when_present")
    assert settings.ingest_batch_size == 5000


def test_a_wrong_verify_mode_names_the_setting_and_the_accepted_values() -> None:
    message = error_for(BOUNCEDESK_VERIFY_SNS_SQS="sometimes")
    assert "verify_sns_sqs" in message and "BOUNCEDESK_VERIFY_SNS_SQS" in message
    assert "'off', 'when_present' or 'required'" in message


def test_an_unknown_database_names_the_setting_and_the_accepted_urls() -> None:
    message = error_for(BOUNCEDESK_DATABASE_URL="oracle://scott@db/orcl")
    assert "BOUNCEDESK_DATABASE_URL" in message
    assert "sqlite:///PATH" in message and "postgresql+psycopg://" in message


def test_a_batch_size_out_of_range_names_the_setting_and_its_bounds() -> None:
    message = error_for(BOUNCEDESK_INGEST_BATCH_SIZE="0")
    assert "ingest_batch_size" in message and "greater than or equal to 1" in message
    message = error_for(BOUNCEDESK_INGEST_BATCH_SIZE="lots")
    assert "ingest_batch_size" in message and "integer" in message


def test_every_wrong_value_is_reported_at_once() -> None:
    message = error_for(BOUNCEDESK_VERIFY_SNS_FILE="yes", BOUNCEDESK_AWS_MAX_ATTEMPTS="99")
    assert "verify_sns_file" in message and "aws_max_attempts" in message


def test_a_wrong_value_stops_the_command_with_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOUNCEDESK_VERIFY_SNS_FILE", "maybe")
    assert main(["ingest", "-"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: invalid configuration")
    assert "BOUNCEDESK_VERIFY_SNS_FILE" in err


def test_settings_are_read_from_the_toml_file_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "conf" / "desk.toml"
    config.parent.mkdir()
    config.write_text(
        'database_url = "postgresql+psycopg://desk@db/desk"\n'
        'verify_sns_sqs = "required"\n'
        f"sns_topic_arns = [{TOPIC!r}]\n"
        "ingest_batch_size = 250\n"
    )
    monkeypatch.setenv("BOUNCEDESK_CONFIG_FILE", str(config))
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://desk@db/desk"
    assert (settings.verify_sns_sqs, settings.ingest_batch_size) == ("required", 250)


def test_the_environment_overrides_the_toml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "desk.toml"
    config.write_text(
        f'verify_sns_sqs = "required"\nsns_topic_arns = ["{TOPIC}"]\ningest_batch_size = 250\n'
    )
    monkeypatch.setenv("BOUNCEDESK_CONFIG_FILE", str(config))
    monkeypatch.setenv("BOUNCEDESK_INGEST_BATCH_SIZE", "1000")
    settings = load_settings()
    assert settings.ingest_batch_size == 1000
    assert settings.verify_sns_sqs == "required"
    assert load_settings(ingest_batch_size=7).ingest_batch_size == 7  # then the command line


def test_bouncedesk_toml_in_the_working_directory_is_used_by_default(tmp_path: Path) -> None:
    (tmp_path / "bouncedesk.toml").write_text('verify_sns_file = "when_present"\n')
    assert load_settings().verify_sns_file == "when_present"


def test_a_wrong_value_in_the_toml_file_is_reported_like_one_in_the_environment(
    tmp_path: Path,
) -> None:
    (tmp_path / "bouncedesk.toml").write_text('verify_sns_lambda = "strict"\n')
    with pytest.raises(SettingsError, match="verify_sns_lambda"):
        load_settings()


def test_a_misspelt_key_in_the_toml_file_is_an_error_not_silently_ignored(
    tmp_path: Path,
) -> None:
    (tmp_path / "bouncedesk.toml").write_text('databse_url = "sqlite:///x.db"\n')
    with pytest.raises(SettingsError, match="databse_url"):
        load_settings()


def test_a_config_file_that_does_not_exist_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOUNCEDESK_CONFIG_FILE", str(tmp_path / "nowhere.toml"))
    with pytest.raises(SettingsError, match="nowhere.toml"):
        load_settings()


@pytest.mark.parametrize("setting", ["verify_sns_sqs", "verify_sns_lambda"])
def test_required_signatures_on_a_network_entry_point_need_the_topic_allowlist(
    setting: str,
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(**{setting: "required"})
    message = str(caught.value)
    assert "sns_topic_arns" in message and "BOUNCEDESK_SNS_TOPIC_ARNS" in message
    assert f"{setting} = required" in message
    assert load_settings(**{setting: "required", "sns_topic_arns": [TOPIC]}).sns_topic_arns == [
        TOPIC
    ]


def test_the_topic_allowlist_is_read_from_the_environment_as_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOUNCEDESK_SNS_TOPIC_ARNS", f'["{TOPIC}"]')
    monkeypatch.setenv("BOUNCEDESK_VERIFY_SNS_LAMBDA", "required")
    assert load_settings().sns_topic_arns == [TOPIC]


@pytest.mark.parametrize(
    "arn", ["ses-notifications", "arn:aws:sqs:us-east-1:123456789012:queue", TOPIC + "\n"]
)
def test_a_topic_allowlist_entry_that_is_not_an_sns_topic_arn_is_refused(arn: str) -> None:
    with pytest.raises(SettingsError, match="is not an SNS topic ARN"):
        load_settings(sns_topic_arns=[arn])


def test_language_and_display_timezone_follow_the_browser_unless_set() -> None:
    settings = load_settings()
    assert (settings.language, settings.display_timezone) == ("auto", "auto")
    chosen = load_settings(language="ja", display_timezone="Asia/Tokyo")
    assert (chosen.language, chosen.display_timezone) == ("ja", "Asia/Tokyo")


def test_an_unknown_language_or_time_zone_names_the_setting() -> None:
    assert "BOUNCEDESK_LANGUAGE" in error_for(BOUNCEDESK_LANGUAGE="fr")
    message = error_for(BOUNCEDESK_DISPLAY_TIMEZONE="Asia/Tokio")
    assert "BOUNCEDESK_DISPLAY_TIMEZONE" in message and "IANA" in message
