"""Bounce Desk: the router. Page config, navigation, and the sidebar every page shares.

Run with ``streamlit run dashboard.py``. With no AWS configuration it starts in demo mode
(a local SES emulator and a demo database); see ui/demo.py.
"""

from __future__ import annotations

import streamlit as st

from core.access import Actor
from core.errors import BounceDeskError
from ui import alert_banner, i18n, identity, queries, resources
from ui.i18n import _

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
        title=_("Overview"),
        icon=":material/monitoring:",
        url_path="overview",
        default=True,
    ),
    st.Page(
        "pages/bounced_users.py",
        title=_("Bounced users"),
        icon=":material/person_alert:",
        url_path="bounced_users",
    ),
    st.Page(
        "pages/suppression_list.py",
        title=_("Suppression list"),
        icon=":material/block:",
        url_path="suppression_list",
    ),
    st.Page(
        "pages/mailing_exclusions.py",
        title=_("Mailing exclusions"),
        icon=":material/unsubscribe:",
        url_path="mailing_exclusions",
    ),
    st.Page(
        "pages/ingestion.py",
        title=_("Ingestion"),
        icon=":material/move_to_inbox:",
        url_path="ingestion",
    ),
    st.Page(
        "pages/user_directory.py",
        title=_("User directory"),
        icon=":material/group:",
        url_path="user_directory",
    ),
    st.Page(
        "pages/alerts.py",
        title=_("Alerts"),
        icon=":material/notifications:",
        url_path="alerts",
    ),
    st.Page(
        "pages/audit_log.py",
        title=_("Audit log"),
        icon=":material/policy:",
        url_path="audit_log",
    ),
    st.Page(
        "pages/jobs.py",
        title=_("Jobs"),
        icon=":material/schedule:",
        url_path="jobs",
    ),
    st.Page(
        "pages/doctor.py",
        title=_("Doctor"),
        icon=":material/health_and_safety:",
        url_path="doctor",
    ),
    st.Page(
        "pages/api_tokens.py",
        title=_("API tokens"),
        icon=":material/key:",
        url_path="api_tokens",
    ),
]


def language_and_zone() -> None:
    """Each person's language and time zone (this session); the defaults follow the
    settings, or the browser for ``auto``."""
    languages = list(i18n.LANGUAGES)
    if i18n.LANGUAGE_KEY not in st.session_state:
        st.session_state[i18n.LANGUAGE_KEY] = i18n.default_language()
    st.segmented_control(
        _("Language"),
        languages,
        format_func=i18n.LANGUAGES.__getitem__,
        key=i18n.LANGUAGE_KEY,
        width="stretch",
    )
    zones = i18n.zone_choices()
    if st.session_state.get(i18n.TIMEZONE_KEY) not in zones:
        st.session_state[i18n.TIMEZONE_KEY] = zones[0]
    st.selectbox(
        _("Time zone"),
        zones,
        key=i18n.TIMEZONE_KEY,
        help=_("Times are shown, and dates are read, in this zone."),
    )


def sidebar(actor: Actor) -> None:
    """Who is acting, with which role, against what: shown on every page."""
    start = resources.startup()
    with st.sidebar:
        language_and_zone()
        if start.active:
            st.badge(_("Demo data"), icon=":material/science:", color="orange")
            st.caption(
                _(
                    "Running against a local SES emulator with generated data. "
                    "Nothing here reaches AWS."
                )
            )
            if start.seeding:
                demo_progress()
        # Names come from the identity provider or configuration: plain text, never Markdown.
        st.text(identity.describe(actor))
        if identity.sign_in_configured():
            st.button(_("Sign out"), key="sidebar_sign_out", on_click=st.logout)
        job_warnings()
        with st.expander(
            _("Connection"), expanded=False, icon=":material/lan:", key="sidebar_connection"
        ):
            st.text(_("Database: {database}").format(database=start.database_label))
            if start.seeding:
                st.text(
                    _("SES endpoint: {endpoint}").format(
                        endpoint=_("the demo's emulator (starting)")
                    )
                )
            else:
                env = resources.environment()
                endpoint = env.endpoint_url or _("AWS (default endpoints)")
                st.text(_("SES endpoint: {endpoint}").format(endpoint=endpoint))
                region = env.region or env.settings.aws_region or _("from the AWS configuration")
                st.text(_("Region: {region}").format(region=region))
            for note in start.notes:
                st.text(note)


def job_warnings() -> None:
    """A job that is stale or failed twice in a row, named on every page."""
    try:
        stale = [status for status in queries.job_status(resources.database_key()) if status.stale]
    except BounceDeskError:
        return  # the page itself reports a database it cannot read
    for status in stale:
        st.warning(
            _("Job {name} is stale: {why}. See the Jobs page.").format(
                name=status.name, why=status.why_stale
            ),
            icon=":material/warning:",
        )


@st.fragment(run_every=2)
def demo_progress() -> None:
    """While the demo loads: what it is doing; the page redraws as each step lands."""
    start = resources.startup()
    shown = st.session_state.get("sidebar_demo_generation")
    if shown is not None and shown != start.generation:
        st.session_state["sidebar_demo_generation"] = start.generation
        st.rerun(scope="app")
    st.session_state["sidebar_demo_generation"] = start.generation
    if start.seeding:
        st.caption(_("Loading the demo data: {step}…").format(step=start.step))


# Navigation first: the page list shows at once, even while the demo seeds its data.
page = st.navigation(PAGES, position="sidebar")
try:
    resources.startup()
except BounceDeskError as exc:
    st.error(_("Bounce Desk cannot start: {error}").format(error=exc), icon=":material/error:")
    st.stop()
# Nobody reads anything before this: sign-in, role, or local mode on a loopback address.
actor = identity.resolve()
sidebar(actor)
try:
    alert_banner.show()
except BounceDeskError as exc:
    st.warning(
        _("Could not read the open alerts: {error}").format(error=exc), icon=":material/warning:"
    )
page.run()
