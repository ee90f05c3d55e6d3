"""The message catalogs: every visible string of the dashboard is wrapped and translated.

Three checks, each of which a forgotten `_()` or a careless translation fails:
- an AST scan of dashboard.py, pages/ and ui/ for a string literal (or f-string) handed to a
  Streamlit element or one of our text helpers as its label, help, placeholder or text;
- every message the sources mark (`_()` / `N_()`, as `make catalogs-extract` finds them) has a
  non-empty, non-fuzzy Japanese entry, and the committed template is not stale;
- a translation uses exactly the format placeholders of its English message.
"""

from __future__ import annotations

import ast
import string

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from pagekit import ROOT

from ui import i18n

# Streamlit calls whose first argument (and these keywords) are words people read.
ELEMENTS = {
    "title", "header", "subheader", "caption", "write", "markdown", "text", "info",
    "warning", "error", "success", "toast", "badge", "metric", "button", "download_button",
    "form_submit_button", "popover", "expander", "tabs", "selectbox", "multiselect", "radio",
    "segmented_control", "pills", "checkbox", "toggle", "text_input", "text_area",
    "number_input", "date_input", "time_input", "file_uploader", "slider", "select_slider",
    "spinner", "progress", "dialog", "page_link", "Page", "column_config", "TextColumn",
    "NumberColumn", "DatetimeColumn", "CheckboxColumn", "LinkColumn",
    # our helpers that show their text argument
    "page_header", "empty_state", "reported", "flash", "controls",
}  # fmt: skip
TEXT_KEYWORDS = {"label", "help", "placeholder", "text", "title", "caption", "body", "value"}
# Literals that are not words to translate: the product's name, sample input, file types.
NOT_WORDS = {
    "Bounce Desk",
    "example.co.jp",
    "someone@example.co.jp",
    "https://sqs.REGION.amazonaws.com/ACCOUNT/bounces",
}
# Calls whose first argument is not text (a page's file, a progress fraction).
FIRST_NOT_TEXT = {"Page", "progress"}
LOGGERS = {"LOG", "log", "logger", "logging"}
SOURCES = [ROOT / "dashboard.py", *sorted((ROOT / "pages").glob("*.py"))]
SOURCES += sorted((ROOT / "ui").glob("*.py"))


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    if isinstance(node.func, ast.Name):
        return node.func.id
    return None


def _bare_text(node: ast.expr) -> bool:
    """A literal with letters in it, an f-string, or text glued together from such."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value not in NOT_WORDS and any(ch.isalpha() for ch in node.value)
    if isinstance(node, ast.JoinedStr):  # f"• {reason}" has no words of its own
        return any(
            isinstance(part, ast.Constant) and any(ch.isalpha() for ch in str(part.value))
            for part in node.values
        )
    if isinstance(node, ast.BinOp):
        return _bare_text(node.left) or _bare_text(node.right)
    if isinstance(node, ast.IfExp):
        return _bare_text(node.body) or _bare_text(node.orelse)
    if isinstance(node, ast.List | ast.Tuple):  # st.tabs(["Upload", "Poll"])
        return any(_bare_text(item) for item in node.elts)
    return False


def unwrapped(source: str, name: str = "<source>") -> list[str]:
    """Where `source` shows words that do not go through the catalog."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        called = _called(node)
        if called == "_":
            # a literal, or a constant marked with N_(); never text built before translation
            if len(node.args) != 1 or isinstance(node.args[0], ast.JoinedStr | ast.BinOp):
                found.append(f"{name}:{node.lineno}: _() takes one literal (no f-string)")
            continue
        receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
        if called not in ELEMENTS or (isinstance(receiver, ast.Name) and receiver.id in LOGGERS):
            continue
        first = [] if called in FIRST_NOT_TEXT else node.args[:1]
        shown = first + [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]
        for argument in shown:
            if _bare_text(argument):
                found.append(f"{name}:{argument.lineno}: {called}({ast.unparse(argument)[:60]})")
    return found


def test_the_scan_finds_an_unwrapped_label_an_fstring_and_an_fstring_inside_the_marker():
    source = (
        'st.button("Sync now", key="a")\n'
        'st.caption(f"{n} rows")\n'
        'st.text_input(_("Name"), help="Say who")\n'
        'x = _(f"{n} rows")\n'
        'st.button(_("Fine"), key="b")\n'
        'st.title("Bounce Desk")\n'
    )
    problems = unwrapped(source)
    assert [p.split(":")[1] for p in problems] == ["1", "2", "3", "4"], problems


def test_every_visible_string_of_the_dashboard_goes_through_the_catalog():
    problems = [p for path in SOURCES for p in unwrapped(path.read_text("utf-8"), path.name)]
    assert not problems, "wrap these in _() (ui/i18n.py):\n" + "\n".join(problems)


def _marked() -> set[str]:
    """Every message the sources mark, found as `make catalogs-extract` finds them."""
    mapping = [("dashboard.py", "python"), ("pages/**.py", "python"), ("ui/**.py", "python")]
    return {message for _file, _line, message, *_rest in extract_from_dir(str(ROOT), mapping)}


def _catalog(language: str):  # type: ignore[no-untyped-def]
    with i18n.catalog_path(language).open("rb") as source:
        return read_po(source, locale=language)


@pytest.mark.parametrize("language", [code for code in i18n.LANGUAGES if code != "en"])
def test_every_marked_message_has_a_translation(language: str):
    catalog = _catalog(language)
    missing = sorted(m for m in _marked() if not catalog.get(m) or not catalog[m].string)
    assert not missing, f"add to {i18n.catalog_path(language)} (make catalogs-update):\n" + (
        "\n".join(missing)
    )
    fuzzy = sorted(str(m.id) for m in catalog if m.id and m.fuzzy)
    assert not fuzzy, f"fuzzy entries to check: {fuzzy}"


def test_the_committed_template_holds_what_the_sources_mark():
    with (ROOT / "ui" / "locales" / "messages.pot").open("rb") as source:
        template = {str(m.id) for m in read_po(source) if m.id}
    assert template == _marked(), "run make catalogs-update and commit the catalogs"


def placeholders(text: str) -> set[str]:
    return {field for _lit, field, _spec, _conv in string.Formatter().parse(text) if field}


def test_placeholders_are_compared_by_name():
    assert placeholders("{count} of {total} done") == {"count", "total"}
    assert placeholders("{total} 件中 {count} 件") == {"count", "total"}
    assert placeholders("{count} 件") != placeholders("{count} of {total}")


@pytest.mark.parametrize("language", [code for code in i18n.LANGUAGES if code != "en"])
def test_a_translation_uses_the_placeholders_of_its_message(language: str):
    catalog = _catalog(language)
    differing = [
        (m.id, m.string)
        for m in catalog
        if m.id and m.string and placeholders(str(m.id)) != placeholders(str(m.string))
    ]
    assert not differing, differing
    assert not list(catalog.check()), "babel's own checks (python-format placeholders)"
