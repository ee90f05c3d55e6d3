"""The grid's own export stays off: tables are drawn only through ui/grid.py, which needs
`client.disableDataExport` (personal data leaves only through the audited exports)."""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from pagekit import ROOT, TIMEOUT
from streamlit.testing.v1 import AppTest

from ui import grid

TABLE_CALLS = {"dataframe", "data_editor", "table"}


def _sources() -> Iterator[Path]:
    yield ROOT / "dashboard.py"
    for folder in ("pages", "ui"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def _ui_modules(tree: ast.Module) -> set[str]:
    """Names bound by `from ui import ...`: their `.table(...)` is ours, not Streamlit's."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "ui"
        for alias in node.names
    }


def _table_calls(path: Path) -> list[str]:
    """`x.dataframe(...)` (st, a column, the sidebar...) and `from streamlit import dataframe`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    ours = _ui_modules(tree)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in TABLE_CALLS
            and not (isinstance(node.func.value, ast.Name) and node.func.value.id in ours)
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.func.attr}(")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("streamlit"):
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} import {alias.name}"
                for alias in node.names
                if alias.name in TABLE_CALLS
            ]
    return found


def test_no_page_or_widget_draws_a_table_except_through_ui_grid():
    grid_module = ROOT / "ui" / "grid.py"
    offenders = [call for path in _sources() if path != grid_module for call in _table_calls(path)]
    assert offenders == [], "draw tables with ui.grid.show / ui.grid.pick_rows"
    assert _table_calls(grid_module), "the check above must know what a table call looks like"


def test_the_project_config_turns_the_grid_export_off():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["disableDataExport"] is True


@pytest.fixture
def export_on() -> Iterator[None]:
    """A server started without the project's config.toml (from another folder)."""
    st.set_option(grid.EXPORT_OPTION, False)
    yield
    st.set_option(grid.EXPORT_OPTION, True)


def _one_table() -> None:
    import pandas as pd

    from ui import grid

    grid.show(pd.DataFrame({"address": ["=HYPERLINK(1)"]}), key="t")


def test_a_table_turns_the_grid_export_off_before_it_is_drawn(export_on: None):
    at = AppTest.from_function(_one_table, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert st.get_option(grid.EXPORT_OPTION) is True
    assert len(at.dataframe) == 1
