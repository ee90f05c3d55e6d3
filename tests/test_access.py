"""core.access: the role matrix, mapping a signed-in identity to a role, local mode's rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.access import (
    MINIMUM_ROLE,
    Action,
    Actor,
    Identity,
    Role,
    actor_for,
    allows,
    cli_actor,
    is_loopback,
    local_actor,
    local_mode_refusal,
    parse_pattern,
    refusal,
    require,
    role_for,
)
from core.errors import PermissionDenied, SettingsError
from core.settings import Settings, load_settings

# The matrix as the issue states it, written out rather than derived from MINIMUM_ROLE.
MATRIX = {
    Role.VIEWER: {Action.BROWSE, Action.EXPORT},
    Role.OPERATOR: {
        Action.BROWSE,
        Action.EXPORT,
        Action.CONFIRM,
        Action.SYNC,
        Action.INGEST,
        Action.IMPORT_DIRECTORY,
        Action.REMOVE_CONFIRMED,
        Action.ACKNOWLEDGE_ALERTS,
        Action.RUN_RETENTION,
    },
    Role.ADMIN: set(Action),
}
ROLES = Settings(
    roles={
        Role.ADMIN: ["alice@corp.example", "group:ses-admins"],
        Role.OPERATOR: ["@corp.example", "group:ops"],
        Role.VIEWER: ["intern@corp.example", "@support.example", "group:support"],
    },
    access_contact="#bounce-desk on Slack",
)


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("BOUNCEDESK_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_each_role_may_do_exactly_its_part(role: Role, action: Action) -> None:
    assert allows(role, action) is (action in MATRIX[role])
    actor = Actor("someone", role)
    if action in MATRIX[role]:
        require(actor, action)
    else:
        with pytest.raises(PermissionDenied):
            require(actor, action)


def test_every_action_has_a_minimum_role() -> None:
    assert set(MINIMUM_ROLE) == set(Action)


def test_a_refusal_says_which_role_is_needed_and_whom_to_ask() -> None:
    operator = Actor("bob@corp.example", Role.OPERATOR, "alice@corp.example")
    with pytest.raises(PermissionDenied) as caught:
        require(operator, Action.REMOVE_UNCONFIRMED)
    assert str(caught.value) == (
        "Removing addresses that are not confirmed valid needs the admin role "
        "(yours: operator); ask alice@corp.example."
    )
    assert refusal(operator, Action.CONFIRM) is None


def test_require_refuses_a_bare_name_instead_of_an_actor() -> None:
    with pytest.raises(TypeError, match="Actor"):
        require("ops", Action.EXPORT)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"email": "alice@corp.example"}, Role.ADMIN),
        ({"email": "Alice@Corp.Example"}, Role.ADMIN),  # emails compare case-insensitively
        ({"email": "bob@corp.example"}, Role.OPERATOR),  # by domain
        ({"email": "bob@sub.corp.example"}, None),  # a domain is not its subdomains
        ({"email": "intern@corp.example"}, Role.VIEWER),  # an email beats the domain
        ({"email": "x@elsewhere.example", "groups": ["ses-admins"]}, Role.ADMIN),
        ({"email": "x@support.example", "groups": ["ops"]}, Role.OPERATOR),  # group > domain
        ({"email": "x@elsewhere.example", "groups": ["support", "ops"]}, Role.OPERATOR),
        ({"email": "x@elsewhere.example", "groups": "support, ses-admins"}, Role.ADMIN),
        ({"email": "x@elsewhere.example", "groups": ["SES-ADMINS"]}, None),  # groups: exact
        ({"email": "x@elsewhere.example"}, None),
        ({"name": "No Email"}, None),
    ],
)
def test_the_most_specific_pattern_decides_the_role(
    claims: dict[str, object], expected: Role | None
) -> None:
    verified = {"email_verified": True, **claims}
    assert role_for(Identity.from_claims(verified), ROLES) is expected


@pytest.mark.parametrize(
    ("claim", "verified"),
    [
        (True, True),
        ("true", True),  # some providers send the claim as a string
        ("TRUE", True),
        (False, False),
        ("false", False),
        ("False", False),
        ("", False),
        ("yes", False),
        (1, False),
        (None, False),
        ({"value": True}, False),
    ],
)
def test_only_a_true_email_verified_claim_lets_the_email_match_a_pattern(
    claim: object, verified: bool
) -> None:
    identity = Identity.from_claims({"email": "alice@corp.example", "email_verified": claim})
    assert identity.email_verified is verified
    assert role_for(identity, ROLES) is (Role.ADMIN if verified else None)


def test_without_the_email_verified_claim_the_email_is_not_trusted_but_groups_count() -> None:
    assert role_for(Identity.from_claims({"email": "bob@corp.example"}), ROLES) is None
    with_group = {"email": "bob@corp.example", "groups": ["support"]}
    assert role_for(Identity.from_claims(with_group), ROLES) is Role.VIEWER


def test_an_unverified_email_matches_no_email_or_domain_pattern_but_groups_still_count() -> None:
    unverified = {"email": "alice@corp.example", "email_verified": False}
    assert role_for(Identity.from_claims(unverified), ROLES) is None
    with_group = {**unverified, "groups": ["support"]}
    assert role_for(Identity.from_claims(with_group), ROLES) is Role.VIEWER


def test_the_group_claim_is_configurable() -> None:
    settings = ROLES.model_copy(update={"role_group_claim": "roles"})
    identity = Identity.from_claims({"email": "x@elsewhere.example", "roles": ["ops"]}, "roles")
    assert role_for(identity, settings) is Role.OPERATOR


def test_a_signed_in_person_acts_under_their_email_with_the_configured_contact() -> None:
    bob = {"email": "bob@corp.example", "email_verified": True}
    actor = actor_for(Identity.from_claims(bob), ROLES)
    assert actor == Actor("bob@corp.example", Role.OPERATOR, "#bounce-desk on Slack")
    eve = {"email": "eve@evil.example", "email_verified": True}
    assert actor_for(Identity.from_claims(eve), ROLES) is None


ISSUER = "https://login.corp.example"


def test_the_audit_names_a_signed_in_person_by_issuer_and_subject_beside_the_verified_email() -> (
    None
):
    claims = {"iss": ISSUER, "sub": "00u1b0b", "email": "bob@corp.example", "email_verified": True}
    actor = actor_for(Identity.from_claims(claims), ROLES)
    assert actor is not None
    assert actor.name == f"bob@corp.example [{ISSUER} 00u1b0b]"
    # The same email from another account of the provider is someone else.
    other = actor_for(Identity.from_claims({**claims, "sub": "00u2eve"}), ROLES)
    assert other is not None and other.name != actor.name


def test_an_unverified_email_or_the_name_claim_never_names_the_actor() -> None:
    claims = {
        "iss": ISSUER,
        "sub": "00u5am",
        "email": "alice@corp.example",
        "email_verified": "false",
        "name": "alice@corp.example",
        "groups": ["support"],
    }
    actor = actor_for(Identity.from_claims(claims), ROLES)
    assert actor is not None and actor.role is Role.VIEWER
    assert actor.name == f"[{ISSUER} 00u5am]"


def test_someone_the_audit_log_could_not_name_gets_no_actor_even_with_a_group_role() -> None:
    claims = {"email": "sam@agency.example", "name": "Sam", "groups": ["support"]}
    identity = Identity.from_claims(claims)
    assert role_for(identity, ROLES) is Role.VIEWER
    assert actor_for(identity, ROLES) is None


def test_the_cli_and_local_mode_act_as_the_configured_actor_with_their_own_roles() -> None:
    settings = Settings(actor="ops-bot", cli_role=Role.VIEWER, local_role=Role.ADMIN)
    assert cli_actor(settings) == Actor("ops-bot", Role.VIEWER)
    assert local_actor(settings) == Actor("ops-bot", Role.ADMIN)


def test_the_defaults_are_operator_for_the_cli_and_local_mode_and_nobody_signed_in() -> None:
    settings = load_settings()
    assert (settings.cli_role, settings.local_role) == (Role.OPERATOR, Role.OPERATOR)
    assert settings.roles == {} and settings.allow_remote_local_mode is False
    assert settings.max_removals_per_click == 100


@pytest.mark.parametrize(
    "pattern", ["alice", "@", "@corp", "group:", "corp.example", "alice@corp", "*@corp.example"]
)
def test_a_malformed_pattern_is_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="not a role pattern"):
        parse_pattern(pattern)


def test_roles_from_toml_are_validated_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "bouncedesk.toml"
    config.write_text(
        "[roles]\n"
        'admin = ["alice@corp.example", "group:ses-admins"]\n'
        'operator = ["@corp.example"]\n'
        'viewer = ["group:support"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("BOUNCEDESK_CONFIG_FILE", str(config))
    assert load_settings().roles[Role.OPERATOR] == ["@corp.example"]
    config.write_text('[roles]\nadmin = ["alice"]\n', encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "BOUNCEDESK_ROLES" in str(caught.value) and "'alice' is not a role pattern" in str(
        caught.value
    )


def test_a_pattern_under_two_roles_and_an_unknown_role_stop_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "BOUNCEDESK_ROLES", '{"admin": ["@corp.example"], "viewer": ["@CORP.example"]}'
    )
    with pytest.raises(SettingsError, match="listed under both admin and viewer"):
        load_settings()
    monkeypatch.setenv("BOUNCEDESK_ROLES", '{"superuser": ["alice@corp.example"]}')
    with pytest.raises(SettingsError, match="'viewer', 'operator' or 'admin'"):
        load_settings()
    monkeypatch.setenv("BOUNCEDESK_ROLES", "{}")
    monkeypatch.setenv("BOUNCEDESK_CLI_ROLE", "root")
    with pytest.raises(SettingsError, match="BOUNCEDESK_CLI_ROLE"):
        load_settings()


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.1.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("", False),
        (None, False),
        ("10.0.0.5", False),
        ("bounce-desk.corp.example", False),
    ],
)
def test_only_loopback_addresses_count_as_this_machine(address: str | None, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_local_mode_is_refused_on_a_network_address_unless_forced() -> None:
    settings = Settings(actor="ops")
    assert local_mode_refusal("127.0.0.1", settings) is None
    message = local_mode_refusal("0.0.0.0", settings)
    assert message is not None and "anyone who can reach it would act as ops" in message
    assert "allow_remote_local_mode" in message
    assert local_mode_refusal(None, settings) is not None  # unset: every interface
    forced = Settings(actor="ops", allow_remote_local_mode=True)
    assert local_mode_refusal("0.0.0.0", forced) is None


def test_every_access_setting_is_documented_with_its_default() -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "access.md").read_text("utf-8")
    names = [
        "roles",
        "role_group_claim",
        "access_contact",
        "actor",
        "cli_role",
        "local_role",
        "allow_remote_local_mode",
        "local_mode",
        "max_removals_per_click",
    ]
    assert set(names) <= set(Settings.model_fields)
    assert [name for name in names if f"| `{name}` |" not in docs] == []
    assert "| `max_removals_per_click` | `100` |" in docs
    assert "| `cli_role` | `operator` |" in docs and "| `local_role` | `operator` |" in docs
