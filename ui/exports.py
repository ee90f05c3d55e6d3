"""What every CSV download shares: the encoding choice (the BOM Excel needs to read UTF-8)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.i18n import N_, _

ENCODINGS = {"utf-8": N_("UTF-8"), "utf-8-sig": N_("UTF-8 with BOM (Excel)")}


def encoding_choice(key: str, where: Any = st) -> bool:
    """The CSV encoding radio, drawn in `where`; True for UTF-8 with a BOM (for Excel)."""
    chosen = where.radio(
        _("CSV encoding"),
        list(ENCODINGS),
        format_func=lambda code: _(ENCODINGS[code]),
        horizontal=True,
        key=key,
    )
    return bool(chosen == "utf-8-sig")
