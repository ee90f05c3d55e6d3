"""Demo mode (ui.demo): when it starts, and what a first start puts in the database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.alerts.lifecycle import AlertFilter, list_alerts
from core.settings import load_settings
from core.store.db import make_engine
from core.store.models import DirectoryUser, Fact, SuppressedDestination
from ui.demo import aws_configured, demo_requested, ensure_demo


def test_the_demo_starts_only_when_no_aws_configuration_exists(tmp_path: Path):
    home = tmp_path  # no ~/.aws here
    assert demo_requested({}, home)
    assert not demo_requested({"AWS_PROFILE": "prod"}, home)
    assert not demo_requested({"BOUNCEDESK_AWS_REGION": "ap-northeast-1"}, home)
    assert not demo_requested({"AWS_ENDPOINT_URL_SESV2": "http://127.0.0.1:1"}, home)
    assert not demo_requested({"BOUNCEDESK_DEMO": "false"}, home)
    assert demo_requested({"BOUNCEDESK_DEMO": "true", "AWS_PROFILE": "prod"}, home)


def test_an_aws_profile_file_counts_as_configuration(tmp_path: Path):
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text("[default]\naws_access_key_id = x\n")
    assert aws_configured({}, tmp_path)
    assert not demo_requested({}, tmp_path)


def test_outside_demo_mode_the_settings_pass_through_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BOUNCEDESK_DEMO", "false")
    monkeypatch.setenv("BOUNCEDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    settings = load_settings()
    environment = ensure_demo(settings, tmp_path)
    assert not environment.active
    assert environment.settings is settings
    assert not (tmp_path / "emulator.json").exists()


def count(engine: object, table: object) -> int:
    with engine.connect() as connection:  # type: ignore[attr-defined]
        return int(connection.scalar(select(func.count()).select_from(table)))  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_first_demo_start_fills_its_own_database_and_a_restart_reuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(
        os,
        "environ",
        {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOUNCEDESK_"))},
    )
    os.environ["BOUNCEDESK_CONFIG_FILE"] = str(tmp_path / "none.toml")
    os.environ["BOUNCEDESK_DEMO"] = "true"  # whatever ~/.aws holds on this machine
    (tmp_path / "none.toml").write_text("")
    first = ensure_demo(load_settings(), tmp_path)
    try:
        assert first.active and first.seeded_now
        assert first.settings.database_url == f"sqlite:///{tmp_path.as_posix()}/bouncedesk.db"
        assert first.endpoint_url == first.handle.endpoint_url
        # The demo names the emulator only in its environment object, never in os.environ.
        assert not any(name.startswith("AWS_") for name in os.environ), "os.environ untouched"
        queues = first.client("sqs").list_queues()["QueueUrls"]
        assert first.queue_url in queues, "clients from the environment reach the emulator"
        engine = make_engine(first.settings.database_url)
        stored = count(engine, Fact.__table__)
        assert stored > 1000, first.notes
        assert count(engine, DirectoryUser.__table__) > 100
        assert count(engine, SuppressedDestination.__table__) > 10
        # The demo's bulk stream crosses the 2 % warning; the account as a whole does not.
        opened = {(a.rule, a.scope) for a in list_alerts(engine, AlertFilter())}
        assert ("bounce_rate_warning", "configuration_set:bulk") in opened, first.notes
        assert ("bounce_rate_warning", "account") not in opened
        assert sorted(first.gateway().list_configuration_sets()) == ["bulk", "qube-default"]
    finally:
        first.handle.stop()
    second = ensure_demo(load_settings(), tmp_path)
    try:
        assert second.active and not second.seeded_now
        assert count(engine, Fact.__table__) == stored, "a restart does not re-read the backlog"
    finally:
        second.handle.stop()
        engine.dispose()
