"""Paging through rows: the one pager of every page that lists more rows than fit.

A pager is named by its page's prefix and keeps two things in session state (ints only):
``{prefix}_page``, the page shown (its number input), and ``{prefix}_page_size``, the rows
per page when the page offers a choice (its select box). Queries do the paging in the
database; `fetch` asks for one page, and for page 1 instead when the filters shrank the
result under the page that was shown. Only this module draws paging widgets.

A long list pages by keyset instead (`fetch_keyset`, `keyset_controls`): the query hands
back a cursor for the next and the previous page, kept in ``{prefix}_cursor`` (a string),
so page 200 costs what page 1 costs. Such a pager moves one page at a time (first,
previous, next): a cursor cannot jump to page N. "Page N of M" counts the pages walked and
the pages the current total fills, so it stays true while nothing is ingested meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
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


def _cursor_key(prefix: str) -> str:
    return f"{prefix}_cursor"


def restart(prefix: str) -> None:
    """Back to page 1 (a filter callback: the rows change under the page shown)."""
    st.session_state[_number_key(prefix)] = 1
    st.session_state[_cursor_key(prefix)] = None


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


@dataclass(frozen=True)
class KeysetPage(Page[Rows]):
    """A page reached by cursor, with the cursors of its neighbours (None: no page there)."""

    next_cursor: str | None = None
    previous_cursor: str | None = None


KeysetLoad = Callable[[str | None, int], tuple[Rows, int, str | None, str | None]]


def fetch_keyset(
    prefix: str, load: KeysetLoad[Rows], *, size: int | None = None
) -> KeysetPage[Rows]:
    """The page to show: `load(cursor, page_size)` returns (rows, total matching, next
    cursor, previous cursor); cursor None is the first page."""
    size = size or page_size(prefix)
    number = max(1, int(st.session_state.get(_number_key(prefix), 1)))
    cursor = st.session_state.get(_cursor_key(prefix)) if number > 1 else None
    rows, total, following, preceding = load(cursor, size)
    if cursor is not None and following is None and preceding is None:
        # Nothing is left beyond the cursor (the rows changed under it): the first page.
        number, cursor = 1, None
        rows, total, following, preceding = load(None, size)
    page = KeysetPage(rows, total, number, size, following, preceding)
    return replace(page, number=min(number, page.count)) if number > page.count else page


def _walk(prefix: str, cursor: str | None, number: int) -> None:
    st.session_state[_cursor_key(prefix)] = cursor
    st.session_state[_number_key(prefix)] = number


def keyset_controls(prefix: str, page: KeysetPage[Any], caption: str) -> None:
    """First / Previous / Next buttons, "Page N of M" and `caption` (our words) beside them."""
    first, back, forward, text = st.columns([1, 1, 1, 5], vertical_alignment="center")
    first.button(
        _("First page"), key=f"{prefix}_first", disabled=page.number <= 1,
        on_click=_walk, args=(prefix, None, 1),
    )  # fmt: skip
    at_start = page.previous_cursor is None or page.number <= 1
    back.button(
        _("Previous page"), key=f"{prefix}_previous", disabled=at_start,
        on_click=_walk, args=(prefix, page.previous_cursor, page.number - 1),
    )  # fmt: skip
    forward.button(
        _("Next page"), key=f"{prefix}_next", disabled=page.next_cursor is None,
        on_click=_walk, args=(prefix, page.next_cursor, page.number + 1),
    )  # fmt: skip
    text.caption(
        _("Page {number} of {count}.").format(number=page.number, count=page.count) + f" {caption}"
    )
