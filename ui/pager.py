"""Paging through rows: the one pager of every page that lists more rows than fit.

A pager is named by its page's prefix and keeps two things in session state (ints only):
``{prefix}_page``, the page shown (its number input), and ``{prefix}_page_size``, the rows
per page when the page offers a choice (its select box). Queries do the paging in the
database; `fetch` asks for one page, and for page 1 instead when the filters shrank the
result under the page that was shown. Only this module draws paging widgets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import streamlit as st

from ui.i18n import _

PAGE_SIZES = [25, 50, 100, 250, 500]
DEFAULT_PAGE_SIZE = 50

Rows = TypeVar("Rows")


@dataclass(frozen=True)
class Page(Generic[Rows]):
    """One page of rows, where it is, and how many rows match in all."""

    rows: Rows
    total: int
    number: int
    size: int

    @property
    def count(self) -> int:
        """How many pages the matching rows fill (at least one)."""
        return max(1, -(-self.total // self.size))


def _number_key(prefix: str) -> str:
    return f"{prefix}_page"


def _size_key(prefix: str) -> str:
    return f"{prefix}_page_size"


def restart(prefix: str) -> None:
    """Back to page 1 (a filter callback: the rows change under the page shown)."""
    st.session_state[_number_key(prefix)] = 1


def page_size(prefix: str, default: int = DEFAULT_PAGE_SIZE) -> int:
    """The rows per page picked with `size_picker`, else `default`."""
    return int(st.session_state.get(_size_key(prefix), default))


def fetch(
    prefix: str, load: Callable[[int, int], tuple[Rows, int]], *, size: int | None = None
) -> Page[Rows]:
    """The page of rows to show: `load(page, page_size)` returns (rows, total matching)."""
    size = size or page_size(prefix)
    number = max(1, int(st.session_state.get(_number_key(prefix), 1)))
    rows, total = load(number, size)
    page = Page(rows, total, number, size)
    if number > page.count:  # the filters shrank the result under the page shown
        rows, total = load(1, size)
        page = Page(rows, total, 1, size)
    return page


def size_picker(prefix: str, where: Any = st, *, on_change: Callable[[], None]) -> None:
    """The "Rows per page" select box, drawn in `where` (a column, say); `on_change` is
    the page's filter callback, so a new size starts again at page 1."""
    where.selectbox(
        _("Rows per page"),
        PAGE_SIZES,
        index=PAGE_SIZES.index(DEFAULT_PAGE_SIZE),
        key=_size_key(prefix),
        on_change=on_change,
    )


def controls(prefix: str, page: Page[Any], caption: str) -> None:
    """The page number input (of how many pages) and `caption` (our words) beside it."""
    key = _number_key(prefix)
    st.session_state[key] = page.number
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    left.number_input(
        _("Page (of {count})").format(count=page.count),
        min_value=1,
        max_value=page.count,
        step=1,
        key=key,
    )
    right.caption(caption)
