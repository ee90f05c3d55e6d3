"""Make sure pages always run under dashboard.py's st.navigation.

Streamlit keeps a legacy mode for apps with a ``pages/`` folder: until some session has run
st.navigation, the first run in a process executes a ``pages/`` script directly when the
URL names it (a bookmark, a reload after a restart), without the router, its sidebar and
its page list. A page that finds itself run that way turns the legacy mode off and reruns,
so dashboard.py routes the same URL properly.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def ensure_routed() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
