"""Fixtures for the SES emulator's tests: real servers on 127.0.0.1, real boto3 clients.

The emulators are module-scoped rather than session-scoped: moto keeps its data in
process-global backends, and a ``mock_aws`` test elsewhere in the run resets them, so each
module that relies on moto-held data starts its own emulator and uses it contiguously.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from emulator.launch import EmulatorHandle, running_emulator
from tests.conftest import load_fixture


@pytest.fixture(scope="session")
def load_sample() -> Callable[[str], Any]:
    """A loader for the AWS payloads in ../shared/samples (the test skips, saying so, where
    ../shared is absent)."""
    return load_fixture


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    """An unseeded emulator, no throttling, fast import jobs."""
    with running_emulator(seed="none", resource_name="bouncedesk-test") as handle:
        yield handle


@pytest.fixture
def clean(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    """The module's emulator with an empty suppression list, no faults, no rate limit."""
    emulator.state.reset()
    emulator.state.set_request_rate(None)
    yield emulator
    emulator.state.reset()
    emulator.state.set_request_rate(None)


@pytest.fixture
def sesv2(clean: EmulatorHandle) -> Any:
    """An SESv2 client that does not retry, so throttling and faults stay visible."""
    return clean.client("sesv2", retries=1)


@pytest.fixture(scope="module")
def demo_now() -> datetime:
    """When the module's demo account is seeded: its tests measure windows from this moment,
    not from the clock (which may have passed midnight since)."""
    return datetime.now(UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_now: datetime) -> Iterator[EmulatorHandle]:
    """An emulator seeded with the demo account (files in a temporary directory)."""
    data_dir = tmp_path_factory.mktemp("demo")
    with running_emulator(seed="demo", data_dir=data_dir, now=demo_now) as handle:
        yield handle
