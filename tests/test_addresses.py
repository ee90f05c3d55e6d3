"""core.addresses: the bare address in what SES reports as a recipient, or a clear refusal."""

from __future__ import annotations

from typing import Any

import pytest

from core.addresses import bare_address
from core.errors import InvalidAddress


@pytest.mark.parametrize(
    ("raw", "bare"),
    [
        ('"Jane Doe" <jane@example.com>', "jane@example.com"),
        (" Tr <oguzozer+6@teknasyon.com>", "oguzozer+6@teknasyon.com"),
        ("<jane@example.com>", "jane@example.com"),
        ("  Jane.Doe@EXAMPLE.com ", "Jane.Doe@EXAMPLE.com"),
        ("用户@例子.广告", "用户@例子.广告"),
    ],
)
def test_a_display_name_form_gives_its_bare_address_as_spelled(raw: str, bare: str) -> None:
    assert bare_address(raw) == bare


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (12345, "text, not a number"),
        (True, "text, not a boolean"),
        ("not-an-email", "exactly one '@'"),
        ("a@b@example.com", "exactly one '@'"),
        ("@example.com", "local part or a domain"),
        ("jane@", "local part or a domain"),
        ("\ud800jane@example.com", "lone surrogate"),
        ("jane@example.com, mary@example.com", "2 addresses"),
        ("jane doe@example.com", "not one bare email address"),
        ("jane@example.com trailing words", "not one bare email address"),
        ("x" * 320 + "@example.com", "longer than 320"),
        ("   ", "empty"),
    ],
)
def test_what_is_not_one_email_address_is_refused_saying_why(raw: Any, why: str) -> None:
    with pytest.raises(InvalidAddress, match=why):
        bare_address(raw)
