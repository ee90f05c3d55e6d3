"""Confirmed-valid semantics, revocation, the history, and who may be removed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from core.clock import utcnow
from core.errors import InvalidInput
from core.recipients.confirmations import (
    ConfirmOutcome,
    confirm_valid,
    confirmation_history,
    is_confirmed_valid,
    removal_candidates,
    revoke_confirmation,
)
from core.store.models import AuditEntry, Confirmation, SuppressedDestination
from tests.factories import OPS, ingest, make_bounce, person

PAST = datetime(2026, 10, 1, 12)
FUTURE = utcnow() + timedelta(hours=12)  # later than any confirmation, yet plausible


def mirror(engine: Engine, address: str, *, suppressed: bool = True, spelled: str = "") -> None:
    row = {
        "address": address,
        "email_address": spelled or address,
        "reason": "BOUNCE",
        "last_update_time": PAST,
        "first_seen_at": PAST,
        "last_seen_at": PAST,
        "suppressed": suppressed,
        "removed_by_us": False,
        "sync_generation": 1,
    }
    with engine.begin() as connection:
        connection.execute(insert(SuppressedDestination.__table__), [row])


def test_a_confirmation_after_the_last_bounce_makes_the_address_confirmed_valid(
    engine: Engine,
) -> None:
    ingest(engine, make_bounce(["a@example.com"], at=PAST))
    [result] = confirm_valid(engine, ["a@example.com"], actor=OPS, note="user phoned")
    assert result.outcome is ConfirmOutcome.CONFIRMED
    assert is_confirmed_valid(engine, "a@EXAMPLE.com")


def test_a_confirmation_older_than_the_last_bounce_does_not_count(engine: Engine) -> None:
    ingest(engine, make_bounce(["a@example.com"], at=PAST))
    confirm_valid(engine, ["a@example.com"], actor=OPS, note="user phoned")
    ingest(engine, make_bounce(["a@example.com"], bounce_type="Transient", at=FUTURE))
    assert not is_confirmed_valid(engine, "a@example.com")
    [entry] = confirmation_history(engine, "a@example.com")
    assert entry.revoked_at is None and entry.current is False


def test_a_suppression_list_bounce_after_the_confirmation_does_not_end_it(
    engine: Engine,
) -> None:
    ingest(engine, make_bounce(["a@example.com"], at=PAST))
    confirm_valid(engine, ["a@example.com"], actor=OPS, note="user phoned")
    ingest(engine, make_bounce(["a@example.com"], subtype="OnAccountSuppressionList", at=FUTURE))
    assert is_confirmed_valid(engine, "a@example.com")


def test_revoking_ends_the_confirmation_and_the_history_keeps_both_sides(
    engine: Engine,
) -> None:
    confirm_valid(engine, ["a@example.com"], actor=OPS, note="user phoned")
    [result] = revoke_confirmation(
        engine, ["a@example.com"], actor=person("lead"), note="wrong user"
    )
    assert result.outcome is ConfirmOutcome.REVOKED
    assert not is_confirmed_valid(engine, "a@example.com")
    confirm_valid(engine, ["a@example.com"], actor=OPS, note="checked again")
    newest, oldest = confirmation_history(engine, "a@example.com")
    assert (newest.note, newest.current, newest.revoked_at) == ("checked again", True, None)
    assert (oldest.revoked_by, oldest.revoke_note, oldest.current) == ("lead", "wrong user", False)
    with engine.connect() as connection:
        actions = connection.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["confirmation.confirm", "confirmation.revoke", "confirmation.confirm"]


def test_revoking_an_unconfirmed_address_is_reported_not_raised(engine: Engine) -> None:
    [result] = revoke_confirmation(engine, ["a@example.com"], actor=person("lead"), note="tidy up")
    assert result.outcome is ConfirmOutcome.NOT_CONFIRMED


@pytest.mark.parametrize("note", ["", "   "])
def test_a_note_is_required_to_confirm_or_revoke(engine: Engine, note: str) -> None:
    with pytest.raises(InvalidInput, match="note"):
        confirm_valid(engine, ["a@example.com"], actor=OPS, note=note)
    with pytest.raises(InvalidInput, match="note"):
        revoke_confirmation(engine, ["a@example.com"], actor=OPS, note=note)
    assert confirmation_history(engine, "a@example.com") == []


def test_each_address_gets_its_own_result_in_input_order(engine: Engine) -> None:
    confirm_valid(engine, ["old@example.com"], actor=OPS, note="first")
    results = confirm_valid(
        engine,
        ["new@example.com", "not-an-address", "NEW@example.com", "old@example.com"],
        actor=OPS,
        note="batch",
    )
    assert [(r.address, r.outcome) for r in results] == [
        ("new@example.com", ConfirmOutcome.CONFIRMED),
        ("not-an-address", ConfirmOutcome.INVALID),
        ("NEW@example.com", ConfirmOutcome.CONFIRMED),  # the local part is case-sensitive
        ("old@example.com", ConfirmOutcome.ALREADY_CONFIRMED),
    ]
    assert len(confirmation_history(engine, "old@example.com")) == 1


def test_a_repeated_address_is_confirmed_once(engine: Engine) -> None:
    results = confirm_valid(engine, ["a@example.com", " a@EXAMPLE.com "], actor=OPS, note="batch")
    assert [r.outcome for r in results] == [ConfirmOutcome.CONFIRMED, ConfirmOutcome.DUPLICATE]
    assert len(confirmation_history(engine, "a@example.com")) == 1


def test_removal_candidates_are_suppressed_and_confirmed_since_their_last_bounce(
    engine: Engine,
) -> None:
    ingest(
        engine,
        make_bounce(["ready@example.com", "stale@example.com", "unconfirmed@example.com"], at=PAST),
    )
    for address in ("ready@example.com", "stale@example.com", "unconfirmed@example.com"):
        mirror(engine, address)
    mirror(engine, "removed@example.com", suppressed=False)
    mirror(engine, "Mixed@Example.COM".lower(), spelled="mixed@Example.COM")
    confirm_valid(
        engine,
        ["ready@example.com", "stale@example.com", "removed@example.com", "mixed@example.com"],
        actor=OPS,
        note="checked in CRM",
    )
    confirm_valid(engine, ["not-listed@example.com"], actor=OPS, note="checked")
    ingest(engine, make_bounce(["stale@example.com"], at=FUTURE))
    candidates = removal_candidates(engine)
    assert sorted(c.address for c in candidates) == ["mixed@example.com", "ready@example.com"]
    mixed = next(c for c in candidates if c.address == "mixed@example.com")
    assert (mixed.email_address, mixed.confirmed_by, mixed.note) == (
        "mixed@Example.COM",
        "ops",
        "checked in CRM",
    )
    assert len(removal_candidates(engine, limit=1)) == 1


def test_removal_candidates_list_an_address_once_with_its_latest_confirmation(
    engine: Engine,
) -> None:
    mirror(engine, "a@example.com")
    rows = [
        {"address": "a@example.com", "confirmed_at": at, "actor": actor, "note": note}
        for at, actor, note in [(PAST, "ops", "first"), (FUTURE, "ops2", "second")]
    ]
    with engine.begin() as connection:
        connection.execute(insert(Confirmation.__table__), rows)
    [candidate] = removal_candidates(engine)
    assert (candidate.address, candidate.confirmed_by, candidate.note) == (
        "a@example.com",
        "ops2",
        "second",
    )


def test_a_note_with_a_nul_byte_is_bad_input_and_nothing_is_recorded(engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="NUL"):
        confirm_valid(engine, ["a@example.com"], actor=OPS, note="phoned\x00them")
    with pytest.raises(InvalidInput, match="NUL"):
        revoke_confirmation(engine, ["a@example.com"], actor=OPS, note="\x00")
    assert confirmation_history(engine, "a@example.com") == []
