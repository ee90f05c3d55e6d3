"""Fixtures for page tests: a seeded temporary SQLite database, pages run with AppTest, and an
in-process SES emulator for the tests that reach SES.

Pages are run directly (``AppTest.from_file("pages/x.py")``): they are self-contained scripts,
and AppTest re-detects a ``pages/`` folder on every run, which would otherwise bypass the
router's st.navigation. `test_dashboard.py` runs the router itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from pagekit import ACTOR, ROOT, TIMEOUT  # noqa: F401 - the project root goes on sys.path
from sqlalchemy import Engine

from core.local_mode import DEFAULT_SERVER_OPTIONS
from core.store.db import make_engine


def _clear_streamlit_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def server_address(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """What st.get_option answers for the server's address (loopback) and the options local
    mode checks (as a laptop runs it) unless a test changes them, whatever folder the tests
    run from (.streamlit/config.toml is read from there)."""
    answer: dict[str, object] = {"server.address": "127.0.0.1", **DEFAULT_SERVER_OPTIONS}
    original = st.get_option

    def get_option(key: str) -> object:
        return answer[key] if key in answer else original(key)

    monkeypatch.setattr(st, "get_option", get_option)
    return answer


@pytest.fixture
def request_headers(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The websocket request headers st.context.headers answers (a browser's), which
    AppTest cannot seed: a test fills the dict before running a page."""
    from streamlit.runtime.context import ContextProxy, StreamlitHeaders

    headers: dict[str, str] = {}
    monkeypatch.setattr(
        ContextProxy, "headers", property(lambda _self: StreamlitHeaders(headers.items()))
    )
    return headers


@pytest.fixture
def db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server_address: dict[str, object]
) -> Iterator[Engine]:
    """An empty, migrated database the pages will use, and the environment that names it."""
    url = f"sqlite:///{tmp_path / 'pages.db'}"
    monkeypatch.setenv("BOUNCEDESK_DATABASE_URL", url)
    monkeypatch.setenv("BOUNCEDESK_DEMO", "false")
    monkeypatch.setenv("BOUNCEDESK_ACTOR", ACTOR)
    monkeypatch.setenv("BOUNCEDESK_SES_REQUEST_RATE", "50")
    monkeypatch.setenv("BOUNCEDESK_CONFIG_FILE", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    _clear_streamlit_caches()
    engine = make_engine(url)
    yield engine
    engine.dispose()
    _clear_streamlit_caches()


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    """An in-process emulator per module: moto's backends are process-global and a
    ``mock_aws`` test elsewhere in the run resets them (as tests/emulator does)."""
    from emulator.launch import running_emulator

    with running_emulator(seed="none", resource_name="bouncedesk-pages") as handle:
        yield handle


@pytest.fixture
def aws(emulator: Any, db: Engine, monkeypatch: pytest.MonkeyPatch) -> Any:
    """AWS variables pointing at the emulator, with its suppression list emptied."""
    for name, value in emulator.environment().items():
        monkeypatch.setenv(name, value)
    emulator.state.reset()
    _clear_streamlit_caches()
    return emulator


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Deferred download callables by file name: what a click on Download would produce.

    AppTest cannot click a download in a browser; this records what each download button
    registered so a test can run it (the browser journeys download for real).
    """
    from streamlit.runtime.media_file_manager import MediaFileManager

    found: dict[str, Any] = {}
    original = MediaFileManager.add_deferred

    def spy(
        self: Any, data_callable: Any, mimetype: Any, coordinates: str, *args: Any, **kw: Any
    ) -> str:
        name = kw.get("file_name") or (args[0] if args else None)
        found[str(name)] = data_callable
        return original(self, data_callable, mimetype, coordinates, *args, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return found
