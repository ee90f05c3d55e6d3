"""The dashboard container: it builds on a local base (no registry is reachable here), runs as
a non-root user, answers its HEALTHCHECK, serves the overview to headless Chromium on
127.0.0.1, and keeps local mode's rule: without sign-in it will not listen where other
machines reach it. compose.yaml is validated by Debian's docker-compose (1.29: Debian's
docker.io has no compose plugin).

Needs a Docker daemon (`dockerd --bridge=none`: every build and run uses the host network),
debootstrap for the base image, and docker-compose. With BOUNCEDESK_TEST_REQUIRE_DOCKER=1
(CI) a missing one fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.processes import in_fresh_thread

ROOT = Path(__file__).resolve().parent.parent
REQUIRE = os.environ.get("BOUNCEDESK_TEST_REQUIRE_DOCKER") == "1"
BASE = "bouncedesk-base:bookworm"
IMAGE = "bouncedesk:test"
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("docker")]


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"{reason} (BOUNCEDESK_TEST_REQUIRE_DOCKER=1)")
    pytest.skip(f"{reason}: the container tests are skipped")


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def image() -> str:
    if shutil.which("docker") is None:
        _unavailable("docker is not installed (apt-get install docker.io)")
    if docker("info", check=False, timeout=30).returncode != 0:
        _unavailable("no Docker daemon answers (start: dockerd --bridge=none)")
    if (
        shutil.which("debootstrap") is None
        and docker("image", "inspect", BASE, check=False).returncode
    ):
        _unavailable("debootstrap is not installed (apt-get install debootstrap)")
    base = subprocess.run(
        ["bash", str(ROOT / "deploy/container/local-base.sh"), BASE],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert base.returncode == 0, base.stdout + base.stderr
    started = time.monotonic()
    docker(
        "build", "--network", "host", "--build-arg", f"BASE_IMAGE={BASE}",
        "-t", IMAGE, str(ROOT), timeout=1800,
    )  # fmt: skip
    print(f"container build: {time.monotonic() - started:.0f} s")
    return IMAGE


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(name: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        state = json.loads(docker("inspect", "--format", "{{json .State}}", name).stdout)
        status = state.get("Health", {}).get("Status", "")
        if status == "healthy" or not state["Running"]:
            break
        time.sleep(1)
    return status


@pytest.fixture
def served(image: str) -> Iterator[str]:
    """The dashboard in the container on 127.0.0.1 of the host network; its URL."""
    port = _free_port()
    name = f"bouncedesk-test-{port}"
    docker(
        "run", "-d", "--name", name, "--network", "host", "--health-interval", "1s",
        "-e", "STREAMLIT_SERVER_ADDRESS=127.0.0.1", "-e", f"STREAMLIT_SERVER_PORT={port}",
        # A changed port is a deployment: local mode must be asked for (core.local_mode).
        "-e", "BOUNCEDESK_LOCAL_MODE=true", image,
    )  # fmt: skip
    try:
        status = _wait_healthy(name)
        assert status == "healthy", docker("logs", name, check=False).stderr[-3000:]
        yield f"http://127.0.0.1:{port}"
    finally:
        docker("rm", "-f", name, check=False)


def test_the_dockerfile_is_multi_stage_on_a_base_image_argument_defaulting_to_python_slim() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    (default,) = [line for line in text.splitlines() if line.startswith("ARG BASE_IMAGE=")]
    assert default.split("=", 1)[1].startswith("python:3.") and default.endswith("-slim")
    froms = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(froms) == 2 and all("${BASE_IMAGE}" in line for line in froms)
    assert "HEALTHCHECK" in text and "/_stcore/health" in text


def test_the_image_runs_as_a_user_that_is_not_root(image: str) -> None:
    configured = docker("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip()
    assert configured == "bouncedesk"
    uid = docker("run", "--rm", "--network", "host", "--entrypoint", "id", image, "-u").stdout
    assert int(uid) != 0


def test_the_image_runs_the_cli_that_compose_uses_for_migrations_and_jobs(image: str) -> None:
    """compose.yaml's migrate service runs `bouncedesk db upgrade` in this image, on /data."""
    upgraded = docker(
        "run", "--rm", "--network", "host", image, "bouncedesk", "db", "upgrade", timeout=120
    )  # fmt: skip
    assert upgraded.stdout.startswith("schema at revision ")


def test_it_answers_its_health_check_and_serves_the_overview_to_chromium(served: str) -> None:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    def overview_text() -> str:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                page = browser.new_page()
                page.goto(served, timeout=60_000)
                page.get_by_text("Bounce rate", exact=True).first.wait_for(timeout=60_000)
                return page.inner_text("body")
            finally:
                browser.close()

    body = in_fresh_thread(overview_text)
    assert "Bounce Desk cannot start" not in body
    assert "Sign-in is off, and" not in body


def test_without_sign_in_it_refuses_to_listen_for_other_machines_and_says_what_to_set(
    image: str,
) -> None:
    refused = docker("run", "--rm", "--network", "host", image, check=False, timeout=60)
    assert refused.returncode == 2
    assert "listens on 0.0.0.0" in refused.stderr
    assert "[auth]" in refused.stderr and "STREAMLIT_SERVER_ADDRESS=127.0.0.1" in refused.stderr


def test_with_sign_in_configured_it_serves_on_every_interface(image: str, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        '[auth]\nredirect_uri = "http://127.0.0.1/oauth2callback"\n'
        'cookie_secret = "a-test-secret"\nclient_id = "x"\nclient_secret = "y"\n'
        'server_metadata_url = "https://accounts.example.com/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    secrets.chmod(0o644)
    port = _free_port()
    name = f"bouncedesk-test-auth-{port}"
    docker(
        "run", "-d", "--name", name, "--network", "host", "--health-interval", "1s",
        "-e", f"STREAMLIT_SERVER_PORT={port}",
        "-v", f"{secrets}:/app/.streamlit/secrets.toml:ro", image,
    )  # fmt: skip
    try:
        assert _wait_healthy(name) == "healthy", docker("logs", name, check=False).stderr
    finally:
        docker("rm", "-f", name, check=False)


def test_compose_yaml_is_valid_and_runs_migrations_before_the_dashboard_and_the_jobs() -> None:
    if shutil.which("docker-compose") is None:
        _unavailable("docker-compose is not installed (apt-get install docker-compose)")
    env = {**os.environ, "POSTGRES_PASSWORD": "test", "AWS_REGION": "eu-west-1"}
    checked = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    services = yaml.safe_load(checked.stdout)["services"]
    assert set(services) == {"db", "migrate", "dashboard", "jobs"}
    assert services["migrate"]["command"] == ["bouncedesk", "db", "upgrade"]
    assert "jobs run-due" in " ".join(services["jobs"]["command"])
    for name in ("dashboard", "jobs"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    url = services["dashboard"]["environment"]["BOUNCEDESK_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://") and "@db:5432/" in url


def test_compose_refuses_to_start_without_the_database_password() -> None:
    if shutil.which("docker-compose") is None:
        _unavailable("docker-compose is not installed (apt-get install docker-compose)")
    env = {k: v for k, v in os.environ.items() if k not in {"POSTGRES_PASSWORD", "AWS_REGION"}}
    checked = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert checked.returncode != 0
    assert "POSTGRES_PASSWORD" in checked.stderr
