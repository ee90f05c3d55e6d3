"""Row selections that follow addresses, not row numbers.

st.dataframe selections are row positions. After an action changes the data (a removal takes
rows out of an "On the list" view, a confirmation out of a "Not confirmed" one), the same
positions would point at other people. Actions remember the addresses they acted on; the
next run selects those addresses wherever they now are, or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st


def remember(prefix: str, addresses: Sequence[str]) -> None:
    """Call before the rerun that follows an action on these addresses."""
    st.session_state[f"{prefix}_reselect"] = [str(a) for a in addresses]


def restore(prefix: str, frame: pd.DataFrame) -> None:
    """Call before rendering the `{prefix}_table` dataframe."""
    wanted = st.session_state.pop(f"{prefix}_reselect", None)
    if wanted is None:
        return
    position = {str(address): row for row, address in enumerate(frame["address"])}
    rows = sorted(position[a] for a in wanted if a in position)
    st.session_state[f"{prefix}_table"] = {"selection": {"rows": rows, "columns": []}}


def forget(prefix: str) -> None:
    """Select nothing in the `{prefix}_table` dataframe (a filter changed its rows)."""
    st.session_state[f"{prefix}_table"] = {"selection": {"rows": [], "columns": []}}
