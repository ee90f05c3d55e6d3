"""CLI commands for the HTTP API's tokens: ``tokens create NAME --scope read|verify``,
``tokens list`` and ``tokens revoke NAME``. Thin wrappers over `core.tokens`; creating and
revoking need the admin role (``BOUNCEDESK_CLI_ROLE=admin``)."""

from __future__ import annotations

import argparse

from core.access import cli_actor
from core.cli.common import Commands, add_command, add_group, printable
from core.settings import Settings
from core.store.db import make_engine
from core.tokens import Scope, create_token, list_tokens, parse_scope, revoke_token


def register(commands: Commands) -> None:
    tokens = add_group(commands, "tokens", "the HTTP API's tokens (docs/api.md)")
    create = add_command(tokens, "create", create_one, "create a token; it is shown this once")
    create.add_argument("name", metavar="NAME", help="who uses it, e.g. crm-login")
    create.add_argument(
        "--scope", required=True, choices=[s.value for s in Scope], help="read or verify"
    )
    add_command(tokens, "list", show_tokens, "every token (never its secret)")
    revoke = add_command(tokens, "revoke", revoke_one, "revoke a token from the next request on")
    revoke.add_argument("name", metavar="NAME")


def create_one(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    made = create_token(engine, args.name, parse_scope(args.scope), actor=cli_actor(settings))
    print(f"token {made.info.name} ({made.info.scope}); shown this once, store it now:")
    print(made.token)
    return 0


def show_tokens(args: argparse.Namespace, settings: Settings) -> int:
    for token in list_tokens(make_engine(settings.database_url)):
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        print(
            f"{printable(token.name)}\t{token.scope}\t{state}\t"
            f"created {token.created_at:%Y-%m-%d} by {printable(token.created_by)}\tused {used}"
        )
    return 0


def revoke_one(args: argparse.Namespace, settings: Settings) -> int:
    token = revoke_token(make_engine(settings.database_url), args.name, actor=cli_actor(settings))
    print(f"token {printable(token.name)} revoked at {token.revoked_at:%Y-%m-%d %H:%M:%S}")
    return 0
