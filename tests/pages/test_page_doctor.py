"""The Doctor page: the same lines as `bouncedesk doctor`, for admins only."""

from __future__ import annotations

from typing import Any

import pytest
from pagekit import run_page, table_with
from sqlalchemy import Engine


def findings(at: Any) -> dict[str, tuple[str, str]]:
    frame = table_with(at, "check")
    return {
        check: (status, message)
        for check, status, message in zip(
            frame["check"], frame["status"], frame["message"], strict=True
        )
    }


def test_an_admin_sees_one_row_per_check_against_the_emulator(
    aws: Any, db: Engine, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BOUNCEDESK_LOCAL_ROLE", "admin")
    monkeypatch.setenv("BOUNCEDESK_AWS_MAX_ATTEMPTS", "1")
    at = run_page("doctor")
    assert not at.exception, [e.value for e in at.exception]
    rows = findings(at)
    assert rows["settings"][0] == "ok"
    assert rows["database"][0] == "ok"
    assert rows["aws credentials"] == ("ok", rows["aws credentials"][1])
    assert "123456789012" in rows["aws credentials"][1]
    assert rows["permission ses:GetAccount"][0] == "ok"
    # The emulator's account has no identity and no queue setting: named, not hidden.
    assert rows["ses identities"][0] == "problem"
    assert at.error[0].value.startswith("Something needs fixing")


def test_without_aws_the_credentials_row_is_the_problem(
    db: Engine, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BOUNCEDESK_LOCAL_ROLE", "admin")
    at = run_page("doctor")
    assert not at.exception, [e.value for e in at.exception]
    rows = findings(at)
    assert rows["aws credentials"][0] == "problem"
    assert rows["ses account"] == ("warning", "not checked: no AWS access")
    assert [e.value for e in at.error] == ["Something needs fixing: see the rows marked problem."]


def test_an_operator_is_told_the_page_is_for_admins_and_sees_no_rows(db: Engine):
    at = run_page("doctor")
    assert not at.exception
    assert "for admins" in at.warning[0].value
    assert "admin role" in at.text[0].value
    assert len(at.dataframe) == 0
