"""API tokens: who may ask the HTTP API (docs/api.md), created and revoked by an admin."""

from __future__ import annotations

import streamlit as st

from core.access import Action
from core.tokens import Scope
from ui import actions, feedback, grid, identity, queries, resources
from ui.i18n import _

PREFIX = "at"

actor = feedback.page_header(
    _("API tokens"),
    _(
        "Tokens let the product ask the HTTP API whether it may mail an address, filter a "
        "campaign and report re-verified users. A read token asks; a verify token also records "
        "re-verifications. A new token is shown once: store it in the product's secrets at once."
    ),
)
feedback.show_flash(PREFIX)
manage_refusal = identity.refusal(actor, Action.MANAGE_TOKENS)

with st.form("at_create_form", clear_on_submit=True):
    name = st.text_input(_("Token name (who uses it, e.g. crm-login)"), key="at_name")
    scope = st.radio(
        _("Scope"),
        [s.value for s in Scope],
        horizontal=True,
        key="at_scope",
        help=_("verify includes read"),
    )
    create = st.form_submit_button(
        _("Create token"), type="primary", disabled=manage_refusal is not None, help=manage_refusal
    )
if create:
    with feedback.reported(_("create the token")):
        made = actions.create_api_token(actor, name.strip(), Scope(scope))
        queries.clear()
        st.success(
            _("Token {name} ({scope}) created. It is shown only now:").format(
                name=made.info.name, scope=made.info.scope
            ),
            icon=":material/key:",
        )
        st.code(made.token, language=None)

with feedback.reported(_("list the tokens")):
    table = queries.api_tokens(resources.database_key())
    if table.empty:
        feedback.empty_state(_("No API tokens yet."))
    else:
        grid.show(table, key="at_table")
        active = table.loc[table["state"] == "active", "name"].tolist()
        if active:
            chosen = st.selectbox(_("Token to revoke"), active, key="at_revoke_name")
            if st.button(
                _("Revoke token"),
                key="at_revoke",
                disabled=manage_refusal is not None,
                help=manage_refusal,
            ):
                with feedback.reported(_("revoke the token")):
                    actions.revoke_api_token(actor, str(chosen))
                    queries.clear()
                    feedback.flash(
                        PREFIX, "success", _("Token {name} revoked.").format(name=chosen)
                    )
                    st.rerun()
