"""Every table on the dashboard: one place that draws st.dataframe, with its own export off.

The grid's toolbar offers "Download as CSV" and its cells copy to the clipboard: both hand out
the raw cells (formulas included) and leave no audit entry. Personal data leaves only through
the pages' download buttons, which neutralise formulas and record the export. Streamlit turns
the grid's export off with one option, `client.disableDataExport`; .streamlit/config.toml sets
it for `streamlit run` from the project folder, and `_export_off` sets it for any other launch.
A test keeps pages and widgets from calling st.dataframe themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd
import streamlit as st

EXPORT_OPTION = "client.disableDataExport"


def show(
    frame: pd.DataFrame,
    *,
    key: str,
    column_config: Mapping[str, Any] | None = None,
    height: int | Literal["auto", "stretch", "content"] = "auto",
) -> None:
    """A read-only table, index hidden, full width."""
    _export_off()
    st.dataframe(
        frame,
        hide_index=True,
        key=key,
        column_config=column_config,
        height=height,
        width="stretch",
    )


def pick_rows(
    frame: pd.DataFrame, *, key: str, column_config: Mapping[str, Any] | None = None
) -> list[int]:
    """A table whose rows can be ticked; returns the ticked row positions that exist in
    `frame` (a selection kept in session state may outlive a shorter page of rows)."""
    _export_off()
    event = st.dataframe(
        frame,
        hide_index=True,
        key=key,
        column_config=column_config,
        on_select="rerun",
        selection_mode="multi-row",
        width="stretch",
    )
    return [row for row in event.selection.rows if row < len(frame)]


def _export_off() -> None:
    # The option reaches the browser with the next run, so a run that finds it off (the app
    # started from another folder, without our config.toml) turns it on and starts over
    # before drawing any table. It is process-wide: this happens once per server.
    if not st.get_option(EXPORT_OPTION):
        st.set_option(EXPORT_OPTION, True)
        st.rerun()
