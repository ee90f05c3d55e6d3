"""Bounce Desk: the router. Page config, navigation, and the sidebar every page shares.

Run with ``streamlit run dashboard.py``. With no AWS configuration it starts in demo mode
(a local SES emulator and a demo database); see core/demo.py.
"""

from __future__ import annotations

import streamlit as st

from core.errors import BounceDeskError
from ui import feedback, resources

st.set_page_config(
    page_title="Bounce Desk",
    page_icon=":material/mark_email_unread:",
    layout="wide",
    initial_sidebar_state="expanded",
)

# url_path = the file name: before the first st.navigation call of a process, Streamlit still
# resolves a bookmarked URL by file name (its legacy pages/ mode; see ui/router.py).
PAGES = [
    st.Page(
        "pages/overview.py",
        title="Overview",
        icon=":material/monitoring:",
        url_path="overview",
        default=True,
    ),
    st.Page(
        "pages/bounced_users.py",
        title="Bounced users",
        icon=":material/person_alert:",
        url_path="bounced_users",
    ),
    st.Page(
        "pages/suppression_list.py",
        title="Suppression list",
        icon=":material/block:",
        url_path="suppression_list",
    ),
    st.Page(
        "pages/mailing_exclusions.py",
        title="Mailing exclusions",
        icon=":material/unsubscribe:",
        url_path="mailing_exclusions",
    ),
    st.Page(
        "pages/ingestion.py",
        title="Ingestion",
        icon=":material/move_to_inbox:",
        url_path="ingestion",
    ),
    st.Page(
        "pages/user_directory.py",
        title="User directory",
        icon=":material/group:",
        url_path="user_directory",
    ),
]


def sidebar() -> None:
    """Who is acting, against what: shown on every page."""
    env = resources.environment()
    with st.sidebar:
        if env.active:
            st.badge("Demo data", icon=":material/science:", color="orange")
            st.caption(
                "Running against a local SES emulator with generated data. "
                "Nothing here reaches AWS."
            )
        if feedback.sign_in_configured():
            st.caption(f"Signed in as `{feedback.plain(feedback.current_actor())}`")
            st.button("Sign out", key="sidebar_sign_out", on_click=st.logout)
        else:
            actor = feedback.plain(feedback.current_actor())
            st.caption(f"Sign-in is off (local mode) — acting as `{actor}`")
        with st.expander(
            "Connection", expanded=False, icon=":material/lan:", key="sidebar_connection"
        ):
            st.text(f"Database: {env.database_label}")
            endpoint = env.endpoint_url or "AWS (default endpoints)"
            st.text(f"SES endpoint: {endpoint}")
            region = env.region or env.settings.aws_region or "from the AWS configuration"
            st.text(f"Region: {region}")
            for note in env.notes:
                st.caption(note)


def require_sign_in() -> None:
    """With [auth] in secrets.toml, nobody acts without signing in first."""
    if feedback.sign_in_configured() and not st.user.get("is_logged_in"):
        st.title("Bounce Desk")
        st.write("Sign in to continue.")
        st.button("Sign in", key="sign_in", on_click=st.login, type="primary")
        st.stop()


# Navigation first: the page list shows at once, even while the demo seeds its data.
page = st.navigation(PAGES, position="sidebar")
try:
    resources.environment()
except BounceDeskError as exc:
    st.error(f"Bounce Desk cannot start: {exc}", icon=":material/error:")
    st.stop()
require_sign_in()
sidebar()
page.run()
