"""The emulator's README promises only what exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emulator.__main__ import build_parser
from emulator.admin_app import AdminApp
from emulator.sesv2_app import ROUTES
from emulator.state import EmulatorState

README = (Path(__file__).resolve().parents[2] / "emulator" / "README.md").read_text(
    encoding="utf-8"
)


def test_every_admin_endpoint_in_the_readme_exists() -> None:
    routes = AdminApp(EmulatorState())._routes
    documented = re.findall(r"`(GET|POST|DELETE) /_emulator/(\w+)`", README)
    assert documented
    assert {(method, name) for method, name in documented} == set(routes)


def test_every_cli_option_in_the_readme_exists(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    known = set(re.findall(r"(--[a-z-]+)", capsys.readouterr().out))
    documented = set(re.findall(r"`(--[a-z-]+)", README))
    assert documented <= known
    assert known - {"-h", "--help"} <= documented


def test_every_emulated_sesv2_operation_is_documented() -> None:
    assert all(operation in README for _, _, operation in ROUTES)
