"""The one pager (ui/pager.py): the page shown, the rows per page, and a page past the end."""

from __future__ import annotations

from pagekit import TIMEOUT
from streamlit.testing.v1 import AppTest


def paged_script() -> None:
    """A page listing `rows` numbers through the pager, as the real pages do."""
    import streamlit as st

    from ui import pager

    rows = list(range(int(st.session_state.get("rows", 120))))

    def load(number: int, size: int) -> tuple[list[int], int]:
        return rows[(number - 1) * size : number * size], len(rows)

    pager.size_picker("t", on_change=lambda: pager.restart("t"))
    page = pager.fetch("t", load)
    st.text(f"shown {page.rows[:1]} to {page.rows[-1:]}")
    pager.controls("t", page, f"{page.total} rows.")


def run(**state: object) -> AppTest:
    at = AppTest.from_function(paged_script, default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_it_shows_the_page_asked_for_and_says_how_many_pages_there_are() -> None:
    at = run(t_page=2)
    assert at.text[0].value == "shown [50] to [99]"
    assert at.number_input(key="t_page").label == "Page (of 3)"
    assert at.number_input(key="t_page").value == 2
    assert at.caption[0].value == "120 rows."


def test_the_rows_per_page_picked_change_the_pages_and_start_again_at_page_one() -> None:
    at = run(t_page=2)
    at.selectbox(key="t_page_size").select(25).run()
    assert at.number_input(key="t_page").value == 1
    assert at.number_input(key="t_page").label == "Page (of 5)"
    assert at.text[0].value == "shown [0] to [24]"


def test_a_page_past_the_end_falls_back_to_the_first_page() -> None:
    at = run(t_page=3, rows=40)  # the filters shrank the result under page 3
    assert at.text[0].value == "shown [0] to [39]"
    assert at.number_input(key="t_page").value == 1
    assert at.number_input(key="t_page").label == "Page (of 1)"


def test_no_rows_is_still_one_page() -> None:
    at = run(rows=0)
    assert at.number_input(key="t_page").label == "Page (of 1)"
    assert at.caption[0].value == "0 rows."
