"""deploy/container/start.py: local mode's rule decided before the container serves."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy" / "container"))
import start  # noqa: E402  (the container's entry point: a script, not a package)

CONFIG = '[server]\naddress = "127.0.0.1"\nheadless = true\n'


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith("BOUNCEDESK_"):
            monkeypatch.delenv(name)
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text(CONFIG, encoding="utf-8")
    yield tmp_path


def test_the_environment_overrides_config_toml_as_streamlit_run_reads_it(app: Path) -> None:
    options = start.server_options(
        app / ".streamlit" / "config.toml",
        {"STREAMLIT_SERVER_ADDRESS": "0.0.0.0", "STREAMLIT_SERVER_ENABLE_CORS": "false"},
    )
    assert options["server.address"] == "0.0.0.0"
    assert options["server.enableCORS"] is False
    assert options["server.port"] == 8501
    assert start.server_options(app / ".streamlit" / "config.toml", {})["server.address"] == (
        "127.0.0.1"
    )


def test_without_sign_in_every_interface_is_refused_and_loopback_allowed(app: Path) -> None:
    refusal = start.refusal(app, {"STREAMLIT_SERVER_ADDRESS": "0.0.0.0"})
    assert refusal is not None and "[auth]" in refusal
    assert start.refusal(app, {"STREAMLIT_SERVER_ADDRESS": "127.0.0.1"}) is None


def test_a_changed_port_on_loopback_needs_local_mode_said(
    app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {"STREAMLIT_SERVER_ADDRESS": "127.0.0.1", "STREAMLIT_SERVER_PORT": "9000"}
    refusal = start.refusal(app, environ)
    assert refusal is not None and "BOUNCEDESK_LOCAL_MODE" in refusal
    monkeypatch.setenv("BOUNCEDESK_LOCAL_MODE", "true")
    assert start.refusal(app, environ) is None


def test_an_auth_section_in_secrets_toml_lets_it_serve_every_interface(app: Path) -> None:
    (app / ".streamlit" / "secrets.toml").write_text('[auth]\nclient_id = "x"\n', "utf-8")
    assert start.refusal(app, {"STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}) is None
    (app / ".streamlit" / "secrets.toml").write_text('[other]\nkey = "x"\n', "utf-8")
    assert start.refusal(app, {"STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}) is not None
