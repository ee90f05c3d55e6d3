"""Splitting long lists for statements with a parameter limit."""

from __future__ import annotations

import pytest

from core.chunks import chunked


def test_items_come_in_lists_of_the_size_with_a_shorter_last_one() -> None:
    assert list(chunked(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(chunked(["a", "b"], 2)) == [["a", "b"]]


def test_no_items_give_no_chunks_and_any_iterable_is_consumed_once() -> None:
    assert list(chunked([], 3)) == []
    assert list(chunked((n for n in range(3)), 1000)) == [[0, 1, 2]]


def test_a_size_below_one_is_refused_rather_than_looping_forever() -> None:
    with pytest.raises(ValueError, match="positive"):
        list(chunked([1], 0))
