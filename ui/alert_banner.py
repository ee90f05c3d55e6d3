"""The banner every page shows while an alert is open (drawn by dashboard.py)."""

from __future__ import annotations

import streamlit as st

from ui import queries, resources
from ui.i18n import _

ALERTS_PAGE = "pages/alerts.py"


def show() -> None:
    """One line above the page: how many alerts are open and the most severe one."""
    count, worst = queries.open_alerts_summary(resources.database_key())
    if not count:
        return
    with st.container(key="alert_banner"):
        st.warning(
            _("1 alert is open. The most severe:")
            if count == 1
            else _("{count} alerts are open. The most severe:").format(count=count),
            icon=":material/notification_important:",
        )
        # Our sentence, but it quotes a configuration set or domain from a notification:
        # plain text, never Markdown.
        st.text(worst or "")
        st.page_link(ALERTS_PAGE, label=_("Open the Alerts page"), icon=":material/arrow_forward:")
