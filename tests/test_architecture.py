"""docs/architecture.md's dependency rules, checked on the source tree."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"

# Layer of each flat base module and each wing (docs/architecture.md, "Dependency rules").
LAYERS = {
    "errors": 0,
    "clock": 0,
    "addresses": 0,
    "policy": 0,
    "csv_safety": 0,
    "chunks": 0,
    "settings": 0,
    "access": 0,
    "database_url": 0,
    "local_mode": 0,
    "database_secret": 0,
    "store": 1,
    "audit": 2,
    "ingest": 3,
    "ses": 3,
    "reports": 3,
    "tokens": 3,
    "recipients": 4,
    "retention": 4,
    "suppression": 5,
    "alerts": 6,
    "jobs": 7,
    "doctor": 8,
    "cli": 9,
    "__main__": 10,
    "__init__": 0,
}


# What only the HTTP API (the top-level `api` package) uses; the ingest Lambda ships without.
API_LIBRARIES = ("fastapi", "starlette", "uvicorn", "mangum", "limits")


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    """Every module `path` imports at run time (TYPE_CHECKING blocks left out), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(child) for child in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno


def _unit(module: str) -> str | None:
    """The base module or wing a dotted `core...` name belongs to."""
    parts = module.split(".")
    if parts[0] != "core":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _core_files() -> list[Path]:
    return [p for p in CORE.rglob("*.py") if "versions" not in p.parts]


def test_every_core_module_belongs_to_a_layer_the_map_names() -> None:
    units = {p.relative_to(CORE).parts[0].removesuffix(".py") for p in _core_files()}
    assert units <= set(LAYERS), f"not on docs/architecture.md's map: {units - set(LAYERS)}"


def test_no_wing_imports_a_higher_layer_or_a_sibling_wing() -> None:
    wrong = []
    for path in _core_files():
        own = path.relative_to(CORE).parts[0].removesuffix(".py")
        for module, line in _imports(path):
            other = _unit(module)
            if other is None or other == own or other not in LAYERS:
                continue
            if LAYERS[other] > LAYERS[own] or (
                LAYERS[other] == LAYERS[own] and LAYERS[own] > 2 and other != own
            ):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert wrong == []


def test_core_never_imports_streamlit_the_ui_or_the_emulator() -> None:
    banned = ("streamlit", "ui", "emulator", "pages", "plotly", "api", *API_LIBRARIES)
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _core_files()
        for module, line in _imports(path)
        if module.split(".")[0] in banned
    ]
    assert found == []


def test_pages_never_import_boto3_sqlalchemy_or_the_emulator() -> None:
    banned = ("boto3", "botocore", "sqlalchemy", "emulator")
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in (ROOT / "pages").glob("*.py")
        for module, line in _imports(path)
        if module.split(".")[0] in banned
    ]
    assert found == []


# --- The dashboard layer (docs/architecture.md, "A page" and "A write action") ----------------

PAGES = ROOT / "pages"
UI = ROOT / "ui"


def _dashboard_files() -> list[Path]:
    return [*sorted(UI.glob("*.py")), *sorted(PAGES.glob("*.py")), ROOT / "dashboard.py"]


def _is_type_or_constant(value: object) -> bool:
    """A class (dataclass, enum, filter), a typing alias, or a plain value: what a page may
    take from core. Functions and modules are what it must reach through `ui`."""
    if isinstance(value, type) or typing.get_origin(value) is not None:
        return True
    return not callable(value) and not isinstance(value, types.ModuleType)


def test_pages_take_only_types_and_constants_from_core() -> None:
    wrong = []
    for path in PAGES.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                wrong += [f"{where} imports {a.name}" for a in node.names if _unit(a.name)]
            elif isinstance(node, ast.ImportFrom) and node.module and _unit(node.module):
                module = importlib.import_module(node.module)
                wrong += [
                    f"{where} takes {node.module}.{alias.name} (call it through ui)"
                    for alias in node.names
                    if not _is_type_or_constant(getattr(module, alias.name))
                ]
    assert wrong == []


# What a pager draws or keeps: its session-state keys and its widgets' labels.
PAGING_TEXT = ("_page", "_page_size", "_cursor")
PAGING_LABELS = ("Rows per page", "Page (of", "Next page", "Previous page", "First page")


def test_only_the_pager_draws_paging_widgets() -> None:
    found = []
    for path in _dashboard_files():
        if path == UI / "pager.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            text = node.value
            if text.endswith(PAGING_TEXT) or text.startswith(PAGING_LABELS):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {text!r} (use ui/pager.py)")
    assert found == []


def test_the_dashboard_imports_at_module_level_only() -> None:
    local = []
    for path in _dashboard_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                local += [
                    f"{path.relative_to(ROOT)}:{inner.lineno} {ast.unparse(inner)}"
                    for inner in ast.walk(node)
                    if isinstance(inner, ast.Import | ast.ImportFrom)
                ]
    assert local == []


MUTATORS = {"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__"}


def test_the_dashboard_never_changes_os_environ() -> None:
    """The demo hands its emulator's endpoint and credentials to the clients it builds; an
    edited os.environ would point everything else in the process at the emulator too."""
    changes = []
    for path in _dashboard_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {"os.environ"} | {
            target.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and "os.environ" in ast.unparse(node.value)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            changed = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and (
                    (node.func.attr in MUTATORS and ast.unparse(node.func.value) in names)
                    or ast.unparse(node.func) in {"os.putenv", "os.unsetenv"}
                )
            ) or (
                isinstance(node, ast.Subscript)
                and isinstance(node.ctx, ast.Store | ast.Del)
                and ast.unparse(node.value) in names
            )
            if changed:
                changes.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert changes == []


def test_only_the_demo_bootstrap_imports_the_emulator() -> None:
    """The emulator is a development tool: the dashboard reaches it through ui/demo.py."""
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _dashboard_files()
        if path != UI / "demo.py"
        for module, line in _imports(path)
        if module.split(".")[0] == "emulator"
    ]
    assert found == []


def test_core_and_its_command_line_import_without_the_api_libraries() -> None:
    """`bouncedesk api` imports the app and uvicorn by name when it runs: core, and every
    other command, work where FastAPI is not installed (the ingest Lambda)."""
    blocked = "; ".join(f"sys.modules[{name!r}] = None" for name in API_LIBRARIES)
    code = f"import sys; {blocked}; import core.cli.main, core.ingest.lambda_handler"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_api_package_never_imports_the_dashboard_or_the_emulator() -> None:
    banned = ("streamlit", "ui", "pages", "emulator", "plotly", "pandas")
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in (ROOT / "api").glob("*.py")
        for module, line in _imports(path)
        if module.split(".")[0] in banned
    ]
    assert found == []
